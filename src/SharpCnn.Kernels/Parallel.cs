using System.Runtime.ExceptionServices;

namespace SharpCnn.Kernels;

/// <summary>
/// The one place that splits kernel work across cores. Work is split into fixed-size, index-ordered
/// chunks so that any reduction combined in chunk order is bitwise identical for every thread count.
/// </summary>
public static class KernelParallel
{
    /// <summary>
    /// Work (in multiply-adds) below which a kernel stays on the calling thread. Waking a pool thread costs
    /// 5–20 µs on an idle machine and far more on a busy one, while a million multiply-adds take 10–20 µs on
    /// one core, so splitting smaller jobs loses time (measured: LeNet-5's fully connected layers ran 15×
    /// slower split in two).
    /// </summary>
    public const long MinParallelWork = 1 << 20;

    private static int s_maxThreads = Environment.ProcessorCount;

    /// <summary>Gets or sets the largest number of threads a kernel may use (at least 1).</summary>
    public static int MaxThreads
    {
        get => s_maxThreads;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(value);
            s_maxThreads = value;
        }
    }

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in contiguous ranges. Runs inline when
    /// one thread is allowed or <paramref name="count"/> × <paramref name="costPerItem"/> is too small to
    /// pay for a thread hand-off (<see cref="MinParallelWork"/> multiply-adds, tens of microseconds).
    /// </summary>
    /// <param name="count">Number of independent items.</param>
    /// <param name="costPerItem">Rough work per item in multiply-adds; decides whether to go parallel.</param>
    /// <param name="body">Called with a half-open range [start, end).</param>
    public static void For(int count, long costPerItem, Action<int, int> body) => For(count, costPerItem, body, 0);

    /// <summary>
    /// As <see cref="For(int, long, Action{int, int})"/>, cutting [0, <paramref name="count"/>) into
    /// <paramref name="blocks"/> equal contiguous ranges (at least one per thread; 0 means one per thread) that the
    /// calling thread and the helpers claim in index order, first come first served.
    /// </summary>
    /// <remarks>
    /// The caller never waits for a helper that has not started: on a busy machine a queued helper may get a core
    /// only milliseconds later, so the caller goes on claiming ranges, and a helper that starts after every range is
    /// taken returns at once. The caller waits only for ranges a helper is running. Which thread runs a range
    /// never changes what the range computes, so results stay bitwise identical for any thread count. The first
    /// exception a range throws is rethrown as it is, after all running ranges end.
    /// </remarks>
    /// <param name="count">Number of independent items.</param>
    /// <param name="costPerItem">Rough work per item in multiply-adds; decides whether to go parallel.</param>
    /// <param name="body">Called with a half-open range [start, end).</param>
    /// <param name="blocks">Number of ranges; more ranges balance better when helpers start late.</param>
    public static void For(int count, long costPerItem, Action<int, int> body, int blocks)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0)
        {
            return;
        }

        int threads = Math.Min(s_maxThreads, count);
        if (threads <= 1 || count * costPerItem < MinParallelWork)
        {
            body(0, count);
            return;
        }

        var job = new Job(count, Math.Clamp(blocks <= 0 ? threads : blocks, threads, count), body);
        for (int t = 1; t < threads; t++)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static j => j.Help(), job, preferLocal: false);
        }

        job.Work();
        job.Close();
    }

    /// <summary>Shared state of one <see cref="For(int, long, Action{int, int}, int)"/> call.</summary>
    private sealed class Job(int count, int blocks, Action<int, int> body)
    {
        private int _next;
        private int _running;
        private int _closed;
        private ExceptionDispatchInfo? _error;

        /// <summary>Claims and runs ranges until none is left.</summary>
        public void Work()
        {
            int b;
            while ((b = Interlocked.Increment(ref _next) - 1) < blocks)
            {
                int start = (int)((long)count * b / blocks);
                int end = (int)((long)count * (b + 1) / blocks);
                try
                {
                    body(start, end);
                }
                catch (Exception e)
                {
                    Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
                }
            }
        }

        /// <summary>A helper: registers as running unless the caller has already closed the job.</summary>
        public void Help()
        {
            Interlocked.Increment(ref _running);
            if (Volatile.Read(ref _closed) == 0)
            {
                Work();
            }

            Interlocked.Decrement(ref _running);
        }

        /// <summary>Called by the caller once it finds no range left: waits for helpers still running one.</summary>
        public void Close()
        {
            Interlocked.Exchange(ref _closed, 1);
            var spin = default(SpinWait);
            while (Volatile.Read(ref _running) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            _error?.Throw();
        }
    }
}
