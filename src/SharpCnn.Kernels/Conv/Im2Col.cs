namespace SharpCnn.Kernels;

/// <summary>
/// Unfolds one sample's channels into the (C·kh·kw) × (OH·OW) matrix that turns convolution into a GEMM, and
/// folds such a matrix back (adding overlapping taps). Row r = (c·kh + ki)·kw + kj, column q = oy·OW + ox,
/// holding x[c, oy·sh − pt + ki·dh, ox·sw − pl + kj·dw] or 0 in the padding.
/// </summary>
internal static unsafe class Im2Col
{
    /// <summary>col[r, q] = x[c, iy, ix] (0 outside); <paramref name="x"/> points at the first of <paramref name="channels"/> channels.</summary>
    public static void Unfold(float* x, int channels, in Conv2dGeometry g, float* col)
    {
        int oh = g.OutHeight, ow = g.OutWidth, h = g.Height, w = g.Width;
        long plane = (long)oh * ow;
        float* dst = col;
        for (int c = 0; c < channels; c++)
        {
            float* xc = x + ((long)c * h * w);
            for (int ki = 0; ki < g.KernelH; ki++)
            {
                for (int kj = 0; kj < g.KernelW; kj++)
                {
                    int ixStart = (kj * g.DilationW) - g.PadLeft;
                    ValidRange(ixStart, g.StrideW, w, ow, out int lo, out int hi);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        float* d = dst + ((long)oy * ow);
                        int iy = (oy * g.StrideH) - g.PadTop + (ki * g.DilationH);
                        if (iy < 0 || iy >= h)
                        {
                            new Span<float>(d, ow).Clear();
                            continue;
                        }

                        float* src = xc + ((long)iy * w) + ixStart;
                        new Span<float>(d, lo).Clear();
                        if (g.StrideW == 1)
                        {
                            new ReadOnlySpan<float>(src + lo, hi - lo).CopyTo(new Span<float>(d + lo, hi - lo));
                        }
                        else
                        {
                            for (int ox = lo; ox < hi; ox++)
                            {
                                d[ox] = src[ox * g.StrideW];
                            }
                        }

                        new Span<float>(d + hi, ow - hi).Clear();
                    }

                    dst += plane;
                }
            }
        }
    }

    /// <summary>x[c, iy, ix] += col[r, q] for every in-bounds tap: the adjoint of <see cref="Unfold"/>. The caller zeroes x first.</summary>
    public static void Fold(float* col, int channels, in Conv2dGeometry g, float* x)
    {
        int oh = g.OutHeight, ow = g.OutWidth, h = g.Height, w = g.Width;
        long plane = (long)oh * ow;
        float* src = col;
        for (int c = 0; c < channels; c++)
        {
            float* xc = x + ((long)c * h * w);
            for (int ki = 0; ki < g.KernelH; ki++)
            {
                for (int kj = 0; kj < g.KernelW; kj++)
                {
                    int ixStart = (kj * g.DilationW) - g.PadLeft;
                    ValidRange(ixStart, g.StrideW, w, ow, out int lo, out int hi);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = (oy * g.StrideH) - g.PadTop + (ki * g.DilationH);
                        if (iy < 0 || iy >= h)
                        {
                            continue;
                        }

                        float* s = src + ((long)oy * ow);
                        float* d = xc + ((long)iy * w) + ixStart;
                        if (g.StrideW == 1)
                        {
                            for (int ox = lo; ox < hi; ox++)
                            {
                                d[ox] += s[ox];
                            }
                        }
                        else
                        {
                            for (int ox = lo; ox < hi; ox++)
                            {
                                d[ox * g.StrideW] += s[ox];
                            }
                        }
                    }

                    src += plane;
                }
            }
        }
    }

    /// <summary>Output columns [lo, hi) whose tap ix = ox·stride + start lies in [0, size).</summary>
    private static void ValidRange(int start, int stride, int size, int outSize, out int lo, out int hi)
    {
        lo = start >= 0 ? 0 : (-start + stride - 1) / stride;
        int last = size - 1 - start;
        hi = last < 0 ? 0 : Math.Min(outSize, (last / stride) + 1);
        lo = Math.Min(lo, outSize);
        hi = Math.Max(hi, lo);
    }
}
