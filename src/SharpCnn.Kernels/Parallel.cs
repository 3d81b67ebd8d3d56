using System.Diagnostics;
using System.Runtime.ExceptionServices;

namespace SharpCnn.Kernels;

/// <summary>
/// The one place that splits kernel work across cores: the calling thread plus long-lived background workers.
/// Work is split into fixed, index-ordered ranges so that any reduction combined in range order is bitwise
/// identical for every thread count and every schedule.
/// </summary>
public static class KernelParallel
{
    /// <summary>
    /// Work (in multiply-adds) below which a kernel stays on the calling thread. Handing half a job to a worker
    /// that is spinning for it costs well under a microsecond, and on a 2-core Zen 5 splitting paid from about
    /// 16 K multiply-adds of vectorised work (about 1 µs); 2¹⁶ leaves room for kernels that do more per
    /// multiply-add. At this limit LeNet-5's max-pools and its 120→84 layer split and run 1.3–2× faster than
    /// under the former 2²⁰ (docs/performance.md, "Threads").
    /// </summary>
    public const long MinParallelWork = 1 << 16;

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
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in contiguous ranges. Runs inline, as
    /// <c>body(0, count)</c>, when one thread is allowed or <paramref name="count"/> × <paramref name="costPerItem"/>
    /// is below <see cref="MinParallelWork"/> multiply-adds.
    /// </summary>
    /// <param name="count">Number of independent items.</param>
    /// <param name="costPerItem">Rough work per item in multiply-adds; decides whether to go parallel.</param>
    /// <param name="body">Called with a half-open range [start, end).</param>
    public static void For(int count, long costPerItem, Action<int, int> body) => For(count, costPerItem, body, 0);

    /// <summary>
    /// As <see cref="For(int, long, Action{int, int})"/>, cutting [0, <paramref name="count"/>) into
    /// <paramref name="blocks"/> equal contiguous ranges (at least one per thread; 0 means one per thread).
    /// </summary>
    /// <remarks>
    /// <para>With threads = min(<see cref="MaxThreads"/>, count) ≥ 2 and enough work, block b is
    /// [count·b/blocks, count·(b+1)/blocks), and the ranges depend on (count, blocks, threads) alone, never on
    /// timing. The threads are the caller and threads − 1 long-lived background threads ("SharpCnn kernel worker N",
    /// started on first use) that spin for a fraction of a millisecond after each call for the next one and then
    /// block. Thread t runs the contiguous share of blocks [blocks·t/threads, blocks·(t+1)/threads), then takes blocks
    /// nobody has started from the other shares, so the caller never waits for a helper that has not woken up, only
    /// for blocks a helper is running. Which thread runs a block never changes what it computes, so results are
    /// bitwise identical for every schedule, and for every thread count when items do not depend on the cut.</para>
    /// <para>One call uses the background threads at a time. A call made while they are taken, by a body (a nested
    /// call, on any thread) or by another user thread, runs the same blocks in order on its own thread: nothing
    /// waits, so nesting cannot deadlock, and concurrent callers are safe (the later ones single-threaded).</para>
    /// <para>If bodies throw, every block still runs, and then the exception of the lowest-numbered block that threw
    /// is rethrown as it is; the threads stay usable.</para>
    /// </remarks>
    /// <param name="count">Number of independent items.</param>
    /// <param name="costPerItem">Rough work per item in multiply-adds; decides whether to go parallel.</param>
    /// <param name="body">Called with a half-open range [start, end).</param>
    /// <param name="blocks">Number of ranges; more ranges balance better when a helper is slow or late.</param>
    public static void For(int count, long costPerItem, Action<int, int> body, int blocks) =>
        For(count, costPerItem, body, blocks, s_maxThreads);

    /// <summary>As the public overload, with the thread limit given (tests pin it without touching <see cref="MaxThreads"/>).</summary>
    internal static void For(int count, long costPerItem, Action<int, int> body, int blocks, int maxThreads)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (count <= 0)
        {
            return;
        }

        // count × costPerItem < MinParallelWork, written so that the product cannot overflow.
        int threads = Math.Min(maxThreads, count);
        if (threads <= 1 || costPerItem < (MinParallelWork + count - 1) / count)
        {
            body(0, count);
            return;
        }

        blocks = Math.Clamp(blocks <= 0 ? threads : blocks, threads, count);
        long started = KernelParallelStats.IsCounting ? Stopwatch.GetTimestamp() : 0;
        if (!WorkerPool.TryRun(count, blocks, threads, body))
        {
            RunInOrder(count, blocks, body);
        }
        else if (started != 0)
        {
            KernelParallelStats.Add(started, count, blocks);
        }
    }

    /// <summary>The pool is taken: the same blocks on this thread, with the same exception rule.</summary>
    private static void RunInOrder(int count, int blocks, Action<int, int> body)
    {
        ExceptionDispatchInfo? error = null;
        for (int b = 0; b < blocks; b++)
        {
            try
            {
                body((int)((long)count * b / blocks), (int)((long)count * (b + 1) / blocks));
            }
            catch (Exception e)
            {
                error ??= ExceptionDispatchInfo.Capture(e);
            }
        }

        error?.Throw();
    }
}

/// <summary>
/// Opt-in accounting of the jobs <see cref="KernelParallel"/> hands to its threads, for profiling how much of a pass
/// runs split (<c>./sharpcnn bench --profile resnet18-train</c>). Off by default; when off a parallel call costs one
/// static read more. Counts the jobs of the thread that turned it on, without locking.
/// </summary>
public static class KernelParallelStats
{
    private static long s_jobs;
    private static long s_blocks;
    private static long s_ticks;
    private static long s_waitTicks;
    private static long s_lastWait;
    private static long s_helperCpu;
    private static long s_helperBlocks;
    private static long s_soloJobs;
    private static long s_joins;
    private static long s_joinTicks;
    private static long s_slowJoins;
    private static readonly long s_slowJoinTicks = Stopwatch.Frequency * SlowJoinMicroseconds / 1_000_000;
    private static bool s_enabled;
    private static int s_thread;

    /// <summary>Gets or sets a value indicating whether parallel jobs are counted: those started by the thread that set it.</summary>
    public static bool Enabled
    {
        get => s_enabled;
        set
        {
            s_thread = Environment.CurrentManagedThreadId;
            s_enabled = value;
        }
    }

    /// <summary>True when counting is on and this is the thread that turned it on.</summary>
    internal static bool IsCounting => s_enabled && Environment.CurrentManagedThreadId == s_thread;

    /// <summary>
    /// Gets or sets a clock of the calling thread's CPU time in nanoseconds (e.g. <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>,
    /// supplied by a profiler: the library itself reads no native clock), or null (default). When set, each helper reads
    /// it before and after its part of every job and adds the difference to <see cref="HelperCpuNanoseconds"/>. Unlike
    /// wall time, CPU time does not grow while other processes hold the core, so per-op CPU times taken on a shared
    /// machine still say how much work a pass did on each thread count. It runs on the helper threads and must not throw.
    /// </summary>
    public static Func<long>? CpuClock { get; set; }

    /// <summary>CPU time the helper threads spent running blocks of jobs (while <see cref="CpuClock"/> is set), in nanoseconds.</summary>
    public static long HelperCpuNanoseconds => Interlocked.Read(ref s_helperCpu);

    internal static void AddHelperCpu(long nanoseconds) => Interlocked.Add(ref s_helperCpu, nanoseconds);

    /// <summary>Parallel jobs run since the process started (while <see cref="Enabled"/>).</summary>
    public static long Jobs => s_jobs;

    /// <summary>Blocks of those jobs.</summary>
    public static long Blocks => s_blocks;

    /// <summary>Wall time the callers spent inside those jobs, in <see cref="Stopwatch"/> ticks.</summary>
    public static long Ticks => s_ticks;

    /// <summary>Wall time the callers spent waiting, after running out of blocks, for helpers to finish theirs (in <see cref="Stopwatch"/> ticks): idle time of a core at the end of a job.</summary>
    public static long WaitTicks => s_waitTicks;

    /// <summary>
    /// Blocks of the counted jobs that a helper thread ran (the caller ran the rest): with 2 threads about half of
    /// <see cref="Blocks"/> when the second core is free, near 0 when the helper never got a core in time.
    /// </summary>
    public static long HelperBlocks => Interlocked.Read(ref s_helperBlocks);

    /// <summary>Counted jobs whose blocks all ran on the calling thread: no helper claimed one before the caller had taken them all.</summary>
    public static long SoloJobs => s_soloJobs;

    /// <summary>
    /// How many times a helper entered a counted job while it was still open: once per helper and job, or twice in the rare
    /// case of a helper that, woken for the previous job, finds this one open and is then signalled for it too.
    /// </summary>
    public static long HelperJoins => Interlocked.Read(ref s_joins);

    /// <summary>
    /// Sum over <see cref="HelperJoins"/> of the time from the job's opening to the helper's entry, in <see cref="Stopwatch"/>
    /// ticks: the hand-off latency (well under a microsecond for a spinning helper; tens of microseconds or more for one
    /// woken from its blocking wait, or one that waited for a core).
    /// </summary>
    public static long HelperJoinTicks => Interlocked.Read(ref s_joinTicks);

    /// <summary>
    /// Those of <see cref="HelperJoins"/> that came <see cref="SlowJoinMicroseconds"/> or more after the job opened: the
    /// helper was asleep (it blocks after <c>WorkerPool.SpinMicroseconds</c> without a job) or had no core.
    /// </summary>
    public static long SlowHelperJoins => Interlocked.Read(ref s_slowJoins);

    /// <summary>The hand-off latency from which a join counts in <see cref="SlowHelperJoins"/>: 50 µs.</summary>
    public const int SlowJoinMicroseconds = 50;

    /// <summary>When not null, every parallel job appends (items, blocks, wall ticks, caller's wait ticks) here.</summary>
    public static List<(int Count, int Blocks, long Ticks, long WaitTicks)>? Log { get; set; }

    /// <summary>Called by the counting caller at the end of a job, once no helper is left in it.</summary>
    internal static void AddWait(long callerDone, int helperBlocks)
    {
        long wait = Stopwatch.GetTimestamp() - callerDone;
        s_waitTicks += wait;
        s_lastWait = wait;
        Interlocked.Add(ref s_helperBlocks, helperBlocks);
        if (helperBlocks == 0)
        {
            s_soloJobs++;
        }
    }

    /// <summary>Called by a helper entering a counted job, <paramref name="ticks"/> after the job opened.</summary>
    internal static void AddJoin(long ticks)
    {
        Interlocked.Increment(ref s_joins);
        Interlocked.Add(ref s_joinTicks, ticks);
        if (ticks >= s_slowJoinTicks)
        {
            Interlocked.Increment(ref s_slowJoins);
        }
    }

    internal static void Add(long started, int count, int blocks)
    {
        long ticks = Stopwatch.GetTimestamp() - started;
        s_ticks += ticks;
        s_jobs++;
        s_blocks += blocks;
        Log?.Add((count, blocks, ticks, s_lastWait));
        s_lastWait = 0;
    }
}
