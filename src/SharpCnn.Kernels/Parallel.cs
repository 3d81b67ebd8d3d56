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
    public static void For(int count, long costPerItem, Action<int, int> body)
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

        // Static split into `threads` contiguous ranges: the caller's thread takes the first.
        System.Threading.Tasks.Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            int start = (int)((long)count * t / threads);
            int end = (int)((long)count * (t + 1) / threads);
            if (end > start)
            {
                body(start, end);
            }
        });
    }
}
