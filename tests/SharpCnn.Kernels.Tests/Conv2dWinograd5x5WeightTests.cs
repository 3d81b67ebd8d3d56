using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The Winograd F(2×2, 5×5) backward-weight (<see cref="Conv2d.Winograd5x5WeightVariantName"/>) forced at ragged sizes
/// against the double reference under a componentwise bound derived for it, exact on small-integer data, bitwise
/// identical for 1, 2 and 3 threads, and its place in the selection.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dWinograd5x5WeightTests(ITestOutputHelper output)
{
    // As in the kernel: Bᵀ (6×6) of F(4×4, 3×3), A (6×2) = (Aᵀ)ᵀ with Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1], and G (6×5).
    private static readonly double[,] s_bt =
    {
        { 4, 0, -5, 0, 1, 0 }, { 0, -4, -4, 1, 1, 0 }, { 0, 4, -4, -1, 1, 0 },
        { 0, -2, -1, 2, 1, 0 }, { 0, 2, -1, -2, 1, 0 }, { 0, 4, 0, -5, 0, 1 },
    };

    private static readonly double[,] s_a = { { 1, 0 }, { 1, 1 }, { 1, -1 }, { 1, 2 }, { 1, -2 }, { 0, 1 } };

    private static readonly double[,] s_g =
    {
        { 0.25, 0, 0, 0, 0 },
        { -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6 },
        { -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6 },
        { 1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 3, 2.0 / 3 },
        { 1.0 / 24, -1.0 / 12, 1.0 / 6, -1.0 / 3, 2.0 / 3 },
        { 0, 0, 0, 0, 1 },
    };

    /// <summary>
    /// MNIST's conv2 at a ragged batch, odd and unequal maps (partial tiles at the right and bottom), padding 0, 2, 4 and
    /// asymmetric, channels off multiples of 8 and 16, batch 1 to 6, width 1, rows wider than 8 tiles (runs cut at the
    /// vector), several tile blocks in several partitions, and enough channels for two output-channel groups (the
    /// accumulator cap).
    /// </summary>
    private static readonly Dictionary<string, Conv2dGeometry> s_shapes = new()
    {
        ["Mnist14x14Pad2Batch5"] = new(5, 32, 14, 14, 64, 5, 5, 1, 1, 2, 2, 2, 2),
        ["13x11Pad0Batch3"] = new(3, 9, 13, 11, 13, 5, 5),
        ["10x9Pad4Batch2"] = new(2, 7, 10, 9, 11, 5, 5, 1, 1, 4, 4, 4, 4),
        ["12x15AsymmetricBatch3"] = new(3, 5, 12, 15, 9, 5, 5, PadTop: 3, PadLeft: 0, PadBottom: 1, PadRight: 2),
        ["Batch1Wide70"] = new(1, 17, 6, 70, 33, 5, 5, 1, 1, 2, 2, 2, 2),
        ["Width1Batch4"] = new(4, 3, 9, 1, 5, 5, 5, 1, 1, 2, 2, 2, 2),
        ["ManyTilesSeveralBlocks"] = new(6, 40, 30, 30, 48, 5, 5, 1, 1, 2, 2, 2, 2),
        ["SeveralOutputGroups"] = new(2, 200, 8, 9, 160, 5, 5, 1, 1, 2, 2, 2, 2),
    };

    public static TheoryData<string> Shapes() => [.. s_shapes.Keys];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Conv2dBackwardWeight_Winograd5x5WeightForced_WithinDerivedBound(string name)
    {
        Conv2dGeometry g = s_shapes[name];
        if (!Conv2dWinograd5x5Weight.Supports(g))
        {
            return; // needs AVX-512; the selection test covers the fallback
        }

        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 71);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 72);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 73); // garbage: must be overwritten
        var db = new float[g.OutChannels];
        Run(Conv2d.Winograd5x5WeightVariantName, dy, x, g, dw, db);

        WinogradTileBound.AssertBackwardWeightWithinBound(name, g, x, dy, dw, db, Bound, output);
    }

    /// <summary>
    /// x ∈ {−1, 0, 1} and dy ∈ {−2, …, 2}: every transformed value (|V| ≤ 100, |U′| ≤ 18), product and partial sum of M is an
    /// integer far below 2²⁴, and the back transform (576·dw in double with integer coefficients, one division) gives
    /// the integer dw, so the kernel must reproduce the reference exactly (any index or sign slip shows).
    /// </summary>
    [Fact]
    public void Conv2dBackwardWeight_Winograd5x5WeightSmallIntegers_Exact()
    {
        Conv2dGeometry g = new(3, 21, 17, 19, 18, 5, 5, PadTop: 1, PadLeft: 3, PadBottom: 2, PadRight: 0);
        if (!Conv2dWinograd5x5Weight.Supports(g))
        {
            return;
        }

        var rng = new Random(7);
        float[] x = Enumerable.Range(0, (int)g.InputLength).Select(_ => (float)rng.Next(-1, 2)).ToArray();
        float[] dy = Enumerable.Range(0, (int)g.OutputLength).Select(_ => (float)rng.Next(-2, 3)).ToArray();
        var dw = new float[g.WeightLength];
        Run(Conv2d.Winograd5x5WeightVariantName, dy, x, g, dw, []);
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
    public void Conv2dBackwardWeight_Winograd5x5WeightOneTwoThreeThreads_BitwiseIdentical()
    {
        Conv2dGeometry[] shapes =
        [
            s_shapes["ManyTilesSeveralBlocks"],
            s_shapes["SeveralOutputGroups"],
            s_shapes["Batch1Wide70"],

            // MNIST's conv2 at batch 64 (the bench row): 45 blocks of 70 tiles in 8 partitions; 3 threads take 3, 3 and 2.
            new(64, 32, 14, 14, 64, 5, 5, 1, 1, 2, 2, 2, 2),
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
                    Run(Conv2d.Winograd5x5WeightVariantName, dy, x, g, dw, []);
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

    /// <summary>
    /// The bias gradient runs inside the kernel's back-transform job: it must equal <c>Conv2d.BiasGrad</c>'s (what the implicit
    /// GEMM path runs) bit for bit, for 1, 2 and 3 threads, with ragged channel blocks and two output-channel groups, and dw
    /// must not depend on whether a bias gradient was asked for.
    /// </summary>
    [Fact]
    public void Conv2dBackwardWeight_Winograd5x5WeightWithBias_BiasGradBitwiseAsBiasGradAndDwUnchanged()
    {
        Conv2dGeometry[] shapes = [s_shapes["Mnist14x14Pad2Batch5"], s_shapes["Batch1Wide70"], s_shapes["SeveralOutputGroups"], s_shapes["13x11Pad0Batch3"]];
        int saved = KernelParallel.MaxThreads;
        try
        {
            foreach (Conv2dGeometry g in shapes)
            {
                if (!Conv2dWinograd5x5Weight.Supports(g))
                {
                    return;
                }

                float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 5), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 6);
                var refDw = new float[g.WeightLength];
                var refDb = new float[g.OutChannels];
                Run(Conv2d.ImplicitVariantName, dy, x, g, refDw, refDb);
                var plainDw = new float[g.WeightLength];
                Run(Conv2d.Winograd5x5WeightVariantName, dy, x, g, plainDw, []);
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    var dw = new float[g.WeightLength];
                    float[] db = Enumerable.Repeat(float.NaN, g.OutChannels).ToArray();
                    Run(Conv2d.Winograd5x5WeightVariantName, dy, x, g, dw, db);
                    for (int o = 0; o < db.Length; o++)
                    {
                        Assert.True(BitConverter.SingleToInt32Bits(refDb[o]) == BitConverter.SingleToInt32Bits(db[o]),
                            $"{g}, {threads} threads: db[{o}] is {db[o]}, BiasGrad gives {refDb[o]}.");
                    }

                    for (int i = 0; i < dw.Length; i++)
                    {
                        Assert.True(BitConverter.SingleToInt32Bits(plainDw[i]) == BitConverter.SingleToInt32Bits(dw[i]),
                            $"{g}, {threads} threads: dw[{i}] is {dw[i]} with a bias gradient, {plainDw[i]} without.");
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
    public void Conv2dBackwardWeight_ForcedWinograd5x5WeightOnOtherGeometry_FallsBackAndMatchesReference()
    {
        // 3×3, a strided 5×5 and a dilated 5×5 layer are not this decomposition: the default backward-weight runs.
        Conv2dGeometry[] shapes =
        [
            new(2, 6, 9, 8, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
            new(2, 6, 11, 10, 7, 5, 5, 2, 2, 2, 2, 2, 2),
            new(2, 6, 13, 12, 7, 5, 5, 1, 1, 2, 2, 2, 2, DilationH: 2, DilationW: 2),
        ];
        foreach (Conv2dGeometry g in shapes)
        {
            Assert.False(Conv2dWinograd5x5Weight.Supports(g));
            float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 3), dy = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
            var dw = new float[g.WeightLength];
            var db = new float[g.OutChannels];
            Run(Conv2d.Winograd5x5WeightVariantName, dy, x, g, dw, db);
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
    public void Conv2dBackwardWeight_Winograd5x5WeightForced_OtherPassesKeepDefaultSelection()
    {
        var g = new Conv2dGeometry(64, 32, 14, 14, 64, 5, 5, 1, 1, 2, 2, 2, 2);
        try
        {
            Conv2d.VariantOverride = null;
            string expected = Conv2d.SelectedVariant(g);
            Conv2d.VariantOverride = Conv2d.Winograd5x5WeightVariantName;
            Assert.Equal(expected, Conv2d.SelectedVariant(g));
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }

    [Fact]
    public void Conv2dWinograd5x5Weight_Prefers_MeasuredShapes()
    {
        Conv2dGeometry mnistConv2 = new(64, 32, 14, 14, 64, 5, 5, 1, 1, 2, 2, 2, 2);
        if (!Conv2dWinograd5x5Weight.Supports(mnistConv2))
        {
            Assert.False(Conv2dWinograd5x5Weight.Prefers(mnistConv2));
            return;
        }

        Assert.True(Conv2dWinograd5x5Weight.Prefers(mnistConv2));
        Assert.True(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { Batch = 16 }));
        Assert.True(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { InChannels = 16, OutChannels = 32 }));
        Assert.True(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { Batch = 2 }));
        Assert.False(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { Batch = 1 })); // 196 outputs: even, left to the implicit GEMM
        Assert.False(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { InChannels = 6, OutChannels = 16 })); // LeNet's conv2: direct
        Assert.False(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { InChannels = 1, OutChannels = 32 })); // MNIST's conv1
        Assert.False(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { InChannels = 256, OutChannels = 256 })); // two groups
        Assert.False(Conv2dWinograd5x5Weight.Prefers(mnistConv2 with { KernelH = 3, KernelW = 3 }));
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
    /// Componentwise bound. dw[o, c, a, b] = Σ_tiles Σ_ij G[i, a]·G[j, b]·(A dy Aᵀ)_ij·(Bᵀ d B)_ij, and along any path
    /// (tile, ij) at most n = 2·(T + 8) + 10 roundings happen, T = N·⌈OH/2⌉·⌈OW/2⌉: the input transform 4 (two per axis),
    /// the dy transform 2 (one per axis), the GEMM at most 2·(T + 8) (a fused multiply-add chain over at most T + 8
    /// products, then at most one addition into M per k slice and block), the sum of the partitions in double and the
    /// back transform (576·dw with integer coefficients, one division; below 2⁻²⁵ of a float unit, counted as 2) and the
    /// final rounding to float. The factorisations create no coefficient larger than the matrices' own, so by Higham's
    /// path argument |ŵ − w| ≤ γ_n·Σ_tiles Σ_ij |G[i, a]||G[j, b]|(|A||dy||Aᵀ|)_ij(|Bᵀ||d||B|)_ij, γ_n = n·u / (1 − n·u).
    /// </summary>
    private static double[] Bound(double[] dy, double[] x, in Conv2dGeometry g)
    {
        int c = g.InChannels, k = g.OutChannels, oh = g.OutHeight, ow = g.OutWidth, th = (oh + 1) / 2, tw = (ow + 1) / 2;
        long tiles = (long)g.Batch * th * tw;
        double t = ((2 * (tiles + 8)) + 10) * GemmConv2dNumerics.Unit, gamma = t / (1 - t);
        var m = new double[k * c * 36];
        var v = new double[c * 36];
        var u = new double[k * 36];
        var patch = new double[36];
        var half = new double[36];
        for (int n = 0; n < g.Batch; n++)
        {
            for (int ty = 0; ty < th; ty++)
            {
                for (int tx = 0; tx < tw; tx++)
                {
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int p = 0; p < 6; p++)
                        {
                            for (int q = 0; q < 6; q++)
                            {
                                int iy = (2 * ty) - g.PadTop + p, ix = (2 * tx) - g.PadLeft + q;
                                patch[(p * 6) + q] = (uint)iy < (uint)g.Height && (uint)ix < (uint)g.Width
                                    ? Math.Abs(x[((((n * c) + ch) * g.Height) + iy) * g.Width + ix]) : 0;
                            }
                        }

                        Transform(patch, s_bt, 6, half, v.AsSpan(ch * 36, 36));
                    }

                    for (int o = 0; o < k; o++)
                    {
                        Array.Clear(patch);
                        for (int r = 0; r < 2 && (2 * ty) + r < oh; r++)
                        {
                            for (int s = 0; s < 2 && (2 * tx) + s < ow; s++)
                            {
                                patch[(r * 6) + s] = Math.Abs(dy[((((n * k) + o) * oh) + (2 * ty) + r) * ow + (2 * tx) + s]);
                            }
                        }

                        Transform(patch, s_a, 2, half, u.AsSpan(o * 36, 36));
                    }

                    for (int o = 0; o < k; o++)
                    {
                        for (int ch = 0; ch < c; ch++)
                        {
                            int mo = ((o * c) + ch) * 36;
                            for (int e = 0; e < 36; e++)
                            {
                                m[mo + e] += u[(o * 36) + e] * v[(ch * 36) + e];
                            }
                        }
                    }
                }
            }
        }

        var bound = new double[g.WeightLength];
        for (int oc = 0; oc < k * c; oc++)
        {
            for (int a = 0; a < 5; a++)
            {
                for (int b = 0; b < 5; b++)
                {
                    double sum = 0;
                    for (int e = 0; e < 36; e++)
                    {
                        sum += Math.Abs(s_g[e / 6, a] * s_g[e % 6, b]) * m[(oc * 36) + e];
                    }

                    bound[(oc * 25) + (a * 5) + b] = gamma * sum;
                }
            }
        }

        return bound;
    }

    /// <summary>dst (6×6) = |T|·src·|T|ᵀ for a 6×<paramref name="cols"/> matrix T, src the top-left cols×cols of a 6×6 array.</summary>
    private static void Transform(double[] src, double[,] matrix, int cols, double[] tmp, Span<double> dst)
    {
        for (int i = 0; i < 6; i++)
        {
            for (int q = 0; q < cols; q++)
            {
                double sum = 0;
                for (int p = 0; p < cols; p++)
                {
                    sum += Math.Abs(matrix[i, p]) * src[(p * 6) + q];
                }

                tmp[(i * 6) + q] = sum;
            }
        }

        for (int i = 0; i < 6; i++)
        {
            for (int j = 0; j < 6; j++)
            {
                double sum = 0;
                for (int q = 0; q < cols; q++)
                {
                    sum += tmp[(i * 6) + q] * Math.Abs(matrix[j, q]);
                }

                dst[(i * 6) + j] = sum;
            }
        }
    }
}
