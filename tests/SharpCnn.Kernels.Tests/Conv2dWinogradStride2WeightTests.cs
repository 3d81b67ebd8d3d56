using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The polyphase Winograd backward-weight of 3×3 stride-2 layers (<see cref="Conv2d.WinogradStride2WeightVariantName"/>)
/// forced at ragged sizes against the double reference under a componentwise bound derived for it, exact on
/// small-integer data, bitwise identical for 1, 2 and 3 threads, and its place in the selection.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dWinogradStride2WeightTests(ITestOutputHelper output)
{
    // Per axis, as in the kernel: B′ᵀ (9×9) is F(4, 2)'s Bᵀ on the even patch samples d0, d2, .., d8 (points 0..4) and
    // the odd samples d1, d3, d5, d7 unchanged (points 5..8); A′ (9×4) maps a 4-output dy row to the 9 points (F(4, 2)'s
    // A = (Aᵀ)ᵀ, then the identity); G′ᵀ (3×9) maps the 9 points back to the taps w0, w1, w2.
    private static readonly double[,] s_bt = BuildBt();

    private static readonly double[,] s_a =
    {
        { 1, 0, 0, 0 }, { 1, 1, 1, 1 }, { 1, -1, 1, -1 }, { 1, 2, 4, 8 }, { 0, 0, 0, 1 },
        { 1, 0, 0, 0 }, { 0, 1, 0, 0 }, { 0, 0, 1, 0 }, { 0, 0, 0, 1 },
    };

    private static readonly double[,] s_gt =
    {
        { 0.5, -0.5, -1.0 / 6, 1.0 / 6, 0, 0, 0, 0, 0 },
        { 0, 0, 0, 0, 0, 1, 1, 1, 1 },
        { 0, -0.5, 1.0 / 6, 1.0 / 3, 1, 0, 0, 0, 0 },
    };

    /// <summary>
    /// Odd and unequal maps (partial tiles at the right and bottom), padding 0, 1, 2 and asymmetric, channels off
    /// multiples of 8 and 16, batch 1 to 4, width 1, rows wider than 8 tiles (runs cut at the vector), several tile
    /// blocks of whole short rows, blocks of 8k tiles cutting wide rows mid-run, and enough channels for several
    /// output-channel groups (the accumulator cap).
    /// </summary>
    private static readonly Dictionary<string, Conv2dGeometry> s_shapes = new()
    {
        ["15x13Pad1Batch3"] = new(3, 24, 15, 13, 20, 3, 3, 2, 2, 1, 1, 1, 1),
        ["17x12Pad0Batch2"] = new(2, 9, 17, 12, 13, 3, 3, 2, 2),
        ["10x9Pad2Batch2"] = new(2, 7, 10, 9, 11, 3, 3, 2, 2, 2, 2, 2, 2),
        ["9x12AsymmetricBatch3"] = new(3, 5, 9, 12, 9, 3, 3, 2, 2, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 2),
        ["Batch1Wide131"] = new(1, 17, 6, 131, 33, 3, 3, 2, 2, 1, 1, 1, 1),
        ["Width1Batch4"] = new(4, 3, 9, 1, 5, 3, 3, 2, 2, 1, 1, 1, 1),
        ["ManyTilesSeveralBlocks"] = new(4, 150, 45, 41, 120, 3, 3, 2, 2, 1, 1, 1, 1),
        ["SeveralOutputGroups"] = new(2, 300, 10, 11, 260, 3, 3, 2, 2, 1, 1, 1, 1),
        ["WideRowsBlocksCutMidRow"] = new(2, 60, 20, 140, 70, 3, 3, 2, 2, 1, 1, 1, 1),
    };

    public static TheoryData<string> Shapes() => [.. s_shapes.Keys];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Conv2dBackwardWeight_Stride2WinogradForced_WithinDerivedBound(string name)
    {
        Conv2dGeometry g = s_shapes[name];
        if (!Conv2dWinogradStride2Weight.Supports(g))
        {
            return; // needs AVX-512; the selection test covers the fallback
        }

        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 61);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 62);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 63); // garbage: must be overwritten
        var db = new float[g.OutChannels];
        Run(Conv2d.WinogradStride2WeightVariantName, dy, x, g, dw, db);

        WinogradTileBound.AssertBackwardWeightWithinBound(name, g, x, dy, dw, db, Bound, output);
    }

    /// <summary>
    /// x ∈ {−1, 0, 1} and dy ∈ {−2, …, 2}: every transformed value, product and partial sum of M is an integer far below
    /// 2²⁴, and the back transform (in double, rounded once) gives the integer dw, so the kernel must reproduce the
    /// reference exactly (any index or sign slip shows).
    /// </summary>
    [Fact]
    public void Conv2dBackwardWeight_Stride2WinogradSmallIntegers_Exact()
    {
        Conv2dGeometry g = new(3, 21, 23, 28, 18, 3, 3, 2, 2, PadTop: 1, PadLeft: 2, PadBottom: 2, PadRight: 0);
        if (!Conv2dWinogradStride2Weight.Supports(g))
        {
            return;
        }

        var rng = new Random(7);
        float[] x = Enumerable.Range(0, (int)g.InputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        float[] dy = Enumerable.Range(0, (int)g.OutputLength).Select(_ => (float)rng.Next(-2, 3)).ToArray();
        var dw = new float[g.WeightLength];
        Run(Conv2d.WinogradStride2WeightVariantName, dy, x, g, dw, []);
        var edw = new double[g.WeightLength];
        Conv2dReference.BackwardWeight<double>(GemmConv2dNumerics.ToDouble(dy), GemmConv2dNumerics.ToDouble(x), g, edw, new double[g.OutChannels]);
        for (int i = 0; i < edw.Length; i++)
        {
            Assert.True(edw[i] == dw[i], $"dw[{i}] is {dw[i]} but the exact value is {edw[i]}.");
        }
    }

    /// <summary>
    /// The tile-block partitions (each summed into its own accumulator, the accumulators added in order) depend on the
    /// geometry alone: 1, 2 and 3 threads, which take the partitions in different shares, must give the same bits.
    /// </summary>
    [Fact]
    public void Conv2dBackwardWeight_Stride2WinogradOneTwoThreeThreads_BitwiseIdentical()
    {
        Conv2dGeometry[] shapes =
        [
            s_shapes["ManyTilesSeveralBlocks"],
            s_shapes["SeveralOutputGroups"],
            s_shapes["Batch1Wide131"],
            s_shapes["WideRowsBlocksCutMidRow"],
            new(3, 40, 28, 28, 72, 3, 3, 2, 2, 1, 1, 1, 1),

            // 33 blocks of 16 tiles (the last one half full) in 8 partitions of 4 or 5 blocks: 3 threads take 3, 3 and 2.
            new(22, 100, 20, 60, 64, 3, 3, 2, 2, 1, 1, 1, 1),
        ];
        int saved = KernelParallel.MaxThreads;
        try
        {
            foreach (Conv2dGeometry g in shapes)
            {
                float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 2);
                float[]? expected = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    var dw = new float[g.WeightLength];
                    Run(Conv2d.WinogradStride2WeightVariantName, dy, x, g, dw, []);
                    expected ??= dw;
                    for (int i = 0; i < dw.Length; i++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(dw[i]),
                            $"{g}: dw[{i}] with {threads} threads is {dw[i]}, with 1 thread {expected[i]}.");
                    }
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void Conv2dBackwardWeight_ForcedStride2WinogradOnOtherGeometry_FallsBackAndMatchesReference()
    {
        // Stride 1, 5×5 stride 2 and a dilated layer are not this decomposition: the default backward-weight runs.
        Conv2dGeometry[] shapes =
        [
            new(2, 6, 9, 8, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(2, 6, 11, 10, 7, 5, 5, 2, 2, 2, 2, 2, 2),
            new(2, 6, 11, 10, 7, 3, 3, 2, 2, 2, 2, 2, 2, DilationH: 2, DilationW: 2),
        ];
        foreach (Conv2dGeometry g in shapes)
        {
            Assert.False(Conv2dWinogradStride2Weight.Supports(g));
            float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 3), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
            var dw = new float[g.WeightLength];
            var db = new float[g.OutChannels];
            Run(Conv2d.WinogradStride2WeightVariantName, dy, x, g, dw, db);
            var edw = new double[g.WeightLength];
            var edb = new double[g.OutChannels];
            var mdw = new double[g.WeightLength];
            var mdb = new double[g.OutChannels];
            double[] xd = GemmConv2dNumerics.ToDouble(x), dyd = GemmConv2dNumerics.ToDouble(dy);
            Conv2dReference.BackwardWeight<double>(dyd, xd, g, edw, edb);
            Conv2dReference.BackwardWeight<double>(GemmConv2dNumerics.Abs(dyd), GemmConv2dNumerics.Abs(xd), g, mdw, mdb);
            long terms = (long)g.Batch * g.OutHeight * g.OutWidth;
            GemmConv2dNumerics.AssertClose(dw, edw, mdw, terms, $"{g} backward-weight");
            GemmConv2dNumerics.AssertClose(db, edb, mdb, terms, $"{g} bias-grad");
        }
    }

    [Fact]
    public void Conv2dBackwardWeight_Stride2WinogradForced_OtherPassesKeepDefaultSelection()
    {
        var g = new Conv2dGeometry(32, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1);
        try
        {
            Conv2d.VariantOverride = null;
            string expected = Conv2d.SelectedVariant(g);
            Conv2d.VariantOverride = Conv2d.WinogradStride2WeightVariantName;
            Assert.Equal(expected, Conv2d.SelectedVariant(g));
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }

    [Fact]
    public void Conv2dWinogradStride2Weight_Prefers_MeasuredShapes()
    {
        Conv2dGeometry downsample = new(32, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1);
        Conv2dGeometry layer3 = new(16, 128, 28, 28, 256, 3, 3, 2, 2, 1, 1, 1, 1);
        Conv2dGeometry layer4 = new(16, 256, 14, 14, 512, 3, 3, 2, 2, 1, 1, 1, 1);
        if (!Conv2dWinogradStride2Weight.Supports(downsample))
        {
            Assert.False(Conv2dWinogradStride2Weight.Prefers(downsample));
            return;
        }

        Assert.True(Conv2dWinogradStride2Weight.Prefers(downsample));
        Assert.True(Conv2dWinogradStride2Weight.Prefers(downsample with { Batch = 16 })); // ResNet-18 layer2.0.conv1 at batch 16
        Assert.True(Conv2dWinogradStride2Weight.Prefers(downsample with { Batch = 4 }));
        Assert.True(Conv2dWinogradStride2Weight.Prefers(downsample with { Height = 28, Width = 28 })); // 14×14 outputs
        Assert.True(Conv2dWinogradStride2Weight.Prefers(downsample with { InChannels = 32, OutChannels = 64 }));
        Assert.False(Conv2dWinogradStride2Weight.Prefers(downsample with { Batch = 1 })); // batch 1: slower
        Assert.False(Conv2dWinogradStride2Weight.Prefers(downsample with { Batch = 2 })); // about even
        Assert.False(Conv2dWinogradStride2Weight.Prefers(downsample with { Height = 14, Width = 14 })); // 7×7 outputs: even
        Assert.False(Conv2dWinogradStride2Weight.Prefers(layer3)); // two accumulator groups
        Assert.False(Conv2dWinogradStride2Weight.Prefers(layer4));
        Assert.False(Conv2dWinogradStride2Weight.Prefers(downsample with { StrideH = 1, StrideW = 1 }));
        Assert.False(Conv2dWinogradStride2Weight.Prefers(downsample with { InChannels = 3 }));
    }

    private static void Run(string variant, float[] dy, float[] x, in Conv2dGeometry g, float[] dw, float[] db)
    {
        try
        {
            Conv2d.VariantOverride = variant;
            Conv2d.BackwardWeight(dy, x, g, dw, db);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }

    private static double[,] BuildBt()
    {
        double[,] f42 = { { 2, -1, -2, 1, 0 }, { 0, -2, -1, 1, 0 }, { 0, 2, -3, 1, 0 }, { 0, -1, 0, 1, 0 }, { 0, 2, -1, -2, 1 } };
        var bt = new double[9, 9];
        for (int i = 0; i < 5; i++)
        {
            for (int j = 0; j < 5; j++)
            {
                bt[i, 2 * j] = f42[i, j];
            }
        }

        for (int i = 0; i < 4; i++)
        {
            bt[5 + i, (2 * i) + 1] = 1;
        }

        return bt;
    }

    /// <summary>
    /// Componentwise bound. dw[o, c, a, b] = Σ_tiles Σ_ij G′ᵀ[a, i]·G′ᵀ[b, j]·(A′ dy A′ᵀ)_ij·(B′ᵀ d B′)_ij, and along any
    /// path (tile, ij) at most n = 32·(T + 8) + 10 roundings happen, T = N·⌈OH/4⌉·⌈OW/4⌉: the input transform 4 (two per
    /// axis), the dy transform 4 (two per axis), the GEMM at most 2·16·(T + 8) (the odd-phase points are summed inside
    /// the GEMMs, up to 16 per tile: a fused multiply-add chain over at most 16·(T + 8) products, the last block padded
    /// to 8 tiles, then at most one addition into M per k slice and block), and the back transform 2: it runs in double
    /// (36·dw with integer coefficients, then one division by 36: its own error is below 2⁻²⁵ of a float unit, counted
    /// as one) and rounds once to float. The factorisations create no coefficient larger than the matrices' own, so by
    /// Higham's path argument (Accuracy and Stability of Numerical Algorithms, §3.1) |ŵ − w| ≤ γ_n·Σ_tiles Σ_ij
    /// |G′ᵀ[a, i]||G′ᵀ[b, j]|(|A′||dy||A′ᵀ|)_ij(|B′ᵀ||d||B′|)_ij with γ_n = n·u / (1 − n·u).
    /// </summary>
    private static double[] Bound(double[] dy, double[] x, in Conv2dGeometry g)
    {
        int c = g.InChannels, k = g.OutChannels, oh = g.OutHeight, ow = g.OutWidth, th = (oh + 3) / 4, tw = (ow + 3) / 4;
        long tiles = (long)g.Batch * th * tw;
        double t = ((32 * (tiles + 8)) + 10) * GemmConv2dNumerics.Unit, gamma = t / (1 - t);
        var m = new double[k * c * 81];
        var v = new double[c * 81];
        var u = new double[k * 81];
        var patch = new double[81];
        var half = new double[81];
        for (int n = 0; n < g.Batch; n++)
        {
            for (int ty = 0; ty < th; ty++)
            {
                for (int tx = 0; tx < tw; tx++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int p = 0; p < 9; p++)
                        {
                            for (int q = 0; q < 9; q++)
                            {
                                int iy = (8 * ty) - g.PadTop + p, ix = (8 * tx) - g.PadLeft + q;
                                patch[(p * 9) + q] = (uint)iy < (uint)g.Height && (uint)ix < (uint)g.Width
                                    ? Math.Abs(x[((((n * c) + ch) * g.Height) + iy) * g.Width + ix]) : 0;
                            }
                        }

                        Transform(patch, s_bt, 9, half, v.AsSpan(ch * 81, 81));
                    }

                    for (int o = 0; o < k; o++)
                    {
                        Array.Clear(patch);
                        for (int r = 0; r < 4 && (4 * ty) + r < oh; r++)
                        {
                            for (int s = 0; s < 4 && (4 * tx) + s < ow; s++)
                            {
                                patch[(r * 9) + s] = Math.Abs(dy[((((n * k) + o) * oh) + (4 * ty) + r) * ow + (4 * tx) + s]);
                            }
                        }

                        Transform(patch, s_a, 4, half, u.AsSpan(o * 81, 81));
                    }

                    for (int o = 0; o < k; o++)
                    {
                        for (int ch = 0; ch < c; ch++)
                        {
                            int mo = ((o * c) + ch) * 81;
                            for (int e = 0; e < 81; e++)
                            {
                                m[mo + e] += u[(o * 81) + e] * v[(ch * 81) + e];
                            }
                        }
                    }
                }
            }
        }

        var bound = new double[g.WeightLength];
        for (int oc = 0; oc < k * c; oc++)
        {
            for (int a = 0; a < 3; a++)
            {
                for (int b = 0; b < 3; b++)
                {
                    double sum = 0;
                    for (int e = 0; e < 81; e++)
                    {
                        sum += Math.Abs(s_gt[a, e / 9] * s_gt[b, e % 9]) * m[(oc * 81) + e];
                    }

                    bound[(oc * 9) + (a * 3) + b] = gamma * sum;
                }
            }
        }

        return bound;
    }

    /// <summary>dst (9×9) = |T|·src·|T|ᵀ for a 9×<paramref name="cols"/> matrix T, src the top-left cols×cols of a 9×9 array.</summary>
    private static void Transform(double[] src, double[,] matrix, int cols, double[] tmp, Span<double> dst)
    {
        for (int i = 0; i < 9; i++)
        {
            for (int q = 0; q < cols; q++)
            {
                double sum = 0;
                for (int p = 0; p < cols; p++)
                {
                    sum += Math.Abs(matrix[i, p]) * src[(p * 9) + q];
                }

                tmp[(i * 9) + q] = sum;
            }
        }

        for (int i = 0; i < 9; i++)
        {
            for (int j = 0; j < 9; j++)
            {
                double sum = 0;
                for (int q = 0; q < cols; q++)
                {
                    sum += tmp[(i * 9) + q] * Math.Abs(matrix[j, q]);
                }

                dst[(i * 9) + j] = sum;
            }
        }
    }
}
