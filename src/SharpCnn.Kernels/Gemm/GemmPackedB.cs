namespace SharpCnn.Kernels;

/// <summary>
/// The layout in which the blocked GEMM reads op(B) (k×n) for one variant: what
/// <see cref="Gemm.MultiplyPackedB"/> takes, so that a kernel producing B (a Winograd input transform, say) can write
/// its output straight into it and the multiply copies nothing.
/// </summary>
/// <remarks>
/// <para>k is cut into the k slices of the multiply, <see cref="Depth"/> rows each but the last (kc = min(Depth,
/// k − p0)). Slice p0 takes <see cref="PaddedN"/>·kc floats from offset p0·<see cref="PaddedN"/>; within it the columns
/// are cut into panels <see cref="Width"/> wide (the micro-kernel's Nr), each a contiguous kc×Width block stored row by
/// row, the last one padded. <see cref="Index"/> gives the place of op(B)[p, j]. The padding columns are loaded by the
/// micro-kernel but never reach C (their lanes are not stored); writing zeros there keeps them finite.</para>
/// <para>The layout depends on the variant and on (k, n) alone, never on the thread count, so a buffer written once
/// serves every call of that shape. The result of <see cref="Gemm.MultiplyPackedB"/> is bitwise that of
/// <see cref="Gemm.Multiply(GemmVariant, bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool)"/>
/// with the same variant on the unpacked B: packing is a copy, and the blocks, slices and FMA chains are the same.</para>
/// </remarks>
internal readonly struct GemmPackedB
{
    private GemmPackedB(GemmVariant variant, int k, int n, int width)
    {
        Variant = variant;
        K = k;
        N = n;
        Width = width;
        Depth = k == 0 ? 0 : GemmBlocked.SliceDepth(k);
        PaddedN = (n + width - 1) / width * width;
    }

    /// <summary>Gets the variant whose micro-kernel reads this layout.</summary>
    public GemmVariant Variant { get; }

    /// <summary>Gets the rows of op(B) (the inner dimension).</summary>
    public int K { get; }

    /// <summary>Gets the columns of op(B) (and of C).</summary>
    public int N { get; }

    /// <summary>Gets the panel width: 32 for the Vector512 kernel, 16 for Vector256 (and for the scalar variant, which unpacks).</summary>
    public int Width { get; }

    /// <summary>Gets the depth of every k slice but the last.</summary>
    public int Depth { get; }

    /// <summary>Gets n rounded up to a whole number of panels.</summary>
    public int PaddedN { get; }

    /// <summary>Gets the floats the packed op(B) occupies: k·<see cref="PaddedN"/>.</summary>
    public long Length => (long)K * PaddedN;

    /// <summary>The layout of a k×n op(B) for <paramref name="variant"/>.</summary>
    /// <param name="variant">The variant that will multiply (its micro-kernel fixes the panel width).</param>
    /// <param name="k">Rows of op(B).</param>
    /// <param name="n">Columns of op(B).</param>
    /// <returns>The layout.</returns>
    /// <exception cref="ArgumentException">k or n is negative.</exception>
    public static GemmPackedB For(GemmVariant variant, int k, int n)
    {
        if (k < 0 || n < 0)
        {
            throw new ArgumentException($"GemmPackedB: sizes must be non-negative but got k={k}, n={n}.");
        }

        int width = variant switch
        {
            GemmVariant.GemmVector512Packed => GemmKernel512.Nr,
            GemmVariant.GemmVector256Packed => GemmKernel256.Nr,
            _ => 16,
        };
        return new GemmPackedB(variant, k, n, width);
    }

    /// <summary>Where op(B)[p, j] lives in the packed buffer.</summary>
    /// <param name="p">Row of op(B), 0 ≤ p &lt; k.</param>
    /// <param name="j">Column of op(B), 0 ≤ j &lt; <see cref="PaddedN"/> (columns from n on are padding).</param>
    /// <returns>The offset in floats.</returns>
    public long Index(int p, int j)
    {
        int p0 = p / Depth * Depth;
        int kc = Math.Min(Depth, K - p0);
        return ((long)p0 * PaddedN) + ((long)(j / Width) * Width * kc) + ((long)(p - p0) * Width) + (j % Width);
    }

    /// <summary>
    /// Writes op(B) from its stored form into <paramref name="packed"/> in this layout, padding included (zeros): for
    /// producers that cannot write the layout directly, and for tests.
    /// </summary>
    /// <param name="transB">B is stored n×k (op(B) = Bᵀ).</param>
    /// <param name="b">B as stored.</param>
    /// <param name="ldb">Row stride of B as stored (≥ n, or ≥ k when transposed).</param>
    /// <param name="packed">At least <see cref="Length"/> floats.</param>
    /// <exception cref="ArgumentException">The stride is too small or a span too short.</exception>
    public unsafe void Pack(bool transB, ReadOnlySpan<float> b, int ldb, Span<float> packed)
    {
        int rows = transB ? N : K, cols = transB ? K : N;
        if (ldb < Math.Max(1, cols))
        {
            throw new ArgumentException($"GemmPackedB: ldb={ldb} is smaller than the {cols} columns of B as stored.");
        }

        long needed = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ldb) + cols;
        if (b.Length < needed)
        {
            throw new ArgumentException($"GemmPackedB: B ({rows}×{cols}, stride {ldb}) needs {needed} elements but the span has {b.Length}.");
        }

        if (packed.Length < Length)
        {
            throw new ArgumentException($"GemmPackedB: the packed buffer needs {Length} floats (k={K} × padded n={PaddedN}) but has {packed.Length}.");
        }

        if (K == 0 || N == 0)
        {
            return;
        }

        fixed (float* pb = b)
        fixed (float* dst = packed)
        {
            var job = new GemmJob(false, transB, 0, N, K, null, 1, pb, ldb, null, N, false);
            for (int p0 = 0; p0 < K; p0 += Depth)
            {
                int kc = Math.Min(Depth, K - p0);
                GemmPacking.PackB(job, p0, kc, 0, N, Width, dst + ((nint)p0 * PaddedN));
            }
        }
    }
}
