using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The polyphase Winograd forward and backward-data of 3×3 stride-2 layers (<see cref="Conv2dWinogradStride2"/>) against the double
/// reference under a componentwise error bound derived for it (also met by the implicit GEMM and im2col + GEMM); ragged
/// maps, padding 0–2 and asymmetric, channels not multiples of 16, batch 1, k slices, streamed weights; an exact
/// small-integer case; 1/2/3-thread bitwise identity; forward and backward-data (its transposed form), backward-weight
/// left to the implicit GEMM.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dWinogradStride2Tests(ITestOutputHelper output)
{
    // The 9-point transforms of one axis, as in the kernel: F(4, 2) (points 0, 1, −1, 2, ∞) on the even patch samples
    // (transformed points 0..4), the odd samples unchanged (points 5..8).
    private static readonly double[,] s_bt = BuildBt();
    private static readonly double[,] s_g = BuildG();
    private static readonly double[,] s_at = BuildAt();

    // Backward-data per axis: 5 dy samples d0..d4 → F(4, 2)'s Bᵀ on all five (points 0..4) and d1..d4 (points 5..8);
    // 8 dx outputs → Aᵀ row i of the even points at output 2i, point 5 + i at output 2i + 1.
    private static readonly double[,] s_btBackward = BuildBtBackward();
    private static readonly double[,] s_atBackward = BuildAtBackward();

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
    public void Conv2dForwardAndBackwardData_Stride2Variants_WithinPolyphaseWinogradBound(string name)
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
        double[] bound = PolyphaseBound(xd, wd, bd, g);
        var edx = new double[g.InputLength];
        Conv2dReference.BackwardData<double>(dyd, wd, g, edx);
        var directDx = new double[g.InputLength];
        Conv2dReference.BackwardData<double>(GemmConv2dNumerics.Abs(dyd), GemmConv2dNumerics.Abs(wd), g, directDx);
        double[] boundDx = PolyphaseBackwardBound(dyd, wd, g);
        foreach (string variant in s_variants)
        {
            float[] y = GemmConv2dNumerics.Random((int)g.OutputLength, 45); // garbage: must be overwritten
            float[] dx = GemmConv2dNumerics.Random((int)g.InputLength, 46);
            try
            {
                Conv2d.VariantOverride = variant;
                if (variant == Conv2d.WinogradStride2VariantName && Conv2dWinogradStride2.Supports(g))
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
    public void Conv2dWinogradStride2_OneHotInputs_ExactLikeDirect()
    {
        // x and dy in {−1, 0, 1}, w in 36·{−1, 0, 1}: G has sixths, so G′ g G′ᵀ is then a small integer, as is every
        // transformed input, product and sum, all exact in float: the kernel must agree exactly (forward and
        // backward-data) and no wrong index can hide.
        var g = new Conv2dGeometry(2, 5, 23, 19, 6, 3, 3, 2, 2, PadTop: 1, PadLeft: 2, PadBottom: 2, PadRight: 0);
        var rng = new Random(5);
        float[] x = Enumerable.Range(0, (int)g.InputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        float[] w = Enumerable.Range(0, (int)g.WeightLength).Select(_ => (float)(rng.Next(-1, 2) * 36)).ToArray();
        float[] dy = Enumerable.Range(0, (int)g.OutputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        var y = new float[g.OutputLength];
        var dx = new float[g.InputLength];
        var expected = new double[g.OutputLength];
        var expectedDx = new double[g.InputLength];
        Conv2dReference.Forward<double>(GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w), [], g, expected);
        Conv2dReference.BackwardData<double>(GemmConv2dNumerics.ToDouble(dy), GemmConv2dNumerics.ToDouble(w), g, expectedDx);
        try
        {
            Conv2d.VariantOverride = Conv2d.WinogradStride2VariantName;
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

    /// <summary>
    /// Many calls on 2 and 3 threads with the weights changing from call to call (forward: 9 weight panels of 72 output
    /// channels in 5 GEMM groups, the last one ragged; backward-data: 5 panels of 40 input channels): the transformed
    /// weights are shared by every thread of a call, so a thread reading them before they are complete, or a stale
    /// panel of the previous call, changes the bits of some call; each must equal the one-thread result.
    /// </summary>
    [Fact]
    public void Conv2dWinogradStride2_ManyCallsWithChangingWeights_EveryCallBitwiseIdentical()
    {
        var g = new Conv2dGeometry(6, 40, 30, 30, 72, 3, 3, 2, 2, 1, 1, 1, 1);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 11), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 12);
        int saved = KernelParallel.MaxThreads;
        try
        {
            Conv2d.VariantOverride = Conv2d.WinogradStride2VariantName;
            KernelParallel.MaxThreads = 1;
            var y1 = new float[g.OutputLength];
            var dx1 = new float[g.InputLength];
            float[][] weights = [.. Enumerable.Range(0, 3).Select(i => GemmConv2dNumerics.Random((int)g.WeightLength, 20 + i))];
            var expectedY = new List<int[]>();
            var expectedDx = new List<int[]>();
            foreach (float[] w in weights)
            {
                Conv2d.Forward(x, w, [], g, y1);
                Conv2d.BackwardData(dy, w, g, dx1);
                expectedY.Add([.. y1.Select(BitConverter.SingleToInt32Bits)]);
                expectedDx.Add([.. dx1.Select(BitConverter.SingleToInt32Bits)]);
            }

            foreach (int threads in new[] { 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                for (int call = 0; call < 30; call++)
                {
                    // A different weight tensor on each call, so that a stale panel of the previous call shows.
                    int i = call % weights.Length;
                    var y = new float[g.OutputLength];
                    var dx = new float[g.InputLength];
                    Conv2d.Forward(x, weights[i], [], g, y);
                    Conv2d.BackwardData(dy, weights[i], g, dx);
                    Assert.Equal(expectedY[i], y.Select(BitConverter.SingleToInt32Bits));
                    Assert.Equal(expectedDx[i], dx.Select(BitConverter.SingleToInt32Bits));
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
    public void Conv2dBackwardWeight_WinogradStride2Forced_SameBitsAsImplicitGemm()
    {
        // The variant has no backward-weight of its own: forcing it must run the implicit GEMM's.
        var g = new Conv2dGeometry(3, 20, 15, 18, 33, 3, 3, 2, 2, 1, 1, 1, 1);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 7);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 9);
        float[][] results = new float[2][];
        string[] variants = [Conv2d.WinogradStride2VariantName, Conv2d.ImplicitVariantName];
        try
        {
            for (int v = 0; v < 2; v++)
            {
                Conv2d.VariantOverride = variants[v];
                results[v] = new float[g.WeightLength];
                Conv2d.BackwardWeight(dy, x, g, results[v], new float[g.OutChannels]);
            }
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        Assert.Equal(results[1].Select(BitConverter.SingleToInt32Bits), results[0].Select(BitConverter.SingleToInt32Bits));
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
    /// γ_n·M per forward output, the rounding bound of the kernel. Every output is a sum over paths (channel c, ξ = (i, j),
    /// i, j in 0..8) of A′ᵀ[r,i]A′ᵀ[s,j]·(G′ g_c G′ᵀ)[ξ]·(B′ᵀ d_c B′)[ξ]; along a path at most n = C + 15 roundings
    /// happen (weight transform 1, rounded once from double, + 1 for its double reciprocals; input transform 2 per
    /// dimension; the channel sum C, one FMA each; output transform 4 per dimension; bias 1), and the factorisations used
    /// never create larger coefficients than the matrices' own, so by Higham's path argument |ŷ − y| ≤ γ_n·M with
    /// M = Σ_c |A′ᵀ|((|G′||g_c||G′ᵀ|) ⊙ (|B′ᵀ||d_c||B′|))|A′| + |b| and γ_n = n·u / (1 − n·u).
    /// </summary>
    private static double[] PolyphaseBound(double[] x, double[] w, double[] bias, in Conv2dGeometry g) =>
        PathBound(x, w, bias, g.Batch, g.InChannels, g.Height, g.Width, g.OutChannels, g.OutHeight, g.OutWidth,
            s_bt, s_at, tileIn: 8, offsetY: -g.PadTop, offsetX: -g.PadLeft, tileOut: 4, outY: 0, outX: 0, roundings: g.InChannels + 15);

    /// <summary>
    /// The same bound for backward-data, run as the kernel runs it: dy (C_out channels) in, dx out, the kernel w flipped
    /// with its channels swapped, 5×5 dy patches at (4·ty − 1, 4·tx − 1) and 8×8 dx tiles at (8·ty − p_t, 8·tx − p_l).
    /// Roundings on a path: weights 2, input transform 2 per dimension, the sum over C_out, output transform (Aᵀ of
    /// F(4, 2) only, the odd points pass unchanged) 3 per dimension: n = C_out + 12.
    /// </summary>
    private static double[] PolyphaseBackwardBound(double[] dy, double[] w, in Conv2dGeometry g)
    {
        var flipped = new double[w.Length];
        for (int o = 0; o < g.OutChannels; o++)
        {
            for (int c = 0; c < g.InChannels; c++)
            {
                for (int t = 0; t < 9; t++)
                {
                    flipped[(((c * g.OutChannels) + o) * 9) + 8 - t] = w[(((o * g.InChannels) + c) * 9) + t];
                }
            }
        }

        return PathBound(dy, flipped, [], g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.Height, g.Width,
            s_btBackward, s_atBackward, tileIn: 4, offsetY: -1, offsetX: -1, tileOut: 8, outY: -g.PadTop, outX: -g.PadLeft,
            roundings: g.OutChannels + 12);
    }

    /// <summary>
    /// γ_n·(Σ_c |Aᵀ|((|G′||g_c||G′ᵀ|) ⊙ (|Bᵀ||d_c||B|))|A| + |b|) for a tiled 9-point algorithm: input patches of
    /// bt's width at (tileIn·ty + offsetY, tileIn·tx + offsetX), output tiles of at's height at
    /// (tileOut·ty + outY, tileOut·tx + outX); kernels w[k][c][3][3].
    /// </summary>
    private static double[] PathBound(double[] x, double[] w, double[] bias, int batch, int c, int h, int wd, int k, int oh, int ow,
        double[,] bt, double[,] at, int tileIn, int offsetY, int offsetX, int tileOut, int outY, int outX, int roundings)
    {
        int patch = bt.GetLength(1), rows = at.GetLength(0);
        int th = (oh - outY + tileOut - 1) / tileOut, tw = (ow - outX + tileOut - 1) / tileOut;
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

        double t = roundings * GemmConv2dNumerics.Unit, gamma = t / (1 - t);
        var bound = new double[(long)batch * k * oh * ow];
        var v = new double[c * 81];
        var m = new double[81];
        for (int n = 0; n < batch; n++)
        {
            for (int ty = 0; ty < th; ty++)
            {
                for (int tx = 0; tx < tw; tx++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int i = 0; i < 9; i++)
                        {
                            for (int j = 0; j < 9; j++)
                            {
                                double sum = 0;
                                for (int p = 0; p < patch; p++)
                                {
                                    int iy = (tileIn * ty) + offsetY + p;
                                    if ((uint)iy >= (uint)h || bt[i, p] == 0)
                                    {
                                        continue;
                                    }

                                    for (int q = 0; q < patch; q++)
                                    {
                                        int ix = (tileIn * tx) + offsetX + q;
                                        if ((uint)ix < (uint)wd)
                                        {
                                            sum += Math.Abs(bt[i, p] * bt[j, q]) * Math.Abs(x[((((n * c) + ch) * h) + iy) * wd + ix]);
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

                        for (int r = 0; r < rows; r++)
                        {
                            int y = (tileOut * ty) + outY + r;
                            for (int s = 0; s < rows; s++)
                            {
                                int xo = (tileOut * tx) + outX + s;
                                if ((uint)y >= (uint)oh || (uint)xo >= (uint)ow)
                                {
                                    continue;
                                }

                                double sum = 0;
                                for (int e = 0; e < 81; e++)
                                {
                                    sum += Math.Abs(at[r, e / 9] * at[s, e % 9]) * m[e];
                                }

                                double b = bias.Length == 0 ? 0 : Math.Abs(bias[o]);
                                bound[((((n * k) + o) * oh) + y) * ow + xo] = gamma * (sum + b);
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

    private static double[,] BuildBtBackward()
    {
        double[,] bt = { { 2, -1, -2, 1, 0 }, { 0, -2, -1, 1, 0 }, { 0, 2, -3, 1, 0 }, { 0, -1, 0, 1, 0 }, { 0, 2, -1, -2, 1 } };
        var full = new double[9, 5];
        for (int i = 0; i < 5; i++)
        {
            for (int p = 0; p < 5; p++)
            {
                full[i, p] = bt[i, p];
            }
        }

        for (int k = 0; k < 4; k++)
        {
            full[5 + k, k + 1] = 1;
        }

        return full;
    }

    private static double[,] BuildAtBackward()
    {
        double[,] at = { { 1, 1, 1, 1, 0 }, { 0, 1, -1, 2, 0 }, { 0, 1, 1, 4, 0 }, { 0, 1, -1, 8, 1 } };
        var full = new double[8, 9];
        for (int i = 0; i < 4; i++)
        {
            for (int e = 0; e < 5; e++)
            {
                full[2 * i, e] = at[i, e];
            }

            full[(2 * i) + 1, 5 + i] = 1;
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
