using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>
/// Winograd F(4×4, 3×3) against the double reference under a componentwise error bound derived for it, the same
/// bound met by F(2×2) and the direct (implicit GEMM and im2col) kernels; ragged maps, padding 0–2, both input paths,
/// k slices; 1/2/3-thread bitwise identity.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dWinograd4x4Tests(ITestOutputHelper output)
{
    // Bᵀ, G and Aᵀ of F(4×4, 3×3) (points 0, ±1, ±2, ∞), as in the kernel.
    private static readonly double[,] s_bt =
    {
        { 4, 0, -5, 0, 1, 0 }, { 0, -4, -4, 1, 1, 0 }, { 0, 4, -4, -1, 1, 0 },
        { 0, -2, -1, 2, 1, 0 }, { 0, 2, -1, -2, 1, 0 }, { 0, 4, 0, -5, 0, 1 },
    };

    private static readonly double[,] s_g =
    {
        { 0.25, 0, 0 }, { -1.0 / 6, -1.0 / 6, -1.0 / 6 }, { -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 1.0 / 12, 1.0 / 6 }, { 1.0 / 24, -1.0 / 12, 1.0 / 6 }, { 0, 0, 1 },
    };

    private static readonly double[,] s_at =
    {
        { 1, 1, 1, 1, 1, 0 }, { 0, 1, -1, 2, -2, 0 }, { 0, 1, 1, 4, 4, 0 }, { 0, 1, -1, 8, -8, 1 },
    };

    /// <summary>
    /// Ragged maps (7, 14, 28-like and 50/70 wide), padding 0–2 and asymmetric, C over one k slice, K not a multiple of 8;
    /// the input transform's three paths: tile rows of ≥ 12 tiles (row loads), 4–7 tiles (32-float windows, groups of 16
    /// tiles across tile rows and images), narrower (gathers).
    /// </summary>
    public static TheoryData<string> Shapes() => new(s_shapes.Keys);

    private static readonly Dictionary<string, Conv2dGeometry> s_shapes = new()
    {
        ["7x7Pad1"] = new(3, 24, 7, 7, 20, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["14x14Pad1"] = new(2, 16, 14, 14, 24, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["13x11Pad0"] = new(2, 9, 13, 11, 13, 3, 3),
        ["10x9Pad2"] = new(2, 7, 10, 9, 11, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["9x12Asymmetric"] = new(3, 5, 9, 12, 9, 3, 3, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 2),
        ["RowPath50Wide"] = new(2, 6, 11, 50, 10, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["RowPath70WideRunsAcrossPanels"] = new(2, 5, 6, 70, 7, 3, 3, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1),
        ["RowPath57WidePad0"] = new(1, 4, 9, 57, 9, 3, 3),
        ["TwoKSlices300"] = new(2, 300, 6, 5, 17, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["ManyTilesSeveralBlocks"] = new(9, 8, 15, 15, 33, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["LargeWeightsSplitByOutputChannel"] = new(3, 300, 7, 9, 400, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Width1"] = new(2, 3, 9, 1, 5, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Batch1OneBlockSplitByOutputChannel"] = new(1, 256, 13, 14, 200, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Batch1TwoBlocksSplitByOutputChannel"] = new(1, 160, 27, 26, 130, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Batch1RowPathSplitByOutputChannel"] = new(1, 128, 6, 50, 120, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["WindowPath6TilesPad2"] = new(3, 6, 17, 22, 10, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["WindowPath4TilesPad0"] = new(2, 5, 18, 18, 7, 3, 3),
        ["WindowPath5TilesAsymmetric"] = new(2, 9, 20, 19, 11, 3, 3, PadTop: 1, PadLeft: 0, PadBottom: 1, PadRight: 2),
    };

    private static readonly string[] s_variants =
        [Conv2d.Winograd4x4VariantName, Conv2d.WinogradVariantName, Conv2d.ImplicitVariantName, Conv2d.VariantName];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Conv2dForwardAndBackwardData_EveryVariant_WithinWinograd4x4Bound(string name)
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
        double[] bound = Winograd4x4Bound(xd, wd, bd, g);

        var edx = new double[g.InputLength];
        Conv2dReference.BackwardData<double>(dyd, wd, g, edx);
        var directDx = new double[g.InputLength];
        Conv2dReference.BackwardData<double>(GemmConv2dNumerics.Abs(dyd), GemmConv2dNumerics.Abs(wd), g, directDx);
        double[] boundDx = Winograd4x4Bound(dyd, Flip(wd, g), [], Conv2dWinograd4x4.Transposed(g));

        foreach (string variant in s_variants)
        {
            var y = GemmConv2dNumerics.Random((int)g.OutputLength, 45); // garbage: must be overwritten
            var dx = GemmConv2dNumerics.Random((int)g.InputLength, 46);
            try
            {
                Conv2d.VariantOverride = variant;
                if (variant == Conv2d.Winograd4x4VariantName && Conv2dWinograd4x4.Supports(g))
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

    /// <summary>
    /// Backward-data reads the flipped, transposed kernel straight from w; it must give exactly the bits of the forward
    /// over an explicitly flipped copy (what it computed before), for 3×3 (every shape above) and F(2×2, 5×5).
    /// </summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    [InlineData("5x5Pad2")]
    public void BackwardData_FlipReadInTransform_BitwiseEqualsForwardOfFlippedCopy(string name)
    {
        Conv2dGeometry g = name == "5x5Pad2"
            ? new Conv2dGeometry(2, 33, 14, 13, 35, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2)
            : s_shapes[name];
        string variant = g.KernelH == 5 ? Conv2d.Winograd5x5VariantName : Conv2d.Winograd4x4VariantName;
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 52);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 53);
        int taps = g.KernelH * g.KernelW;
        var flipped = new float[w.Length];
        for (int o = 0; o < g.OutChannels; o++)
        {
            for (int c = 0; c < g.InChannels; c++)
            {
                for (int t = 0; t < taps; t++)
                {
                    flipped[(((c * g.OutChannels) + o) * taps) + taps - 1 - t] = w[(((o * g.InChannels) + c) * taps) + t];
                }
            }
        }

        var transposed = new Conv2dGeometry(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.KernelH, g.KernelW,
            PadTop: g.KernelH - 1 - g.PadTop, PadLeft: g.KernelW - 1 - g.PadLeft, PadBottom: g.KernelH - 1 - g.PadBottom,
            PadRight: g.KernelW - 1 - g.PadRight);
        var expected = new float[g.InputLength];
        var dx = new float[g.InputLength];
        try
        {
            Conv2d.VariantOverride = variant;
            Conv2d.Forward(dy, flipped, ReadOnlySpan<float>.Empty, transposed, expected);
            Conv2d.BackwardData(dy, w, g, dx);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        for (int i = 0; i < dx.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(dx[i]),
                $"{name}: dx[{i}] = {dx[i]}, the forward over the flipped copy gives {expected[i]}.");
        }
    }

    /// <summary>
    /// Full panels of 8 output channels load their 3×3 taps by rows and a transpose, a ragged last panel by gathers: each
    /// output channel must come out bit for bit as when its kernel is alone (a one-row, gathered panel), forward and
    /// backward-data (whose panels are input channels, read flipped).
    /// </summary>
    [Fact]
    public void Conv2dWinograd4x4_FullAndRaggedWeightPanels_BitwiseEqual()
    {
        var g = new Conv2dGeometry(2, 11, 9, 10, 9, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 61);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 62);
        int p = g.OutHeight * g.OutWidth, taps = 9;
        var y = new float[g.OutputLength];
        var dx = new float[g.InputLength];
        try
        {
            Conv2d.VariantOverride = Conv2d.Winograd4x4VariantName;
            Conv2d.Forward(x, w, ReadOnlySpan<float>.Empty, g, y);
            Conv2d.BackwardData(y, w, g, dx);
            for (int o = 0; o < g.OutChannels; o++)
            {
                Conv2dGeometry one = g with { OutChannels = 1 };
                var yo = new float[one.OutputLength];
                Conv2d.Forward(x, w.AsSpan(o * g.InChannels * taps, g.InChannels * taps), ReadOnlySpan<float>.Empty, one, yo);
                for (int n = 0; n < g.Batch; n++)
                {
                    for (int q = 0; q < p; q++)
                    {
                        float full = y[(((n * g.OutChannels) + o) * p) + q], alone = yo[(n * p) + q];
                        Assert.True(BitConverter.SingleToInt32Bits(full) == BitConverter.SingleToInt32Bits(alone),
                            $"forward channel {o}, sample {n}, position {q}: {full} in the 9-channel layer, {alone} alone.");
                    }
                }
            }

            // Backward-data's panels are the 11 input channels (8 full + 3): input channel c alone is a 1-input layer.
            int hw = g.Height * g.Width;
            for (int c = 0; c < g.InChannels; c++)
            {
                Conv2dGeometry one = g with { InChannels = 1 };
                var wc = new float[g.OutChannels * taps];
                for (int o = 0; o < g.OutChannels; o++)
                {
                    w.AsSpan(((o * g.InChannels) + c) * taps, taps).CopyTo(wc.AsSpan(o * taps, taps));
                }

                var dxc = new float[one.InputLength];
                Conv2d.BackwardData(y, wc, one, dxc);
                for (int n = 0; n < g.Batch; n++)
                {
                    for (int q = 0; q < hw; q++)
                    {
                        float full = dx[(((n * g.InChannels) + c) * hw) + q], alone = dxc[(n * hw) + q];
                        Assert.True(BitConverter.SingleToInt32Bits(full) == BitConverter.SingleToInt32Bits(alone),
                            $"backward-data channel {c}, sample {n}, position {q}: {full} in the 11-channel layer, {alone} alone.");
                    }
                }
            }
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }

    [Fact]
    public void Conv2dWinograd4x4_AnyThreadCount_BitwiseIdentical()
    {
        Conv2dGeometry[] shapes =
        [
            new(5, 12, 14, 14, 20, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(3, 7, 9, 58, 9, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(11, 40, 7, 7, 24, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(9, 330, 7, 7, 360, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), // U streamed, split by output channel
            new(1, 256, 13, 14, 200, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), // batch 1: one tile block, 7 channel ranges (last 8)
            new(1, 160, 27, 26, 130, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), // two blocks (32 + 17 tiles) × 2 ranges (72 + 58)

            // On 2+ threads a call of one block split by output channels transforms its input first, by channel ranges,
            // into one buffer (1 thread: per thread): the row path (13 tiles a row), and F(2×2, 5×5)'s two row paths.
            new(1, 128, 6, 50, 120, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(1, 128, 10, 10, 128, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
            new(1, 100, 2, 60, 150, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ];
        int saved = KernelParallel.MaxThreads;
        try
        {
            foreach (Conv2dGeometry g in shapes)
            {
                Conv2d.VariantOverride = g.KernelH == 5 ? Conv2d.Winograd5x5VariantName : Conv2d.Winograd4x4VariantName;
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

    [Fact]
    public void Conv2dWinograd4x4_WindowInputPath_BitwiseEqualsGathers()
    {
        // Maps 4–7 tiles wide: the 32-float window path and the gathers read the same taps (+0 outside the input), so
        // forward and backward-data agree bit for bit; ResNet-18's batch-1 28×28 and 14×14 layers (scaled down in
        // channels), padding 0–2, groups of 16 tiles starting mid-row and crossing images, both window variants.
        Conv2dGeometry[] shapes =
        [
            s_shapes["WindowPath6TilesPad2"], s_shapes["WindowPath4TilesPad0"], s_shapes["WindowPath5TilesAsymmetric"],
            new(1, 40, 28, 28, 36, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(3, 24, 14, 14, 20, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(2, 8, 25, 27, 9, 3, 3, PadTop: 0, PadLeft: 1, PadBottom: 2, PadRight: 0),

            // W + p_l < 16 takes the one-load window with tile rows paired per permute (15 here; 3 to 5 tile rows per
            // group of 16 tiles, groups crossing images); W + p_l = 16 takes the two-load window.
            new(3, 9, 15, 13, 11, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 1, PadRight: 2),
            new(3, 9, 10, 14, 11, 3, 3, PadTop: 1, PadLeft: 2, PadBottom: 1, PadRight: 2),
            new(5, 7, 9, 15, 6, 3, 3, PadTop: 1, PadLeft: 0, PadBottom: 0, PadRight: 1),
            new(2, 6, 9, 12, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 6), // 5 tiles a row, taps past element 15
        ];
        try
        {
            Conv2d.VariantOverride = Conv2d.Winograd4x4VariantName;
            foreach (Conv2dGeometry g in shapes)
            {
                float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 5), w = GemmConv2dNumerics.Random((int)g.WeightLength, 6);
                float[] b = GemmConv2dNumerics.Random(g.OutChannels, 7), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 8);
                var results = new List<float[]>();
                foreach (bool gathers in new[] { false, true })
                {
                    Conv2dWinograd4x4.GathersOnlyForTests = gathers;
                    var y = new float[g.OutputLength];
                    var dx = new float[g.InputLength];
                    Conv2d.Forward(x, w, b, g, y);
                    Conv2d.BackwardData(dy, w, g, dx);
                    results.Add(y);
                    results.Add(dx);
                }

                Assert.Equal(results[2].Select(BitConverter.SingleToInt32Bits), results[0].Select(BitConverter.SingleToInt32Bits));
                Assert.Equal(results[3].Select(BitConverter.SingleToInt32Bits), results[1].Select(BitConverter.SingleToInt32Bits));
            }
        }
        finally
        {
            Conv2dWinograd4x4.GathersOnlyForTests = false;
            Conv2d.VariantOverride = null;
        }
    }

    [Fact]
    public void Conv2dWinograd4x4_OneHotInputs_ExactLikeDirect()
    {
        // x in {−1, 0, 1} and w in 576·{−1, 0, 1} (576 = 24²): every transformed weight, transformed input, product and
        // sum is then a small integer, exact in float, so the kernel must agree exactly and no wrong index can hide.
        var g = new Conv2dGeometry(2, 3, 11, 13, 5, 3, 3, PadTop: 1, PadLeft: 2, PadBottom: 2, PadRight: 0);
        var rng = new Random(5);
        float[] x = Enumerable.Range(0, (int)g.InputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        float[] w = Enumerable.Range(0, (int)g.WeightLength).Select(_ => (float)(rng.Next(-1, 2) * 576)).ToArray();
        var y = new float[g.OutputLength];
        var expected = new double[g.OutputLength];
        Conv2dReference.Forward<double>(GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w), [], g, expected);
        try
        {
            Conv2d.VariantOverride = Conv2d.Winograd4x4VariantName;
            Conv2d.Forward(x, w, [], g, y);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        Assert.Equal(expected.Select(v => (float)v), y);
    }

    /// <summary>
    /// γ_n·M per output, the rounding bound of F(4×4, 3×3) as the kernel evaluates it. Every output is a sum over paths
    /// (channel c, ξ = (i, j)) of Aᵀ[r,i]Aᵀ[s,j]·(G g_c Gᵀ)[ξ]·(Bᵀ d_c B)[ξ]; along a path at most n = C + 13 roundings
    /// happen (weight transform 1, rounded once from double, + 1 for its double reciprocals; input transform 2 per
    /// dimension = 4; the channel sum C, one FMA each; output transform 3 per dimension = 6; bias 1), and the
    /// factorisations used never create larger coefficients than the matrices' own, so by Higham's path argument
    /// (Accuracy and Stability of Numerical Algorithms, §3.1) |ŷ − y| ≤ γ_n·M with
    /// M = Σ_c |Aᵀ|((|G||g_c||Gᵀ|) ⊙ (|Bᵀ||d_c||B|))|A| + |b| and γ_n = n·u / (1 − n·u).
    /// </summary>
    private static double[] Winograd4x4Bound(double[] x, double[] w, double[] bias, in Conv2dGeometry g) =>
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
