namespace SharpCnn.Kernels.Tests;

public class GemmTests
{
    private static readonly int[] s_sizes = [0, 1, 3, 7, 8, 9, 31, 32, 33, 65, 130];

    public static TheoryData<GemmVariant, bool, bool, bool> VariantCases()
    {
        var data = new TheoryData<GemmVariant, bool, bool, bool>();
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            foreach (bool transA in new[] { false, true })
            {
                foreach (bool transB in new[] { false, true })
                {
                    foreach (bool accumulate in new[] { false, true })
                    {
                        data.Add(variant, transA, transB, accumulate);
                    }
                }
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(VariantCases))]
    public void Multiply_RaggedSizes_MatchesDoubleReference(GemmVariant variant, bool transA, bool transB, bool accumulate)
    {
        // Every (m, n) pair from the size list; k walks the list too so all k values meet all shapes.
        for (int i = 0; i < s_sizes.Length; i++)
        {
            for (int j = 0; j < s_sizes.Length; j++)
            {
                int k = s_sizes[(i + (2 * j)) % s_sizes.Length];
                RunCase(variant, transA, transB, s_sizes[i], s_sizes[j], k, accumulate, pad: 0, seed: (i * 31) + j);
            }
        }
    }

    [Theory]
    [MemberData(nameof(VariantCases))]
    public void Multiply_RaggedSizesWithPaddedStrides_MatchesDoubleReference(GemmVariant variant, bool transA, bool transB, bool accumulate)
    {
        // lda, ldb, ldc exceed their minimum by 5: a kernel that assumed packed rows would read or write wrong elements.
        int[] sizes = [1, 7, 31, 33, 100, 257];
        for (int i = 0; i < sizes.Length; i++)
        {
            for (int j = 0; j < sizes.Length; j++)
            {
                int k = sizes[(i + j) % sizes.Length];
                RunCase(variant, transA, transB, sizes[i], sizes[j], k, accumulate, pad: 5, seed: (i * 17) + j);
            }
        }
    }

    [Theory]
    [MemberData(nameof(VariantCases))]
    public void Multiply_EveryEdgeTileShape_MatchesDoubleReference(GemmVariant variant, bool transA, bool transB, bool accumulate)
    {
        // Every row count up to two full micro-tiles of the tallest kernel (14) and every column count up to
        // 33: each edge kernel (fewer rows) and each column mask (one or two vectors, partial last vector) runs.
        for (int m = 1; m <= 29; m++)
        {
            for (int n = 1; n <= 33; n++)
            {
                RunCase(variant, transA, transB, m, n, 3 + (m % 5), accumulate, pad: 2, seed: (m * 40) + n);
            }
        }
    }

    [Theory]
    [MemberData(nameof(VariantCases))]
    public void Multiply_AcrossCacheBlocksWithStrides_MatchesDoubleReference(GemmVariant variant, bool transA, bool transB, bool accumulate)
    {
        // k > Kc splits k into balanced slices (C is updated slice by slice), m > Mc crosses the A block,
        // n > Nc crosses the B block; padded leading dimensions check the strides are honoured.
        RunCase(variant, transA, transB, 97, 70, 600, accumulate, pad: 3, seed: 1);
        RunCase(variant, transA, transB, 9, 2100, 5, accumulate, pad: 1, seed: 2);
        RunCase(variant, transA, transB, 200, 13, 513, accumulate, pad: 0, seed: 3);
        RunCase(variant, transA, transB, 1100, 45, 20, accumulate, pad: 4, seed: 4);
        RunCase(variant, transA, transB, 40, 1100, 770, accumulate, pad: 2, seed: 5);

        // Wider than tall with m·k ≥ 2¹⁹: on more than one thread a packed op(A) (Vector256, or Aᵀ) is packed once,
        // shared by the column blocks; Vector512 reads a plain A in place.
        RunCase(variant, transA, transB, 260, 270, 2020, accumulate, pad: 1, seed: 6);
    }

    [Fact]
    public void Multiply_ZeroK_ZeroesOrKeepsC()
    {
        float[] c = [1f, 2f, 3f, 4f];
        Gemm.Multiply(false, false, 2, 2, 0, [], 1, [], 2, c, 2, accumulate: true);
        Assert.Equal([1f, 2f, 3f, 4f], c);
        Gemm.Multiply(false, false, 2, 2, 0, [], 1, [], 2, c, 2, accumulate: false);
        Assert.Equal([0f, 0f, 0f, 0f], c);
    }

    [Fact]
    public void Multiply_ShortSpan_ThrowsNamingSizes()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(false, false, 2, 3, 4, new float[7], 4, new float[12], 3, new float[6], 3, false));
        Assert.Contains("A (2×4, stride 4) needs 8 elements but the span has 7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Multiply_StrideSmallerThanColumns_Throws()
    {
        var error = Assert.Throws<ArgumentException>(() =>
            Gemm.Multiply(false, false, 2, 3, 4, new float[8], 4, new float[12], 3, new float[6], 2, false));
        Assert.Contains("ldc=2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SupportedVariants_AlwaysIncludeScalarAndSelectedIsSupported()
    {
        Assert.Contains(GemmVariant.GemmScalar, Gemm.SupportedVariants);
        Assert.True(Gemm.IsSupported(Gemm.SelectedVariant));
    }

    private static void RunCase(GemmVariant variant, bool transA, bool transB, int m, int n, int k, bool accumulate, int pad, int seed)
    {
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        float[] a = GemmConv2dNumerics.Random(Math.Max(0, aRows * lda), seed);
        float[] b = GemmConv2dNumerics.Random(Math.Max(0, bRows * ldb), seed + 1000);
        float[] c = GemmConv2dNumerics.Random(m * ldc, seed + 2000);
        double[] expected = GemmConv2dNumerics.ToDouble(c);
        double[] magnitude = GemmConv2dNumerics.Abs(expected);
        GemmReference.Multiply(transA, transB, m, n, k, GemmConv2dNumerics.ToDouble(a), Math.Max(1, lda), GemmConv2dNumerics.ToDouble(b), Math.Max(1, ldb), expected, Math.Max(1, ldc), accumulate);
        GemmReference.Multiply(transA, transB, m, n, k, GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(a)), Math.Max(1, lda), GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(b)), Math.Max(1, ldb), magnitude, Math.Max(1, ldc), accumulate);
        float[] original = (float[])c.Clone();

        Gemm.Multiply(variant, transA, transB, m, n, k, a, Math.Max(1, lda), b, Math.Max(1, ldb), c, Math.Max(1, ldc), accumulate);

        string context = $"{variant} transA={transA} transB={transB} m={m} n={n} k={k} accumulate={accumulate} pad={pad}";
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
