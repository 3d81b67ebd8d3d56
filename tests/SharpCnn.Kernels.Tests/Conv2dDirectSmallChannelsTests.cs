namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The direct small-channel kernels (<c>Conv2dDirectSmallChannels</c>) beyond the shared variant table: the wide
/// first layers it now takes (1→32, 3→64), forward and backward-data rows stored straight into the output (Wp = 32),
/// every channel-block size of the backward-weight reduction (1–6 per block),
/// the bias gradient summed as an extra weight row (with and without a row block of its own), ragged batches cut
/// into chunks, and 1/2/3-thread determinism.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dDirectSmallChannelsTests
{
    private static readonly Dictionary<string, Conv2dGeometry> s_cases = new()
    {
        // MNIST's first layer as the bench runs it (1→32 5×5 pad 2), at a ragged map and batch.
        ["Mnist1to32Ragged"] = new(5, 1, 13, 11, 32, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        // 64 outputs from 3 channels: channel blocks 6,6,5,…; k = 27 rows + bias = 28, a multiple of 4.
        ["Cifar3to64"] = new(3, 3, 9, 10, 64, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        // k = 4 rows: the bias row needs a row block of its own.
        ["Kernel2x2BiasOwnBlock"] = new(4, 1, 7, 9, 7, 2, 2),
        // One to three output channels (forced): channel blocks of 1, 2 and 3.
        ["OneOutput"] = new(3, 2, 6, 7, 1, 3, 3, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1),
        ["TwoOutputs"] = new(2, 3, 5, 8, 2, 3, 2, DilationH: 2),
        ["ThreeOutputs"] = new(2, 1, 8, 6, 3, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        // og = 17 → blocks 6, 6, 5; groups; batch 9 cut into 8 uneven chunks.
        ["Groups2Seventeen"] = new(9, 4, 6, 6, 34, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 2),
        // Wp = 32: forward and backward-data store each 32-position block straight into its output row.
        ["RowStoreNarrow"] = new(3, 2, 5, 8, 5, 2, 3, PadTop: 1, PadLeft: 12, PadBottom: 0, PadRight: 12, DilationW: 12),
        ["RowStoreWide"] = new(2, 1, 6, 20, 9, 3, 13, PadTop: 1, PadLeft: 6, PadBottom: 1, PadRight: 6),
        // LeNet's conv2 at batch 13 (chunks of 1 and 2 samples).
        ["LeNetConv2Batch13"] = new(13, 6, 14, 14, 16, 5, 5),
    };

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (string name in s_cases.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void DirectKernels_WideAndRaggedShapes_MatchDoubleReference(string name)
    {
        Conv2dGeometry g = s_cases[name];
        (float[] y, float[] dx, float[] dw, float[] db) = RunDirect(g, withBias: true);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 31);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 32);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 33);
        float[] dyv = GemmConv2dNumerics.Random((int)g.OutputLength, 34);
        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b);
        var ey = new double[y.Length];
        var my = new double[y.Length];
        Conv2dReference.Forward<double>(xd, wd, bd, g, ey);
        Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bd), g, my);
        GemmConv2dNumerics.AssertClose(y, ey, my, g.WeightLength / g.OutChannels, $"direct {name} forward");
        GemmConv2dNumerics.AssertBackwardMatchesReference(g, xd, wd, GemmConv2dNumerics.ToDouble(dyv), dx, dw, db, $"direct {name}");
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void DirectBackwardWeight_WithoutBias_SameWeightBits(string name)
    {
        // Each weight's lane accumulator sees the same FMAs whether or not a bias row rides along.
        Conv2dGeometry g = s_cases[name];
        float[] withBias = RunDirect(g, withBias: true).Dw;
        float[] without = RunDirect(g, withBias: false).Dw;
        for (int i = 0; i < withBias.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(withBias[i]) == BitConverter.SingleToInt32Bits(without[i]),
                $"{name}: dw[{i}] is {without[i]} without bias but {withBias[i]} with it.");
        }
    }

    [Theory]
    [InlineData("Mnist1to32Ragged")]
    [InlineData("Groups2Seventeen")]
    [InlineData("LeNetConv2Batch13")]
    [InlineData("Kernel2x2BiasOwnBlock")]
    [InlineData("RowStoreWide")]
    public void DirectKernels_OneTwoThreeThreads_BitwiseIdentical(string name)
    {
        Conv2dGeometry g = s_cases[name];
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            (float[] Y, float[] Dx, float[] Dw, float[] Db) expected = RunDirect(g, withBias: true);
            foreach (int threads in new[] { 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                (float[] Y, float[] Dx, float[] Dw, float[] Db) actual = RunDirect(g, withBias: true);
                AssertBits(expected.Y, actual.Y, $"{name} forward, {threads} threads");
                AssertBits(expected.Dx, actual.Dx, $"{name} backward-data, {threads} threads");
                AssertBits(expected.Dw, actual.Dw, $"{name} backward-weight, {threads} threads");
                AssertBits(expected.Db, actual.Db, $"{name} bias gradient, {threads} threads");
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void SelectedVariant_FirstLayersUpTo64Outputs_PickDirectOnAvx512()
    {
        bool avx512 = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        string direct = avx512 ? Conv2d.DirectVariantName : Conv2d.VariantName;
        string gemm = avx512 ? Conv2d.ImplicitVariantName : Conv2d.VariantName;
        var mnist = new Conv2dGeometry(64, 1, 28, 28, 32, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2);
        var cifar = new Conv2dGeometry(64, 3, 32, 32, 64, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        Assert.Equal(direct, Conv2d.SelectedVariant(mnist));
        Assert.Equal(direct, Conv2d.SelectedVariant(cifar));
        Assert.Equal(gemm, Conv2d.SelectedVariant(mnist with { OutChannels = 65 }));             // more than 64 outputs
        Assert.Equal(gemm, Conv2d.SelectedVariant(cifar with { InChannels = 4 }));               // 4 inputs and 64 outputs
        Assert.Equal(gemm, Conv2d.SelectedVariant(cifar with { Height = 224, Width = 224 }));   // flat output over 512 KiB
        Assert.Equal(direct, Conv2d.SelectedVariant(cifar with { InChannels = 8, OutChannels = 16 })); // ≤ 16 outputs, as before
    }

    private static (float[] Y, float[] Dx, float[] Dw, float[] Db) RunDirect(Conv2dGeometry g, bool withBias)
    {
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 31);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 32);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 33);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 34);
        float[] y = GemmConv2dNumerics.Random((int)g.OutputLength, 35); // garbage: must be overwritten
        float[] dx = GemmConv2dNumerics.Random((int)g.InputLength, 36);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 37);
        float[] db = GemmConv2dNumerics.Random(g.OutChannels, 38);
        try
        {
            Conv2d.VariantOverride = Conv2d.DirectVariantName;
            if (System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            {
                Assert.Equal(Conv2d.DirectVariantName, Conv2d.SelectedVariant(g));
            }

            Conv2d.Forward(x, w, withBias ? b : [], g, y);
            Conv2d.BackwardData(dy, w, g, dx);
            Conv2d.BackwardWeight(dy, x, g, dw, withBias ? db : []);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        return (y, dx, dw, db);
    }

    private static void AssertBits(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{context}: element {i} is {actual[i]}, with one thread {expected[i]}.");
        }
    }
}
