using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
        // Geometry in locals: read through `in` the fields would be reloaded after every store through a pointer.
        int oh = g.OutHeight, ow = g.OutWidth, h = g.Height, w = g.Width;
        int kh = g.KernelH, kw = g.KernelW, sh = g.StrideH, sw = g.StrideW;
        int padTop = g.PadTop, padLeft = g.PadLeft, dh = g.DilationH, dw = g.DilationW;
        long plane = (long)oh * ow;
        float* dst = col;
        for (int c = 0; c < channels; c++)
        {
            float* xc = x + ((long)c * h * w);
            for (int ki = 0; ki < kh; ki++)
            {
                for (int kj = 0; kj < kw; kj++)
                {
                    int ixStart = (kj * dw) - padLeft;
                    ValidRange(ixStart, sw, w, ow, out int lo, out int hi);
                    uint copyBytes = (uint)(hi - lo) * sizeof(float);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        float* d = dst + ((long)oy * ow);
                        int iy = (oy * sh) - padTop + (ki * dh);
                        if ((uint)iy >= (uint)h)
                        {
                            Unsafe.InitBlockUnaligned(d, 0, (uint)ow * sizeof(float));
                            continue;
                        }

                        float* src = xc + ((long)iy * w) + ixStart;
                        for (int ox = 0; ox < lo; ox++)
                        {
                            d[ox] = 0f;
                        }

                        if (sw == 1)
                        {
                            Unsafe.CopyBlockUnaligned(d + lo, src + lo, copyBytes);
                        }
                        else
                        {
                            for (int ox = lo; ox < hi; ox++)
                            {
                                d[ox] = src[ox * sw];
                            }
                        }

                        for (int ox = hi; ox < ow; ox++)
                        {
                            d[ox] = 0f;
                        }
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
        int kh = g.KernelH, kw = g.KernelW, sh = g.StrideH, sw = g.StrideW;
        int padTop = g.PadTop, padLeft = g.PadLeft, dh = g.DilationH, dw = g.DilationW;
        long plane = (long)oh * ow;
        float* src = col;
        for (int c = 0; c < channels; c++)
        {
            float* xc = x + ((long)c * h * w);
            for (int ki = 0; ki < kh; ki++)
            {
                for (int kj = 0; kj < kw; kj++)
                {
                    int ixStart = (kj * dw) - padLeft;
                    ValidRange(ixStart, sw, w, ow, out int lo, out int hi);
                    for (int oy = 0; oy < oh; oy++)
                    {
                        int iy = (oy * sh) - padTop + (ki * dh);
                        if ((uint)iy >= (uint)h)
                        {
                            continue;
                        }

                        float* s = src + ((long)oy * ow);
                        float* d = xc + ((long)iy * w) + ixStart;
                        if (sw == 1)
                        {
                            int ox = lo;
                            for (; ox + Vector256<float>.Count <= hi; ox += Vector256<float>.Count)
                            {
                                (Vector256.Load(d + ox) + Vector256.Load(s + ox)).Store(d + ox);
                            }

                            for (; ox < hi; ox++)
                            {
                                d[ox] += s[ox];
                            }
                        }
                        else
                        {
                            for (int ox = lo; ox < hi; ox++)
                            {
                                d[ox * sw] += s[ox];
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
