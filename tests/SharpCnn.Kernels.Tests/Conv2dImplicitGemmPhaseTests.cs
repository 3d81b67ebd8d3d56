namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The implicit GEMM's phase path (few input channels, wide outputs: ResNet's stem) at ragged sizes: taken where
/// <c>UsesPhaseDirect</c> says, against the double reference, bit for bit equal to the packed path it replaces (plain,
/// without bias, prepared with bias + residual + ReLU), and bitwise identical for 1, 2 and 3 threads.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dImplicitGemmPhaseTests
{
    /// <summary>
    /// Output widths off multiples of 16 (last vector partial) and exactly 16, odd and even vector counts (an unpaired
    /// last vector), output channels off multiples of 8 (a short last A panel), strides 1, 2 and 3 (and different per
    /// axis), asymmetric padding and padding beyond the kernel (rows and columns that are all padding), dilation, 1–4
    /// input channels, K = 256 (the one-slice limit) and a 1×1 layer.
    /// </summary>
    private static readonly Dictionary<string, Conv2dGeometry> s_cases = new()
    {
        ["StemLike7x7Stride2"] = new(1, 3, 37, 45, 20, 7, 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3),
        ["Stride1OneChannelBatch2"] = new(2, 1, 18, 33, 9, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Stride3By2Asymmetric"] = new(1, 2, 50, 61, 13, 5, 4, StrideH: 3, StrideW: 2, PadTop: 2, PadLeft: 1, PadBottom: 0, PadRight: 3),
        ["Dilation2Batch3"] = new(3, 4, 20, 36, 17, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilationH: 2, DilationW: 2),
        ["PadBeyondKernelOddVectors"] = new(1, 3, 11, 40, 8, 2, 3, PadTop: 4, PadLeft: 5, PadBottom: 3, PadRight: 6),
        ["K256OneSliceOddVectors"] = new(1, 4, 30, 40, 11, 8, 8, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3),
        ["Pointwise16Wide"] = new(2, 3, 16, 16, 64, 1, 1),
        ["StrideHeightOnly"] = new(1, 3, 40, 20, 7, 3, 3, StrideH: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
    };

    public static TheoryData<string> Cases() => [.. s_cases.Keys];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dImplicitGemmPhase_RaggedGeometry_MatchesReferenceAndPackedPathBitwise(string name)
    {
        if (!Conv2dImplicitGemm.IsSupported)
        {
            return; // the variant needs AVX-512
        }

        Conv2dGeometry g = s_cases[name];
        Assert.True(Conv2dImplicitGemm.UsesPhaseDirect(g), $"{name} must take the phase path");
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 61);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 62);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 63);
        float[] r = GemmConv2dNumerics.Random((int)g.OutputLength, 64);
        (float[] Plain, float[] NoBias, float[] Fused) phase, packed;
        try
        {
            Conv2d.VariantOverride = Conv2d.ImplicitVariantName;
            phase = Run(g, x, w, b, r);
            Conv2dImplicitGemm.PhaseDirectDisabledForTests = true;
            Assert.False(Conv2dImplicitGemm.UsesPhaseDirect(g));
            packed = Run(g, x, w, b, r);
        }
        finally
        {
            Conv2dImplicitGemm.PhaseDirectDisabledForTests = false;
            Conv2d.VariantOverride = null;
        }

        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b);
        long kTerms = g.WeightLength / g.OutChannels;
        foreach ((float[] actual, double[] bias, string what) in new[] { (phase.Plain, bd, "forward"), (phase.NoBias, Array.Empty<double>(), "forward no bias") })
        {
            var ey = new double[actual.Length];
            var my = new double[actual.Length];
            Conv2dReference.Forward<double>(xd, wd, bias, g, ey);
            Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bias), g, my);
            GemmConv2dNumerics.AssertClose(actual, ey, my, kTerms, $"{name} {what}");
        }

        // The fused epilogue against the plain output: (y + r) then ReLU.
        for (int i = 0; i < r.Length; i++)
        {
            float v = phase.Plain[i] + r[i];
            Assert.Equal(BitConverter.SingleToInt32Bits(v < 0f ? 0f : v), BitConverter.SingleToInt32Bits(phase.Fused[i]));
        }

        AssertBitwise(packed.Plain, phase.Plain, $"{name} plain");
        AssertBitwise(packed.NoBias, phase.NoBias, $"{name} no bias");
        AssertBitwise(packed.Fused, phase.Fused, $"{name} prepared, bias + residual + ReLU");
    }

    [Theory]
    [InlineData("StemLike7x7Stride2")]
    [InlineData("Dilation2Batch3")]
    [InlineData("PadBeyondKernelOddVectors")]
    [InlineData("K256OneSliceOddVectors")]
    public void Conv2dImplicitGemmPhase_OneTwoThreeThreads_BitwiseIdentical(string name)
    {
        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 71);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 72);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 73);
        float[] r = GemmConv2dNumerics.Random((int)g.OutputLength, 74);
        int saved = KernelParallel.MaxThreads;
        (float[] Plain, float[] NoBias, float[] Fused)? expected = null;
        try
        {
            Conv2d.VariantOverride = Conv2d.ImplicitVariantName;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                var y = Run(g, x, w, b, r);
                expected ??= y;
                AssertBitwise(expected.Value.Plain, y.Plain, $"{name} plain, {threads} threads");
                AssertBitwise(expected.Value.Fused, y.Fused, $"{name} fused, {threads} threads");
            }
        }
        finally
        {
            Conv2d.VariantOverride = null;
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void UsesPhaseDirect_StemAndLimits_OnlyFewChannelsOneSliceWideOutputs()
    {
        var stem = new Conv2dGeometry(1, 3, 224, 224, 64, 7, 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3);
        Assert.True(Conv2dImplicitGemm.UsesPhaseDirect(stem));
        Assert.True(Conv2dImplicitGemm.UsesPhaseDirect(stem with { Batch = 32 }));
        Assert.False(Conv2dImplicitGemm.UsesPhaseDirect(stem with { InChannels = 5 }));                 // planes would copy many channels
        Assert.False(Conv2dImplicitGemm.UsesPhaseDirect(stem with { InChannels = 6, Groups = 2 }));     // groups: the packed path
        Assert.False(Conv2dImplicitGemm.UsesPhaseDirect(stem with { KernelH = 8, KernelW = 11 }));      // K = 264: two slices
        Assert.False(Conv2dImplicitGemm.UsesPhaseDirect(stem with { Width = 29 }));                     // 15 outputs wide
        if (Conv2dImplicitGemm.IsSupported)
        {
            Assert.Equal(Conv2d.ImplicitVariantName, Conv2d.SelectedPreparedVariant(stem)); // so the network's stem runs it
        }
    }

    private static (float[] Plain, float[] NoBias, float[] Fused) Run(Conv2dGeometry g, float[] x, float[] w, float[] b, float[] r)
    {
        float[] plain = GemmConv2dNumerics.Random((int)g.OutputLength, 81); // garbage: must be overwritten
        float[] noBias = GemmConv2dNumerics.Random((int)g.OutputLength, 82);
        float[] fused = GemmConv2dNumerics.Random((int)g.OutputLength, 83);
        var prepared = new Conv2dPreparedWeights((float[])w.Clone(), g.OutChannels, g.InChannelsPerGroup, g.KernelH, g.KernelW);
        Conv2d.Forward(x, w, b, g, plain);
        Conv2d.Forward(x, w, [], g, noBias);
        Conv2d.Forward(x, prepared, b, g, fused, r, relu: true);
        return (plain, noBias, fused);
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}: [{i}] is {actual[i]}, expected {expected[i]}.");
        }
    }
}
