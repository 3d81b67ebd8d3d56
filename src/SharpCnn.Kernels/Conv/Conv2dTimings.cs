using System.Diagnostics;

namespace SharpCnn.Kernels;

/// <summary>
/// Opt-in timing of every <see cref="Conv2d"/> forward call, for profiling a network layer by layer and variant by
/// variant (<c>./sharpcnn bench --profile</c>). Off by default; when off a call costs one static read.
/// </summary>
/// <remarks>Recording is not thread-safe: profile one forward pass at a time (the kernels' own workers never record).</remarks>
public static class Conv2dTimings
{
    private static readonly List<Conv2dTiming> s_records = [];

    /// <summary>Gets or sets a value indicating whether forward calls are recorded.</summary>
    public static bool Enabled { get; set; }

    /// <summary>Returns the calls recorded since the last call, in call order, and forgets them.</summary>
    public static IReadOnlyList<Conv2dTiming> Drain()
    {
        Conv2dTiming[] records = [.. s_records];
        s_records.Clear();
        return records;
    }

    internal static void Record(string variant, in Conv2dGeometry g, string epilogue, long started)
    {
        double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        s_records.Add(new Conv2dTiming(variant, g, epilogue, ms));
    }
}

/// <summary>One timed convolution forward.</summary>
/// <param name="Variant">The kernel variant that ran (<see cref="Conv2d.SelectedVariant"/>).</param>
/// <param name="Geometry">Its geometry.</param>
/// <param name="Epilogue">What was fused into the store: "bias", "bias+relu", "bias+residual" or "bias+residual+relu".</param>
/// <param name="Milliseconds">Wall time of the call.</param>
public readonly record struct Conv2dTiming(string Variant, Conv2dGeometry Geometry, string Epilogue, double Milliseconds);
