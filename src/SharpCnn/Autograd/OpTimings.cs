using System.Diagnostics;

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
/// time them without hooks. Recording is not thread-safe: profile one step at a time on one thread.
/// </remarks>
public static class OpTimings
{
    private static readonly List<OpTiming> s_records = [];
    private static readonly Dictionary<GradFn, int> s_forwardIndex = new(ReferenceEqualityComparer.Instance);
    private static bool s_enabled;
    private static long s_last;

    /// <summary>Gets or sets a value indicating whether ops are recorded; setting it also restarts the forward clock.</summary>
    public static bool Enabled
    {
        get => s_enabled;
        set
        {
            s_enabled = value;
            s_last = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Restarts the forward clock: the next recorded op is timed from now.</summary>
    public static void Restart() => s_last = Stopwatch.GetTimestamp();

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
        s_records.Add(new OpTiming(OpPhase.Forward, fn.Name, index, Stopwatch.GetElapsedTime(s_last, now).TotalMilliseconds, 0));
        s_last = Stopwatch.GetTimestamp();
    }

    internal static void RecordBackward(GradFn fn, long started, long ruleDone)
    {
        long now = Stopwatch.GetTimestamp();
        int index = s_forwardIndex.GetValueOrDefault(fn, -1);
        s_records.Add(new OpTiming(OpPhase.Backward, fn.Name, index, Stopwatch.GetElapsedTime(started, ruleDone).TotalMilliseconds,
            Stopwatch.GetElapsedTime(ruleDone, now).TotalMilliseconds));
    }

    internal static void RecordAccumulate(long started) =>
        s_records.Add(new OpTiming(OpPhase.AccumulateGrad, "AccumulateGrad", -1, Stopwatch.GetElapsedTime(started).TotalMilliseconds, 0));
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
public readonly record struct OpTiming(OpPhase Phase, string Name, int ForwardIndex, double Milliseconds, double SumMilliseconds);
