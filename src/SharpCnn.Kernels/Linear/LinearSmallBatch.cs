using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// A fully connected layer over a few rows (inference at batch 1–4, e.g. ResNet-18's fc): y[r, o] = Σ_i x[r, i]·W[o, i]
/// + b[o] as one dot product per output, reading the weights (out × in, row-major) once, in order.
/// </summary>
/// <remarks>
/// <para>The GEMM (<see cref="Gemm.Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool)"/>)
/// with transposed B packs the whole weight matrix into panels before multiplying it by one row: for ResNet-18's fc
/// (1000 × 512, 2 MB, streamed from memory since the forward reads 75 MB of weights) that took ~0.29 ms on one thread,
/// against ~0.17 ms for the dot products, which are bound by reading the weights once.</para>
/// <para>Each output is one 16-lane FMA chain over the inputs in order (the last partial vector masked), the lanes
/// summed by <see cref="Vector512.Sum{T}(Vector512{T})"/>, then the bias added. Outputs are split between threads in
/// blocks of 64; an output never depends on the split, so 1, 2 and 3 threads give the same bits.</para>
/// </remarks>
public static unsafe class LinearSmallBatch
{
    /// <summary>Most rows this kernel takes (more rows reuse each weight enough for the GEMM to win).</summary>
    public const int MaxRows = 4;

    private const int Lanes = 16;

    private const int OutputsPerItem = 64;

    /// <summary>
    /// Tells whether <see cref="Forward"/> should run a layer of <paramref name="rows"/> rows: 1–4 rows on AVX-512
    /// machines, and only while the GEMM runs its Vector512 variant (so <c>SHARPCNN_KERNEL=GemmScalar</c> or
    /// <c>GemmVector256Packed</c> still sends every fully connected layer through the forced GEMM).
    /// </summary>
    public static bool Prefers(int rows) => rows is > 0 and <= MaxRows && Vector512.IsHardwareAccelerated && Avx512F.IsSupported
        && Gemm.SelectedVariant == GemmVariant.GemmVector512Packed;

    /// <summary>
    /// y[r, o] = Σ_i x[r, i]·w[o, i] + b[o] (no bias when <paramref name="bias"/> is empty).
    /// </summary>
    /// <param name="input">x, (rows, in), row-major.</param>
    /// <param name="weight">w, (out, in), row-major.</param>
    /// <param name="bias">b, (out), or empty.</param>
    /// <param name="rows">Rows of x and y (at least 0).</param>
    /// <param name="inFeatures">in (at least 1).</param>
    /// <param name="outFeatures">out (at least 0).</param>
    /// <param name="output">y, (rows, out), overwritten.</param>
    /// <exception cref="ArgumentException">A size is out of range or a span has the wrong length.</exception>
    /// <exception cref="PlatformNotSupportedException">The machine has no AVX-512 (see <see cref="Prefers"/>).</exception>
    public static void Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        int rows, int inFeatures, int outFeatures, Span<float> output)
    {
        if (rows < 0 || inFeatures <= 0 || outFeatures < 0)
        {
            throw new ArgumentException($"LinearSmallBatch.Forward: expected rows ≥ 0, in ≥ 1 and out ≥ 0 but got rows {rows}, in {inFeatures}, out {outFeatures}.");
        }

        Check("input", input.Length, (long)rows * inFeatures);
        Check("weight", weight.Length, (long)outFeatures * inFeatures);
        Check("output", output.Length, (long)rows * outFeatures);
        if (!bias.IsEmpty)
        {
            Check("bias", bias.Length, outFeatures);
        }

        if (!Avx512F.IsSupported)
        {
            throw new PlatformNotSupportedException("LinearSmallBatch needs AVX-512.");
        }

        if (rows == 0 || outFeatures == 0)
        {
            return;
        }

        fixed (float* px = input)
        fixed (float* pw = weight)
        fixed (float* pb = bias)
        fixed (float* py = output)
        {
            nint xs = (nint)px, ws = (nint)pw, bs = bias.IsEmpty ? 0 : (nint)pb, ys = (nint)py;
            int items = (outFeatures + OutputsPerItem - 1) / OutputsPerItem;
            KernelParallel.For(items, (long)OutputsPerItem * inFeatures * rows, (start, end) =>
            {
                int o0 = start * OutputsPerItem, o1 = Math.Min(outFeatures, end * OutputsPerItem);
                Range((float*)xs, (float*)ws, (float*)bs, rows, inFeatures, outFeatures, o0, o1, (float*)ys);
            }, items);
        }
    }

    private static void Check(string name, int length, long expected)
    {
        if (length != expected)
        {
            throw new ArgumentException($"LinearSmallBatch.Forward: {name} has {length} elements, expected {expected}.", name);
        }
    }

    /// <summary>Outputs [o0, o1) of every row: four weight rows at a time, each read once per row of x (from L1 after the first).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Range(float* x, float* w, float* bias, int rows, int k, int outF, int o0, int o1, float* y)
    {
        int full = k / Lanes * Lanes;
        Vector512<float> tail = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(k - full)).AsSingle();
        int o = o0;
        for (; o + 4 <= o1; o += 4)
        {
            float* w0 = w + ((nint)o * k), w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
            for (int r = 0; r < rows; r++)
            {
                float* xr = x + ((nint)r * k);
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default;
                int i = 0;
                for (; i < full; i += Lanes)
                {
                    Vector512<float> xv = Vector512.Load(xr + i);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + i), xv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.Load(w1 + i), xv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.Load(w2 + i), xv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.Load(w3 + i), xv, a3);
                }

                if (i < k)
                {
                    Vector512<float> xv = Avx512F.MaskLoad(xr + i, tail, Vector512<float>.Zero);
                    a0 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(w0 + i, tail, Vector512<float>.Zero), xv, a0);
                    a1 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(w1 + i, tail, Vector512<float>.Zero), xv, a1);
                    a2 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(w2 + i, tail, Vector512<float>.Zero), xv, a2);
                    a3 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(w3 + i, tail, Vector512<float>.Zero), xv, a3);
                }

                float* yr = y + ((nint)r * outF) + o;
                yr[0] = Finish(a0, bias, o);
                yr[1] = Finish(a1, bias, o + 1);
                yr[2] = Finish(a2, bias, o + 2);
                yr[3] = Finish(a3, bias, o + 3);
            }
        }

        for (; o < o1; o++)
        {
            float* w0 = w + ((nint)o * k);
            for (int r = 0; r < rows; r++)
            {
                float* xr = x + ((nint)r * k);
                Vector512<float> a0 = default;
                int i = 0;
                for (; i < full; i += Lanes)
                {
                    a0 = Vector512.FusedMultiplyAdd(Vector512.Load(w0 + i), Vector512.Load(xr + i), a0);
                }

                if (i < k)
                {
                    a0 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(w0 + i, tail, Vector512<float>.Zero),
                        Avx512F.MaskLoad(xr + i, tail, Vector512<float>.Zero), a0);
                }

                y[((nint)r * outF) + o] = Finish(a0, bias, o);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Finish(Vector512<float> acc, float* bias, int o) =>
        bias == null ? Vector512.Sum(acc) : Vector512.Sum(acc) + bias[o];
}
