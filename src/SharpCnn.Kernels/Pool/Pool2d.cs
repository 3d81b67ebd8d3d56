namespace SharpCnn.Kernels;

/// <summary>
/// Max, average and adaptive-average pooling over NCHW float32 tensors with PyTorch semantics.
/// Planes (one channel of one sample) are independent and are split across cores.
/// </summary>
/// <remarks>Legend: n batch, c channels, h/w input, oh/ow output, kh/kw kernel.</remarks>
public static class Pool2d
{
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
            KernelParallel.For(g.Planes, (long)outPlane * g.KernelH * g.KernelW, (start, end) =>
            {
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
            KernelParallel.For(g.Planes, outPlane + inPlane, (start, end) =>
            {
                for (int p = start; p < end; p++)
                {
                    var go = new ReadOnlySpan<float>((float*)goAddr + ((long)p * outPlane), outPlane);
                    var arg = new ReadOnlySpan<int>((int*)argAddr + ((long)p * outPlane), outPlane);
                    var gi = new Span<float>((float*)giAddr + ((long)p * inPlane), inPlane);
                    gi.Clear();
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
