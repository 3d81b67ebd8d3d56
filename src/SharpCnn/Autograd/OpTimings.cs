using System.Diagnostics;
using SharpCnn.Kernels;

namespace SharpCnn.Autograd;

/// <summary>
/// Opt-in timing of a training step op by op, for profiling (<c>./sharpcnn bench --profile resnet18-train</c>): each
/// recorded forward op, each backward rule the graph walk runs (with the summing of its input gradients into the
/// pending ones), and each accumulation into a leaf's <see cref="Tensor.Grad"/>. Off by default; when off each
/// recorded op and each visited node costs one static read.
/// </summary>
/// <remarks>
/// A forward op is timed from the previous recorded op (or <see cref="Enabled"/> being set, or <see cref="Restart"/>)
/// to the moment it is recorded, so it includes whatever unrecorded work the caller did in between (module calls,
/// shape checks, views that need no gradient); the ops are computed before they are recorded, so nothing else can
/// time them without hooks. Only the thread that set <see cref="Enabled"/> records: profile one step at a time.
/// </remarks>
public static class OpTimings
{
    private static readonly List<OpTiming> s_records = [];
    private static readonly Dictionary<GradFn, int> s_forwardIndex = new(ReferenceEqualityComparer.Instance);
    private static bool s_enabled;
    private static int s_thread;
    private static long s_last;
    private static long s_lastParallelTicks;
    private static long s_lastJobs;
    private static long s_lastCpu;

    /// <summary>
    /// Gets or sets a value indicating whether ops are recorded, on the thread that set it (other threads' ops are
    /// not); setting it also restarts the forward clock.
    /// </summary>
    public static bool Enabled
    {
        get => s_enabled;
        set
        {
            s_thread = Environment.CurrentManagedThreadId;
            s_enabled = value;
            Restart();
        }
    }

    /// <summary>True when recording is on and this is the thread that turned it on (the graph's check; one static read when off).</summary>
    internal static bool IsRecording => s_enabled && Environment.CurrentManagedThreadId == s_thread;

    /// <summary>Restarts the forward clock: the next recorded op is timed from now.</summary>
    public static void Restart()
    {
        s_last = Stopwatch.GetTimestamp();
        s_lastParallelTicks = KernelParallelStats.Ticks;
        s_lastJobs = KernelParallelStats.Jobs;
        TakeCpu();
    }

    /// <summary>Returns what was recorded since the last call, in order, and forgets it.</summary>
    public static IReadOnlyList<OpTiming> Drain()
    {
        OpTiming[] records = [.. s_records];
        s_records.Clear();
        s_forwardIndex.Clear();
        return records;
    }

    internal static void RecordForward(GradFn fn)
    {
        long now = Stopwatch.GetTimestamp();
        int index = s_forwardIndex.Count;
        s_forwardIndex[fn] = index;
        (double parallel, int jobs) = TakeParallel();
        s_records.Add(new OpTiming(OpPhase.Forward, fn.Name, index, Stopwatch.GetElapsedTime(s_last, now).TotalMilliseconds, 0, parallel, jobs, TakeCpu()));
        s_last = Stopwatch.GetTimestamp();
    }

    /// <summary>Starts timing a backward node: the parallel-job counters are read from here.</summary>
    internal static long StartNode()
    {
        TakeParallel();
        TakeCpu();
        return Stopwatch.GetTimestamp();
    }

    internal static void RecordBackward(GradFn fn, long started, long ruleDone)
    {
        long now = Stopwatch.GetTimestamp();
        int index = s_forwardIndex.GetValueOrDefault(fn, -1);
        (double parallel, int jobs) = TakeParallel();
        s_records.Add(new OpTiming(OpPhase.Backward, fn.Name, index, Stopwatch.GetElapsedTime(started, ruleDone).TotalMilliseconds,
            Stopwatch.GetElapsedTime(ruleDone, now).TotalMilliseconds, parallel, jobs, TakeCpu()));
    }

    internal static void RecordAccumulate(long started)
    {
        (double parallel, int jobs) = TakeParallel();
        s_records.Add(new OpTiming(OpPhase.AccumulateGrad, "AccumulateGrad", -1, Stopwatch.GetElapsedTime(started).TotalMilliseconds, 0, parallel, jobs, TakeCpu()));
    }

    /// <summary>
    /// CPU ms of this thread plus the kernel helpers since the last call, when <see cref="KernelParallelStats.CpuClock"/>
    /// is set (else 0). The caller's share includes its spinning at the end of a job while a helper finishes.
    /// </summary>
    private static double TakeCpu()
    {
        if (KernelParallelStats.CpuClock is not { } clock)
        {
            return 0;
        }

        long cpu = clock() + KernelParallelStats.HelperCpuNanoseconds;
        double ms = (cpu - s_lastCpu) / 1e6;
        s_lastCpu = cpu;
        return ms;
    }

    /// <summary>Time and jobs run split over the kernel threads since the last call (<see cref="KernelParallelStats"/>).</summary>
    private static (double Milliseconds, int Jobs) TakeParallel()
    {
        long ticks = KernelParallelStats.Ticks, jobs = KernelParallelStats.Jobs;
        double ms = (ticks - s_lastParallelTicks) * 1000.0 / Stopwatch.Frequency;
        int count = (int)(jobs - s_lastJobs);
        (s_lastParallelTicks, s_lastJobs) = (ticks, jobs);
        return (ms, count);
    }
}

/// <summary>What an <see cref="OpTiming"/> timed.</summary>
public enum OpPhase
{
    /// <summary>A forward op, up to its recording.</summary>
    Forward,

    /// <summary>A backward rule (and the summing of its results into the pending gradients).</summary>
    Backward,

    /// <summary>A gradient stored into or added to a leaf's <see cref="Tensor.Grad"/>.</summary>
    AccumulateGrad,
}

/// <summary>One timed op.</summary>
/// <param name="Phase">What was timed.</param>
/// <param name="Name">The op's node name (<see cref="GradFn.Name"/>, e.g. <c>Conv2dBackward</c>), or <c>AccumulateGrad</c>.</param>
/// <param name="ForwardIndex">The op's position among the forward ops recorded since the last <see cref="OpTimings.Drain"/> (a backward rule carries its forward op's), or −1.</param>
/// <param name="Milliseconds">Wall time of the forward op, the backward rule, or the accumulation.</param>
/// <param name="SumMilliseconds">Backward only: the time after the rule spent adding its results to pending gradients and releasing storage.</param>
/// <param name="ParallelMilliseconds">Of the whole timed interval (rule and sums), the time spent in jobs split over the kernel threads (while <see cref="KernelParallelStats.Enabled"/>); the rest ran on the calling thread alone.</param>
/// <param name="ParallelJobs">How many such jobs.</param>
/// <param name="CpuMilliseconds">CPU time of the calling thread and the kernel helpers over the whole interval, when <see cref="KernelParallelStats.CpuClock"/> is set (else 0).</param>
public readonly record struct OpTiming(OpPhase Phase, string Name, int ForwardIndex, double Milliseconds, double SumMilliseconds,
    double ParallelMilliseconds, int ParallelJobs, double CpuMilliseconds);
