namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The channel-blocked direct convolution (<see cref="Conv2d.BlockedVariantName"/>) forced at ragged sizes against the
/// double reference, and bitwise identical for 1, 2 and 3 threads.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dDirectBlockedTests
{
    /// <summary>
    /// Channels off multiples of 16 (and of the 32-channel output block, with ≤ 16 and > 16 in the last block), odd
    /// maps, pad 0/1/2 and asymmetric, 3×3 and 5×5, stride 1 and 2, batch 1 (border columns merged into the interior
    /// blocks) and batch ≥ 4 (border columns in blocks of their own), more input channels than one weight chunk.
    /// </summary>
    private static readonly Dictionary<string, Conv2dGeometry> s_cases = new()
    {
        ["3x3Pad1Batch5Ragged"] = new(5, 19, 7, 9, 37, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["3x3Pad1Batch1"] = new(1, 21, 9, 13, 20, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["3x3Pad0Batch2"] = new(2, 16, 6, 7, 48, 3, 3),
        ["5x5Pad2Batch4"] = new(4, 33, 14, 11, 17, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["5x5Pad2Batch1"] = new(1, 7, 10, 9, 64, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["5x5Pad1Asymmetric"] = new(3, 18, 8, 9, 33, 5, 5, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1),
        ["3x3Stride2Pad1"] = new(3, 19, 9, 10, 37, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["5x5Stride2Pad2Batch1"] = new(1, 5, 11, 12, 9, 5, 5, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["3x3ManyChannels"] = new(2, 300, 5, 6, 70, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["7x7Map512Like"] = new(6, 40, 7, 7, 40, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Dilation2"] = new(3, 9, 11, 10, 13, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilationH: 2, DilationW: 2),
        ["PadBeyondKernel"] = new(2, 3, 5, 4, 9, 2, 3, PadTop: 3, PadLeft: 1, PadBottom: 0, PadRight: 4),
        ["1x1"] = new(3, 17, 5, 6, 19, 1, 1),
        ["Width1"] = new(4, 2, 7, 1, 3, 3, 1, PadTop: 1, PadBottom: 1),
    };

    public static TheoryData<string> Cases() => [.. s_cases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dDirectBlocked_RaggedGeometry_MatchesDoubleReference(string name)
    {
        if (!Conv2dDirectBlocked.IsSupported)
        {
            return; // the variant needs AVX-512; the selection test covers the fallback
        }

        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 41);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 42);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 43);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 44);
        float[] y = GemmConv2dNumerics.Random((int)g.OutputLength, 45); // garbage: must be overwritten
        float[] yNoBias = GemmConv2dNumerics.Random((int)g.OutputLength, 46);
        float[] dx = GemmConv2dNumerics.Random((int)g.InputLength, 47);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 48);
        var db = new float[g.OutChannels];
        try
        {
            Conv2d.VariantOverride = Conv2d.BlockedVariantName;
            Assert.Equal(Conv2d.BlockedVariantName, Conv2d.SelectedVariant(g));
            Conv2d.Forward(x, w, b, g, y);
            Conv2d.Forward(x, w, [], g, yNoBias);
            Conv2d.BackwardData(dy, w, g, dx);
            Conv2d.BackwardWeight(dy, x, g, dw, db);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b);
        long kTerms = g.WeightLength / g.OutChannels;
        foreach ((float[] actual, double[] bias, string what) in new[] { (y, bd, "forward"), (yNoBias, Array.Empty<double>(), "forward no bias") })
        {
            var ey = new double[y.Length];
            var my = new double[y.Length];
            Conv2dReference.Forward<double>(xd, wd, bias, g, ey);
            Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bias), g, my);
            GemmConv2dNumerics.AssertClose(actual, ey, my, kTerms, $"{name} {what}");
        }

        GemmConv2dNumerics.AssertBackwardMatchesReference(g, xd, wd, GemmConv2dNumerics.ToDouble(dy), dx, dw, db, name);
    }

    [Theory]
    [InlineData("3x3Pad1Batch5Ragged")]
    [InlineData("3x3Pad1Batch1")]
    [InlineData("5x5Pad2Batch4")]
    [InlineData("3x3Stride2Pad1")]
    [InlineData("3x3ManyChannels")]
    public void Conv2dDirectBlocked_OneTwoThreeThreads_BitwiseIdentical(string name)
    {
        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 2);
        float[] bias = GemmConv2dNumerics.Random(g.OutChannels, 3);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
        int saved = KernelParallel.MaxThreads;
        float[][]? expected = null;
        try
        {
            Conv2d.VariantOverride = Conv2d.BlockedVariantName;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                var y = new float[g.OutputLength];
                var dx = new float[g.InputLength];
                var dw = new float[g.WeightLength];
                var db = new float[g.OutChannels];
                Conv2d.Forward(x, w, bias, g, y);
                Conv2d.BackwardData(dy, w, g, dx);
                Conv2d.BackwardWeight(dy, x, g, dw, db);
                float[][] actual = [y, dx, dw, db];
                expected ??= actual;
                for (int i = 0; i < expected.Length; i++)
                {
                    for (int j = 0; j < expected[i].Length; j++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(expected[i][j]) == BitConverter.SingleToInt32Bits(actual[i][j]),
                            $"{name}: output {i}[{j}] with {threads} threads is {actual[i][j]}, with 1 thread {expected[i][j]}.");
                    }
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
    public void SelectedVariant_SmallMapLayers_PickBlockedWhereMeasuredFaster()
    {
        if (!Conv2dDirectBlocked.IsSupported)
        {
            return;
        }

        var mnistConv2 = new Conv2dGeometry(64, 32, 14, 14, 64, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2);
        var layer4 = new Conv2dGeometry(32, 512, 7, 7, 512, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var batch1Layer3 = new Conv2dGeometry(1, 256, 14, 14, 256, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        Assert.Equal(Conv2d.Winograd5x5VariantName, Conv2d.SelectedVariant(mnistConv2)); // Winograd first for 5×5 on maps ≥ 7 wide
        Assert.Equal(Conv2d.BlockedVariantName, Conv2d.SelectedVariant(mnistConv2 with { Height = 6, Width = 6 }));
        Assert.Equal(Conv2d.BlockedVariantName, Conv2d.SelectedVariant(batch1Layer3));
        Assert.Equal(Conv2d.Winograd4x4VariantName, Conv2d.SelectedVariant(layer4)); // Winograd first for 3×3
        Assert.Equal(Conv2d.ImplicitVariantName, Conv2d.SelectedVariant(batch1Layer3 with { Height = 7, Width = 7, InChannels = 512, OutChannels = 512 }));
        Assert.Equal(Conv2d.ImplicitVariantName, Conv2d.SelectedVariant(mnistConv2 with { Height = 28, Width = 28, InChannels = 8 }));
        Assert.Equal(Conv2d.ImplicitVariantName, Conv2d.SelectedVariant(mnistConv2 with { StrideH = 2, StrideW = 2 }));
        Assert.True(Conv2dDirectBlocked.PrefersBackwardWeight(layer4));
        Assert.True(Conv2dDirectBlocked.PrefersBackwardWeight(mnistConv2));
        Assert.False(Conv2dDirectBlocked.PrefersBackwardWeight(batch1Layer3)); // one sample: a channel block of 1
    }

    [Fact]
    public void Conv2dBackwardWeight_BlockedForwardBatch1_MatchesReference()
    {
        // The forward runs on the blocked variant, backward-weight on the GEMM (a batch of one is too thin for it).
        var g = new Conv2dGeometry(1, 16, 9, 11, 64, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        if (Conv2dDirectBlocked.IsSupported)
        {
            Assert.Equal(Conv2d.BlockedVariantName, Conv2d.SelectedVariant(g));
            Assert.False(Conv2dDirectBlocked.PrefersBackwardWeight(g));
        }

        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 61);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 62);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 63);
        var dx = new float[g.InputLength];
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 64);
        var db = new float[g.OutChannels];
        Conv2d.BackwardData(dy, w, g, dx);
        Conv2d.BackwardWeight(dy, x, g, dw, db);
        GemmConv2dNumerics.AssertBackwardMatchesReference(g, GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w),
            GemmConv2dNumerics.ToDouble(dy), dx, dw, db, "blocked forward, GEMM backward-weight");
    }

    [Fact]
    public void Conv2dBackwardWeight_WinogradForwardLayer_RunsBlockedAndMatchesReference()
    {
        var g = new Conv2dGeometry(16, 32, 7, 7, 64, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        if (Conv2dDirectBlocked.IsSupported)
        {
            Assert.Equal(Conv2d.Winograd4x4VariantName, Conv2d.SelectedVariant(g));
            Assert.True(Conv2dDirectBlocked.PrefersBackwardWeight(g));
        }

        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 51);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 52);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 53);
        var dx = new float[g.InputLength];
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 54);
        var db = new float[g.OutChannels];
        Conv2d.BackwardData(dy, w, g, dx);
        Conv2d.BackwardWeight(dy, x, g, dw, db);
        GemmConv2dNumerics.AssertBackwardMatchesReference(g, GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w),
            GemmConv2dNumerics.ToDouble(dy), dx, dw, db, "Winograd forward, blocked backward-weight");
    }

    [Fact]
    public void SelectedVariant_ForcedBlockedOnGroupedLayer_FallsBackToGemm()
    {
        var grouped = new Conv2dGeometry(2, 8, 7, 7, 8, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 2);
        try
        {
            Conv2d.VariantOverride = Conv2d.BlockedVariantName;
            string expected = Conv2dImplicitGemm.IsSupported ? Conv2d.ImplicitVariantName : Conv2d.VariantName;
            Assert.Equal(expected, Conv2d.SelectedVariant(grouped));
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }
}
