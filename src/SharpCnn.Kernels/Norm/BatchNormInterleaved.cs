using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// A plane's writing pass run in small steps inside another plane's reduction (<see cref="BatchNormInterleaved"/>).
/// </summary>
internal interface IPlaneWriter
{
    /// <summary>Writes the plane's elements up to (not including) <paramref name="end"/>, continuing where the last call stopped.</summary>
    void Until(int end);
}

/// <summary>
/// The reductions of <see cref="BatchNormVector"/> (Vector512 only) with another plane's writing pass interleaved every
/// <see cref="StepFloats"/> elements, so that one core keeps a DRAM read stream and a non-temporal write stream
/// going at the same time (a core reads and writes faster together than one after the other: docs/performance.md,
/// "Batch norm on two threads").
/// </summary>
/// <remarks>
/// The sums are bit for bit those of <see cref="BatchNormVector.Sum"/> and <see cref="BatchNormVector.GradSums"/>:
/// the same blocks, accumulators and order; the writer only runs between the steps of the inner loop. The writers
/// compute each element as <see cref="BatchNormVector.ScaleShift"/> and <see cref="BatchNormVector.GradInput"/> do (they
/// call them on sub-ranges), so the written values do not depend on the interleaving either.
/// </remarks>
internal static class BatchNormInterleaved
{
    /// <summary>Elements read between two steps of the writer (1 KB: finer than the hardware prefetcher's run-ahead).</summary>
    internal const int StepFloats = 256;

    /// <summary>Whether the interleaved loops can run here (they exist for Vector512 only).</summary>
    internal static bool IsSupported => Vector512.IsHardwareAccelerated;

    /// <summary><see cref="BatchNormVector.Sum"/>, with <paramref name="writer"/> advanced alongside and finished at the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe double Sum<TWriter>(float* x, int len, ref TWriter writer)
        where TWriter : struct, IPlaneWriter
    {
        int i = 0;
        Vector512<double> d0 = Vector512<double>.Zero, d1 = Vector512<double>.Zero;
        while (len - i >= 16)
        {
            int blockEnd = i + Math.Min(BatchNormVector.BlockFloats, (len - i) & ~15);
            Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            while (i + 64 <= blockEnd)
            {
                int stepEnd = Math.Min(i + StepFloats, blockEnd);
                for (; i + 64 <= stepEnd; i += 64)
                {
                    a0 += Vector512.Load(x + i);
                    a1 += Vector512.Load(x + i + 16);
                    a2 += Vector512.Load(x + i + 32);
                    a3 += Vector512.Load(x + i + 48);
                }

                writer.Until(i);
            }

            for (; i < blockEnd; i += 16)
            {
                a0 += Vector512.Load(x + i);
            }

            (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen((a0 + a1) + (a2 + a3));
            d0 += lo;
            d1 += hi;
        }

        double total = Vector512.Sum(d0 + d1);
        for (; i < len; i++)
        {
            total += x[i];
        }

        writer.Until(len);
        return total;
    }

    /// <summary><see cref="BatchNormVector.GradSums"/>, with <paramref name="writer"/> advanced alongside and finished at the end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe (double SumG, double SumGX) GradSums<TWriter>(float* g, float* x, float* mask, int len, float mu, ref TWriter writer)
        where TWriter : struct, IPlaneWriter
    {
        int i = 0;
        Vector512<float> m = Vector512.Create(mu);
        Vector512<double> g0 = Vector512<double>.Zero, g1 = g0, gx0 = g0, gx1 = g0;
        while (len - i >= 16)
        {
            int blockEnd = i + Math.Min(BatchNormVector.BlockFloats, (len - i) & ~15);
            Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, b0 = a0, b1 = a0;
            while (i + 32 <= blockEnd)
            {
                int stepEnd = Math.Min(i + StepFloats, blockEnd);
                for (; i + 32 <= stepEnd; i += 32)
                {
                    Vector512<float> v0 = Vector512.Load(g + i);
                    Vector512<float> v1 = Vector512.Load(g + i + 16);
                    if (mask is not null)
                    {
                        v0 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Load(mask + i), Vector512<float>.Zero), Vector512<float>.Zero, v0);
                        v1 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Load(mask + i + 16), Vector512<float>.Zero), Vector512<float>.Zero, v1);
                    }

                    a0 += v0;
                    a1 += v1;
                    b0 = Vector512.FusedMultiplyAdd(v0, Vector512.Load(x + i) - m, b0);
                    b1 = Vector512.FusedMultiplyAdd(v1, Vector512.Load(x + i + 16) - m, b1);
                }

                writer.Until(i);
            }

            for (; i < blockEnd; i += 16)
            {
                Vector512<float> v = Vector512.Load(g + i);
                if (mask is not null)
                {
                    v = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Load(mask + i), Vector512<float>.Zero), Vector512<float>.Zero, v);
                }

                a0 += v;
                b0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(x + i) - m, b0);
            }

            (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen(a0 + a1);
            g0 += lo;
            g1 += hi;
            (lo, hi) = Vector512.Widen(b0 + b1);
            gx0 += lo;
            gx1 += hi;
        }

        double sumG = Vector512.Sum(g0 + g1);
        double sumGX = Vector512.Sum(gx0 + gx1);
        for (; i < len; i++)
        {
            double gv = mask is not null && mask[i] <= 0f ? 0f : g[i];
            sumG += gv;
            sumGX += gv * (x[i] - mu);
        }

        writer.Until(len);
        return (sumG, sumGX);
    }
}

/// <summary>The forward's writing pass over one plane (<see cref="BatchNormVector.ScaleShift"/> in steps, unfenced).</summary>
internal unsafe struct ScaleShiftWriter(float* x, float* y, float* residual, float scale, float shift, bool relu, bool stream) : IPlaneWriter
{
    private int _done;

    public void Until(int end)
    {
        if (end > _done)
        {
            BatchNormVector.ScaleShift(x + _done, y + _done, end - _done, scale, shift, relu, stream, residual is null ? null : residual + _done, fence: false);
            _done = end;
        }
    }
}

/// <summary>The backward's writing pass over one plane (<see cref="BatchNormVector.GradInput"/> in steps, unfenced).</summary>
internal unsafe struct GradInputWriter(float* g, float* x, float* mask, float* gi, float* gr, float a, float b, float mu, float k, bool stream) : IPlaneWriter
{
    private int _done;

    public void Until(int end)
    {
        if (end > _done)
        {
            BatchNormVector.GradInput(g + _done, x + _done, mask is null ? null : mask + _done, gi + _done, end - _done, a, b, mu, k, stream,
                gr is null ? null : gr + _done, fence: false);
            _done = end;
        }
    }
}
