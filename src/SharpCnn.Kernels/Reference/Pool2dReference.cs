using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>
/// Plain scalar twins of <see cref="Pool2d"/>, generic so tests can run them in double. Each is written
/// straight from PyTorch's definition: one output at a time, one window tap at a time.
/// </summary>
public static class Pool2dReference
{
    /// <summary>Max pooling; same contract as <see cref="Pool2d.MaxForward"/> (first maximum wins, NaN wins).</summary>
    /// <typeparam name="T">Floating-point element type.</typeparam>
    /// <param name="input">Input [n, c, h, w].</param>
    /// <param name="g">Geometry.</param>
    /// <param name="output">Output [n, c, oh, ow].</param>
    /// <param name="argmax">Flat in-plane index of each maximum.</param>
    public static void MaxForward<T>(ReadOnlySpan<T> input, in Pool2dGeometry g, Span<T> output, Span<int> argmax)
        where T : IFloatingPointIeee754<T>
    {
        g.Validate();
        int oh = g.OutHeight;
        int ow = g.OutWidth;
        for (int p = 0; p < g.Planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    T best = T.NegativeInfinity;
                    int bestIndex = -1;
                    for (int a = 0; a < g.KernelH; a++)
                    {
                        for (int b = 0; b < g.KernelW; b++)
                        {
                            int ih = (i * g.StrideH) - g.PadH + (a * g.DilationH);
                            int iw = (j * g.StrideW) - g.PadW + (b * g.DilationW);
                            if (ih < 0 || ih >= g.Height || iw < 0 || iw >= g.Width)
                            {
                                continue;
                            }

                            T v = input[(p * g.Height * g.Width) + (ih * g.Width) + iw];
                            if (bestIndex < 0 || v > best || T.IsNaN(v))
                            {
                                best = v;
                                bestIndex = (ih * g.Width) + iw;
                            }
                        }
                    }

                    output[(((p * oh) + i) * ow) + j] = best;
                    argmax[(((p * oh) + i) * ow) + j] = bestIndex;
                }
            }
        }
    }

    /// <summary>Max pooling backward: gradInput = 0, then gradInput[argmax] += gradOutput.</summary>
    /// <typeparam name="T">Floating-point element type.</typeparam>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="argmax">Indices from the forward pass.</param>
    /// <param name="g">Geometry.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void MaxBackward<T>(ReadOnlySpan<T> gradOutput, ReadOnlySpan<int> argmax, in Pool2dGeometry g, Span<T> gradInput)
        where T : IFloatingPointIeee754<T>
    {
        int outPlane = g.OutHeight * g.OutWidth;
        int inPlane = g.Height * g.Width;
        gradInput.Clear();
        for (int o = 0; o < gradOutput.Length; o++)
        {
            gradInput[((o / outPlane) * inPlane) + argmax[o]] += gradOutput[o];
        }
    }

    /// <summary>Average pooling; same contract as <see cref="Pool2d.AvgForward"/>.</summary>
    /// <typeparam name="T">Floating-point element type.</typeparam>
    /// <param name="input">Input [n, c, h, w].</param>
    /// <param name="g">Geometry (dilation 1).</param>
    /// <param name="countIncludePad">Count padding in the divisor.</param>
    /// <param name="divisorOverride">Divisor if positive.</param>
    /// <param name="output">Output [n, c, oh, ow].</param>
    public static void AvgForward<T>(ReadOnlySpan<T> input, in Pool2dGeometry g, bool countIncludePad, int divisorOverride, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        g.Validate();
        int oh = g.OutHeight;
        int ow = g.OutWidth;
        for (int p = 0; p < g.Planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    int divisor = AvgWindow(g, i, j, countIncludePad, divisorOverride, out int hs, out int he, out int ws, out int we);
                    T sum = T.Zero;
                    for (int ih = hs; ih < he; ih++)
                    {
                        for (int iw = ws; iw < we; iw++)
                        {
                            sum += input[(p * g.Height * g.Width) + (ih * g.Width) + iw];
                        }
                    }

                    output[(((p * oh) + i) * ow) + j] = divisor == 0 ? T.Zero : sum / T.CreateChecked(divisor);
                }
            }
        }
    }

    /// <summary>Average pooling backward; gradInput is overwritten.</summary>
    /// <typeparam name="T">Floating-point element type.</typeparam>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="g">Geometry (dilation 1).</param>
    /// <param name="countIncludePad">Count padding in the divisor.</param>
    /// <param name="divisorOverride">Divisor if positive.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void AvgBackward<T>(ReadOnlySpan<T> gradOutput, in Pool2dGeometry g, bool countIncludePad, int divisorOverride, Span<T> gradInput)
        where T : IFloatingPointIeee754<T>
    {
        int oh = g.OutHeight;
        int ow = g.OutWidth;
        gradInput.Clear();
        for (int p = 0; p < g.Planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    int divisor = AvgWindow(g, i, j, countIncludePad, divisorOverride, out int hs, out int he, out int ws, out int we);
                    if (divisor == 0)
                    {
                        continue;
                    }

                    T share = gradOutput[(((p * oh) + i) * ow) + j] / T.CreateChecked(divisor);
                    for (int ih = hs; ih < he; ih++)
                    {
                        for (int iw = ws; iw < we; iw++)
                        {
                            gradInput[(p * g.Height * g.Width) + (ih * g.Width) + iw] += share;
                        }
                    }
                }
            }
        }
    }

    /// <summary>Adaptive average pooling: rows [⌊i·h/oh⌋, ⌈(i+1)·h/oh⌉), likewise columns.</summary>
    /// <typeparam name="T">Floating-point element type.</typeparam>
    /// <param name="input">Input [planes, h, w].</param>
    /// <param name="planes">n·c.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="oh">Output height.</param>
    /// <param name="ow">Output width.</param>
    /// <param name="output">Output [planes, oh, ow].</param>
    public static void AdaptiveAvgForward<T>(ReadOnlySpan<T> input, int planes, int h, int w, int oh, int ow, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    int h0 = (int)Math.Floor((double)i * h / oh);
                    int h1 = (int)Math.Ceiling((double)(i + 1) * h / oh);
                    int w0 = (int)Math.Floor((double)j * w / ow);
                    int w1 = (int)Math.Ceiling((double)(j + 1) * w / ow);
                    T sum = T.Zero;
                    for (int ih = h0; ih < h1; ih++)
                    {
                        for (int iw = w0; iw < w1; iw++)
                        {
                            sum += input[(p * h * w) + (ih * w) + iw];
                        }
                    }

                    output[(((p * oh) + i) * ow) + j] = sum / T.CreateChecked((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    /// <summary>Adaptive average pooling backward; gradInput is overwritten.</summary>
    /// <typeparam name="T">Floating-point element type.</typeparam>
    /// <param name="gradOutput">Gradient of the output [planes, oh, ow].</param>
    /// <param name="planes">n·c.</param>
    /// <param name="h">Input height.</param>
    /// <param name="w">Input width.</param>
    /// <param name="oh">Output height.</param>
    /// <param name="ow">Output width.</param>
    /// <param name="gradInput">Gradient of the input [planes, h, w].</param>
    public static void AdaptiveAvgBackward<T>(ReadOnlySpan<T> gradOutput, int planes, int h, int w, int oh, int ow, Span<T> gradInput)
        where T : IFloatingPointIeee754<T>
    {
        gradInput.Clear();
        for (int p = 0; p < planes; p++)
        {
            for (int i = 0; i < oh; i++)
            {
                for (int j = 0; j < ow; j++)
                {
                    int h0 = (int)Math.Floor((double)i * h / oh);
                    int h1 = (int)Math.Ceiling((double)(i + 1) * h / oh);
                    int w0 = (int)Math.Floor((double)j * w / ow);
                    int w1 = (int)Math.Ceiling((double)(j + 1) * w / ow);
                    T share = gradOutput[(((p * oh) + i) * ow) + j] / T.CreateChecked((h1 - h0) * (w1 - w0));
                    for (int ih = h0; ih < h1; ih++)
                    {
                        for (int iw = w0; iw < w1; iw++)
                        {
                            gradInput[(p * h * w) + (ih * w) + iw] += share;
                        }
                    }
                }
            }
        }
    }

    // PyTorch avg_pool2d: the window clipped to [−pad, in + pad) gives the count-include-pad divisor;
    // clipped again to [0, in) it gives the taps and the count-exclude-pad divisor. 0 means "no taps".
    private static int AvgWindow(in Pool2dGeometry g, int i, int j, bool countIncludePad, int divisorOverride, out int hs, out int he, out int ws, out int we)
    {
        hs = (i * g.StrideH) - g.PadH;
        ws = (j * g.StrideW) - g.PadW;
        he = Math.Min(hs + g.KernelH, g.Height + g.PadH);
        we = Math.Min(ws + g.KernelW, g.Width + g.PadW);
        int poolSize = (he - hs) * (we - ws);
        hs = Math.Max(hs, 0);
        ws = Math.Max(ws, 0);
        he = Math.Min(he, g.Height);
        we = Math.Min(we, g.Width);
        if (hs >= he || ws >= we)
        {
            return 0;
        }

        return divisorOverride > 0 ? divisorOverride : countIncludePad ? poolSize : (he - hs) * (we - ws);
    }
}
