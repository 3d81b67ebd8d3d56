namespace SharpCnn.Kernels;

/// <summary>
/// Convolution weights kept ready for repeated forward calls (inference): the implicit GEMM's packed A panels and
/// the Winograd variants' transformed, packed weights are built on first use and reused, instead of being repacked on every
/// call (for ResNet-18 at batch 1 that repacking moves the network's 45 MB of weights twice per image).
/// </summary>
/// <remarks>
/// Takes ownership of the weight array: it must not change afterwards (make a new instance for new weights).
/// Safe to share between threads: each packed form is built whole and published with one reference write.
/// </remarks>
public sealed class Conv2dPreparedWeights
{
    private float[]? _implicitPacked;
    private float[]? _winogradPacked;
    private float[]? _winograd4x4Packed;
    private float[]? _winogradStride2Packed;
    private float[]? _smallMapPacked;

    /// <summary>Wraps <paramref name="weight"/> (not copied), (C_out, C_in/G, kh, kw).</summary>
    /// <exception cref="ArgumentException">The array length is not C_out·C_in/G·kh·kw.</exception>
    public Conv2dPreparedWeights(float[] weight, int outChannels, int inChannelsPerGroup, int kernelH, int kernelW, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(weight);
        long expected = (long)outChannels * inChannelsPerGroup * kernelH * kernelW;
        if (outChannels <= 0 || inChannelsPerGroup <= 0 || kernelH <= 0 || kernelW <= 0 || groups <= 0 || weight.Length != expected)
        {
            throw new ArgumentException(
                $"Conv2dPreparedWeights: expected {outChannels}·{inChannelsPerGroup}·{kernelH}·{kernelW} = {expected} weights (all sizes and groups {groups} positive) but got {weight.Length}.",
                nameof(weight));
        }

        (Weight, OutChannels, InChannelsPerGroup, KernelH, KernelW, Groups) = (weight, outChannels, inChannelsPerGroup, kernelH, kernelW, groups);
    }

    /// <summary>The weights, (C_out, C_in/G, kh, kw).</summary>
    public float[] Weight { get; }

    /// <summary>C_out.</summary>
    public int OutChannels { get; }

    /// <summary>C_in/G.</summary>
    public int InChannelsPerGroup { get; }

    /// <summary>Kernel height.</summary>
    public int KernelH { get; }

    /// <summary>Kernel width.</summary>
    public int KernelW { get; }

    /// <summary>Groups.</summary>
    public int Groups { get; }

    /// <summary>
    /// Where the packed forms' storage comes from: given a length in floats, a new <b>pinned</b> array of exactly that
    /// length whose contents do not matter (the packer writes every element). <see langword="null"/> (the default): plain
    /// managed arrays, pinned where a kernel needs it.
    /// </summary>
    /// <remarks>
    /// The packed forms are read in full by every forward call (for ResNet-18 at batch 1, 75 MB per image, more than the
    /// L3 cache), so the engine passes an allocator that puts the large ones on transparent huge pages: streamed from
    /// memory they then cost one TLB entry per 2 MiB instead of per 4 KB. The page size never changes a result.
    /// </remarks>
    public Func<int, float[]>? Allocator { get; init; }

    /// <summary>True when <paramref name="g"/> is a convolution with these weights.</summary>
    public bool Fits(in Conv2dGeometry g) =>
        g.OutChannels == OutChannels && g.InChannelsPerGroup == InChannelsPerGroup && g.KernelH == KernelH && g.KernelW == KernelW && g.Groups == Groups;

    /// <summary>The implicit GEMM's packed weights (built on first use).</summary>
    internal unsafe float[] ImplicitPacked(in Conv2dGeometry g) =>
        _implicitPacked ??= Pack(g, Conv2dImplicitGemm.PackedWeightLength(g), pinned: false, &Conv2dImplicitGemm.PackWeights);

    /// <summary>Winograd's transformed, packed weights (built on first use).</summary>
    internal unsafe float[] WinogradPacked(in Conv2dGeometry g) =>
        _winogradPacked ??= Pack(g, Conv2dWinograd.PackedWeightLength(g), pinned: false, &Conv2dWinograd.PackWeights);

    /// <summary>
    /// Winograd F(4×4, 3×3)'s or, for 5×5 weights, F(2×2, 5×5)'s transformed, packed weights (built on first use;
    /// 36·C_out·C_in floats, 4× the 3×3 weights, 1.44× the 5×5 ones). Pinned:
    /// the kernel addresses its panels from the array's first 64-byte boundary, which must not move.
    /// </summary>
    internal unsafe float[] Winograd4x4Packed(in Conv2dGeometry g) =>
        _winograd4x4Packed ??= Pack(g, Conv2dWinograd4x4.PackedWeightLength(g), pinned: true, &Conv2dWinograd4x4.PackWeights);

    /// <summary>
    /// The stride-2 polyphase Winograd's transformed, packed weights (built on first use; 81·C_out·C_in floats, 9× the
    /// weights). Pinned, as <see cref="Winograd4x4Packed"/>.
    /// </summary>
    internal unsafe float[] WinogradStride2Packed(in Conv2dGeometry g) =>
        _winogradStride2Packed ??= Pack(g, Conv2dWinogradStride2.PackedWeightLength(g), pinned: true, &Conv2dWinogradStride2.PackWeights);
    /// <summary>The small-map GEMM's transposed weight panels (built on first use; C_out rounded up to 32 times C_in·kh·kw floats).</summary>
    internal unsafe float[] SmallMapPacked(in Conv2dGeometry g) =>
        _smallMapPacked ??= Pack(g, Conv2dSmallMapGemm.PackedWeightLength(g), pinned: false, &Conv2dSmallMapGemm.PackWeights);

    /// <summary>A new array of <paramref name="length"/> floats filled by a variant's weight packer from <see cref="Weight"/>.</summary>
    private unsafe float[] Pack(in Conv2dGeometry g, long length, bool pinned,
        delegate*<float*, in Conv2dGeometry, float*, void> packWeights)
    {
        float[] packed;
        if (Allocator is { } allocate)
        {
            packed = allocate(checked((int)length));
            if (packed is null || packed.Length != length)
            {
                throw new InvalidOperationException(
                    $"Conv2dPreparedWeights.Allocator: asked for {length} floats but got {(packed is null ? "null" : $"an array of {packed.Length}")}.");
            }
        }
        else
        {
            packed = pinned
                ? GC.AllocateUninitializedArray<float>(checked((int)length), pinned: true)
                : new float[length];
        }

        fixed (float* pw = Weight)
        fixed (float* pp = packed)
        {
            packWeights(pw, g, pp);
        }

        return packed;
    }
}
