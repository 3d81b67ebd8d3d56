namespace SharpCnn.Kernels.Tests;

/// <summary>
/// <see cref="Gemm.MultiplyPackedB"/>: op(B) handed over already in the blocked GEMM's panel layout. Against the double
/// reference at ragged sizes, bitwise against the plain multiply with the same variant, and 1/2/3 threads bitwise.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class GemmPackedBTests
{
    // Ragged m, n, k around the panel widths; k across one, two and three slices; a short wide shape that the plain
    // call reads in place (no packing), a column split with op(A) shared by the threads (m·k ≥ 2¹⁹; with Vector512
    // only for Aᵀ, since blocks this narrow read a plain A in place), and a row split.
    private static readonly (int M, int N, int K)[] s_shapes =
        [(1, 1, 1), (7, 33, 9), (9, 31, 65), (13, 70, 600), (16, 300, 130), (260, 270, 2020), (333, 70, 1100)];

    public static TheoryData<GemmVariant, bool, bool> Cases()
    {
        var data = new TheoryData<GemmVariant, bool, bool>();
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            foreach (bool transA in new[] { false, true })
            {
                foreach (bool accumulate in new[] { false, true })
                {
                    data.Add(variant, transA, accumulate);
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyPackedB_RaggedSizes_MatchesDoubleReference(GemmVariant variant, bool transA, bool accumulate)
    {
        foreach (int m in new[] { 1, 8, 9, 31 })
        {
            foreach (int n in new[] { 1, 15, 16, 17, 33, 65 })
            {
                foreach (int k in new[] { 1, 7, 8, 130 })
                {
                    int lda = (transA ? m : k) + 2, ldc = n + 3;
                    float[] a = GemmConv2dNumerics.Random((transA ? k : m) * lda, 1);
                    float[] b = GemmConv2dNumerics.Random(k * n, 2);
                    float[] c = GemmConv2dNumerics.Random(m * ldc, 3);
                    double[] expected = GemmConv2dNumerics.ToDouble(c);
                    double[] magnitude = GemmConv2dNumerics.Abs(expected);
                    GemmReference.Multiply(transA, false, m, n, k, GemmConv2dNumerics.ToDouble(a), lda, GemmConv2dNumerics.ToDouble(b), n, expected, ldc, accumulate);
                    GemmReference.Multiply(transA, false, m, n, k, GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(a)), lda, GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(b)), n, magnitude, ldc, accumulate);
                    float[] original = (float[])c.Clone();

                    GemmPackedB layout = GemmPackedB.For(variant, k, n);
                    float[] packed = new float[layout.Length];
                    layout.Pack(false, b, n, packed);
                    Gemm.MultiplyPackedB(variant, transA, m, n, k, a, lda, layout, packed, c, ldc, accumulate, parallel: true);

                    string context = $"{variant} transA={transA} accumulate={accumulate} m={m} n={n} k={k}";
                    for (int i = 0; i < m; i++)
                    {
                        GemmConv2dNumerics.AssertClose(c.AsSpan(i * ldc, n), expected.AsSpan(i * ldc, n), magnitude.AsSpan(i * ldc, n), k, context);
                        for (int j = n; j < ldc; j++)
                        {
                            Assert.True(c[(i * ldc) + j] == original[(i * ldc) + j], $"{context}: wrote outside the C window at ({i}, {j}).");
                        }
                    }
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MultiplyPackedB_AnyThreadCount_BitwiseIdenticalToPlainMultiplyOnOneThread(GemmVariant variant, bool transA, bool accumulate)
    {
        foreach ((int m, int n, int k) in s_shapes)
        {
            foreach (bool transB in new[] { false, true })
            {
                int lda = (transA ? m : k) + 1, ldb = (transB ? k : n) + 2, ldc = n + 1;
                float[] a = GemmConv2dNumerics.Random((transA ? k : m) * lda, 4);
                float[] b = GemmConv2dNumerics.Random((transB ? n : k) * ldb, 5);
                float[] c0 = GemmConv2dNumerics.Random(m * ldc, 6);
                GemmPackedB layout = GemmPackedB.For(variant, k, n);
                float[] packed = new float[layout.Length];
                layout.Pack(transB, b, ldb, packed);

                float[] plain = Run(1, c => Gemm.Multiply(variant, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate));
                string context = $"{variant} transA={transA} transB={transB} accumulate={accumulate} {m}×{n}×{k}";
                for (int threads = 1; threads <= 3; threads++)
                {
                    float[] fromPacked = Run(threads, c => Gemm.MultiplyPackedB(variant, transA, m, n, k, a, lda, layout, packed, c, ldc, accumulate, parallel: true));
                    AssertBitwiseEqual(plain, fromPacked, $"{context}, packed B on {threads} threads");
                }

                float[] Run(int threads, Action<float[]> multiply)
                {
                    int saved = KernelParallel.MaxThreads;
                    try
                    {
                        KernelParallel.MaxThreads = threads;
                        float[] c = (float[])c0.Clone();
                        multiply(c);
                        return c;
                    }
                    finally
                    {
                        KernelParallel.MaxThreads = saved;
                    }
                }
            }
        }
    }

    [Fact]
    public void Index_EveryElementOfPack_LandsWhereIndexSays()
    {
        // A producer writes through Index instead of calling Pack: the two must agree, padding zero, for every variant.
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            foreach ((int k, int n) in new[] { (1, 1), (9, 33), (600, 47), (1100, 70) })
            {
                float[] b = GemmConv2dNumerics.Random(k * n, 7);
                GemmPackedB layout = GemmPackedB.For(variant, k, n);
                float[] packed = new float[layout.Length];
                layout.Pack(false, b, n, packed);
                float[] written = new float[layout.Length];
                for (int p = 0; p < k; p++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        written[layout.Index(p, j)] = b[(p * n) + j];
                    }
                }

                AssertBitwiseEqual(packed, written, $"{variant} k={k} n={n}");
                Assert.Equal((long)k * layout.PaddedN, layout.Length);
                Assert.Equal(0, layout.PaddedN % layout.Width);
            }
        }
    }

    [Fact]
    public void MultiplyPackedB_LayoutOfAnotherShapeOrVariant_ThrowsNamingBoth()
    {
        float[] a = new float[8 * 16], packed = new float[16 * 64], c = new float[8 * 32];
        GemmPackedB wrongN = GemmPackedB.For(GemmVariant.GemmScalar, 16, 33);
        var e = Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyPackedB(GemmVariant.GemmScalar, false, 8, 32, 16, a, 16, wrongN, packed, c, 32, false, parallel: true));
        Assert.Contains("n=33", e.Message, StringComparison.Ordinal);
        Assert.Contains("n=32", e.Message, StringComparison.Ordinal);

        GemmPackedB layout = GemmPackedB.For(GemmVariant.GemmScalar, 16, 32);
        e = Assert.Throws<ArgumentException>(() =>
            Gemm.MultiplyPackedB(GemmVariant.GemmScalar, false, 8, 32, 16, a, 16, layout, packed.AsSpan(0, 100), c, 32, false, parallel: true));
        Assert.Contains("512", e.Message, StringComparison.Ordinal);

        if (Gemm.SupportedVariants.Count > 1)
        {
            GemmVariant other = Gemm.SupportedVariants[^1];
            e = Assert.Throws<ArgumentException>(() =>
                Gemm.MultiplyPackedB(other, false, 8, 32, 16, a, 16, layout, packed, c, 32, false, parallel: true));
            Assert.Contains(nameof(GemmVariant.GemmScalar), e.Message, StringComparison.Ordinal);
        }
    }

    private static void AssertBitwiseEqual(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{context}: element {i} is {actual[i]}, expected {expected[i]}.");
            }
        }
    }
}
