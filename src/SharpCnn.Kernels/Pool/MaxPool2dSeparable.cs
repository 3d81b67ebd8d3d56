using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Max pooling without indices for horizontal stride 2 and no dilation (variant <c>MaxPool2dSeparable</c>, AVX-512),
/// e.g. ResNet's 3×3 stride-2 pad-1 stem pool at inference: per plane, a horizontal pass takes the maximum over the
/// kw window columns of every input row (16 outputs per step: per tap two loads and one even-lane permute), then a
/// vertical pass takes the maximum of kh such rows per output row.
/// </summary>
/// <remarks>
/// Same values, bit for bit, as the scan of <see cref="Pool2d.MaxForward(ReadOnlySpan{float}, in Pool2dGeometry, Span{float}, Span{int})"/>:
/// both fold acc ← (v &gt; acc or v is NaN) ? v : acc from −∞ over the window's taps inside the input, and folding each
/// row first and then the rows in order gives the scan's result (the first maximum in row-major order, or the last
/// NaN), so −0/+0 ties and NaN payloads come out the same. Padding taps are −∞ (they never win).
/// </remarks>
internal static unsafe class MaxPool2dSeparable
{
    /// <summary>Tells whether the variant runs <paramref name="g"/>: AVX-512, horizontal stride 2, no dilation.</summary>
    public static bool Supports(in Pool2dGeometry g) =>
        Avx512F.IsSupported && Vector512.IsHardwareAccelerated && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1;

    /// <summary>y = max pool of x for planes [start, end) (each plane H×W in, OH×OW out).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Planes(float* x, in Pool2dGeometry g, float* y, int start, int end)
    {
        int h = g.Height, w = g.Width, oh = g.OutHeight, ow = g.OutWidth;
        int owPad = (ow + 15) & ~15;
        float[] rowsArray = ArrayPool<float>.Shared.Rent((h * owPad) + 16);
        try
        {
            fixed (float* rowsStart = rowsArray)
            {
                float* rows = (float*)(((nint)rowsStart + 63) & ~(nint)63);
                for (int p = start; p < end; p++)
                {
                    Horizontal(x + ((long)p * h * w), g, rows, owPad);
                    Vertical(rows, g, owPad, y + ((long)p * oh * ow));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(rowsArray);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Fold(Vector512<float> acc, Vector512<float> v) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(v, acc) | ~Vector512.Equals(v, v), v, acc);

    /// <summary>rows[ih·owPad + j] = fold over t &lt; kw of x[ih, 2j − pw + t] (−∞ outside the row), j &lt; owPad.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Horizontal(float* x, in Pool2dGeometry g, float* rows, int owPad)
    {
        int h = g.Height, w = g.Width, kw = g.KernelW, pw = g.PadW;
        Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        Vector512<float> minusInf = Vector512.Create(float.NegativeInfinity);
        Vector512<int> lanes = Vector512<int>.Indices, upper = lanes + Vector512.Create(16);
        for (int ih = 0; ih < h; ih++)
        {
            float* row = x + ((long)ih * w);
            float* dst = rows + ((long)ih * owPad);
            for (int j0 = 0; j0 < owPad; j0 += 16)
            {
                Vector512<float> acc = minusInf;
                for (int t = 0; t < kw; t++)
                {
                    // Source column of lane l (l < 32) is c0 + l; the even lanes are this tap of outputs j0 .. j0 + 15.
                    int c0 = (2 * j0) - pw + t;
                    Vector512<float> lo, hi;
                    if (c0 >= 0 && c0 + 31 < w)
                    {
                        lo = Vector512.Load(row + c0);
                        hi = Vector512.Load(row + c0 + 16);
                    }
                    else
                    {
                        Vector512<int> first = Vector512.Create(-c0), limit = Vector512.Create(w - c0);
                        Vector512<float> m0 = (Vector512.GreaterThanOrEqual(lanes, first) & Vector512.LessThan(lanes, limit)).AsSingle();
                        Vector512<float> m1 = (Vector512.GreaterThanOrEqual(upper, first) & Vector512.LessThan(upper, limit)).AsSingle();
                        lo = Avx512F.MaskLoad(row + c0, m0, minusInf);
                        hi = Avx512F.MaskLoad(row + c0 + 16, m1, minusInf);
                    }

                    acc = Fold(acc, Avx512F.PermuteVar16x32x2(lo, even, hi));
                }

                acc.Store(dst + j0);
            }
        }
    }

    /// <summary>y[i, j] = fold over the window rows inside the input of rows[ih, j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Vertical(float* rows, in Pool2dGeometry g, int owPad, float* y)
    {
        int h = g.Height, oh = g.OutHeight, ow = g.OutWidth;
        Vector512<float> minusInf = Vector512.Create(float.NegativeInfinity);
        for (int i = 0; i < oh; i++)
        {
            int hs = (i * g.StrideH) - g.PadH;
            int he = Math.Min(hs + g.KernelH, h);
            hs = Math.Max(hs, 0);
            float* dst = y + ((long)i * ow);
            for (int j0 = 0; j0 < ow; j0 += 16)
            {
                Vector512<float> acc = minusInf;
                for (int ih = hs; ih < he; ih++)
                {
                    acc = Fold(acc, Vector512.Load(rows + ((long)ih * owPad) + j0));
                }

                if (j0 + 16 <= ow)
                {
                    acc.Store(dst + j0);
                }
                else
                {
                    Avx512F.MaskStore(dst + j0, Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(ow - j0)).AsSingle(), acc);
                }
            }
        }
    }
}
