using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The Winograd F(2×2, 3×3) backward-weight (<see cref="Conv2d.WinogradWeightVariantName"/>) forced at ragged sizes
/// against the double reference under a componentwise bound derived for it, exact on small-integer data, bitwise
/// identical for 1, 2 and 3 threads, and its place in the selection.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dWinogradWeightTests(ITestOutputHelper output)
{
    // Bᵀ, Aᵀ and Gᵀ of F(2×2, 3×3), as in the kernel.
    private static readonly double[,] s_bt = { { 1, 0, -1, 0 }, { 0, 1, 1, 0 }, { 0, -1, 1, 0 }, { 0, 1, 0, -1 } };
    private static readonly double[,] s_at = { { 1, 1, 1, 0 }, { 0, 1, -1, -1 } };
    private static readonly double[,] s_gt = { { 1, 0.5, 0.5, 0 }, { 0, 0.5, -0.5, 0 }, { 0, 0.5, 0.5, 1 } };

    /// <summary>
    /// Odd maps and H ≠ W (partial tiles at the right and bottom), padding 0, 1, 2 and asymmetric, channels off multiples
    /// of 8, 16 and 32, batch 1 to 9, width 1, a map wider than 16 tiles (runs cut at the vector), several tile blocks,
    /// narrow maps (≤ 7 tiles per row: runs spanning two tile rows, images and block ends cutting them), enough
    /// channels for two output-channel groups (the accumulator cap), one block (the split-per-block path), 2 partitions
    /// (ManyTilesSeveralBlocks, NarrowMapBlocksCutMidRow) and 8 (EightPartitionsOddMap: 17 blocks of 2–3 per partition).
    /// </summary>
    private static readonly Dictionary<string, Conv2dGeometry> s_shapes = new()
    {
        ["7x7Pad1Batch3"] = new(3, 24, 7, 7, 20, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["13x11Pad0Batch2"] = new(2, 9, 13, 11, 13, 3, 3),
        ["10x9Pad2Batch2"] = new(2, 7, 10, 9, 11, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["9x12AsymmetricBatch3"] = new(3, 5, 9, 12, 9, 3, 3, PadTop: 2, PadLeft: 0, PadBottom: 1, PadRight: 2),
        ["Batch1Wide45"] = new(1, 17, 6, 45, 33, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Width1Batch4"] = new(4, 3, 9, 1, 5, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["ManyTilesSeveralBlocks"] = new(4, 150, 23, 21, 120, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["NarrowMapBlocksCutMidRow"] = new(3, 200, 14, 13, 120, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["TwoOutputGroups"] = new(2, 300, 5, 6, 260, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["EightPartitionsOddMap"] = new(32, 9, 55, 53, 13, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
    };

    public static TheoryData<string> Shapes() => [.. s_shapes.Keys];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Conv2dBackwardWeight_WinogradForced_WithinDerivedBound(string name)
    {
        if (!Conv2dWinograd.Supports(s_shapes[name]))
        {
            return; // needs AVX-512; the selection test covers the fallback
        }

        Conv2dGeometry g = s_shapes[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 51);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 52);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 53); // garbage: must be overwritten
        var db = new float[g.OutChannels];
        Run(Conv2d.WinogradWeightVariantName, dy, x, g, dw, db);

        WinogradTileBound.AssertBackwardWeightWithinBound(name, g, x, dy, dw, db, Bound, output);
    }

    /// <summary>
    /// x ∈ {−1, 0, 1} and dy ∈ {−2, …, 2}: every transformed value, product and partial sum is an integer or half-integer
    /// far below 2²⁴, so the kernel must reproduce the reference exactly (any index or sign slip shows).
    /// </summary>
    [Fact]
    public void Conv2dBackwardWeight_WinogradSmallIntegers_Exact()
    {
        Conv2dGeometry g = new(3, 21, 11, 14, 18, 3, 3, PadTop: 1, PadLeft: 2, PadBottom: 2, PadRight: 0);
        if (!Conv2dWinograd.Supports(g))
        {
            return;
        }

        var rng = new Random(7);
        float[] x = Enumerable.Range(0, (int)g.InputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        float[] dy = Enumerable.Range(0, (int)g.OutputLength).Select(_ => (float)rng.Next(-2, 3)).ToArray();
        var dw = new float[g.WeightLength];
        var db = new float[g.OutChannels];
        Run(Conv2d.WinogradWeightVariantName, dy, x, g, dw, db);
        var edw = new double[g.WeightLength];
        var edb = new double[g.OutChannels];
        Conv2dReference.BackwardWeight<double>(GemmConv2dNumerics.ToDouble(dy), GemmConv2dNumerics.ToDouble(x), g, edw, edb);
        for (int i = 0; i < edw.Length; i++)
        {
            Assert.True(edw[i] == dw[i], $"dw[{i}] is {dw[i]} but the exact value is {edw[i]}.");
        }

        for (int o = 0; o < edb.Length; o++)
        {
            Assert.True(edb[o] == db[o], $"db[{o}] is {db[o]} but the exact value is {edb[o]}.");
        }
    }

    [Fact]
    public void Conv2dBackwardWeight_WinogradOneTwoThreeThreads_BitwiseIdentical()
    {
        Conv2dGeometry[] shapes =
        [
            s_shapes["ManyTilesSeveralBlocks"],
            s_shapes["TwoOutputGroups"],
            s_shapes["NarrowMapBlocksCutMidRow"],
            s_shapes["EightPartitionsOddMap"],
            new(5, 33, 14, 14, 40, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ];
        int saved = KernelParallel.MaxThreads;
        try
        {
            foreach (Conv2dGeometry g in shapes)
            {
                float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 2);
                float[]? expected = null, expectedBias = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    var dw = new float[g.WeightLength];
                    var db = new float[g.OutChannels];
                    Run(Conv2d.WinogradWeightVariantName, dy, x, g, dw, db);
                    expected ??= dw;
                    expectedBias ??= db;
                    for (int i = 0; i < dw.Length; i++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(dw[i]),
                            $"{g}: dw[{i}] with {threads} threads is {dw[i]}, with 1 thread {expected[i]}.");
                    }

                    for (int o = 0; o < db.Length; o++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(expectedBias[o]) == BitConverter.SingleToInt32Bits(db[o]),
                            $"{g}: db[{o}] with {threads} threads is {db[o]}, with 1 thread {expectedBias[o]}.");
                    }

                    // Without a bias gradient the weights are the same bits.
                    var dwOnly = new float[g.WeightLength];
                    Run(Conv2d.WinogradWeightVariantName, dy, x, g, dwOnly, []);
                    Assert.True(dwOnly.AsSpan().SequenceEqual(dw), $"{g}: dw without the bias gradient differs with {threads} threads.");
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void Conv2dWinogradWeight_Partitions_EvenBoundedAndFixedByGeometry()
    {
        for (int blocks = 1; blocks <= 40; blocks++)
        {
            foreach (int tiles in new[] { blocks * 16, blocks * 200, blocks * 1500 })
            {
                foreach (long accumulator in new[] { 16L * 13 * 9, 16L * 64 * 32, 16L * 128 * 128, 16L * 256 * 256 })
                {
                    int p = Conv2dWinogradWeight.Partitions(blocks, tiles, accumulator);
                    string at = $"blocks {blocks}, tiles {tiles}, accumulator {accumulator}: {p} partitions";
                    Assert.True(p >= 1 && p <= 8 && p <= blocks, at);
                    Assert.True(p == 1 ? blocks == 1 : p % 2 == 0, at);
                    Assert.True(p * accumulator <= 1 << 22, at);
                }
            }
        }

        // The bench's 14×14 32→64 layer at batch 64 (3136 tiles in 10 blocks) and ResNet-18's layer1 at batch 16 split
        // into several partitions, so a helper that starts late does not leave half of the pass to one core.
        Assert.Equal(4, Conv2dWinogradWeight.Partitions(10, 3136, 16L * 64 * 32));
        Assert.Equal(8, Conv2dWinogradWeight.Partitions(49, 12544, 16L * 64 * 64));
    }

    [Fact]
    public void Conv2dBackwardWeight_ForcedWinogradOnOtherGeometry_FallsBackAndMatchesReference()
    {
        // 5×5 and stride 2 are not F(2×2, 3×3): the default backward-weight runs and must still be right.
        Conv2dGeometry[] shapes =
        [
            new(2, 6, 9, 8, 7, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
            new(2, 6, 9, 8, 7, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ];
        foreach (Conv2dGeometry g in shapes)
        {
            Assert.False(Conv2dWinogradWeight.Supports(g));
            float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 3), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
            var dw = new float[g.WeightLength];
            var db = new float[g.OutChannels];
            Run(Conv2d.WinogradWeightVariantName, dy, x, g, dw, db);
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
    public void Conv2dWinogradWeight_Prefers_MeasuredShapes()
    {
        Conv2dGeometry layer1 = new(32, 64, 56, 56, 64, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        Conv2dGeometry layer2 = new(32, 128, 28, 28, 128, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        Conv2dGeometry layer4 = new(32, 512, 7, 7, 512, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        Conv2dGeometry downsample = new(32, 64, 56, 56, 128, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        Conv2dGeometry cifarFirst = new(32, 3, 32, 32, 16, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        if (!Conv2dWinograd.Supports(layer1))
        {
            Assert.False(Conv2dWinogradWeight.Prefers(layer1));
            return;
        }

        Assert.True(Conv2dWinogradWeight.Prefers(layer1));
        Assert.True(Conv2dWinogradWeight.Prefers(layer2));
        Assert.True(Conv2dWinogradWeight.Prefers(layer2 with { Batch = 1, Height = 14, Width = 14, InChannels = 256, OutChannels = 256 }));
        Assert.True(Conv2dWinogradWeight.Prefers(layer2 with { Batch = 64, Height = 14, Width = 14, InChannels = 32, OutChannels = 64 }));
        Assert.False(Conv2dWinogradWeight.Prefers(layer4)); // 16·512·512 floats of accumulator: the blocked direct kernel keeps it
        Assert.False(Conv2dWinogradWeight.Prefers(layer4 with { InChannels = 256, OutChannels = 256 })); // 7×7: blocked is faster
        Assert.False(Conv2dWinogradWeight.Prefers(downsample)); // stride 2
        Assert.False(Conv2dWinogradWeight.Prefers(cifarFirst)); // 3 input channels
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

    /// <summary>
    /// Componentwise bound. dw[o, c, a, b] = Σ_tiles Σ_ij Gᵀ[a, i]·Gᵀ[b, j]·(A dy Aᵀ)_ij·(Bᵀ d B)_ij, and along any path
    /// (tile, ij) at most n = 2·T + 8 roundings happen, T = N·⌈OH/2⌉·⌈OW/2⌉: the input transform 2 (one per dimension),
    /// the dy transform 2, the GEMM over the tiles at most T + S (its fused multiply-add chain within a k slice, then one
    /// addition into M per slice, S ≤ T slices in all), and the back transform 4 (2 per dimension; the halvings are
    /// exact). The factorisations used (t0 = m0 + ½(m1 + m2), …) create no coefficient larger than the matrices' own, so
    /// by Higham's path argument (Accuracy and Stability of Numerical Algorithms, §3.1) |ŵ − w| ≤ γ_n·Σ_tiles Σ_ij
    /// |Gᵀ[a, i]||Gᵀ[b, j]|(|A||dy||Aᵀ|)_ij(|Bᵀ||d||B|)_ij with γ_n = n·u / (1 − n·u).
    /// </summary>
    private static double[] Bound(double[] dy, double[] x, in Conv2dGeometry g)
    {
        int c = g.InChannels, k = g.OutChannels, oh = g.OutHeight, ow = g.OutWidth, th = (oh + 1) / 2, tw = (ow + 1) / 2;
        long tiles = (long)g.Batch * th * tw;
        double t = ((2 * tiles) + 8) * GemmConv2dNumerics.Unit, gamma = t / (1 - t);
        var m = new double[k * c * 16];
        var v = new double[c * 16];
        var u = new double[k * 16];
        for (int n = 0; n < g.Batch; n++)
        {
            for (int ty = 0; ty < th; ty++)
            {
                for (int tx = 0; tx < tw; tx++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int e = 0; e < 16; e++)
                        {
                            double sum = 0;
                            for (int p = 0; p < 4; p++)
                            {
                                int iy = (2 * ty) - g.PadTop + p;
                                for (int q = 0; q < 4; q++)
                                {
                                    int ix = (2 * tx) - g.PadLeft + q;
                                    if ((uint)iy < (uint)g.Height && (uint)ix < (uint)g.Width)
                                    {
                                        sum += Math.Abs(s_bt[e / 4, p] * s_bt[e % 4, q]) * Math.Abs(x[((((n * c) + ch) * g.Height) + iy) * g.Width + ix]);
                                    }
                                }
                            }

                            v[(ch * 16) + e] = sum;
                        }
                    }

                    for (int o = 0; o < k; o++)
                    {
                        for (int e = 0; e < 16; e++)
                        {
                            double sum = 0;
                            for (int r = 0; r < 2 && (2 * ty) + r < oh; r++)
                            {
                                for (int s = 0; s < 2 && (2 * tx) + s < ow; s++)
                                {
                                    sum += Math.Abs(s_at[r, e / 4] * s_at[s, e % 4]) * Math.Abs(dy[((((n * k) + o) * oh) + (2 * ty) + r) * ow + (2 * tx) + s]);
                                }
                            }

                            u[(o * 16) + e] = sum;
                        }
                    }

                    for (int o = 0; o < k; o++)
                    {
                        for (int ch = 0; ch < c; ch++)
                        {
                            for (int e = 0; e < 16; e++)
                            {
                                m[(((o * c) + ch) * 16) + e] += u[(o * 16) + e] * v[(ch * 16) + e];
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
                    for (int e = 0; e < 16; e++)
                    {
                        sum += Math.Abs(s_gt[a, e / 4] * s_gt[b, e % 4]) * m[(oc * 16) + e];
                    }

                    bound[(oc * 9) + (a * 3) + b] = gamma * sum;
                }
            }
        }

        return bound;
    }
}
