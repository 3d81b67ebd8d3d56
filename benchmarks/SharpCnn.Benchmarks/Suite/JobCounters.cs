using System.Diagnostics;
using System.Globalization;
using SharpCnn.Kernels;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>
/// A snapshot of <see cref="KernelParallelStats"/>' counters; the difference of two says how the split jobs of an
/// interval went: how many, how much of their work the helper threads ran, and how fast the helpers joined.
/// </summary>
public readonly record struct JobCounters(long Jobs, long Blocks, long HelperBlocks, long SoloJobs, long Joins, long JoinTicks, long SlowJoins, long Ticks, long WaitTicks)
{
    public static JobCounters Read() => new(
        KernelParallelStats.Jobs,
        KernelParallelStats.Blocks,
        KernelParallelStats.HelperBlocks,
        KernelParallelStats.SoloJobs,
        KernelParallelStats.HelperJoins,
        KernelParallelStats.HelperJoinTicks,
        KernelParallelStats.SlowHelperJoins,
        KernelParallelStats.Ticks,
        KernelParallelStats.WaitTicks);

    public static JobCounters operator -(JobCounters a, JobCounters b) => new(
        a.Jobs - b.Jobs,
        a.Blocks - b.Blocks,
        a.HelperBlocks - b.HelperBlocks,
        a.SoloJobs - b.SoloJobs,
        a.Joins - b.Joins,
        a.JoinTicks - b.JoinTicks,
        a.SlowJoins - b.SlowJoins,
        a.Ticks - b.Ticks,
        a.WaitTicks - b.WaitTicks);

    /// <summary>Share of the blocks that helper threads ran (0 to 1; NaN without jobs).</summary>
    public double HelperShare => Blocks == 0 ? double.NaN : (double)HelperBlocks / Blocks;

    /// <summary>One line: per pass (of <paramref name="passes"/>), the jobs, the helpers' share of their blocks, the jobs they missed, and the hand-off latency.</summary>
    public string Describe(int passes)
    {
        double perPass = Math.Max(1, passes);
        double joinUs = Joins == 0 ? double.NaN : JoinTicks * 1e6 / Stopwatch.Frequency / Joins;
        return string.Create(CultureInfo.InvariantCulture,
            $"split jobs per pass: {Jobs / perPass:F0} ({Ticks * 1e3 / Stopwatch.Frequency / perPass:F2} ms, {Blocks / perPass:F0} blocks); " +
            $"helpers ran {100 * HelperShare:F1}% of the blocks; {SoloJobs / perPass:F1} jobs per pass ran all on the caller; " +
            $"helpers joined {Joins / perPass:F0} times per pass, {joinUs:F1} µs after the job opened on average, " +
            $"{SlowJoins / perPass:F1} of them ≥ {KernelParallelStats.SlowJoinMicroseconds} µs late; caller waited {WaitTicks * 1e3 / Stopwatch.Frequency / perPass:F3} ms at job ends");
    }
}
