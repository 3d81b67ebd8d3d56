namespace SharpCnn.Kernels;

/// <summary>
/// How the Winograd backward-weight kernels (<see cref="Conv2dWinogradWeight"/>, <see cref="Conv2dWinogradStride2Weight"/>,
/// <see cref="Conv2dWinograd5x5Weight"/>) cut the batch's tile blocks into partitions, each summed into its own
/// accumulator and the accumulators added in partition order, and how they lay out their transform planes.
/// </summary>
/// <remarks>
/// The partition count is a function of the geometry alone (never of the thread count), so the bits are the same for
/// any number of threads. It is even (two threads split the partitions evenly) and at most <see cref="Max"/>, so a
/// helper that starts late costs at most about an eighth of the pass: the caller takes the partitions it has not
/// started.
/// </remarks>
internal static class WinogradPartitions
{
    /// <summary>Most tile-block partitions.</summary>
    public const int Max = 8;

    /// <summary>Most floats of the partitions' accumulators together (16 MB: 4 partitions at 256×256 channels of F(2×2)).</summary>
    public const long MaxPartialFloats = 1 << 22;

    /// <summary>
    /// The partition count for <paramref name="blocks"/> tile blocks: an even number of at least
    /// <paramref name="minBlocks"/> blocks each, at most <paramref name="maxByTiles"/> (a kernel's own cap from its tile
    /// count), <see cref="Max"/> and as many accumulators of <paramref name="accumulatorFloats"/> as fit in
    /// <see cref="MaxPartialFloats"/>; 2 when that leaves none but there are 2 blocks or more, 1 for a single block or
    /// where two accumulators do not fit.
    /// </summary>
    public static int For(int blocks, int minBlocks, int maxByTiles, long accumulatorFloats)
    {
        int parts = Math.Min(Math.Min(Max, blocks / minBlocks), maxByTiles) & ~1;
        parts = Math.Max(parts, Math.Min(blocks, 2));
        int cap = (int)Math.Clamp(MaxPartialFloats / accumulatorFloats, 1, Max);
        return Math.Min(parts, cap >= 2 ? cap & ~1 : 1);
    }

    /// <summary>
    /// Floats between two transform planes holding <paramref name="floats"/>: whole 4 KiB pages plus one cache line, so
    /// the transforms' writes at the same offset of many planes fall into different L1 sets.
    /// </summary>
    public static long PlaneStride(long floats) => ((floats + 1023) & ~1023L) + 16;
}
