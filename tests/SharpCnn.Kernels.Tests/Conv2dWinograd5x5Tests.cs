using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>
/// Winograd F(2×2, 5×5): its matrices against the direct 1-D correlation, the kernel against the double reference under
/// a componentwise error bound derived for it (also met by the direct kernels), exact small-integer results, ragged maps,
/// padding 0–4, both input paths, k slices, streamed weights, and 1/2/3-thread bitwise identity.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dWinograd5x5Tests(ITestOutputHelper output)
{
    // Bᵀ (shared with F(4×4, 3×3)), G and Aᵀ of F(2×2, 5×5), points 0, 1, −1, 2, −2, ∞, as in the kernel.
    private static readonly double[,] s_bt =
    {
        { 4, 0, -5, 0, 1, 0 }, { 0, -4, -4, 1, 1, 0 }, { 0, 4, -4, -1, 1, 0 },
        { 0, -2, -1, 2, 1, 0 }, { 0, 2, -1, -2, 1, 0 }, { 0, 4, 0, -5, 0, 1 },
    };

    private static readonly double[,] s_g =
    {
        { 0.25, 0, 0, 0, 0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6 }, { -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3 }, { 1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3 }, { 0, 0, 0, 0, 1 },
    };

    private static readonly double[,] s_at = { { 1, 1, 1, 1, 1, 0 }, { 0, 1, -1, 2, -2, 1 } };

    private static readonly Dictionary<string, Conv2dGeometry> s_shapes = new()
    {
        ["Mnist14x14Pad2"] = new(2, 20, 14, 14, 24, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["13x11Pad0OddOutputs"] = new(2, 9, 13, 11, 13, 5, 5),
        ["9x10Pad4"] = new(2, 7, 9, 10, 11, 5, 5, PadTop: 4, PadLeft: 4, PadBottom: 4, PadRight: 4),
        ["11x12Asymmetric"] = new(3, 5, 11, 12, 9, 5, 5, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 3),
        ["RowPath30Wide"] = new(2, 6, 9, 30, 10, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["RowPath33WideOddOutput"] = new(1, 4, 8, 33, 7, 5, 5, PadTop: 1, PadLeft: 2, PadBottom: 1, PadRight: 0),
        ["RowPath70WideRunsAcrossPanels"] = new(2, 5, 6, 70, 7, 5, 5, PadTop: 2, PadLeft: 1, PadBottom: 0, PadRight: 3),
        ["TwoKSlices300"] = new(2, 300, 6, 5, 17, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["ManyTilesSeveralBlocks"] = new(9, 8, 15, 15, 33, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["LargeWeightsSplitByOutputChannel"] = new(2, 300, 5, 7, 400, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["Batch1Width1"] = new(1, 3, 9, 1, 5, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
    };

    private static readonly string[] s_variants =
        [Conv2d.Winograd5x5VariantName, Conv2d.ImplicitVariantName, Conv2d.BlockedVariantName, Conv2d.VariantName];

    /// <summary>Ragged maps (odd outputs, 1 wide), padding 0–4 and asymmetric, row and gather paths, k slices, streamed U.</summary>
    public static TheoryData<string> Shapes() => new(s_shapes.Keys);

    [Fact]
    public void Winograd2x2By5x5Matrices_IntegerSignals_ReproduceCorrelationExactly()
    {
        // y_i = Σ_k g_k d_{i+k} = Σ_ξ Aᵀ[i, ξ]·(G g)_ξ·(Bᵀ d)_ξ, in double on integers: with g scaled by 24 every product
        // is a multiple of 1/24 well within double's exact range, so any wrong entry shows as an exact mismatch.
        var rng = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            double[] g = Enumerable.Range(0, 5).Select(_ => 24.0 * rng.Next(-9, 10)).ToArray();
            double[] d = Enumerable.Range(0, 6).Select(_ => (double)rng.Next(-9, 10)).ToArray();
            for (int i = 0; i < 2; i++)
            {
                double direct = 0, winograd = 0;
                for (int k = 0; k < 5; k++)
                {
                    direct += g[k] * d[i + k];
                }

                for (int xi = 0; xi < 6; xi++)
                {
                    double gg = 0, dd = 0;
                    for (int k = 0; k < 5; k++)
                    {
                        gg += s_g[xi, k] * g[k];
                    }

                    for (int j = 0; j < 6; j++)
                    {
                        dd += s_bt[xi, j] * d[j];
                    }

                    winograd += s_at[i, xi] * gg * dd;
                }

                Assert.Equal(direct, Math.Round(winograd, 9));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Conv2dForwardAndBackwardData_EveryVariant_WithinWinograd5x5Bound(string name)
    {
        Conv2dGeometry g = s_shapes[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 41);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 42);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 43);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 44);
        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b);
        double[] dyd = GemmConv2dNumerics.ToDouble(dy);

        var ey = new double[g.OutputLength];
        Conv2dReference.Forward<double>(xd, wd, bd, g, ey);
        var direct = new double[g.OutputLength];
        Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bd), g, direct);
        double[] bound = Winograd5x5Bound(xd, wd, bd, g);

        var edx = new double[g.InputLength];
        Conv2dReference.BackwardData<double>(dyd, wd, g, edx);
        var directDx = new double[g.InputLength];
        Conv2dReference.BackwardData<double>(GemmConv2dNumerics.Abs(dyd), GemmConv2dNumerics.Abs(wd), g, directDx);
        double[] boundDx = Winograd5x5Bound(dyd, Flip(wd, g), [], Conv2dWinograd5x5.Transposed(g));

        foreach (string variant in s_variants)
        {
            var y = GemmConv2dNumerics.Random((int)g.OutputLength, 45); // garbage: must be overwritten
            var dx = GemmConv2dNumerics.Random((int)g.InputLength, 46);
            try
            {
                Conv2d.VariantOverride = variant;
                if (variant == Conv2d.Winograd5x5VariantName && Conv2dWinograd5x5.Supports(g))
                {
                    Assert.Equal(variant, Conv2d.SelectedVariant(g));
                }

                Conv2d.Forward(x, w, b, g, y);
                Conv2d.BackwardData(dy, w, g, dx);
            }
            finally
            {
                Conv2d.VariantOverride = null;
            }

            Check(y, ey, bound, direct, $"{variant} {name} forward");
            Check(dx, edx, boundDx, directDx, $"{variant} {name} backward-data");
        }
    }

    [Fact]
    public void Conv2dWinograd5x5_AnyThreadCount_BitwiseIdentical()
    {
        Conv2dGeometry[] shapes =
        [
            new(5, 12, 14, 14, 20, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),   // gather path
            new(3, 7, 9, 40, 9, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),      // row path
            new(11, 40, 7, 7, 24, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),    // several blocks
            new(3, 330, 7, 7, 360, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),   // U streamed, split by output channel
        ];
        int saved = KernelParallel.MaxThreads;
        try
        {
            Conv2d.VariantOverride = Conv2d.Winograd5x5VariantName;
            foreach (Conv2dGeometry g in shapes)
            {
                float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1), w = GemmConv2dNumerics.Random((int)g.WeightLength, 2);
                float[] b = GemmConv2dNumerics.Random(g.OutChannels, 3), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
                float[]? y1 = null, dx1 = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    var y = new float[g.OutputLength];
                    var dx = new float[g.InputLength];
                    Conv2d.Forward(x, w, b, g, y);
                    Conv2d.BackwardData(dy, w, g, dx);
                    y1 ??= y;
                    dx1 ??= dx;
                    Assert.Equal(y1.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
                    Assert.Equal(dx1.Select(BitConverter.SingleToInt32Bits), dx.Select(BitConverter.SingleToInt32Bits));
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
            Conv2d.VariantOverride = null;
        }
    }

    [Theory]
    [InlineData(11, 13)] // gather path
    [InlineData(7, 29)]  // row path (15 tiles per row)
    public void Conv2dWinograd5x5_SmallIntegerInputs_ExactLikeDirect(int height, int width)
    {
        // x in {−1, 0, 1} and w in 576·{−1, 0, 1} (576 = 24², G's denominators squared): every transformed weight,
        // transformed input, product and sum is then an integer below 2^24, exact in float, so the kernel must agree
        // exactly, forward and backward-data, and no wrong index can hide inside a tolerance.
        var g = new Conv2dGeometry(2, 2, height, width, 3, 5, 5, PadTop: 2, PadLeft: 3, PadBottom: 1, PadRight: 2);
        var rng = new Random(5);
        float[] x = Enumerable.Range(0, (int)g.InputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        float[] w = Enumerable.Range(0, (int)g.WeightLength).Select(_ => (float)(rng.Next(-1, 2) * 576)).ToArray();
        float[] dy = Enumerable.Range(0, (int)g.OutputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        var y = new float[g.OutputLength];
        var dx = new float[g.InputLength];
        var expected = new double[g.OutputLength];
        var expectedDx = new double[g.InputLength];
        Conv2dReference.Forward<double>(GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w), [], g, expected);
        Conv2dReference.BackwardData<double>(GemmConv2dNumerics.ToDouble(dy), GemmConv2dNumerics.ToDouble(w), g, expectedDx);
        try
        {
            Conv2d.VariantOverride = Conv2d.Winograd5x5VariantName;
            Conv2d.Forward(x, w, [], g, y);
            Conv2d.BackwardData(dy, w, g, dx);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        Assert.Equal(expected.Select(v => (float)v), y);
        Assert.Equal(expectedDx.Select(v => (float)v), dx);
    }

    [Fact]
    public void SelectedVariant_FiveByFiveLayers_Winograd5x5FromSixteenInThirtyTwoOutChannelsAndSevenWide()
    {
        bool avx512 = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        var mnistConv2 = new Conv2dGeometry(64, 32, 14, 14, 64, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2);
        var lenetConv2 = new Conv2dGeometry(64, 6, 14, 14, 16, 5, 5);
        var mnistConv1 = new Conv2dGeometry(64, 1, 28, 28, 32, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2);
        Assert.Equal(avx512 ? Conv2d.Winograd5x5VariantName : Conv2d.VariantName, Conv2d.SelectedVariant(mnistConv2));
        Assert.NotEqual(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(lenetConv2));
        Assert.NotEqual(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(mnistConv1));
        Assert.Equal(avx512 ? Conv2d.Winograd5x5VariantName : Conv2d.VariantName, Conv2d.SelectedVariant(mnistConv2 with { InChannels = 16, OutChannels = 32 }));
        Assert.Equal(avx512 ? Conv2d.Winograd5x5VariantName : Conv2d.VariantName, Conv2d.SelectedVariant(mnistConv2 with { Batch = 1 }));
        Assert.NotEqual(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(mnistConv2 with { InChannels = 8 }));
        Assert.NotEqual(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(mnistConv2 with { OutChannels = 16 }));
        Assert.Equal(avx512 ? Conv2d.Winograd5x5VariantName : Conv2d.VariantName, Conv2d.SelectedVariant(mnistConv2 with { Height = 10, Width = 10 }));
        Assert.Equal(avx512 ? Conv2d.Winograd5x5VariantName : Conv2d.VariantName, Conv2d.SelectedVariant(mnistConv2 with { Height = 7, Width = 7 }));
        Assert.NotEqual(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(mnistConv2 with { Height = 6, Width = 6 }));
        Assert.NotEqual(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(mnistConv2 with { StrideH = 2, StrideW = 2 }));
        Assert.NotEqual(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(mnistConv2 with { KernelH = 3, KernelW = 3, PadTop = 1, PadLeft = 1, PadBottom = 1, PadRight = 1 }));
    }

    /// <summary>
    /// γ_n·M per output, the rounding bound of F(2×2, 5×5) as the kernel evaluates it. Every output is a sum over paths
    /// (channel c, ξ = (i, j)) of Aᵀ[r,i]Aᵀ[s,j]·(G g_c Gᵀ)[ξ]·(Bᵀ d_c B)[ξ]; along a path at most n = C + 13 roundings
    /// happen (weight transform 1, rounded once from double, + 1 for its double reciprocals; input transform 2 per
    /// dimension = 4; the channel sum C, one FMA each; output transform at most 3 per dimension = 6, y0 = (m0 + (m1 + m2))
    /// + (m3 + m4), y1 = (fma(2, m3 − m4, m1 − m2)) + m5; bias 1), and the factorisations never create larger coefficients
    /// than the matrices' own, so by Higham's path argument (Accuracy and Stability of Numerical Algorithms, §3.1)
    /// |ŷ − y| ≤ γ_n·M with M = Σ_c |Aᵀ|((|G||g_c||Gᵀ|) ⊙ (|Bᵀ||d_c||B|))|A| + |b| and γ_n = n·u / (1 − n·u).
    /// </summary>
    private static double[] Winograd5x5Bound(double[] x, double[] w, double[] bias, in Conv2dGeometry g) =>
        WinogradTileBound.Compute(x, w, bias, g, s_bt, s_g, s_at, fixedRoundings: 13);

    private static double[] Flip(double[] w, in Conv2dGeometry g) => WinogradTileBound.Flip(w, g);

    private void Check(float[] actual, double[] expected, double[] bound, double[] direct, string context)
    {
        double worstOfBound = 0, worstOfDirect = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            if (!(error <= bound[i]))
            {
                Assert.Fail($"{context}: element {i} is {actual[i]} but the reference gives {expected[i]} (|error| {error:E3} > bound {bound[i]:E3}).");
            }

            worstOfBound = Math.Max(worstOfBound, bound[i] > 0 ? error / bound[i] : 0);
            worstOfDirect = Math.Max(worstOfDirect, error / (GemmConv2dNumerics.Unit * Math.Max(direct[i], 1e-30)));
        }

        // Figures for docs/performance.md: the largest error as a share of the bound, and in units of u·Σ|w||x|.
        output.WriteLine($"{context}: max |error|/bound {worstOfBound:F4}, max |error|/(u·Σ|w||x|) {worstOfDirect:F2}");
    }
}
