namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The transposed GEMM for small maps (<see cref="Conv2d.SmallMapVariantName"/>) forced at ragged sizes against the
/// double reference, plain and with prepared weights, bitwise identical for 1, 2 and 3 threads, and its selection.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dSmallMapGemmTests
{
    /// <summary>
    /// Positions per batch around the row-panel height (1, 13, 14, 15, 29, 49, 60), output channels off multiples of 32
    /// with ≤ 16 and > 16 in the last panel, reductions of one and of two k slices (> 256), stride 1 (masked-load
    /// plan, runs crossing output rows and images) and strided (gathers), asymmetric and beyond-kernel padding,
    /// dilation, 1×1, and a plan too large for the stack (many width-1 runs × 7×7 taps, and 9×9 = 81 tap classes).
    /// </summary>
    private static readonly Dictionary<string, Conv2dGeometry> s_cases = new()
    {
        ["Layer4Like7x7Pad1"] = new(1, 40, 7, 7, 70, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["TwoKSlices3x3"] = new(1, 31, 5, 6, 45, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Batch3RunsAcrossImages"] = new(3, 12, 4, 5, 33, 3, 3, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1),
        ["OnePosition"] = new(1, 9, 3, 3, 17, 3, 3),
        ["ThirteenPositions"] = new(1, 7, 13, 3, 20, 3, 3, PadTop: 0, PadLeft: 1, PadBottom: 0, PadRight: 1),
        ["FifteenPositions"] = new(1, 6, 5, 3, 64, 1, 1),
        ["Stride2Pad1"] = new(1, 30, 14, 13, 50, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["StrideHeightOnly"] = new(2, 11, 9, 6, 19, 3, 3, StrideH: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Pointwise1x1Stride2"] = new(1, 37, 9, 9, 40, 1, 1, StrideH: 2, StrideW: 2),
        ["Dilation2"] = new(2, 5, 8, 9, 23, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilationH: 2, DilationW: 2),
        ["PadBeyondKernel"] = new(2, 3, 5, 4, 9, 2, 3, PadTop: 3, PadLeft: 1, PadBottom: 0, PadRight: 4),
        ["Width1Kernel7x7"] = new(1, 4, 29, 1, 35, 7, 7, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3),
        ["Kernel9x9"] = new(1, 2, 9, 9, 18, 9, 9, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
    };

    public static TheoryData<string> Cases() => [.. s_cases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dSmallMapGemm_RaggedGeometry_MatchesDoubleReference(string name)
    {
        if (!Conv2dSmallMapGemm.IsSupported)
        {
            return; // the variant needs AVX-512; the selection test covers the fallback
        }

        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 41);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 42);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 43);
        float[] y = GemmConv2dNumerics.Random((int)g.OutputLength, 45); // garbage: must be overwritten
        float[] yNoBias = GemmConv2dNumerics.Random((int)g.OutputLength, 46);
        float[] yPrepared = GemmConv2dNumerics.Random((int)g.OutputLength, 47);
        var prepared = new Conv2dPreparedWeights((float[])w.Clone(), g.OutChannels, g.InChannelsPerGroup, g.KernelH, g.KernelW);
        try
        {
            Conv2d.VariantOverride = Conv2d.SmallMapVariantName;
            Assert.Equal(Conv2d.SmallMapVariantName, Conv2d.SelectedVariant(g));
            Conv2d.Forward(x, w, b, g, y);
            Conv2d.Forward(x, w, [], g, yNoBias);
            Conv2d.Forward(x, prepared, b, g, yPrepared, [], relu: false);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b);
        long kTerms = g.WeightLength / g.OutChannels;
        foreach ((float[] actual, double[] bias, string what) in new[] { (y, bd, "forward"), (yNoBias, Array.Empty<double>(), "forward no bias"), (yPrepared, bd, "prepared") })
        {
            var ey = new double[y.Length];
            var my = new double[y.Length];
            Conv2dReference.Forward<double>(xd, wd, bias, g, ey);
            Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bias), g, my);
            GemmConv2dNumerics.AssertClose(actual, ey, my, kTerms, $"{name} {what}");
        }

        for (int i = 0; i < y.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(y[i]) == BitConverter.SingleToInt32Bits(yPrepared[i]), $"{name}: prepared [{i}] {yPrepared[i]} vs {y[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dSmallMapGemm_ForcedBackwardPasses_MatchDoubleReference(string name)
    {
        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 51);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 52);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 54);
        float[] dx = GemmConv2dNumerics.Random((int)g.InputLength, 57);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 58);
        var db = new float[g.OutChannels];
        try
        {
            Conv2d.VariantOverride = Conv2d.SmallMapVariantName; // forward only: the backward passes take the implicit GEMM
            Conv2d.BackwardData(dy, w, g, dx);
            Conv2d.BackwardWeight(dy, x, g, dw, db);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        GemmConv2dNumerics.AssertBackwardMatchesReference(g, GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w),
            GemmConv2dNumerics.ToDouble(dy), dx, dw, db, name);
    }

    [Theory]
    [InlineData("Layer4Like7x7Pad1")]
    [InlineData("TwoKSlices3x3")]
    [InlineData("Batch3RunsAcrossImages")]
    [InlineData("Stride2Pad1")]
    [InlineData("Width1Kernel7x7")]
    public void Conv2dSmallMapGemm_OneTwoThreeThreads_BitwiseIdentical(string name)
    {
        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 2);
        float[] bias = GemmConv2dNumerics.Random(g.OutChannels, 3);
        float[] r = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
        int saved = KernelParallel.MaxThreads;
        float[]? expected = null;
        try
        {
            Conv2d.VariantOverride = Conv2d.SmallMapVariantName;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                var prepared = new Conv2dPreparedWeights((float[])w.Clone(), g.OutChannels, g.InChannelsPerGroup, g.KernelH, g.KernelW);
                foreach (bool usePrepared in new[] { false, true })
                {
                    var y = new float[g.OutputLength];
                    if (usePrepared)
                    {
                        Conv2d.Forward(x, prepared, bias, g, y, r, relu: true);
                    }
                    else
                    {
                        Conv2d.Forward(x, w, bias, g, y, r, relu: true);
                    }

                    expected ??= y;
                    for (int j = 0; j < expected.Length; j++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(expected[j]) == BitConverter.SingleToInt32Bits(y[j]),
                            $"{name}: [{j}] with {threads} threads (prepared {usePrepared}) is {y[j]}, with 1 thread {expected[j]}.");
                    }
                }
            }
        }
        finally
        {
            Conv2d.VariantOverride = null;
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void SelectedPreparedVariant_AtMost64Positions_PicksSmallMapGemmOnlyWithPreparedWeights()
    {
        var layer4 = new Conv2dGeometry(1, 512, 7, 7, 512, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var layer4First = new Conv2dGeometry(1, 256, 14, 14, 512, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var layer4Downsample = new Conv2dGeometry(1, 256, 14, 14, 512, 1, 1, StrideH: 2, StrideW: 2);
        var layer3 = new Conv2dGeometry(1, 256, 14, 14, 256, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var layer3First = new Conv2dGeometry(1, 128, 28, 28, 256, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        string expected = Conv2dSmallMapGemm.IsSupported ? Conv2d.SmallMapVariantName : Conv2d.SelectedVariant(layer4);
        foreach (Conv2dGeometry g in new[] { layer4, layer4First, layer4Downsample })
        {
            Assert.Equal(expected, Conv2d.SelectedPreparedVariant(g));
            Assert.NotEqual(Conv2d.SmallMapVariantName, Conv2d.SelectedVariant(g)); // the per-call transpose of the weights does not pay
            Assert.NotEqual(Conv2d.SmallMapVariantName, Conv2d.SelectedPreparedVariant(g with { Batch = 2 })); // 98 positions: the implicit GEMM
        }

        Assert.NotEqual(Conv2d.SmallMapVariantName, Conv2d.SelectedPreparedVariant(layer3));       // F(4×4)
        Assert.NotEqual(Conv2d.SmallMapVariantName, Conv2d.SelectedPreparedVariant(layer3First));  // 196 positions
        Assert.NotEqual(Conv2d.SmallMapVariantName, Conv2d.SelectedPreparedVariant(layer4 with { OutChannels = 32 }));
        Assert.NotEqual(Conv2d.SmallMapVariantName, Conv2d.SelectedPreparedVariant(layer4Downsample with { InChannels = 128 })); // K = 128
        try
        {
            Conv2d.VariantOverride = Conv2d.ImplicitVariantName; // a forced variant is kept
            Assert.Equal(Conv2d.SelectedVariant(layer4), Conv2d.SelectedPreparedVariant(layer4));
            Conv2d.VariantOverride = Conv2d.SmallMapVariantName; // and forcing it works without prepared weights, one group only
            Assert.Equal(expected, Conv2d.SelectedVariant(layer4));
            Assert.NotEqual(Conv2d.SmallMapVariantName, Conv2d.SelectedVariant(layer4 with { Groups = 2 }));
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }
}
