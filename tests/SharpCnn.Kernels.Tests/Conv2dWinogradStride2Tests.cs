using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The polyphase Winograd forward of 3×3 stride-2 layers (<see cref="Conv2dWinogradStride2"/>) against the double
/// reference under a componentwise error bound derived for it (also met by the implicit GEMM and im2col + GEMM); ragged
/// maps, padding 0–2 and asymmetric, channels not multiples of 16, batch 1, k slices, streamed weights; an exact
/// small-integer case; 1/2/3-thread bitwise identity; backward passes unchanged when it is forced.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dWinogradStride2Tests(ITestOutputHelper output)
{
    // The 9-point transforms of one axis, as in the kernel: F(4, 2) (points 0, 1, −1, 2, ∞) on the even patch samples
    // (transformed points 0..4), the odd samples unchanged (points 5..8).
    private static readonly double[,] s_bt = BuildBt();
    private static readonly double[,] s_g = BuildG();
    private static readonly double[,] s_at = BuildAt();

    private static readonly Dictionary<string, Conv2dGeometry> s_shapes = new()
    {
        ["Odd57x41Pad1"] = new(2, 33, 57, 41, 70, 3, 3, 2, 2, 1, 1, 1, 1),
        ["Pad0Ragged"] = new(3, 20, 20, 31, 19, 3, 3, 2, 2),
        ["Batch1Small"] = new(1, 5, 9, 9, 7, 3, 3, 2, 2, 1, 1, 1, 1),
        ["Pad2"] = new(2, 7, 13, 10, 11, 3, 3, 2, 2, 2, 2, 2, 2),
        ["Asymmetric"] = new(2, 6, 12, 17, 9, 3, 3, 2, 2, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 1),
        ["WideRunsAcrossPanels"] = new(2, 5, 11, 150, 10, 3, 3, 2, 2, 1, 1, 1, 1),
        ["ManyBlocks"] = new(5, 8, 30, 30, 12, 3, 3, 2, 2, 1, 1, 1, 1),
        ["TwoKSlices300"] = new(2, 300, 9, 11, 17, 3, 3, 2, 2, 1, 1, 1, 1),
        ["LargeWeightsSplitByOutputChannel"] = new(2, 240, 9, 9, 240, 3, 3, 2, 2, 1, 1, 1, 1),
        ["Width1"] = new(2, 3, 9, 1, 5, 3, 3, 2, 2, 1, 1, 1, 1),
    };

    private static readonly string[] s_variants =
        [Conv2d.WinogradStride2VariantName, Conv2d.ImplicitVariantName, Conv2d.VariantName];

    /// <summary>Odd and unequal maps, padding 0–2 and asymmetric, C and K off multiples of 8/16, k slices, streamed U.</summary>
    public static TheoryData<string> Shapes() => new(s_shapes.Keys);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Conv2dForward_Stride2Variants_WithinPolyphaseWinogradBound(string name)
    {
        Conv2dGeometry g = s_shapes[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 41);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 42);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 43);
        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b);
        var ey = new double[g.OutputLength];
        Conv2dReference.Forward<double>(xd, wd, bd, g, ey);
        var direct = new double[g.OutputLength];
        Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bd), g, direct);
        double[] bound = PolyphaseBound(xd, wd, bd, g);
        foreach (string variant in s_variants)
        {
            float[] y = GemmConv2dNumerics.Random((int)g.OutputLength, 45); // garbage: must be overwritten
            try
            {
                Conv2d.VariantOverride = variant;
                if (variant == Conv2d.WinogradStride2VariantName && Conv2dWinogradStride2.Supports(g))
                {
                    Assert.Equal(variant, Conv2d.SelectedVariant(g));
                }

                Conv2d.Forward(x, w, b, g, y);
            }
            finally
            {
                Conv2d.VariantOverride = null;
            }

            Check(y, ey, bound, direct, $"{variant} {name} forward");
        }
    }

    [Fact]
    public void Conv2dWinogradStride2_OneHotInputs_ExactLikeDirect()
    {
        // x in {−1, 0, 1} and w in 36·{−1, 0, 1}: G has sixths, so G′ g G′ᵀ is then a small integer, as is every transformed
        // input, product and sum, all exact in float: the kernel must agree exactly and no wrong index can hide.
        var g = new Conv2dGeometry(2, 5, 23, 19, 6, 3, 3, 2, 2, PadTop: 1, PadLeft: 2, PadBottom: 2, PadRight: 0);
        var rng = new Random(5);
        float[] x = Enumerable.Range(0, (int)g.InputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        float[] w = Enumerable.Range(0, (int)g.WeightLength).Select(_ => (float)(rng.Next(-1, 2) * 36)).ToArray();
        var y = new float[g.OutputLength];
        var expected = new double[g.OutputLength];
        Conv2dReference.Forward<double>(GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w), [], g, expected);
        try
        {
            Conv2d.VariantOverride = Conv2d.WinogradStride2VariantName;
            Conv2d.Forward(x, w, [], g, y);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        Assert.Equal(expected.Select(v => (float)v), y);
    }

    [Fact]
    public void Conv2dWinogradStride2_AnyThreadCount_BitwiseIdentical()
    {
        Conv2dGeometry[] shapes =
        [
            new(5, 12, 28, 28, 20, 3, 3, 2, 2, 1, 1, 1, 1),
            new(3, 7, 9, 130, 9, 3, 3, 2, 2, 1, 1, 1, 1),
            new(11, 40, 14, 14, 72, 3, 3, 2, 2, 1, 1, 1, 1),
            new(3, 240, 9, 9, 240, 3, 3, 2, 2, 1, 1, 1, 1), // U streamed, split by output channel
        ];
        int saved = KernelParallel.MaxThreads;
        try
        {
            Conv2d.VariantOverride = Conv2d.WinogradStride2VariantName;
            foreach (Conv2dGeometry g in shapes)
            {
                float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1), w = GemmConv2dNumerics.Random((int)g.WeightLength, 2);
                float[] b = GemmConv2dNumerics.Random(g.OutChannels, 3);
                float[]? y1 = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    var y = new float[g.OutputLength];
                    Conv2d.Forward(x, w, b, g, y);
                    y1 ??= y;
                    Assert.Equal(y1.Select(BitConverter.SingleToInt32Bits), y.Select(BitConverter.SingleToInt32Bits));
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
    public void Conv2dBackward_WinogradStride2Forced_SameBitsAsImplicitGemm()
    {
        // The variant is forward-only: backward-data and backward-weight must run the implicit GEMM's kernels.
        var g = new Conv2dGeometry(3, 20, 15, 18, 33, 3, 3, 2, 2, 1, 1, 1, 1);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 7), w = GemmConv2dNumerics.Random((int)g.WeightLength, 8);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 9);
        float[][] results = new float[4][];
        string[] variants = [Conv2d.WinogradStride2VariantName, Conv2d.ImplicitVariantName];
        try
        {
            for (int v = 0; v < 2; v++)
            {
                Conv2d.VariantOverride = variants[v];
                results[2 * v] = new float[g.InputLength];
                results[(2 * v) + 1] = new float[g.WeightLength];
                Conv2d.BackwardData(dy, w, g, results[2 * v]);
                Conv2d.BackwardWeight(dy, x, g, results[(2 * v) + 1], new float[g.OutChannels]);
            }
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        Assert.Equal(results[2].Select(BitConverter.SingleToInt32Bits), results[0].Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(results[3].Select(BitConverter.SingleToInt32Bits), results[1].Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void SelectedVariant_Stride2Layers_WinogradWhereMeasuredFaster()
    {
        bool avx512 = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        string s2 = avx512 ? Conv2d.WinogradStride2VariantName : Conv2d.VariantName;
        var downsample = new Conv2dGeometry(32, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1);
        Assert.Equal(s2, Conv2d.SelectedVariant(downsample));                            // the bench row
        Assert.Equal(s2, Conv2d.SelectedVariant(downsample with { Batch = 16 }));        // ResNet-18 layer2.0.conv1, batch 16
        Assert.NotEqual(Conv2d.WinogradStride2VariantName, Conv2d.SelectedVariant(downsample with { Batch = 1 })); // weight transform does not pay
        var layer3 = new Conv2dGeometry(16, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1);
        Assert.NotEqual(Conv2d.WinogradStride2VariantName, Conv2d.SelectedVariant(layer3)); // 14² output: about even, not taken
        var layer4 = new Conv2dGeometry(32, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1, 1, 1);
        Assert.NotEqual(Conv2d.WinogradStride2VariantName, Conv2d.SelectedVariant(layer4)); // 42 MB of transformed weights
        Assert.NotEqual(Conv2d.WinogradStride2VariantName, Conv2d.SelectedVariant(downsample with { KernelH = 1, KernelW = 1, PadTop = 0, PadLeft = 0, PadBottom = 0, PadRight = 0 }));
        Assert.NotEqual(Conv2d.WinogradStride2VariantName, Conv2d.SelectedVariant(downsample with { InChannels = 16 }));
    }

    /// <summary>
    /// γ_n·M per output, the rounding bound of the kernel. Every output is a sum over paths (channel c, ξ = (i, j), i, j
    /// in 0..8) of A′ᵀ[r,i]A′ᵀ[s,j]·(G′ g_c G′ᵀ)[ξ]·(B′ᵀ d_c B′)[ξ]; along a path at most n = C + 15 roundings happen
    /// (weight transform 1, rounded once from double, + 1 for its double reciprocals; input transform 2 per dimension;
    /// the channel sum C, one FMA each; output transform 4 per dimension; bias 1), and the factorisations used never
    /// create larger coefficients than the matrices' own, so by Higham's path argument |ŷ − y| ≤ γ_n·M with
    /// M = Σ_c |A′ᵀ|((|G′||g_c||G′ᵀ|) ⊙ (|B′ᵀ||d_c||B′|))|A′| + |b| and γ_n = n·u / (1 − n·u).
    /// </summary>
    private static double[] PolyphaseBound(double[] x, double[] w, double[] bias, in Conv2dGeometry g)
    {
        int c = g.InChannels, k = g.OutChannels, oh = g.OutHeight, ow = g.OutWidth, th = (oh + 3) / 4, tw = (ow + 3) / 4;
        var u = new double[k * c * 81];
        for (int o = 0; o < k; o++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int i = 0; i < 9; i++)
                {
                    for (int j = 0; j < 9; j++)
                    {
                        double sum = 0;
                        for (int a = 0; a < 3; a++)
                        {
                            for (int bb = 0; bb < 3; bb++)
                            {
                                sum += Math.Abs(s_g[i, a] * s_g[j, bb]) * Math.Abs(w[((((o * c) + ch) * 3) + a) * 3 + bb]);
                            }
                        }

                        u[(((o * c) + ch) * 81) + (9 * i) + j] = sum;
                    }
                }
            }
        }

        double t = (c + 15) * GemmConv2dNumerics.Unit, gamma = t / (1 - t);
        var bound = new double[g.OutputLength];
        var v = new double[c * 81];
        var m = new double[81];
        for (int n = 0; n < g.Batch; n++)
        {
            for (int ty = 0; ty < th; ty++)
            {
                for (int tx = 0; tx < tw; tx++)
                {
                    // |B′ᵀ||d||B′| of each channel's 9×9 patch at (8ty − p_t, 8tx − p_l) (zeros outside the input).
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int i = 0; i < 9; i++)
                        {
                            for (int j = 0; j < 9; j++)
                            {
                                double sum = 0;
                                for (int p = 0; p < 9; p++)
                                {
                                    int iy = (8 * ty) - g.PadTop + p;
                                    if ((uint)iy >= (uint)g.Height || s_bt[i, p] == 0)
                                    {
                                        continue;
                                    }

                                    for (int q = 0; q < 9; q++)
                                    {
                                        int ix = (8 * tx) - g.PadLeft + q;
                                        if ((uint)ix < (uint)g.Width)
                                        {
                                            sum += Math.Abs(s_bt[i, p] * s_bt[j, q]) * Math.Abs(x[((((n * c) + ch) * g.Height) + iy) * g.Width + ix]);
                                        }
                                    }
                                }

                                v[(ch * 81) + (9 * i) + j] = sum;
                            }
                        }
                    }

                    for (int o = 0; o < k; o++)
                    {
                        Array.Clear(m);
                        for (int ch = 0; ch < c; ch++)
                        {
                            for (int e = 0; e < 81; e++)
                            {
                                m[e] += u[(((o * c) + ch) * 81) + e] * v[(ch * 81) + e];
                            }
                        }

                        for (int r = 0; r < 4 && (4 * ty) + r < oh; r++)
                        {
                            for (int s = 0; s < 4 && (4 * tx) + s < ow; s++)
                            {
                                double sum = 0;
                                for (int e = 0; e < 81; e++)
                                {
                                    sum += Math.Abs(s_at[r, e / 9] * s_at[s, e % 9]) * m[e];
                                }

                                double b = bias.Length == 0 ? 0 : Math.Abs(bias[o]);
                                bound[((((n * k) + o) * oh) + (4 * ty) + r) * ow + (4 * tx) + s] = gamma * (sum + b);
                            }
                        }
                    }
                }
            }
        }

        return bound;
    }

    /// <summary>B′ᵀ (9 × 9) on a patch row d0..d8: F(4, 2)'s Bᵀ on d0, d2, d4, d6, d8, then d1, d3, d5, d7.</summary>
    private static double[,] BuildBt()
    {
        double[,] bt = { { 2, -1, -2, 1, 0 }, { 0, -2, -1, 1, 0 }, { 0, 2, -3, 1, 0 }, { 0, -1, 0, 1, 0 }, { 0, 2, -1, -2, 1 } };
        var full = new double[9, 9];
        for (int i = 0; i < 5; i++)
        {
            for (int p = 0; p < 5; p++)
            {
                full[i, 2 * p] = bt[i, p];
            }
        }

        for (int k = 0; k < 4; k++)
        {
            full[5 + k, (2 * k) + 1] = 1;
        }

        return full;
    }

    /// <summary>G′ (9 × 3) on taps (w0, w1, w2): F(4, 2)'s G on (w0, w2), then w1 four times.</summary>
    private static double[,] BuildG()
    {
        double[,] g = { { 0.5, 0 }, { -0.5, -0.5 }, { -1.0 / 6, 1.0 / 6 }, { 1.0 / 6, 1.0 / 3 }, { 0, 1 } };
        var full = new double[9, 3];
        for (int i = 0; i < 5; i++)
        {
            full[i, 0] = g[i, 0];
            full[i, 2] = g[i, 1];
        }

        for (int k = 5; k < 9; k++)
        {
            full[k, 1] = 1;
        }

        return full;
    }

    /// <summary>A′ᵀ (4 × 9): F(4, 2)'s Aᵀ on the even points, plus odd point i for output i.</summary>
    private static double[,] BuildAt()
    {
        double[,] at = { { 1, 1, 1, 1, 0 }, { 0, 1, -1, 2, 0 }, { 0, 1, 1, 4, 0 }, { 0, 1, -1, 8, 1 } };
        var full = new double[4, 9];
        for (int r = 0; r < 4; r++)
        {
            for (int i = 0; i < 5; i++)
            {
                full[r, i] = at[r, i];
            }

            full[r, 5 + r] = 1;
        }

        return full;
    }

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
