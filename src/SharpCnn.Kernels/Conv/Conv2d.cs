using System.Buffers;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace SharpCnn.Kernels;

/// <summary>
/// 2-D convolution kernels over NCHW float32. <see cref="SelectedVariant"/> dispatches each geometry to the direct
/// small-channel and channel-blocked kernels, Winograd F(2×2, 3×3), F(4×4, 3×3) and F(2×2, 5×5), the implicit GEMM (AVX-512) or the readable fallback written here
/// (variant <c>Conv2dIm2ColGemm</c>): each sample and group unfolded by im2col into a (C_in/G·kh·kw) × (OH·OW)
/// matrix and multiplied with <see cref="Gemm"/>; a 1×1, stride-1, unpadded convolution multiplies the input
/// directly. <see cref="Conv2dReference"/> gives the math.
/// </summary>
/// <remarks>
/// Legend: n batch, c/o input/output channels, h/w input, oh/ow output, kh/kw kernel, G groups,
/// K = C_in/G·kh·kw, P = OH·OW. Results are bitwise identical for any <see cref="KernelParallel.MaxThreads"/>.
/// </remarks>
public static unsafe class Conv2d
{
    /// <summary>The variant name of the im2col + GEMM kernels (as <c>SHARPCNN_KERNEL</c> spells it); the fallback for any geometry.</summary>
    public const string VariantName = "Conv2dIm2ColGemm";

    /// <summary>
    /// The variant name of the direct kernels for stride 1 and few output channels (AVX-512 only), chosen where
    /// <see cref="SelectedVariant"/> finds them faster; <c>SHARPCNN_KERNEL=Conv2dDirectSmallChannels</c> forces them
    /// wherever they apply.
    /// </summary>
    public const string DirectVariantName = "Conv2dDirectSmallChannels";

    /// <summary>
    /// The variant name of the implicit-GEMM kernels (AVX-512): forward gathers GEMM panels straight from the input
    /// with the batch folded into the columns; backward-data of stride-1 layers runs as such a forward convolution.
    /// The default on AVX-512 machines wherever <see cref="DirectVariantName"/> is not preferred;
    /// <c>SHARPCNN_KERNEL=Conv2dImplicitGemm</c> forces it wherever it applies.
    /// </summary>
    public const string ImplicitVariantName = "Conv2dImplicitGemm";

    /// <summary>
    /// The variant name of the Winograd F(2×2, 3×3) forward (AVX-512; 3×3, stride 1, undilated, ungrouped), chosen
    /// from 32 input and 64 output channels up; backward-data of such layers runs through it too (as a flipped
    /// forward) and backward-weight through <see cref="ImplicitVariantName"/>. <c>SHARPCNN_KERNEL=Conv2dWinograd2x2</c>
    /// forces it wherever it applies (elsewhere the implicit GEMM runs).
    /// </summary>
    public const string WinogradVariantName = "Conv2dWinograd2x2";

    /// <summary>
    /// The variant name of the Winograd F(4×4, 3×3) forward (AVX-512; 3×3, stride 1, undilated, ungrouped), chosen where
    /// measured faster than F(2×2) and the implicit GEMM; backward-data of such layers (padding ≤ 2) runs through it as a
    /// flipped forward, backward-weight through <see cref="ImplicitVariantName"/>. <c>SHARPCNN_KERNEL=Conv2dWinograd4x4</c>
    /// forces it wherever it applies (elsewhere the implicit GEMM runs).
    /// </summary>
    public const string Winograd4x4VariantName = "Conv2dWinograd4x4";

    /// <summary>
    /// The variant name of the Winograd F(2×2, 5×5) forward (AVX-512; 5×5, stride 1, undilated, ungrouped), chosen where
    /// measured faster than the direct and implicit-GEMM kernels; backward-data of such layers (padding ≤ 4) runs through
    /// it as a flipped forward. <c>SHARPCNN_KERNEL=Conv2dWinograd5x5</c> forces it wherever it applies (elsewhere the
    /// implicit GEMM runs).
    /// </summary>
    public const string Winograd5x5VariantName = "Conv2dWinograd5x5";

    /// <summary>
    /// The variant name of the direct convolution over channel-blocked data (AVX-512, one group; padding taps skipped),
    /// chosen where <see cref="SelectedVariant"/> measured it faster (small maps); backward-data of stride-1 layers
    /// and backward-weight (as a convolution of the input by dy) run through it too.
    /// <c>SHARPCNN_KERNEL=Conv2dDirectBlocked</c> forces it wherever it applies (elsewhere the implicit GEMM runs).
    /// </summary>
    public const string BlockedVariantName = "Conv2dDirectBlocked";

    /// <summary>
    /// The variant name of the polyphase Winograd forward for 3×3, stride-2 layers (AVX-512; undilated, ungrouped): per
    /// axis F(4, 2) on the even input samples plus the odd samples directly, 81 GEMMs per 4×4 output tile (5.06
    /// multiply-adds per output and channel pair against 9), chosen where measured faster than the implicit GEMM;
    /// backward-data of such layers runs through it too (the decomposition read backwards: 5×5 dy patch → 8×8 dx tile),
    /// backward-weight (with nothing forced) through <see cref="WinogradStride2WeightVariantName"/> where that is
    /// preferred, else <see cref="ImplicitVariantName"/>. <c>SHARPCNN_KERNEL=Conv2dWinogradStride2</c> forces it wherever
    /// it applies (elsewhere, and for backward-weight, the implicit GEMM runs).
    /// </summary>
    public const string WinogradStride2VariantName = "Conv2dWinogradStride2";

    /// <summary>
    /// The variant name of the transposed GEMM for maps with few output positions (AVX-512, one group): output
    /// channels vectorised, positions broadcast (<c>Conv2dSmallMapGemm</c>), chosen with prepared weights where the
    /// whole batch has at most 64 output positions (ResNet-18's layer4 at batch 1); backward passes run on
    /// <see cref="ImplicitVariantName"/>. <c>SHARPCNN_KERNEL=Conv2dSmallMapGemm</c> forces its forward wherever it applies.
    /// </summary>
    public const string SmallMapVariantName = "Conv2dSmallMapGemm";

    /// <summary>
    /// The variant name of the Winograd F(2×2, 3×3) backward-weight (AVX-512; 3×3, stride 1, undilated, ungrouped): dw as
    /// 16 GEMMs over the batch's transformed input and dy tiles, chosen for backward-weight where
    /// <see cref="Conv2dWinogradWeight.Prefers"/> measured it faster. <c>SHARPCNN_KERNEL=Conv2dWinogradWeight2x2</c> forces
    /// it for backward-weight wherever it applies (the forward and backward-data passes keep their default selection).
    /// </summary>
    public const string WinogradWeightVariantName = "Conv2dWinogradWeight2x2";

    /// <summary>
    /// The variant name of the polyphase Winograd backward-weight for 3×3, stride-2 layers (AVX-512; undilated,
    /// ungrouped): dw as 81 GEMMs over the batch's transformed 9×9 input patches and 4×4 dy tiles (per axis F(4, 2) on the
    /// even patch samples, the odd samples directly), chosen for backward-weight where
    /// <see cref="Conv2dWinogradStride2Weight.Prefers"/> measured it faster. <c>SHARPCNN_KERNEL=Conv2dWinogradStride2Weight</c>
    /// forces it for backward-weight wherever it applies (the forward and backward-data passes keep their default selection).
    /// </summary>
    public const string WinogradStride2WeightVariantName = "Conv2dWinogradStride2Weight";

    /// <summary>
    /// The variant name of the Winograd F(2×2, 5×5) backward-weight (AVX-512; 5×5, stride 1, undilated, ungrouped): dw as
    /// 36 GEMMs over the batch's transformed 6×6 input patches and 2×2 dy tiles, chosen for backward-weight where
    /// <see cref="Conv2dWinograd5x5Weight.Prefers"/> measured it faster. <c>SHARPCNN_KERNEL=Conv2dWinograd5x5Weight</c>
    /// forces it for backward-weight wherever it applies (the forward and backward-data passes keep their default selection).
    /// </summary>
    public const string Winograd5x5WeightVariantName = "Conv2dWinograd5x5Weight";

    private static readonly Lazy<string?> s_forced = new(() => KernelSwitches.All
        .FirstOrDefault(name => name is VariantName or DirectVariantName or ImplicitVariantName or WinogradVariantName
            or Winograd4x4VariantName or Winograd5x5VariantName or BlockedVariantName or WinogradStride2VariantName
            or SmallMapVariantName or WinogradWeightVariantName or WinogradStride2WeightVariantName or Winograd5x5WeightVariantName));

    /// <summary>Gets or sets a variant name forced process-wide (tests); null selects by geometry.</summary>
    internal static string? VariantOverride { get; set; }

    /// <summary>
    /// Tells which variant runs <paramref name="g"/>: <see cref="DirectVariantName"/> for stride 1 with 4 to 16
    /// output channels per group, or up to 64 from at most 3 input channels per group (not 1×1) on AVX-512 machines,
    /// <see cref="Winograd4x4VariantName"/> for 3×3 stride-1 layers with at least 32 input and output channels and
    /// enough outputs to pay for the weight transform, <see cref="Winograd5x5VariantName"/> for 5×5 stride-1 layers with at
    /// least 16 input and 32 output channels and outputs at least 7 wide, <see cref="WinogradVariantName"/> for 3×3 stride-1 layers with at
    /// least 32 input and 64 output channels, <see cref="BlockedVariantName"/> for stride-1 layers on small maps (at most
    /// 14×14, ≥ 16 input and ≥ 64 output channels), <see cref="WinogradStride2VariantName"/> for 3×3 stride-2 layers with
    /// enough outputs (<see cref="Conv2dWinogradStride2.Prefers"/>), else <see cref="ImplicitVariantName"/> on AVX-512 machines, else
    /// <see cref="VariantName"/>. A variant named in <c>SHARPCNN_KERNEL</c> wins where it can run the geometry. With
    /// nothing forced, backward-weight of 3×3 stride-1 layers of 32–256 channels on maps of ≥ 196 pixels runs on
    /// <see cref="WinogradWeightVariantName"/>, that of 3×3 stride-2 layers preferred by
    /// <see cref="Conv2dWinogradStride2Weight.Prefers"/> on <see cref="WinogradStride2WeightVariantName"/>, that of 5×5
    /// stride-1 layers preferred by <see cref="Conv2dWinograd5x5Weight.Prefers"/> on <see cref="Winograd5x5WeightVariantName"/>, and that of
    /// other small-map layers with batch ≥ 16 on
    /// <see cref="BlockedVariantName"/>, whichever variant runs the other passes; with
    /// <see cref="WinogradWeightVariantName"/>, <see cref="WinogradStride2WeightVariantName"/> or
    /// <see cref="Winograd5x5WeightVariantName"/> forced, this method selects
    /// as with nothing forced.
    /// </summary>
    /// <param name="g">A valid geometry.</param>
    /// <returns>The variant name.</returns>
    public static string SelectedVariant(in Conv2dGeometry g)
    {
        string? forced = VariantOverride ?? s_forced.Value;
        return forced switch
        {
            VariantName => VariantName,
            DirectVariantName => Conv2dDirectSmallChannels.Supports(g) ? DirectVariantName : VariantName,
            ImplicitVariantName => Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName,
            WinogradVariantName => Conv2dWinograd.Supports(g) ? WinogradVariantName
                : Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName,
            Winograd4x4VariantName => Conv2dWinograd4x4.Supports(g) ? Winograd4x4VariantName
                : Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName,
            Winograd5x5VariantName => Conv2dWinograd5x5.Supports(g) ? Winograd5x5VariantName
                : Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName,
            BlockedVariantName => Conv2dDirectBlocked.Supports(g) ? BlockedVariantName
                : Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName,
            WinogradStride2VariantName => Conv2dWinogradStride2.Supports(g) ? WinogradStride2VariantName
                : Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName,
            SmallMapVariantName => Conv2dSmallMapGemm.Supports(g) ? SmallMapVariantName
                : Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName,
            _ => DefaultVariant(g),
        };
    }

    /// <summary>The selection by geometry alone (nothing forced, or only the backward-weight variant).</summary>
    private static string DefaultVariant(in Conv2dGeometry g) =>
        Conv2dDirectSmallChannels.Prefers(g) ? DirectVariantName
        : Conv2dWinograd4x4.Prefers(g) ? Winograd4x4VariantName
        : Conv2dWinograd5x5.Prefers(g) ? Winograd5x5VariantName
        : Conv2dWinograd.Prefers(g) ? WinogradVariantName
        : Conv2dDirectBlocked.Prefers(g) ? BlockedVariantName
        : Conv2dWinogradStride2.Prefers(g) ? WinogradStride2VariantName
        : Conv2dImplicitGemm.IsSupported ? ImplicitVariantName : VariantName;

    /// <summary>
    /// The variant for <paramref name="g"/> when the weights are prepared (<see cref="Conv2dPreparedWeights"/>): as
    /// <see cref="SelectedVariant"/>, except that Winograd also takes the small maps it declines when it must transform
    /// the weights on every call (<see cref="Conv2dWinograd.PrefersPrepared"/>). A forced variant is kept.
    /// </summary>
    public static string SelectedPreparedVariant(in Conv2dGeometry g)
    {
        string selected = SelectedVariant(g);
        if ((VariantOverride ?? s_forced.Value) is not (null or WinogradWeightVariantName or WinogradStride2WeightVariantName or Winograd5x5WeightVariantName))
        {
            return selected;
        }

        return Conv2dWinograd4x4.PrefersPrepared(g) ? Winograd4x4VariantName
            : Conv2dWinograd5x5.PrefersPrepared(g) ? Winograd5x5VariantName
            : selected == ImplicitVariantName && Conv2dSmallMapGemm.PrefersPrepared(g) ? SmallMapVariantName
            : selected == ImplicitVariantName && Conv2dWinograd.PrefersPrepared(g) ? WinogradVariantName
            : selected;
    }

    // Backward-weight sums per-chunk partials in chunk order; the chunking depends on the geometry only. The partials
    // stay at most 4 MB: with 64 MB (the former limit) ResNet-18's layer3/4 weights were cut into 7–8 chunks whose
    // partial arrays (up to a 64 MB pool bucket each size) stayed pooled and raised the training peak by ~96 MB, while
    // the implicit GEMM already splits such layers over tap blocks, so the chunks added no parallelism there.
    private const int MaxWeightChunks = 8;
    private const long MaxPartialFloats = 1L << 20;

    /// <summary>
    /// y = conv(x, w) + b: input [n, c, h, w] → output [n, o, oh, ow] (overwritten).
    /// </summary>
    /// <param name="input">x, (N, C_in, H, W).</param>
    /// <param name="weight">w, (C_out, C_in/G, kh, kw).</param>
    /// <param name="bias">b, (C_out), or empty for no bias.</param>
    /// <param name="g">Geometry (validated).</param>
    /// <param name="output">y, (N, C_out, OH, OW), overwritten.</param>
    /// <exception cref="ArgumentException">The geometry is invalid or a span has the wrong length.</exception>
    public static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        in Conv2dGeometry g, Span<float> output)
    {
        long started = Conv2dTimings.Enabled ? Stopwatch.GetTimestamp() : 0;
        ForwardPlain(input, weight, bias, g, output);
        if (started != 0)
        {
            Conv2dTimings.Record(SelectedVariant(g), g, "bias", started);
        }
    }

    /// <summary>
    /// y = act(conv(x, w) + b + r): the convolution with a fused epilogue (bias, residual tensor, ReLU), as
    /// <see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, in Conv2dGeometry, Span{float})"/>
    /// followed by an element-wise add of <paramref name="residual"/> and a ReLU, bit for bit. The implicit GEMM and
    /// Winograd variants apply it as each output tile is stored; the others in one vectorised pass after the
    /// convolution.
    /// </summary>
    /// <param name="input">x, (N, C_in, H, W).</param>
    /// <param name="weight">w, (C_out, C_in/G, kh, kw).</param>
    /// <param name="bias">b, (C_out), or empty for no bias.</param>
    /// <param name="g">Geometry (validated).</param>
    /// <param name="output">y, (N, C_out, OH, OW), overwritten.</param>
    /// <param name="residual">r, (N, C_out, OH, OW), or empty for none; it must not overlap the output.</param>
    /// <param name="relu">Whether ReLU (x &lt; 0 → 0, NaN kept) is applied last.</param>
    /// <exception cref="ArgumentException">The geometry is invalid, a span has the wrong length, or the residual overlaps the output.</exception>
    public static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        in Conv2dGeometry g, Span<float> output, ReadOnlySpan<float> residual, bool relu)
    {
        if (residual.IsEmpty && !relu)
        {
            Forward(input, weight, bias, g, output);
            return;
        }

        ForwardFused(input, weight, null, bias, g, output, residual, relu);
    }

    /// <summary>
    /// As <see cref="Forward(ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, in Conv2dGeometry, Span{float}, ReadOnlySpan{float}, bool)"/>
    /// with weights prepared for repeated calls: the implicit GEMM and Winograd variants use their packed forms
    /// (built on first use) instead of packing on every call. Same results bit for bit.
    /// </summary>
    /// <exception cref="ArgumentException">The weights do not fit the geometry, or as the other overload.</exception>
    public static void Forward(ReadOnlySpan<float> input, Conv2dPreparedWeights weight, ReadOnlySpan<float> bias,
        in Conv2dGeometry g, Span<float> output, ReadOnlySpan<float> residual, bool relu)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!weight.Fits(g))
        {
            throw new ArgumentException(
                $"Conv2d.Forward: prepared weights ({weight.OutChannels}, {weight.InChannelsPerGroup}, {weight.KernelH}, {weight.KernelW}), groups {weight.Groups}, " +
                $"do not fit geometry C_out={g.OutChannels}, C_in/G={g.InChannelsPerGroup}, kernel {g.KernelH}x{g.KernelW}, groups {g.Groups}.", nameof(weight));
        }

        ForwardFused(input, weight.Weight, weight, bias, g, output, residual, relu);
    }

    private static void ForwardFused(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, Conv2dPreparedWeights? prepared, ReadOnlySpan<float> bias,
        in Conv2dGeometry g, Span<float> output, ReadOnlySpan<float> residual, bool relu)
    {
        long started = Conv2dTimings.Enabled ? Stopwatch.GetTimestamp() : 0;
        g.Validate();
        if (!residual.IsEmpty)
        {
            CheckLength("Forward", "residual", residual.Length, g.OutputLength, g);
            if (residual.Overlaps(output))
            {
                throw new ArgumentException("Conv2d.Forward: the residual must not share memory with the output.", nameof(residual));
            }
        }

        string selected = prepared is null ? SelectedVariant(g) : SelectedPreparedVariant(g);
        if ((selected is ImplicitVariantName or WinogradVariantName or Winograd4x4VariantName or Winograd5x5VariantName
                or WinogradStride2VariantName or SmallMapVariantName && (prepared is not null || !residual.IsEmpty || relu))
            || (selected == BlockedVariantName && (!residual.IsEmpty || relu)))
        {
            CheckForwardLengths(input, weight, bias, output, g);
            if (g.Batch == 0)
            {
                return;
            }

            float[]? packed = prepared is null || selected == BlockedVariantName ? null
                : selected == WinogradVariantName ? prepared.WinogradPacked(g)
                : selected is Winograd4x4VariantName or Winograd5x5VariantName ? prepared.Winograd4x4Packed(g)
                : selected == WinogradStride2VariantName ? prepared.WinogradStride2Packed(g)
                : selected == SmallMapVariantName ? prepared.SmallMapPacked(g)
                : prepared.ImplicitPacked(g);
            fixed (float* px = input)
            fixed (float* pw = weight)
            fixed (float* pb = bias)
            fixed (float* pr = residual)
            fixed (float* py = output)
            fixed (float* pp = packed)
            {
                var epilogue = new ConvEpilogue(bias.IsEmpty ? null : pb, residual.IsEmpty ? null : pr, relu);
                if (selected == WinogradVariantName)
                {
                    Conv2dWinograd.Forward(px, pw, epilogue, g, py, pp);
                }
                else if (selected == Winograd4x4VariantName)
                {
                    Conv2dWinograd4x4.Forward(px, pw, epilogue, g, py, pp);
                }
                else if (selected == Winograd5x5VariantName)
                {
                    Conv2dWinograd5x5.Forward(px, pw, epilogue, g, py, pp);
                }
                else if (selected == BlockedVariantName)
                {
                    Conv2dDirectBlocked.Forward(px, pw, epilogue, g, py);
                }
                else if (selected == WinogradStride2VariantName)
                {
                    Conv2dWinogradStride2.Forward(px, pw, epilogue, g, py, pp);
                }
                else if (selected == SmallMapVariantName)
                {
                    Conv2dSmallMapGemm.Forward(px, pw, epilogue, g, py, pp);
                }
                else
                {
                    Conv2dImplicitGemm.Forward(px, pw, epilogue, g, py, pp);
                }
            }
        }
        else
        {
            ForwardPlain(input, weight, bias, g, output);
            if (!residual.IsEmpty || relu)
            {
                ApplyEpilogue(output, residual, relu, g);
            }
        }

        if (started != 0)
        {
            string epilogueName = residual.IsEmpty ? relu ? "bias+relu" : "bias" : relu ? "bias+residual+relu" : "bias+residual";
            Conv2dTimings.Record(selected, g, prepared is null ? epilogueName : epilogueName + " (prepared)", started);
        }
    }

    /// <summary>y = act(y + r) over the output, one channel plane per step (the variants without a fused store).</summary>
    private static void ApplyEpilogue(Span<float> output, ReadOnlySpan<float> residual, bool relu, in Conv2dGeometry g)
    {
        int planes = g.Batch * g.OutChannels, p = g.OutHeight * g.OutWidth, cout = g.OutChannels;
        fixed (float* py = output)
        fixed (float* pr = residual)
        {
            nint ys = (nint)py;
            var epilogue = new ConvEpilogue(null, residual.IsEmpty ? null : pr, relu);
            KernelParallel.For(planes, p, (start, end) =>
            {
                for (int plane = start; plane < end; plane++)
                {
                    float* y = (float*)ys + ((long)plane * p);
                    epilogue.ApplyRow(y, y, p, plane % cout, (long)plane * p);
                }
            });
        }
    }

    private static void CheckForwardLengths(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> output, in Conv2dGeometry g)
    {
        CheckLength("Forward", "input", input.Length, g.InputLength, g);
        CheckLength("Forward", "weight", weight.Length, g.WeightLength, g);
        if (!bias.IsEmpty)
        {
            CheckLength("Forward", "bias", bias.Length, g.OutChannels, g);
        }

        CheckLength("Forward", "output", output.Length, g.OutputLength, g);
    }

    private static void ForwardPlain(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        in Conv2dGeometry g, Span<float> output)
    {
        g.Validate();
        CheckForwardLengths(input, weight, bias, output, g);
        if (g.Batch == 0)
        {
            return;
        }

        string selected = SelectedVariant(g);
        if (selected != VariantName)
        {
            fixed (float* px = input)
            fixed (float* pw = weight)
            fixed (float* pb = bias)
            fixed (float* py = output)
            {
                if (selected == DirectVariantName)
                {
                    Conv2dDirectSmallChannels.Forward(px, pw, bias.IsEmpty ? null : pb, g, py);
                }
                else if (selected == WinogradVariantName)
                {
                    Conv2dWinograd.Forward(px, pw, bias.IsEmpty ? null : pb, g, py);
                }
                else if (selected == Winograd4x4VariantName)
                {
                    Conv2dWinograd4x4.Forward(px, pw, bias.IsEmpty ? null : pb, g, py);
                }
                else if (selected == Winograd5x5VariantName)
                {
                    Conv2dWinograd5x5.Forward(px, pw, bias.IsEmpty ? null : pb, g, py);
                }
                else if (selected == BlockedVariantName)
                {
                    Conv2dDirectBlocked.Forward(px, pw, bias.IsEmpty ? null : pb, g, py);
                }
                else if (selected == WinogradStride2VariantName)
                {
                    Conv2dWinogradStride2.Forward(px, pw, bias.IsEmpty ? null : pb, g, py);
                }
                else if (selected == SmallMapVariantName)
                {
                    Conv2dSmallMapGemm.Forward(px, pw, new ConvEpilogue(bias.IsEmpty ? null : pb, null, false), g, py);
                }
                else
                {
                    Conv2dImplicitGemm.Forward(px, pw, bias.IsEmpty ? null : pb, g, py);
                }
            }

            return;
        }

        Conv2dGeometry geo = g;
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, p = g.OutHeight * g.OutWidth;
        int hw = g.Height * g.Width, kk = cg * g.KernelH * g.KernelW;
        bool pointwise = IsPointwise(g);
        bool hasBias = !bias.IsEmpty;
        GemmVariant variant = Gemm.SelectedVariant;
        bool batchParallel = UseBatchParallel(g.Batch);
        fixed (float* px = input)
        fixed (float* pw = weight)
        fixed (float* pb = bias)
        fixed (float* py = output)
        {
            nint xs = (nint)px, ws = (nint)pw, bs = (nint)pb, ys = (nint)py;
            void Body(int start, int end)
            {
                float[]? colArray = pointwise ? null : ArrayPool<float>.Shared.Rent(kk * p);
                try
                {
                    fixed (float* col = colArray)
                    {
                        for (int n = start; n < end; n++)
                        {
                            for (int grp = 0; grp < geo.Groups; grp++)
                            {
                                float* x = (float*)xs + ((((long)n * geo.InChannels) + (grp * cg)) * hw);
                                float* y = (float*)ys + ((((long)n * geo.OutChannels) + (grp * og)) * p);
                                float* w = (float*)ws + ((long)grp * og * kk);
                                if (hasBias)
                                {
                                    for (int o = 0; o < og; o++)
                                    {
                                        new Span<float>(y + ((long)o * p), p).Fill(((float*)bs)[(grp * og) + o]);
                                    }
                                }

                                float* rhs = x;
                                if (!pointwise)
                                {
                                    Im2Col.Unfold(x, cg, geo, col);
                                    rhs = col;
                                }

                                // y_g (og × P) (+)= w_g (og × K) · col (K × P)
                                Gemm.MultiplyUnchecked(variant, false, false, og, p, kk,
                                    new ReadOnlySpan<float>(w, og * kk), kk, new ReadOnlySpan<float>(rhs, kk * p), p,
                                    new Span<float>(y, og * p), p, hasBias, parallel: !batchParallel);
                            }
                        }
                    }
                }
                finally
                {
                    if (colArray is not null)
                    {
                        ArrayPool<float>.Shared.Return(colArray);
                    }
                }
            }

            Run(batchParallel, g.Batch, (long)g.OutChannels * kk * p, Body);
        }
    }

    /// <summary>
    /// dx = ∂L/∂x from dy = ∂L/∂y: gradOutput [n, o, oh, ow] → gradInput [n, c, h, w] (overwritten).
    /// </summary>
    /// <param name="gradOutput">dy, (N, C_out, OH, OW).</param>
    /// <param name="weight">w, (C_out, C_in/G, kh, kw).</param>
    /// <param name="g">Geometry (validated).</param>
    /// <param name="gradInput">dx, (N, C_in, H, W), overwritten.</param>
    /// <exception cref="ArgumentException">The geometry is invalid or a span has the wrong length.</exception>
    public static void BackwardData(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, in Conv2dGeometry g,
        Span<float> gradInput)
    {
        if (!Conv2dTimings.Enabled)
        {
            BackwardDataCore(gradOutput, weight, g, gradInput);
            return;
        }

        long started = Stopwatch.GetTimestamp();
        BackwardDataCore(gradOutput, weight, g, gradInput);
        Conv2dTimings.Record(BackwardDataVariant(g), g, "", started, Conv2dPass.BackwardData);
    }

    /// <summary>The variant <see cref="BackwardDataCore"/> runs for <paramref name="g"/> (profiling labels only).</summary>
    private static string BackwardDataVariant(in Conv2dGeometry g)
    {
        string selected = SelectedVariant(g);
        if (selected == Winograd5x5VariantName)
        {
            if (Conv2dWinograd5x5.SupportsBackwardData(g)
                && ((VariantOverride ?? s_forced.Value) == Winograd5x5VariantName || Conv2dWinograd5x5.Prefers(Conv2dWinograd5x5.Transposed(g))))
            {
                return selected;
            }

            selected = Conv2dDirectBlocked.Prefers(g) ? BlockedVariantName : ImplicitVariantName;
        }

        if (selected == Winograd4x4VariantName && Conv2dWinograd4x4.SupportsBackwardData(g)
            && ((VariantOverride ?? s_forced.Value) == Winograd4x4VariantName || Conv2dWinograd4x4.Prefers(Conv2dWinograd4x4.Transposed(g))))
        {
            return Winograd4x4VariantName;
        }

        if (selected == WinogradStride2VariantName)
        {
            return selected;
        }

        selected = selected == Winograd4x4VariantName ? WinogradVariantName
            : selected == SmallMapVariantName ? ImplicitVariantName
            : selected;
        selected = selected == BlockedVariantName && !Conv2dDirectBlocked.SupportsBackwardData(g) ? ImplicitVariantName : selected;
        return selected is DirectVariantName or BlockedVariantName
            || (selected is ImplicitVariantName or WinogradVariantName && Conv2dImplicitGemm.SupportsBackwardData(g)) ? selected : VariantName;
    }

    private static void BackwardDataCore(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> weight, in Conv2dGeometry g,
        Span<float> gradInput)
    {
        g.Validate();
        CheckLength("BackwardData", "gradOutput", gradOutput.Length, g.OutputLength, g);
        CheckLength("BackwardData", "weight", weight.Length, g.WeightLength, g);
        CheckLength("BackwardData", "gradInput", gradInput.Length, g.InputLength, g);
        if (g.Batch == 0)
        {
            return;
        }

        string selected = SelectedVariant(g);
        if (selected == Winograd5x5VariantName)
        {
            if (Conv2dWinograd5x5.SupportsBackwardData(g)
                && ((VariantOverride ?? s_forced.Value) == Winograd5x5VariantName || Conv2dWinograd5x5.Prefers(Conv2dWinograd5x5.Transposed(g))))
            {
                fixed (float* pdy = gradOutput)
                fixed (float* pw = weight)
                fixed (float* pdx = gradInput)
                {
                    Conv2dWinograd5x5.BackwardData(pdy, pw, g, pdx);
                }

                return;
            }

            // Padding > 4, or a transposed shape it does not pay on: what would run without it.
            selected = Conv2dDirectBlocked.Prefers(g) ? BlockedVariantName : ImplicitVariantName;
        }

        if (selected == Winograd4x4VariantName && Conv2dWinograd4x4.SupportsBackwardData(g)
            && ((VariantOverride ?? s_forced.Value) == Winograd4x4VariantName || Conv2dWinograd4x4.Prefers(Conv2dWinograd4x4.Transposed(g))))
        {
            fixed (float* pdy = gradOutput)
            fixed (float* pw = weight)
            fixed (float* pdx = gradInput)
            {
                Conv2dWinograd4x4.BackwardData(pdy, pw, g, pdx);
            }

            return;
        }

        if (selected == WinogradStride2VariantName)
        {
            fixed (float* pdy = gradOutput)
            fixed (float* pw = weight)
            fixed (float* pdx = gradInput)
            {
                Conv2dWinogradStride2.BackwardData(pdy, pw, g, pdx);
            }

            return;
        }

        selected = selected == Winograd4x4VariantName ? WinogradVariantName
            : selected == SmallMapVariantName ? ImplicitVariantName // forward only: backward-data on the implicit GEMM
            : selected;
        if (selected == BlockedVariantName && !Conv2dDirectBlocked.SupportsBackwardData(g))
        {
            selected = ImplicitVariantName; // strided layers: the implicit GEMM's path
        }

        if (selected is DirectVariantName or BlockedVariantName
            || (selected is ImplicitVariantName or WinogradVariantName && Conv2dImplicitGemm.SupportsBackwardData(g)))
        {
            fixed (float* pdy = gradOutput)
            fixed (float* pw = weight)
            fixed (float* pdx = gradInput)
            {
                if (selected == BlockedVariantName)
                {
                    Conv2dDirectBlocked.BackwardData(pdy, pw, g, pdx);
                }
                else if (selected == DirectVariantName)
                {
                    Conv2dDirectSmallChannels.BackwardData(pdy, pw, g, pdx);
                }
                else
                {
                    Conv2dImplicitGemm.BackwardData(pdy, pw, g, pdx, winograd: selected == WinogradVariantName,
                        forcedWinograd: (VariantOverride ?? s_forced.Value) == WinogradVariantName);
                }
            }

            return;
        }

        Conv2dGeometry geo = g;
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, p = g.OutHeight * g.OutWidth;
        int hw = g.Height * g.Width, kk = cg * g.KernelH * g.KernelW;
        bool pointwise = IsPointwise(g);
        GemmVariant variant = Gemm.SelectedVariant;
        bool batchParallel = UseBatchParallel(g.Batch);
        fixed (float* pdy = gradOutput)
        fixed (float* pw = weight)
        fixed (float* pdx = gradInput)
        {
            nint dys = (nint)pdy, ws = (nint)pw, dxs = (nint)pdx;
            void Body(int start, int end)
            {
                float[]? colArray = pointwise ? null : ArrayPool<float>.Shared.Rent(kk * p);
                try
                {
                    fixed (float* col = colArray)
                    {
                        for (int n = start; n < end; n++)
                        {
                            for (int grp = 0; grp < geo.Groups; grp++)
                            {
                                float* dy = (float*)dys + ((((long)n * geo.OutChannels) + (grp * og)) * p);
                                float* dx = (float*)dxs + ((((long)n * geo.InChannels) + (grp * cg)) * hw);
                                float* w = (float*)ws + ((long)grp * og * kk);

                                // dcol (K × P) = w_gᵀ (K × og) · dy_g (og × P); for 1×1 dcol is dx itself.
                                float* dst = pointwise ? dx : col;
                                Gemm.MultiplyUnchecked(variant, true, false, kk, p, og,
                                    new ReadOnlySpan<float>(w, og * kk), kk, new ReadOnlySpan<float>(dy, og * p), p,
                                    new Span<float>(dst, kk * p), p, accumulate: false, parallel: !batchParallel);
                                if (!pointwise)
                                {
                                    new Span<float>(dx, cg * hw).Clear();
                                    Im2Col.Fold(col, cg, geo, dx);
                                }
                            }
                        }
                    }
                }
                finally
                {
                    if (colArray is not null)
                    {
                        ArrayPool<float>.Shared.Return(colArray);
                    }
                }
            }

            Run(batchParallel, g.Batch, (long)g.OutChannels * kk * p, Body);
        }
    }

    /// <summary>
    /// dw = Σ_n dy_n · im2col(x_n)ᵀ and db = Σ_{n, oy, ox} dy (both overwritten). Samples are summed in fixed
    /// chunks combined in chunk order, so the result does not depend on the thread count.
    /// </summary>
    /// <param name="gradOutput">dy, (N, C_out, OH, OW).</param>
    /// <param name="input">x, (N, C_in, H, W).</param>
    /// <param name="g">Geometry (validated).</param>
    /// <param name="gradWeight">dw, (C_out, C_in/G, kh, kw), overwritten.</param>
    /// <param name="gradBias">db, (C_out), overwritten; empty for none.</param>
    /// <exception cref="ArgumentException">The geometry is invalid or a span has the wrong length.</exception>
    public static void BackwardWeight(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> input, in Conv2dGeometry g,
        Span<float> gradWeight, Span<float> gradBias)
    {
        if (!Conv2dTimings.Enabled)
        {
            BackwardWeightCore(gradOutput, input, g, gradWeight, gradBias);
            return;
        }

        long started = Stopwatch.GetTimestamp();
        BackwardWeightCore(gradOutput, input, g, gradWeight, gradBias);
        Conv2dTimings.Record(BackwardWeightVariant(g), g, gradBias.IsEmpty ? "" : "+bias", started, Conv2dPass.BackwardWeight);
    }

    /// <summary>The variant <see cref="BackwardWeightCore"/> runs for <paramref name="g"/> (profiling labels only).</summary>
    private static string BackwardWeightVariant(in Conv2dGeometry g)
    {
        string selected = SelectedVariant(g);
        string? forced = VariantOverride ?? s_forced.Value;
        bool winogradForced = forced == WinogradWeightVariantName && Conv2dWinogradWeight.Supports(g);
        bool stride2Forced = forced == WinogradStride2WeightVariantName && Conv2dWinogradStride2Weight.Supports(g);
        bool winograd5x5Forced = forced == Winograd5x5WeightVariantName && Conv2dWinograd5x5Weight.Supports(g);
        bool forcedNone = forced is null or WinogradWeightVariantName or WinogradStride2WeightVariantName or Winograd5x5WeightVariantName;
        return selected == DirectVariantName && !winogradForced && !stride2Forced && !winograd5x5Forced ? DirectVariantName
            : winogradForced || (forcedNone && Conv2dWinogradWeight.Prefers(g)) ? WinogradWeightVariantName
            : stride2Forced || (forcedNone && Conv2dWinogradStride2Weight.Prefers(g)) ? WinogradStride2WeightVariantName
            : winograd5x5Forced || (forcedNone && Conv2dWinograd5x5Weight.Prefers(g)) ? Winograd5x5WeightVariantName
            : (forcedNone ? Conv2dDirectBlocked.PrefersBackwardWeight(g) : selected == BlockedVariantName) ? BlockedVariantName
            : selected is ImplicitVariantName or WinogradVariantName or Winograd4x4VariantName or Winograd5x5VariantName
                or WinogradStride2VariantName or SmallMapVariantName or BlockedVariantName ? ImplicitVariantName
            : VariantName;
    }

    private static void BackwardWeightCore(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> input, in Conv2dGeometry g,
        Span<float> gradWeight, Span<float> gradBias)
    {
        g.Validate();
        CheckLength("BackwardWeight", "gradOutput", gradOutput.Length, g.OutputLength, g);
        CheckLength("BackwardWeight", "input", input.Length, g.InputLength, g);
        CheckLength("BackwardWeight", "gradWeight", gradWeight.Length, g.WeightLength, g);
        if (!gradBias.IsEmpty)
        {
            CheckLength("BackwardWeight", "gradBias", gradBias.Length, g.OutChannels, g);
        }

        int weightLength = (int)g.WeightLength;
        string selected = SelectedVariant(g);
        string? forced = VariantOverride ?? s_forced.Value;
        bool winogradForced = forced == WinogradWeightVariantName && Conv2dWinogradWeight.Supports(g);
        bool stride2Forced = forced == WinogradStride2WeightVariantName && Conv2dWinogradStride2Weight.Supports(g);
        bool winograd5x5Forced = forced == Winograd5x5WeightVariantName && Conv2dWinograd5x5Weight.Supports(g);
        if (g.Batch > 0 && selected == DirectVariantName && !winogradForced && !stride2Forced && !winograd5x5Forced)
        {
            // The direct kernel sums the bias gradient in the same pass as the weights.
            fixed (float* pdy = gradOutput)
            fixed (float* px = input)
            fixed (float* pdw = gradWeight)
            fixed (float* pdb = gradBias)
            {
                Conv2dDirectSmallChannels.BackwardWeight(pdy, px, g, pdw, gradBias.IsEmpty ? null : pdb);
            }

            return;
        }

        // A backward-weight-only name that does not fit the geometry selects as nothing forced.
        bool forcedNone = forced is null or WinogradWeightVariantName or WinogradStride2WeightVariantName or Winograd5x5WeightVariantName;
        if (g.Batch > 0 && (winogradForced || (forcedNone && Conv2dWinogradWeight.Prefers(g))))
        {
            // 16 GEMMs over the transformed tiles of the whole batch in fixed partitions, summed in partition order; the
            // bias gradient is summed in its dy transform (which reads every dy value once).
            fixed (float* pdy = gradOutput)
            fixed (float* px = input)
            fixed (float* pdw = gradWeight)
            fixed (float* pdb = gradBias)
            {
                Conv2dWinogradWeight.BackwardWeight(pdy, px, g, pdw, gradBias.IsEmpty ? null : pdb);
            }

            return;
        }

        bool winograd5x5 = g.Batch > 0 && (winograd5x5Forced || (forcedNone && Conv2dWinograd5x5Weight.Prefers(g)));
        if (!gradBias.IsEmpty && !winograd5x5)
        {
            BiasGrad(gradOutput, g, gradBias);
        }

        if (g.Batch == 0)
        {
            gradWeight.Clear();
            return;
        }

        Conv2dGeometry geo = g;
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, p = g.OutHeight * g.OutWidth;
        int hw = g.Height * g.Width, kk = cg * g.KernelH * g.KernelW;
        bool pointwise = IsPointwise(g);
        GemmVariant variant = Gemm.SelectedVariant;
        if (stride2Forced || (forcedNone && Conv2dWinogradStride2Weight.Prefers(g)))
        {
            // 81 GEMMs over the transformed 4×4-output tiles of the whole batch: every weight one chain per ξ.
            fixed (float* pdy = gradOutput)
            fixed (float* px = input)
            fixed (float* pdw = gradWeight)
            {
                Conv2dWinogradStride2Weight.BackwardWeight(pdy, px, g, pdw);
            }

            return;
        }

        if (winograd5x5)
        {
            // 36 GEMMs over the transformed 2×2-output tiles in fixed partitions summed in order: same bits for any thread
            // count. The bias gradient (BiasGradRange, the bits of BiasGrad) runs inside its back-transform job.
            fixed (float* pdy = gradOutput)
            fixed (float* px = input)
            fixed (float* pdw = gradWeight)
            fixed (float* pdb = gradBias)
            {
                Conv2dWinograd5x5Weight.BackwardWeight(pdy, px, g, pdw, gradBias.IsEmpty ? null : pdb);
            }

            return;
        }

        if (forcedNone ? Conv2dDirectBlocked.PrefersBackwardWeight(g) : selected == BlockedVariantName)
        {
            // One FMA chain per weight over the whole batch: no partial sums to combine.
            fixed (float* pdy = gradOutput)
            fixed (float* px = input)
            fixed (float* pdw = gradWeight)
            {
                Conv2dDirectBlocked.BackwardWeight(pdy, px, g, pdw);
            }

            return;
        }

        if (selected == BlockedVariantName)
        {
            selected = ImplicitVariantName; // chosen for the forward pass only (e.g. batch 1: a channel block of one sample)
        }
        int chunks = (int)Math.Min(Math.Min(g.Batch, MaxWeightChunks), Math.Max(1, MaxPartialFloats / weightLength));
        bool chunkParallel = chunks >= 2 && KernelParallel.MaxThreads > 1;
        float[]? partialArray = chunks > 1 ? ArrayPool<float>.Shared.Rent((chunks - 1) * weightLength) : null;
        try
        {
            fixed (float* pdy = gradOutput)
            fixed (float* px = input)
            fixed (float* pdw = gradWeight)
            fixed (float* ppart = partialArray)
            {
                nint dys = (nint)pdy, xs = (nint)px, dws = (nint)pdw, parts = (nint)ppart;
                int batch = g.Batch;
                if (selected is ImplicitVariantName or WinogradVariantName or Winograd4x4VariantName or Winograd5x5VariantName
                    or WinogradStride2VariantName or SmallMapVariantName)
                {
                    Conv2dImplicitGemm.BackwardWeight(pdy, px, g, chunks, pdw, ppart);
                }
                else
                {
                    void Body(int start, int end)
                    {
                        float[]? colArray = pointwise ? null : ArrayPool<float>.Shared.Rent(kk * p);
                        try
                        {
                            fixed (float* col = colArray)
                            {
                                for (int chunk = start; chunk < end; chunk++)
                                {
                                    float* dst = chunk == 0 ? (float*)dws : (float*)parts + ((long)(chunk - 1) * weightLength);
                                    int n0 = (int)((long)batch * chunk / chunks), n1 = (int)((long)batch * (chunk + 1) / chunks);
                                    for (int n = n0; n < n1; n++)
                                    {
                                        for (int grp = 0; grp < geo.Groups; grp++)
                                        {
                                            float* dy = (float*)dys + ((((long)n * geo.OutChannels) + (grp * og)) * p);
                                            float* x = (float*)xs + ((((long)n * geo.InChannels) + (grp * cg)) * hw);
                                            float* rhs = x;
                                            if (!pointwise)
                                            {
                                                Im2Col.Unfold(x, cg, geo, col);
                                                rhs = col;
                                            }

                                            // dw_g (og × K) (+)= dy_g (og × P) · col (K × P)ᵀ
                                            Gemm.MultiplyUnchecked(variant, false, true, og, kk, p,
                                                new ReadOnlySpan<float>(dy, og * p), p, new ReadOnlySpan<float>(rhs, kk * p), p,
                                                new Span<float>(dst + ((long)grp * og * kk), og * kk), kk,
                                                accumulate: n > n0, parallel: !chunkParallel);
                                        }
                                    }
                                }
                            }
                        }
                        finally
                        {
                            if (colArray is not null)
                            {
                                ArrayPool<float>.Shared.Return(colArray);
                            }
                        }
                    }

                    Run(chunkParallel, chunks, (long)g.OutChannels * kk * p * Math.Max(1, batch / chunks), Body);
                }
            }

            // Combine partials in chunk order: dw = ((p0 + p1) + p2) + ..., each element on its own, so splitting the
            // elements over threads changes nothing (ResNet layer4: 7 partials of 2.4 M floats, ~10 ms on one thread).
            if (chunks > 1)
            {
                fixed (float* pdw = gradWeight)
                fixed (float* ppart = partialArray)
                {
                    nint dws = (nint)pdw, parts = (nint)ppart;
                    int blocks = (weightLength + 4095) / 4096;
                    KernelParallel.For(blocks, 4096L * chunks / 8, (start, end) =>
                    {
                        int i0 = start * 4096, i1 = Math.Min(weightLength, end * 4096);
                        float* dw = (float*)dws;
                        for (int chunk = 1; chunk < chunks; chunk++)
                        {
                            float* part = (float*)parts + ((long)(chunk - 1) * weightLength);
                            int i = i0;
                            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
                            {
                                for (; i + 16 <= i1; i += 16)
                                {
                                    System.Runtime.Intrinsics.Vector512.Store(
                                        System.Runtime.Intrinsics.Vector512.Load(dw + i) + System.Runtime.Intrinsics.Vector512.Load(part + i), dw + i);
                                }
                            }

                            for (; i < i1; i++)
                            {
                                dw[i] += part[i];
                            }
                        }
                    });
                }
            }
        }
        finally
        {
            if (partialArray is not null)
            {
                ArrayPool<float>.Shared.Return(partialArray);
            }
        }
    }

    /// <summary>Output channels whose bias-gradient sums run side by side (<see cref="BiasGrad"/>).</summary>
    internal const int BiasGradChannels = 8;

    /// <summary>
    /// db[o] = Σ_n Σ_q dy[n, o, q]: for each channel one double sum, samples in order and each plane in order, so the
    /// bits depend on neither the thread count nor the grouping below. The sum is one chain of dependent adds (3–4 cycles
    /// each), which made it 0.65 ms on one thread for MNIST conv2 at batch 64 (0.8 M terms); eight channels now run side
    /// by side as eight independent chains, and blocks of eight channels are split over the threads.
    /// </summary>
    private static void BiasGrad(ReadOnlySpan<float> gradOutput, in Conv2dGeometry g, Span<float> gradBias)
    {
        int p = g.OutHeight * g.OutWidth, k = g.OutChannels, batch = g.Batch;
        int blocks = (k + BiasGradChannels - 1) / BiasGradChannels;
        fixed (float* pdy = gradOutput)
        fixed (float* pdb = gradBias)
        {
            nint dys = (nint)pdy, dbs = (nint)pdb;
            KernelParallel.For(blocks, (long)BiasGradChannels * batch * p, (start, end) =>
            {
                for (int b = start; b < end; b++)
                {
                    BiasGradRange((float*)dys, batch, k, p, b, (float*)dbs);
                }
            });
        }
    }

    /// <summary>
    /// db[o] = Σ_n Σ_q dy[n, o, q] for the output channels of block <paramref name="block"/> (8 channels, fewer in the last
    /// block), each one sequential double sum (samples in order, positions in order): the work of one item of
    /// <see cref="BiasGrad"/>, also run by backward-weight kernels inside their own jobs, with the same bits.
    /// </summary>
    internal static void BiasGradRange(float* dy, int batch, int k, int p, int block, float* db)
    {
        int o0 = block * BiasGradChannels;
        if (k - o0 >= BiasGradChannels)
        {
            BiasGradBlock(dy, batch, k, p, o0, db);
            return;
        }

        for (int o = o0; o < k; o++)
        {
            double sum = 0;
            for (int n = 0; n < batch; n++)
            {
                float* plane = dy + ((((long)n * k) + o) * p);
                for (int q = 0; q < p; q++)
                {
                    sum += plane[q];
                }
            }

            db[o] = (float)sum;
        }
    }

    /// <summary>
    /// <see cref="BiasGrad"/> for channels o0 .. o0 + 7: the same per-channel chains as the one-channel loop, interleaved.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BiasGradBlock(float* dy, int batch, int k, int p, int o0, float* db)
    {
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
        for (int n = 0; n < batch; n++)
        {
            float* c0 = dy + ((((long)n * k) + o0) * p);
            float* c1 = c0 + p, c2 = c1 + p, c3 = c2 + p, c4 = c3 + p, c5 = c4 + p, c6 = c5 + p, c7 = c6 + p;
            for (int q = 0; q < p; q++)
            {
                s0 += c0[q];
                s1 += c1[q];
                s2 += c2[q];
                s3 += c3[q];
                s4 += c4[q];
                s5 += c5[q];
                s6 += c6[q];
                s7 += c7[q];
            }
        }

        db[o0] = (float)s0;
        db[o0 + 1] = (float)s1;
        db[o0 + 2] = (float)s2;
        db[o0 + 3] = (float)s3;
        db[o0 + 4] = (float)s4;
        db[o0 + 5] = (float)s5;
        db[o0 + 6] = (float)s6;
        db[o0 + 7] = (float)s7;
    }

    private static bool IsPointwise(in Conv2dGeometry g) =>
        g.KernelH == 1 && g.KernelW == 1 && g.StrideH == 1 && g.StrideW == 1
        && g.PadTop == 0 && g.PadLeft == 0 && g.PadBottom == 0 && g.PadRight == 0;

    // Whole samples per thread when there are enough of them; otherwise one sample at a time with the GEMM split.
    private static bool UseBatchParallel(int batch) => KernelParallel.MaxThreads > 1 && batch >= KernelParallel.MaxThreads;

    private static void Run(bool parallel, int count, long costPerItem, Action<int, int> body)
    {
        if (parallel)
        {
            // One range per sample (or chunk): a helper that starts late takes what is left, not a fixed half.
            KernelParallel.For(count, costPerItem, body, count);
        }
        else
        {
            body(0, count);
        }
    }

    private static void CheckLength(string op, string name, int length, long expected, in Conv2dGeometry g)
    {
        if (length != expected)
        {
            throw new ArgumentException(
                $"Conv2d.{op}: {name} has {length} elements but geometry (N={g.Batch}, C_in={g.InChannels}, H={g.Height}, " +
                $"W={g.Width}, C_out={g.OutChannels}, kernel {g.KernelH}×{g.KernelW}, groups {g.Groups}) needs {expected}.");
        }
    }
}
