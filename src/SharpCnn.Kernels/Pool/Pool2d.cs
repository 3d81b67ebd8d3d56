using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Max, average and adaptive-average pooling over NCHW float32 tensors with PyTorch semantics.
/// Planes (one channel of one sample) are independent and are split across cores.
/// </summary>
/// <remarks>Legend: n batch, c channels, h/w input, oh/ow output, kh/kw kernel.</remarks>
public static class Pool2d
{
    /// <summary>Variant name of the general max-pool loops (any stride, padding, dilation, ceil mode).</summary>
    public const string MaxScalarVariantName = "MaxPool2dScalar";

    /// <summary>
    /// Variant name of the max-pool path for windows that tile the input (stride = kernel, no padding, no
    /// dilation, every window inside the input), e.g. 2×2 stride 2: pointer loops with no per-tap bounds logic.
    /// </summary>
    public const string MaxTiledVariantName = "MaxPool2dTiled";

    /// <summary>
    /// Variant name of the max-pool path for horizontal stride 2 without dilation (any kernel, vertical stride,
    /// padding, ceil mode), e.g. ResNet's 3×3 stride 2 pad 1: 8 outputs at a time, one load and a permute per
    /// pair of window columns; outputs whose window crosses the left or right edge run the general code.
    /// </summary>
    public const string MaxStride2VariantName = "MaxPool2dStride2Vector";

    /// <summary>
    /// Variant name of the max pooling without indices (<see cref="MaxForwardValues"/>)
    /// for horizontal stride 2 without dilation: a horizontal then a vertical maximum pass per plane, the same values
    /// bit for bit. Elsewhere, or when <c>SHARPCNN_KERNEL=MaxPool2dScalar</c> is set, the indexed variants run.
    /// </summary>
    public const string MaxSeparableVariantName = "MaxPool2dSeparable";

    private static readonly Lazy<bool> s_forceScalar = new(() => KernelSwitches.Names(MaxScalarVariantName));

    /// <summary>Gets or sets a forced choice (tests): true runs the general loops even where the tiled path applies.</summary>
    internal static bool? ForceScalarOverride { get; set; }

    /// <summary>Tells which max-pool variant <see cref="MaxForward"/> runs for <paramref name="g"/>.</summary>
    /// <param name="g">A valid geometry.</param>
    /// <returns><see cref="MaxTiledVariantName"/>, <see cref="MaxStride2VariantName"/> or <see cref="MaxScalarVariantName"/>.</returns>
    public static string SelectedMaxVariant(in Pool2dGeometry g) =>
        ForceScalarOverride ?? s_forceScalar.Value ? MaxScalarVariantName
        : IsTiled(g) ? MaxTiledVariantName
        : IsStride2(g) ? MaxStride2VariantName
        : MaxScalarVariantName;

    // Horizontal stride 2, no dilation, a row wide enough for a block of 8 outputs.
    private static bool IsStride2(in Pool2dGeometry g) =>
        Avx512F.IsSupported && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1 && g.OutWidth >= 8 && g.Width >= 16 + g.KernelW;

    // Windows tile the input without overlap or padding: each input element belongs to at most one window.
    private static bool IsTiled(in Pool2dGeometry g) =>
        g.StrideH == g.KernelH && g.StrideW == g.KernelW && g.PadH == 0 && g.PadW == 0
        && g.DilationH == 1 && g.DilationW == 1
        && g.OutHeight * g.KernelH <= g.Height && g.OutWidth * g.KernelW <= g.Width;

    /// <summary>
    /// Max pooling: input [n, c, h, w] → output [n, c, oh, ow] and, per output, the flat index
    /// <c>ih·w + iw</c> of the winning element inside its input plane (PyTorch's <c>return_indices</c>).
    /// </summary>
    /// <remarks>
    /// Padding never wins. Ties: taps are scanned in row-major window order and only a strictly larger
    /// value replaces the current maximum, so the first maximum wins. NaN: as in PyTorch's CPU kernel, a NaN
    /// always replaces the current maximum, so any NaN in the window makes the output NaN and the index is
    /// that of the last NaN in scan order.
    /// </remarks>
    /// <param name="input">Input [n, c, h, w].</param>
    /// <param name="g">Geometry; validated here.</param>
    /// <param name="output">Output [n, c, oh, ow], overwritten.</param>
    /// <param name="argmax">Argmax [n, c, oh, ow], overwritten.</param>
    public static unsafe void MaxForward(ReadOnlySpan<float> input, in Pool2dGeometry g, Span<float> output, Span<int> argmax)
    {
        g.Validate();
        CheckLength(nameof(input), input.Length, g.InputLength);
        CheckLength(nameof(output), output.Length, g.OutputLength);
        CheckLength(nameof(argmax), argmax.Length, g.OutputLength);
        Pool2dGeometry geo = g;
        int inPlane = g.Height * g.Width;
        int outPlane = g.OutHeight * g.OutWidth;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        fixed (int* pArg = argmax)
        {
            nint inAddr = (nint)pIn;
            nint outAddr = (nint)pOut;
            nint argAddr = (nint)pArg;
            string variant = SelectedMaxVariant(g);
            bool tiled = variant == MaxTiledVariantName;
            bool stride2 = variant == MaxStride2VariantName;
            KernelParallel.For(g.Planes, (long)outPlane * g.KernelH * g.KernelW, (start, end) =>
            {
                if (tiled || stride2)
                {
                    for (int p = start; p < end; p++)
                    {
                        float* xp = (float*)inAddr + ((long)p * inPlane);
                        float* yp = (float*)outAddr + ((long)p * outPlane);
                        int* ap = (int*)argAddr + ((long)p * outPlane);
                        if (tiled)
                        {
                            MaxPlaneTiled(xp, geo, yp, ap);
                        }
                        else
                        {
                            MaxPlaneStride2(xp, geo, yp, ap);
                        }
                    }

                    return;
                }

                for (int p = start; p < end; p++)
                {
                    MaxPlane(
                        new ReadOnlySpan<float>((float*)inAddr + ((long)p * inPlane), inPlane),
                        geo,
                        new Span<float>((float*)outAddr + ((long)p * outPlane), outPlane),
                        new Span<int>((int*)argAddr + ((long)p * outPlane), outPlane));
                }
            });
        }
    }

    /// <summary>Tells which variant <see cref="MaxForwardValues"/> (no indices) runs for <paramref name="g"/>.</summary>
    /// <param name="g">A valid geometry.</param>
    /// <returns><see cref="MaxSeparableVariantName"/>, or what <see cref="SelectedMaxVariant"/> gives.</returns>
    public static string SelectedMaxValuesVariant(in Pool2dGeometry g) =>
        !(ForceScalarOverride ?? s_forceScalar.Value) && MaxPool2dSeparable.Supports(g) ? MaxSeparableVariantName : SelectedMaxVariant(g);

    /// <summary>
    /// Max pooling without indices (inference: nothing to route a gradient to): the output of
    /// <see cref="MaxForward(ReadOnlySpan{float}, in Pool2dGeometry, Span{float}, Span{int})"/>, bit for bit, same
    /// window order, ties and NaN rule.
    /// </summary>
    /// <param name="input">Input [n, c, h, w].</param>
    /// <param name="g">Geometry; validated here.</param>
    /// <param name="output">Output [n, c, oh, ow], overwritten.</param>
    public static unsafe void MaxForwardValues(ReadOnlySpan<float> input, in Pool2dGeometry g, Span<float> output)
    {
        g.Validate();
        CheckLength(nameof(input), input.Length, g.InputLength);
        CheckLength(nameof(output), output.Length, g.OutputLength);
        if (SelectedMaxValuesVariant(g) != MaxSeparableVariantName)
        {
            int[] argmax = System.Buffers.ArrayPool<int>.Shared.Rent((int)g.OutputLength);
            try
            {
                MaxForward(input, g, output, argmax.AsSpan(0, (int)g.OutputLength));
            }
            finally
            {
                System.Buffers.ArrayPool<int>.Shared.Return(argmax);
            }

            return;
        }

        Pool2dGeometry geo = g;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        {
            nint inAddr = (nint)pIn, outAddr = (nint)pOut;
            // Up to 16 blocks: at batch 1 (ResNet's 64 planes of 112×112) two halves left the caller waiting for a late
            // helper's half; planes are independent, so the cut never changes a bit.
            KernelParallel.For(g.Planes, (long)g.Height * g.Width, (start, end) =>
                MaxPool2dSeparable.Planes((float*)inAddr, geo, (float*)outAddr, start, end), Math.Min(g.Planes, 16));
        }
    }

    /// <summary>
    /// Max pooling backward: gradInput is overwritten with zeros, then each output gradient is added at its
    /// argmax (several outputs may share one argmax when windows overlap, so they accumulate).
    /// </summary>
    /// <param name="gradOutput">Gradient of the output [n, c, oh, ow].</param>
    /// <param name="argmax">Indices from <see cref="MaxForward"/> [n, c, oh, ow].</param>
    /// <param name="g">Geometry used in the forward pass.</param>
    /// <param name="gradInput">Gradient of the input [n, c, h, w], overwritten.</param>
    public static unsafe void MaxBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<int> argmax, in Pool2dGeometry g, Span<float> gradInput)
    {
        g.Validate();
        CheckLength(nameof(gradOutput), gradOutput.Length, g.OutputLength);
        CheckLength(nameof(argmax), argmax.Length, g.OutputLength);
        CheckLength(nameof(gradInput), gradInput.Length, g.InputLength);
        int inPlane = g.Height * g.Width;
        int outPlane = g.OutHeight * g.OutWidth;
        fixed (float* pGo = gradOutput)
        fixed (int* pArg = argmax)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo;
            nint argAddr = (nint)pArg;
            nint giAddr = (nint)pGi;
            Pool2dGeometry geo = g;
            bool tiled2x2 = SelectedMaxVariant(g) == MaxTiledVariantName && g.KernelH == 2 && g.KernelW == 2 && g.OutWidth >= 8 && Avx512F.IsSupported;
            KernelParallel.For(g.Planes, outPlane + inPlane, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    float* go = (float*)goAddr + ((long)p * outPlane);
                    int* arg = (int*)argAddr + ((long)p * outPlane);
                    float* gi = (float*)giAddr + ((long)p * inPlane);
                    if (tiled2x2 && MaxBackwardPlaneTiled2x2(go, arg, geo, gi))
                    {
                        continue;
                    }

                    new Span<float>(gi, inPlane).Clear();
                    for (int o = 0; o < outPlane; o++)
                    {
                        int idx = arg[o];
                        if ((uint)idx >= (uint)inPlane)
                        {
                            throw new ArgumentException($"MaxBackward argmax {idx} is outside the input plane [0, {inPlane})");
                        }

                        gi[idx] += go[o];
                    }
                }
            });
        }
    }

    /// <summary>
    /// Backward of one plane of a tiled 2×2 pool, every input gradient written once: for 8 outputs at a time, the
    /// gradient goes to the lane of the window position its argmax names (0, 1, w or w + 1 from the window's
    /// corner), and the two input rows are stored as even/odd interleaves; columns and rows no window covers get
    /// zeros. Adding zero makes −0 a +0, so the bits equal the general loop's (zero, then add). Returns false,
    /// having written only part of the plane, when an argmax lies outside its own window (indices not from
    /// <see cref="MaxForward"/>): the caller then runs the general scatter, which accepts any in-plane index.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe bool MaxBackwardPlaneTiled2x2(float* go, int* arg, in Pool2dGeometry g, float* gi)
    {
        int w = g.Width, h = g.Height, oh = g.OutHeight, ow = g.OutWidth;
        Vector256<int> evenOffsets = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        Vector512<int> interleave = Vector512.Create(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15);
        Vector256<int> one = Vector256<int>.One, down = Vector256.Create(w), downRight = Vector256.Create(w + 1);
        int covered = 2 * ow;
        for (int i = 0; i < oh; i++)
        {
            int rowBase = 2 * i * w;
            float* r0 = gi + rowBase;
            float* r1 = r0 + w;
            for (int j0 = 0; j0 < ow; j0 += 8)
            {
                int jb = Math.Min(j0, ow - 8);
                Vector256<float> grad = Vector256.Load(go + jb);
                Vector256<int> offset = Vector256.Load(arg + jb) - (evenOffsets + Vector256.Create(rowBase + (2 * jb)));
                Vector256<int> m00 = Vector256.Equals(offset, Vector256<int>.Zero);
                Vector256<int> m01 = Vector256.Equals(offset, one);
                Vector256<int> m10 = Vector256.Equals(offset, down);
                Vector256<int> m11 = Vector256.Equals(offset, downRight);
                if (!Vector256.EqualsAll(m00 | m01 | m10 | m11, Vector256<int>.AllBitsSet))
                {
                    return false;
                }

                Vector256<float> zero = Vector256<float>.Zero;
                Vector256<float> t0 = Vector256.ConditionalSelect(m00.AsSingle(), grad, zero) + zero;
                Vector256<float> t1 = Vector256.ConditionalSelect(m01.AsSingle(), grad, zero) + zero;
                Vector256<float> b0 = Vector256.ConditionalSelect(m10.AsSingle(), grad, zero) + zero;
                Vector256<float> b1 = Vector256.ConditionalSelect(m11.AsSingle(), grad, zero) + zero;
                Avx512F.PermuteVar16x32(Vector512.Create(t0, t1), interleave).Store(r0 + (2 * jb));
                Avx512F.PermuteVar16x32(Vector512.Create(b0, b1), interleave).Store(r1 + (2 * jb));
            }

            for (int k = covered; k < w; k++)
            {
                r0[k] = 0f;
                r1[k] = 0f;
            }

            go += ow;
            arg += ow;
        }

        new Span<float>(gi + (2L * oh * w), (h - (2 * oh)) * w).Clear();
        return true;
    }

    /// <summary>
    /// Average pooling (PyTorch <c>avg_pool2d</c>): input [n, c, h, w] → output [n, c, oh, ow].
    /// </summary>
    /// <remarks>
    /// Each window is first clipped to [−pad, in + pad); its area is the divisor when
    /// <paramref name="countIncludePad"/> is true. Otherwise the divisor is the area of the window clipped to
    /// the real input. A positive <paramref name="divisorOverride"/> replaces both. A window that lies wholly
    /// in padding (possible only with ceil mode) gives 0. Dilation must be 1, as in PyTorch.
    /// </remarks>
    /// <param name="input">Input [n, c, h, w].</param>
    /// <param name="g">Geometry; validated here; dilation must be 1.</param>
    /// <param name="countIncludePad">Count padded zeros in the divisor (PyTorch default true).</param>
    /// <param name="divisorOverride">If greater than 0, the divisor for every window; 0 means none.</param>
    /// <param name="output">Output [n, c, oh, ow], overwritten.</param>
    public static unsafe void AvgForward(ReadOnlySpan<float> input, in Pool2dGeometry g, bool countIncludePad, int divisorOverride, Span<float> output)
    {
        CheckAvg(g, divisorOverride);
        CheckLength(nameof(input), input.Length, g.InputLength);
        CheckLength(nameof(output), output.Length, g.OutputLength);
        Pool2dGeometry geo = g;
        int inPlane = g.Height * g.Width;
        int outPlane = g.OutHeight * g.OutWidth;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        {
            nint inAddr = (nint)pIn;
            nint outAddr = (nint)pOut;
            KernelParallel.For(g.Planes, (long)outPlane * g.KernelH * g.KernelW, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    AvgPlane(
                        new ReadOnlySpan<float>((float*)inAddr + ((long)p * inPlane), inPlane),
                        geo,
                        countIncludePad,
                        divisorOverride,
                        new Span<float>((float*)outAddr + ((long)p * outPlane), outPlane));
                }
            });
        }
    }

    /// <summary>
    /// Average pooling backward: gradInput is overwritten; each output gradient divided by its window's
    /// divisor (see <see cref="AvgForward"/>) is added to every real input element of its window.
    /// </summary>
    /// <param name="gradOutput">Gradient of the output [n, c, oh, ow].</param>
    /// <param name="g">Geometry used in the forward pass.</param>
    /// <param name="countIncludePad">As in the forward pass.</param>
    /// <param name="divisorOverride">As in the forward pass.</param>
    /// <param name="gradInput">Gradient of the input [n, c, h, w], overwritten.</param>
    public static unsafe void AvgBackward(ReadOnlySpan<float> gradOutput, in Pool2dGeometry g, bool countIncludePad, int divisorOverride, Span<float> gradInput)
    {
        CheckAvg(g, divisorOverride);
        CheckLength(nameof(gradOutput), gradOutput.Length, g.OutputLength);
        CheckLength(nameof(gradInput), gradInput.Length, g.InputLength);
        Pool2dGeometry geo = g;
        int inPlane = g.Height * g.Width;
        int outPlane = g.OutHeight * g.OutWidth;
        fixed (float* pGo = gradOutput)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo;
            nint giAddr = (nint)pGi;
            KernelParallel.For(g.Planes, (long)outPlane * g.KernelH * g.KernelW, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    AvgBackwardPlane(
                        new ReadOnlySpan<float>((float*)goAddr + ((long)p * outPlane), outPlane),
                        geo,
                        countIncludePad,
                        divisorOverride,
                        new Span<float>((float*)giAddr + ((long)p * inPlane), inPlane));
                }
            });
        }
    }

    /// <summary>
    /// Adaptive average pooling (PyTorch <c>adaptive_avg_pool2d</c>): input [planes, h, w] → output
    /// [planes, oh, ow], where output row i averages input rows [⌊i·h/oh⌋, ⌈(i+1)·h/oh⌉), likewise columns.
    /// </summary>
    /// <param name="input">Input [planes, h, w] (planes = n·c).</param>
    /// <param name="planes">Number of planes, n·c (≥ 0).</param>
    /// <param name="h">Input height (≥ 1).</param>
    /// <param name="w">Input width (≥ 1).</param>
    /// <param name="oh">Output height (≥ 1).</param>
    /// <param name="ow">Output width (≥ 1).</param>
    /// <param name="output">Output [planes, oh, ow], overwritten.</param>
    public static unsafe void AdaptiveAvgForward(ReadOnlySpan<float> input, int planes, int h, int w, int oh, int ow, Span<float> output)
    {
        CheckAdaptive(planes, h, w, oh, ow);
        CheckLength(nameof(input), input.Length, (long)planes * h * w);
        CheckLength(nameof(output), output.Length, (long)planes * oh * ow);
        int inPlane = h * w;
        int outPlane = oh * ow;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        {
            nint inAddr = (nint)pIn;
            nint outAddr = (nint)pOut;
            KernelParallel.For(planes, inPlane + outPlane, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var x = new ReadOnlySpan<float>((float*)inAddr + ((long)p * inPlane), inPlane);
                    var y = new Span<float>((float*)outAddr + ((long)p * outPlane), outPlane);
                    for (int i = 0; i < oh; i++)
                    {
                        int h0 = AdaptiveStart(i, h, oh);
                        int h1 = AdaptiveEnd(i, h, oh);
                        for (int j = 0; j < ow; j++)
                        {
                            int w0 = AdaptiveStart(j, w, ow);
                            int w1 = AdaptiveEnd(j, w, ow);
                            float sum = 0f;
                            for (int ih = h0; ih < h1; ih++)
                            {
                                ReadOnlySpan<float> row = x.Slice((ih * w) + w0, w1 - w0);
                                for (int k = 0; k < row.Length; k++)
                                {
                                    sum += row[k];
                                }
                            }

                            y[(i * ow) + j] = sum / ((h1 - h0) * (w1 - w0));
                        }
                    }
                }
            });
        }
    }

    /// <summary>
    /// Adaptive average pooling backward: gradInput [planes, h, w] is overwritten; each output gradient
    /// divided by its window area is added to every element of its window.
    /// </summary>
    /// <param name="gradOutput">Gradient of the output [planes, oh, ow].</param>
    /// <param name="planes">Number of planes, n·c.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="oh">Output height.</param>
    /// <param name="ow">Output width.</param>
    /// <param name="gradInput">Gradient of the input [planes, h, w], overwritten.</param>
    public static unsafe void AdaptiveAvgBackward(ReadOnlySpan<float> gradOutput, int planes, int h, int w, int oh, int ow, Span<float> gradInput)
    {
        CheckAdaptive(planes, h, w, oh, ow);
        CheckLength(nameof(gradOutput), gradOutput.Length, (long)planes * oh * ow);
        CheckLength(nameof(gradInput), gradInput.Length, (long)planes * h * w);
        int inPlane = h * w;
        int outPlane = oh * ow;
        fixed (float* pGo = gradOutput)
        fixed (float* pGi = gradInput)
        {
            nint goAddr = (nint)pGo;
            nint giAddr = (nint)pGi;
            KernelParallel.For(planes, inPlane + outPlane, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var go = new ReadOnlySpan<float>((float*)goAddr + ((long)p * outPlane), outPlane);
                    var gi = new Span<float>((float*)giAddr + ((long)p * inPlane), inPlane);
                    gi.Clear();
                    for (int i = 0; i < oh; i++)
                    {
                        int h0 = AdaptiveStart(i, h, oh);
                        int h1 = AdaptiveEnd(i, h, oh);
                        for (int j = 0; j < ow; j++)
                        {
                            int w0 = AdaptiveStart(j, w, ow);
                            int w1 = AdaptiveEnd(j, w, ow);
                            float share = go[(i * ow) + j] / ((h1 - h0) * (w1 - w0));
                            for (int ih = h0; ih < h1; ih++)
                            {
                                Span<float> row = gi.Slice((ih * w) + w0, w1 - w0);
                                for (int k = 0; k < row.Length; k++)
                                {
                                    row[k] += share;
                                }
                            }
                        }
                    }
                }
            });
        }
    }

    internal static int AdaptiveStart(int i, int input, int output) => (int)((long)i * input / output);

    internal static int AdaptiveEnd(int i, int input, int output) => (int)(((((long)i + 1) * input) + output - 1) / output);

    /// <summary>
    /// One plane of the tiled case. Same scan order and comparison as <see cref="MaxPlane"/> (row-major taps,
    /// strictly greater or NaN replaces), so outputs and indices are identical. 2×2 runs 8 (or 4) outputs at a
    /// time: one load per input row, a permute that splits even and odd columns, and three compare-selects on
    /// values and indices; scalar code with a data-dependent branch per tap mispredicted about once per output.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)] // called from a lambda: Tier-0 code would run for most of a short training run
    private static unsafe void MaxPlaneTiled(float* x, in Pool2dGeometry g, float* y, int* arg)
    {
        int w = g.Width, oh = g.OutHeight, ow = g.OutWidth, kh = g.KernelH, kw = g.KernelW;
        if (kh == 2 && kw == 2)
        {
            bool vector = Avx512F.IsSupported && ow >= 8;

            // Lanes 0–7 take the even columns of 16 loaded floats, lanes 8–15 the odd ones.
            Vector512<int> deinterleave = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
            Vector256<int> evenOffsets = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
            bool narrow = !vector && Avx2.IsSupported && ow >= 4;
            Vector256<int> deinterleave4 = Vector256.Create(0, 2, 4, 6, 1, 3, 5, 7);
            Vector128<int> evenOffsets4 = Vector128.Create(0, 2, 4, 6);
            for (int i = 0; i < oh; i++)
            {
                int rowBase = 2 * i * w;
                float* r0 = x + rowBase;
                float* r1 = r0 + w;
                int j = 0;
                if (vector)
                {
                    // Blocks of 8 outputs; the last block is moved left to end at ow (overlap recomputes equal values).
                    for (int j0 = 0; j0 < ow; j0 += 8)
                    {
                        int jb = Math.Min(j0, ow - 8);
                        Vector512<float> top = Avx512F.PermuteVar16x32(Vector512.Load(r0 + (2 * jb)), deinterleave);
                        Vector512<float> bottom = Avx512F.PermuteVar16x32(Vector512.Load(r1 + (2 * jb)), deinterleave);
                        Vector256<int> index = evenOffsets + Vector256.Create(rowBase + (2 * jb));
                        Vector256<float> max = top.GetLower();
                        Vector256<int> best = index;
                        Vector256<float> v = top.GetUpper();
                        Vector256<float> take = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                        max = Vector256.ConditionalSelect(take, v, max);
                        best = Vector256.ConditionalSelect(take.AsInt32(), index + Vector256<int>.One, best);
                        v = bottom.GetLower();
                        take = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                        max = Vector256.ConditionalSelect(take, v, max);
                        best = Vector256.ConditionalSelect(take.AsInt32(), index + Vector256.Create(w), best);
                        v = bottom.GetUpper();
                        take = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                        max = Vector256.ConditionalSelect(take, v, max);
                        best = Vector256.ConditionalSelect(take.AsInt32(), index + Vector256.Create(w + 1), best);
                        max.Store(y + jb);
                        best.Store(arg + jb);
                    }

                    j = ow;
                }
                else if (narrow)
                {
                    // The same with 4 outputs per block (e.g. 10×10 → 5×5).
                    for (int j0 = 0; j0 < ow; j0 += 4)
                    {
                        int jb = Math.Min(j0, ow - 4);
                        Vector256<float> top = Avx2.PermuteVar8x32(Vector256.Load(r0 + (2 * jb)), deinterleave4);
                        Vector256<float> bottom = Avx2.PermuteVar8x32(Vector256.Load(r1 + (2 * jb)), deinterleave4);
                        Vector128<int> index = evenOffsets4 + Vector128.Create(rowBase + (2 * jb));
                        Vector128<float> max = top.GetLower();
                        Vector128<int> best = index;
                        Vector128<float> v = top.GetUpper();
                        Vector128<float> take = Vector128.GreaterThan(v, max) | ~Vector128.Equals(v, v);
                        max = Vector128.ConditionalSelect(take, v, max);
                        best = Vector128.ConditionalSelect(take.AsInt32(), index + Vector128<int>.One, best);
                        v = bottom.GetLower();
                        take = Vector128.GreaterThan(v, max) | ~Vector128.Equals(v, v);
                        max = Vector128.ConditionalSelect(take, v, max);
                        best = Vector128.ConditionalSelect(take.AsInt32(), index + Vector128.Create(w), best);
                        v = bottom.GetUpper();
                        take = Vector128.GreaterThan(v, max) | ~Vector128.Equals(v, v);
                        max = Vector128.ConditionalSelect(take, v, max);
                        best = Vector128.ConditionalSelect(take.AsInt32(), index + Vector128.Create(w + 1), best);
                        max.Store(y + jb);
                        best.Store(arg + jb);
                    }

                    j = ow;
                }

                for (; j < ow; j++)
                {
                    int c = 2 * j;
                    float max = r0[c];
                    int best = c;
                    float v = r0[c + 1];
                    if (v > max || float.IsNaN(v))
                    {
                        max = v;
                        best = c + 1;
                    }

                    v = r1[c];
                    if (v > max || float.IsNaN(v))
                    {
                        max = v;
                        best = c + w;
                    }

                    v = r1[c + 1];
                    if (v > max || float.IsNaN(v))
                    {
                        max = v;
                        best = c + w + 1;
                    }

                    y[j] = max;
                    arg[j] = rowBase + best;
                }

                y += ow;
                arg += ow;
            }

            return;
        }

        for (int i = 0; i < oh; i++)
        {
            for (int j = 0; j < ow; j++)
            {
                int first = (i * kh * w) + (j * kw);
                float max = float.NegativeInfinity;
                int best = first;
                for (int a = 0; a < kh; a++)
                {
                    int rowStart = first + (a * w);
                    for (int b = 0; b < kw; b++)
                    {
                        float v = x[rowStart + b];
                        if (v > max || float.IsNaN(v))
                        {
                            max = v;
                            best = rowStart + b;
                        }
                    }
                }

                y[j] = max;
                arg[j] = best;
            }

            y += ow;
            arg += ow;
        }
    }

    /// <summary>
    /// One plane with horizontal stride 2 and no dilation. Output j of a row reads columns 2j − pad + b, b &lt; kw:
    /// a 16-float load at 2j₀ − pad + 2t, permuted into even columns (lanes 0–7) and odd ones (lanes 8–15), gives
    /// taps 2t and 2t + 1 of 8 consecutive outputs j₀ … j₀ + 7. Taps run in the general loop's order (rows, then
    /// columns) with its rule (strictly greater, or NaN, replaces), starting from the first tap, which the general
    /// loop's start (−∞ at the first valid tap) always reaches after one step; so values and indices are identical.
    /// Vector blocks cover the outputs whose loads stay inside the row (the last load may read one column past
    /// the window); the others, near the left and right edges, run <see cref="MaxOne"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void MaxPlaneStride2(float* x, in Pool2dGeometry g, float* y, int* arg)
    {
        int h = g.Height, w = g.Width, oh = g.OutHeight, ow = g.OutWidth, kw = g.KernelW, pw = g.PadW;
        int pairs = (kw + 1) / 2;

        // First vector output: its first load starts at column ≥ 0. Last block start: its last load ends inside the row.
        int jLo = (pw + 1) / 2;
        int jbMax = Math.Min(ow - 8, (w - 16 + pw - (2 * (pairs - 1))) / 2);
        int vecEnd = jbMax >= jLo ? jbMax + 8 : jLo;
        Vector512<int> deinterleave = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
        Vector256<int> evenOffsets = Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
        for (int i = 0; i < oh; i++)
        {
            int hs = (i * g.StrideH) - g.PadH;
            int he = Math.Min(hs + g.KernelH, h);
            hs = Math.Max(hs, 0);
            for (int j = 0; j < Math.Min(jLo, ow); j++)
            {
                (y[j], arg[j]) = MaxOne(x, g, i, j);
            }

            for (int j0 = jLo; j0 < vecEnd; j0 += 8)
            {
                int jb = Math.Min(j0, vecEnd - 8);
                int col = (2 * jb) - pw;
                Vector256<float> max = Vector256<float>.Zero;
                Vector256<int> best = Vector256<int>.Zero;
                bool first = true;
                for (int ih = hs; ih < he; ih++)
                {
                    int rowStart = (ih * w) + col;
                    float* r = x + rowStart;
                    for (int t = 0; t < pairs; t++)
                    {
                        Vector512<float> both = Avx512F.PermuteVar16x32(Vector512.Load(r + (2 * t)), deinterleave);
                        Vector256<int> index = evenOffsets + Vector256.Create(rowStart + (2 * t));
                        Vector256<float> v = both.GetLower();
                        if (first)
                        {
                            max = v;
                            best = index;
                            first = false;
                        }
                        else
                        {
                            Vector256<float> take = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                            max = Vector256.ConditionalSelect(take, v, max);
                            best = Vector256.ConditionalSelect(take.AsInt32(), index, best);
                        }

                        if ((2 * t) + 1 < kw)
                        {
                            v = both.GetUpper();
                            Vector256<float> take = Vector256.GreaterThan(v, max) | ~Vector256.Equals(v, v);
                            max = Vector256.ConditionalSelect(take, v, max);
                            best = Vector256.ConditionalSelect(take.AsInt32(), index + Vector256<int>.One, best);
                        }
                    }
                }

                if (first)
                {
                    // No input row in the window (ceil mode's last row): the general loop's result for each output.
                    for (int j = jb; j < jb + 8; j++)
                    {
                        (y[j], arg[j]) = MaxOne(x, g, i, j);
                    }

                    continue;
                }

                max.Store(y + jb);
                best.Store(arg + jb);
            }

            for (int j = Math.Max(vecEnd, Math.Min(jLo, ow)); j < ow; j++)
            {
                (y[j], arg[j]) = MaxOne(x, g, i, j);
            }

            y += ow;
            arg += ow;
        }
    }

    /// <summary>One output of the general loop (<see cref="MaxPlane"/>'s window, order and rule).</summary>
    private static unsafe (float Max, int Index) MaxOne(float* x, in Pool2dGeometry g, int i, int j)
    {
        int hs = (i * g.StrideH) - g.PadH;
        int he = Math.Min(hs + ((g.KernelH - 1) * g.DilationH) + 1, g.Height);
        while (hs < 0)
        {
            hs += g.DilationH;
        }

        int ws = (j * g.StrideW) - g.PadW;
        int we = Math.Min(ws + ((g.KernelW - 1) * g.DilationW) + 1, g.Width);
        while (ws < 0)
        {
            ws += g.DilationW;
        }

        int best = (hs * g.Width) + ws;
        float max = float.NegativeInfinity;
        for (int ih = hs; ih < he; ih += g.DilationH)
        {
            int rowBase = ih * g.Width;
            for (int iw = ws; iw < we; iw += g.DilationW)
            {
                float v = x[rowBase + iw];
                if (v > max || float.IsNaN(v))
                {
                    max = v;
                    best = rowBase + iw;
                }
            }
        }

        return (max, best);
    }

    private static void MaxPlane(ReadOnlySpan<float> x, in Pool2dGeometry g, Span<float> y, Span<int> arg)
    {
        int h = g.Height;
        int w = g.Width;
        int oh = g.OutHeight;
        int ow = g.OutWidth;
        int dh = g.DilationH;
        int dw = g.DilationW;
        for (int i = 0; i < oh; i++)
        {
            int hs = (i * g.StrideH) - g.PadH;
            int he = Math.Min(hs + ((g.KernelH - 1) * dh) + 1, h);
            while (hs < 0)
            {
                hs += dh;
            }

            for (int j = 0; j < ow; j++)
            {
                int ws = (j * g.StrideW) - g.PadW;
                int we = Math.Min(ws + ((g.KernelW - 1) * dw) + 1, w);
                while (ws < 0)
                {
                    ws += dw;
                }

                int best = (hs * w) + ws;
                float max = float.NegativeInfinity;
                for (int ih = hs; ih < he; ih += dh)
                {
                    int rowBase = ih * w;
                    for (int iw = ws; iw < we; iw += dw)
                    {
                        float v = x[rowBase + iw];
                        if (v > max || float.IsNaN(v))
                        {
                            max = v;
                            best = rowBase + iw;
                        }
                    }
                }

                y[(i * ow) + j] = max;
                arg[(i * ow) + j] = best;
            }
        }
    }

    private static void AvgPlane(ReadOnlySpan<float> x, in Pool2dGeometry g, bool countIncludePad, int divisorOverride, Span<float> y)
    {
        int h = g.Height;
        int w = g.Width;
        int oh = g.OutHeight;
        int ow = g.OutWidth;
        for (int i = 0; i < oh; i++)
        {
            int hs = (i * g.StrideH) - g.PadH;
            int he = Math.Min(hs + g.KernelH, h + g.PadH);
            int padRows = he - hs;
            hs = Math.Max(hs, 0);
            he = Math.Min(he, h);
            for (int j = 0; j < ow; j++)
            {
                int ws = (j * g.StrideW) - g.PadW;
                int we = Math.Min(ws + g.KernelW, w + g.PadW);
                int padCols = we - ws;
                ws = Math.Max(ws, 0);
                we = Math.Min(we, w);
                if (hs >= he || ws >= we)
                {
                    y[(i * ow) + j] = 0f;
                    continue;
                }

                float sum = 0f;
                for (int ih = hs; ih < he; ih++)
                {
                    ReadOnlySpan<float> row = x.Slice((ih * w) + ws, we - ws);
                    for (int k = 0; k < row.Length; k++)
                    {
                        sum += row[k];
                    }
                }

                int divisor = divisorOverride > 0 ? divisorOverride
                    : countIncludePad ? padRows * padCols
                    : (he - hs) * (we - ws);
                y[(i * ow) + j] = sum / divisor;
            }
        }
    }

    private static void AvgBackwardPlane(ReadOnlySpan<float> go, in Pool2dGeometry g, bool countIncludePad, int divisorOverride, Span<float> gi)
    {
        int h = g.Height;
        int w = g.Width;
        int oh = g.OutHeight;
        int ow = g.OutWidth;
        gi.Clear();
        for (int i = 0; i < oh; i++)
        {
            int hs = (i * g.StrideH) - g.PadH;
            int he = Math.Min(hs + g.KernelH, h + g.PadH);
            int padRows = he - hs;
            hs = Math.Max(hs, 0);
            he = Math.Min(he, h);
            for (int j = 0; j < ow; j++)
            {
                int ws = (j * g.StrideW) - g.PadW;
                int we = Math.Min(ws + g.KernelW, w + g.PadW);
                int padCols = we - ws;
                ws = Math.Max(ws, 0);
                we = Math.Min(we, w);
                if (hs >= he || ws >= we)
                {
                    continue;
                }

                int divisor = divisorOverride > 0 ? divisorOverride
                    : countIncludePad ? padRows * padCols
                    : (he - hs) * (we - ws);
                float share = go[(i * ow) + j] / divisor;
                for (int ih = hs; ih < he; ih++)
                {
                    Span<float> row = gi.Slice((ih * w) + ws, we - ws);
                    for (int k = 0; k < row.Length; k++)
                    {
                        row[k] += share;
                    }
                }
            }
        }
    }

    private static void CheckAvg(in Pool2dGeometry g, int divisorOverride)
    {
        g.Validate();
        if (g.DilationH != 1 || g.DilationW != 1)
        {
            throw new ArgumentException($"Average pooling has no dilation but got dilation=({g.DilationH}, {g.DilationW})");
        }

        if (divisorOverride < 0)
        {
            throw new ArgumentException($"divisorOverride must be 0 (none) or positive but got {divisorOverride}");
        }
    }

    private static void CheckAdaptive(int planes, int h, int w, int oh, int ow)
    {
        if (planes < 0 || h < 1 || w < 1 || oh < 1 || ow < 1)
        {
            throw new ArgumentException(
                $"AdaptiveAvgPool2d expected planes ≥ 0 and positive sizes but got planes={planes}, " +
                $"input=({h}, {w}), output=({oh}, {ow})");
        }
    }

    internal static void CheckLength(string name, int actual, long expected)
    {
        if (actual != expected)
        {
            throw new ArgumentException($"{name} has length {actual} but the geometry needs {expected}", name);
        }
    }
}
