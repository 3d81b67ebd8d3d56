namespace SharpCnn.Kernels.Tests;

/// <summary>
/// Blocks of C at most 1024 columns wide read a non-transposed A where it is stored instead of packing it (Vector512).
/// The in-place kernel must give C bit for bit as the packed one, at every edge tile, k slice, stride and thread count,
/// and the wide blocks that still pack op(A) (shared by the threads on a column split) must keep agreeing too.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class GemmAInPlaceTests
{
    [Fact]
    public void Multiply_AInPlaceAgainstPackedA_BitwiseIdenticalAtRaggedSizes()
    {
        // Rows 1..17 (every edge row count of an 8-row tile, two panels and a ragged third), columns around the one-
        // and two-vector tiles and the 1024-column limit, k over one to three slices, A rows padded or 4 KiB apart.
        int[] rows = [1, 2, 3, 5, 7, 8, 9, 15, 16, 17];
        int[] columns = [1, 9, 16, 17, 31, 32, 33, 100, 1024];
        int[] depths = [1, 7, 300, 600, 1100];
        int seed = 0;
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            if (variant == GemmVariant.GemmScalar)
            {
                continue;
            }

            foreach (int k in depths)
            {
                for (int i = 0; i < rows.Length; i++)
                {
                    int m = rows[i], n = columns[(i + k) % columns.Length];
                    int lda = i % 3 == 0 ? 1024 * ((k + 1023) / 1024) : k + (i % 5);
                    foreach (bool accumulate in new[] { false, true })
                    {
                        seed++;
                        float[] a = GemmConv2dNumerics.Random(m * lda, seed);
                        float[] b = GemmConv2dNumerics.Random(k * (n + 1), seed + 1);
                        float[] c0 = GemmConv2dNumerics.Random(m * (n + 2), seed + 2);
                        float[] packed = Run(variant, m, n, k, a, lda, b, n + 1, c0, n + 2, accumulate, threads: 1, forcePacked: true);
                        string context = $"{variant} {m}×{n}×{k} lda={lda} accumulate={accumulate}";
                        AssertBitwiseEqual(packed, Run(variant, m, n, k, a, lda, b, n + 1, c0, n + 2, accumulate, threads: 1, forcePacked: false), $"{context}, in place");
                        AssertBitwiseEqual(packed, Run(variant, m, n, k, a, lda, b, n + 1, c0, n + 2, accumulate, threads: 2, forcePacked: false), $"{context}, 2 threads");
                    }
                }
            }
        }
    }

    [Fact]
    public void Multiply_AInPlaceWithRowsFourKiBApart_MatchesDoubleReference()
    {
        // A's rows 1024 floats apart share their L1 sets: a layout the in-place kernel reads on every row panel.
        const int M = 21, N = 70, K = 600, Lda = 1024;
        float[] a = GemmConv2dNumerics.Random(M * Lda, 11), b = GemmConv2dNumerics.Random(K * N, 12);
        var expected = new double[M * N];
        var magnitude = new double[M * N];
        double[] ad = GemmConv2dNumerics.ToDouble(a), bd = GemmConv2dNumerics.ToDouble(b);
        GemmReference.Multiply(false, false, M, N, K, ad, Lda, bd, N, expected, N, accumulate: false);
        GemmReference.Multiply(false, false, M, N, K, GemmConv2dNumerics.Abs(ad), Lda, GemmConv2dNumerics.Abs(bd), N, magnitude, N, accumulate: false);
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            float[] c = new float[M * N];
            Gemm.Multiply(variant, false, false, M, N, K, a, Lda, b, N, c, N, accumulate: false);
            GemmConv2dNumerics.AssertClose(c, expected, magnitude, K, $"{variant} {M}×{N}×{K} lda={Lda}");
        }
    }

    [Fact]
    public void Multiply_WideColumnBlocksSharingPackedOpA_OneTwoThreeThreadsBitwiseIdentical()
    {
        // n = 2100: two threads take 1056 columns each, over the in-place limit, so with m·k ≥ 2¹⁹ they pack op(A)
        // once, shared; three threads take 704 columns each and read A in place; one thread packs A per block.
        const int M = 130, N = 2100, K = 4100;
        float[] a = GemmConv2dNumerics.Random(M * K, 13), b = GemmConv2dNumerics.Random(K * N, 14);
        float[] c0 = GemmConv2dNumerics.Random(M * N, 15);
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            if (variant == GemmVariant.GemmScalar)
            {
                continue;
            }

            foreach (bool accumulate in new[] { false, true })
            {
                float[] one = Run(variant, M, N, K, a, K, b, N, c0, N, accumulate, threads: 1, forcePacked: false);
                string context = $"{variant} {M}×{N}×{K} accumulate={accumulate}";
                AssertBitwiseEqual(one, Run(variant, M, N, K, a, K, b, N, c0, N, accumulate, threads: 2, forcePacked: false), $"{context}, 2 threads");
                AssertBitwiseEqual(one, Run(variant, M, N, K, a, K, b, N, c0, N, accumulate, threads: 3, forcePacked: false), $"{context}, 3 threads");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(63)]
    [InlineData(512)]
    public unsafe void TileAInPlace_FullTileOnPackedB_BitwiseEqualToPackedATile(int kc)
    {
        // A full 8×32 tile on a packed B panel takes the unrolled kernel (p in steps of 4, then the rest): it must give
        // the bits of the packed-A kernel on the same operands, with and without accumulating into C.
        if (!Gemm.IsSupported(GemmVariant.GemmVector512Packed))
        {
            return;
        }

        const int Rows = 8, Cols = 32, Lda = 1024 + 3, Ldc = 40;
        float[] a = GemmConv2dNumerics.Random(Rows * Lda, kc);
        float[] b = GemmConv2dNumerics.Random(kc * Cols, kc + 1);
        float[] c0 = GemmConv2dNumerics.Random(Rows * Ldc, kc + 2);
        float[] packedA = new float[kc * Rows];
        for (int p = 0; p < kc; p++)
        {
            for (int r = 0; r < Rows; r++)
            {
                packedA[(p * Rows) + r] = a[(r * Lda) + p];
            }
        }

        foreach (bool add in new[] { false, true })
        {
            float[] inPlace = (float[])c0.Clone(), packed = (float[])c0.Clone();
            fixed (float* pa = a, pp = packedA, pb = b, pc = inPlace, pq = packed)
            {
                GemmKernel512.TileAInPlace(Rows, Cols, kc, pa, Lda, pb, Cols, pc, Ldc, add);
                GemmKernel512.Tile(Rows, Cols, kc, pp, pb, Cols, pq, Ldc, add);
            }

            AssertBitwiseEqual(packed, inPlace, $"kc={kc} add={add}");
        }
    }

    [Fact]
    public unsafe void TileAInPlace_MoreRowsThanMr_ThrowsNamingRows()
    {
        float* buffer = stackalloc float[64];
        var error = Assert.Throws<ArgumentOutOfRangeException>(() =>
            GemmKernel512.TileAInPlace(GemmKernel512.Mr + 1, 32, 1, buffer, 1, buffer, 32, buffer, 32, add: false));
        Assert.Contains("1 to 8 rows", error.Message, StringComparison.Ordinal);
        Assert.Throws<NotSupportedException>(() => GemmKernel256.TileAInPlace(1, 16, 1, buffer, 1, buffer, 16, buffer, 16, add: false));
    }

    private static float[] Run(GemmVariant variant, int m, int n, int k, float[] a, int lda, float[] b, int ldb, float[] c0,
        int ldc, bool accumulate, int threads, bool forcePacked)
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = threads;
            GemmBlocked.ForcePackedA = forcePacked;
            float[] c = (float[])c0.Clone();
            Gemm.Multiply(variant, false, false, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
            return c;
        }
        finally
        {
            GemmBlocked.ForcePackedA = false;
            KernelParallel.MaxThreads = saved;
        }
    }

    private static void AssertBitwiseEqual(float[] expected, float[] actual, string context)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{context}: element {i} is {actual[i]}, with op(A) packed {expected[i]}.");
            }
        }
    }
}
