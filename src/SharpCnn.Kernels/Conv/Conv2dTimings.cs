using System.Diagnostics;

namespace SharpCnn.Kernels;

/// <summary>
/// Opt-in timing of every <see cref="Conv2d"/> call (forward, backward-data, backward-weight), for profiling a network
/// layer by layer and variant by variant (<c>./sharpcnn bench --profile</c>). Off by default; when off a call costs one
/// static read.
/// </summary>
/// <remarks>Only the thread that set <see cref="Enabled"/> records (the kernels' own workers never do): profile one pass at a time.</remarks>
public static class Conv2dTimings
{
    private static readonly List<Conv2dTiming> s_records = [];

    private static bool s_enabled;
    private static int s_thread;

    /// <summary>Gets or sets a value indicating whether calls are recorded: those made on the thread that set it.</summary>
    public static bool Enabled
    {
        get => s_enabled && Environment.CurrentManagedThreadId == s_thread;
        set
        {
            s_thread = Environment.CurrentManagedThreadId;
            s_enabled = value;
        }
    }

    /// <summary>Returns the calls recorded since the last call, in call order, and forgets them.</summary>
    public static IReadOnlyList<Conv2dTiming> Drain()
    {
        Conv2dTiming[] records = [.. s_records];
        s_records.Clear();
        return records;
    }

    internal static void Record(string variant, in Conv2dGeometry g, string epilogue, long started, Conv2dPass pass = Conv2dPass.Forward)
    {
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        s_records.Add(new Conv2dTiming(variant, g, epilogue, ms, pass));
    }
}

/// <summary>Which computation of a convolution a <see cref="Conv2dTiming"/> timed.</summary>
public enum Conv2dPass
{
    /// <summary>y = conv(x, w) + b (<see cref="Conv2d.Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, in Conv2dGeometry, Span{float})"/> and its fused forms).</summary>
    Forward,

    /// <summary>dx from dy (<see cref="Conv2d.BackwardData"/>).</summary>
    BackwardData,

    /// <summary>dw (and db) from dy and x (<see cref="Conv2d.BackwardWeight"/>).</summary>
    BackwardWeight,
}

/// <summary>One timed convolution call.</summary>
/// <param name="Variant">The kernel variant that ran (forward: <see cref="Conv2d.SelectedVariant"/>; backward: the variant of that pass).</param>
/// <param name="Geometry">Its geometry.</param>
/// <param name="Epilogue">Forward: what was fused into the store ("bias", "bias+relu", "bias+residual" or "bias+residual+relu"); backward: "" or "+bias".</param>
/// <param name="Milliseconds">Wall time of the call.</param>
/// <param name="Pass">Which computation ran (forward unless said).</param>
public readonly record struct Conv2dTiming(string Variant, Conv2dGeometry Geometry, string Epilogue, double Milliseconds, Conv2dPass Pass = Conv2dPass.Forward);
