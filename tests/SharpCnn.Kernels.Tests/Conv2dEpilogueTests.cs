namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The fused convolution epilogue (bias, residual add, ReLU): every variant against the plain convolution followed by
/// the element-wise kernels (bit for bit: the same operations in the same order), against the double reference,
/// for 1, 2 and 3 threads, and <see cref="ConvEpilogue.ApplyRow"/> against its scalar formula.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dEpilogueTests
{
    private static readonly Dictionary<string, Conv2dGeometry> s_cases = new()
    {
        ["Basic3x3Pad1"] = Conv2dCases.All["Basic3x3Pad1"],
        ["Groups2"] = Conv2dCases.All["Groups2"],
        ["Pointwise1x1"] = Conv2dCases.All["Pointwise1x1"],
        ["GemmTiles"] = Conv2dCases.All["GemmTiles"],
        ["FirstLayer7x7Stride2"] = new(2, 3, 23, 21, 10, 7, 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3),
        ["TwoKSlicesRagged"] = new(3, 40, 6, 5, 11, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Winograd3x3OddMaps"] = new(3, 19, 9, 7, 21, 3, 3, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1),
        ["Winograd3x3LongTileRows"] = new(2, 5, 9, 70, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["BlockedTwoOutputBlocks"] = new(3, 20, 9, 13, 45, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["BlockedNarrowRows"] = new(2, 17, 5, 3, 33, 3, 3, PadTop: 1, PadLeft: 0, PadBottom: 1, PadRight: 0),
        ["Winograd4x4ManyBlocks"] = new(3, 33, 26, 23, 37, 3, 3, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1),
        ["ResNetLayer4Batch1Like"] = new(1, 24, 7, 7, 40, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Stride2Downsample"] = new(2, 6, 9, 11, 9, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Stride2ManyPanels"] = new(3, 20, 29, 75, 17, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 2, PadBottom: 0, PadRight: 1),
        // 6×6 outputs: 2×2 tiles per image, the right and bottom ones half used; 8 consecutive tiles span two images.
        ["Stride2SmallImages"] = new(4, 6, 11, 13, 9, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 0),
        ["Winograd5x5OddMaps"] = new(3, 19, 13, 11, 21, 5, 5, PadTop: 2, PadLeft: 1, PadBottom: 1, PadRight: 2),
        ["Winograd5x5LongTileRows"] = new(2, 5, 7, 41, 9, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
    };

    public static TheoryData<string, string, bool, bool, bool> Cases()
    {
        var data = new TheoryData<string, string, bool, bool, bool>();
        foreach (string variant in new[] { Conv2d.VariantName, Conv2d.DirectVariantName, Conv2d.ImplicitVariantName, Conv2d.WinogradVariantName, Conv2d.Winograd4x4VariantName, Conv2d.Winograd5x5VariantName, Conv2d.BlockedVariantName, Conv2d.WinogradStride2VariantName,
                Conv2d.SmallMapVariantName })
        {
            foreach (string name in s_cases.Keys)
            {
                data.Add(variant, name, true, true, true);   // bias, residual, ReLU
                data.Add(variant, name, false, true, true);
                data.Add(variant, name, true, false, true);
                data.Add(variant, name, true, true, false);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ForwardWithEpilogue_ForcedVariant_EqualsConvThenAddThenReluBitwise(string variant, string name, bool withBias, bool withResidual, bool relu)
    {
        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 41);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 42);
        float[] b = withBias ? GemmConv2dNumerics.Random(g.OutChannels, 43) : [];
        float[] r = withResidual ? GemmConv2dNumerics.Random((int)g.OutputLength, 44) : [];
        float[] fused = GemmConv2dNumerics.Random((int)g.OutputLength, 45); // garbage: must be overwritten
        float[] expected = new float[g.OutputLength];
        try
        {
            Conv2d.VariantOverride = variant;
            Conv2d.Forward(x, w, b, g, fused, r, relu);
            Conv2d.Forward(x, w, b, g, expected);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        if (withResidual)
        {
            Elementwise.Add(expected, r, expected);
        }

        if (relu)
        {
            Elementwise.Relu(expected, expected);
        }

        AssertBitwise(expected, fused, $"{variant} {name} bias={withBias} residual={withResidual} relu={relu}");

        if ((variant is Conv2d.Winograd4x4VariantName or Conv2d.WinogradStride2VariantName && Conv2d.SelectedVariant(g) == variant)
            || (variant == Conv2d.Winograd5x5VariantName && Conv2dWinograd5x5.Supports(g)))
        {
            // F(4×4)'s, F(2×2, 5×5)'s and the stride-2 Winograd's transforms amplify rounding beyond the plain
            // summation bound; Conv2dWinograd4x4Tests, Conv2dWinograd5x5Tests and Conv2dWinogradStride2Tests check their
            // plain forward against the reference with their own bounds, and the fused result equals it bit for bit above.
            return;
        }

        // And against the double reference: relu(conv + b + r) within the summation bound of the K products.
        double[] ey = new double[g.OutputLength], my = new double[g.OutputLength];
        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b);
        Conv2dReference.Forward<double>(xd, wd, bd, g, ey);
        Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bd), g, my);
        for (int i = 0; i < ey.Length; i++)
        {
            double v = ey[i] + (withResidual ? r[i] : 0);
            my[i] += withResidual ? Math.Abs(r[i]) : 0;
            ey[i] = relu && v < 0 ? 0 : v;
        }

        GemmConv2dNumerics.AssertClose(fused, ey, my, (g.WeightLength / g.OutChannels) + 1, $"{variant} {name}");
    }

    [Theory]
    [InlineData("ResNetLayer4Batch1Like")]
    [InlineData("GemmTiles")]
    [InlineData("Winograd3x3OddMaps")]
    [InlineData("Winograd4x4ManyBlocks")]
    [InlineData("BlockedTwoOutputBlocks")]
    [InlineData("FirstLayer7x7Stride2")]
    [InlineData("Stride2ManyPanels")]
    [InlineData("Stride2SmallImages")]
    [InlineData("Winograd5x5OddMaps")]
    [InlineData("Winograd5x5LongTileRows")]
    public void ForwardWithEpilogue_OneTwoThreeThreads_BitIdentical(string name)
    {
        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 51);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 52);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 53);
        float[] r = GemmConv2dNumerics.Random((int)g.OutputLength, 54);
        int keep = KernelParallel.MaxThreads;
        try
        {
            foreach (string variant in new[] { Conv2d.VariantName, Conv2d.ImplicitVariantName, Conv2d.WinogradVariantName, Conv2d.Winograd4x4VariantName, Conv2d.Winograd5x5VariantName, Conv2d.BlockedVariantName, Conv2d.WinogradStride2VariantName,
                Conv2d.SmallMapVariantName })
            {
                Conv2d.VariantOverride = variant;
                float[]? first = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    float[] y = new float[g.OutputLength];
                    Conv2d.Forward(x, w, b, g, y, r, relu: true);
                    first ??= y;
                    AssertBitwise(first, y, $"{variant} {name} {threads} threads");
                }
            }
        }
        finally
        {
            Conv2d.VariantOverride = null;
            KernelParallel.MaxThreads = keep;
        }
    }

    [Theory]
    [InlineData("GemmTiles")]
    [InlineData("Groups2")]
    [InlineData("Winograd3x3OddMaps")]
    [InlineData("Winograd3x3LongTileRows")]
    [InlineData("FirstLayer7x7Stride2")]
    [InlineData("ResNetLayer4Batch1Like")]
    [InlineData("Stride2ManyPanels")]
    [InlineData("Winograd5x5OddMaps")]
    [InlineData("Winograd5x5LongTileRows")]
    public void ForwardPrepared_EveryVariantTwice_EqualsUnpreparedBitwise(string name)
    {
        Conv2dGeometry g = s_cases[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 61);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 62);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 63);
        float[] r = GemmConv2dNumerics.Random((int)g.OutputLength, 64);
        try
        {
            foreach (string variant in new[] { Conv2d.VariantName, Conv2d.DirectVariantName, Conv2d.ImplicitVariantName, Conv2d.WinogradVariantName, Conv2d.Winograd4x4VariantName, Conv2d.Winograd5x5VariantName, Conv2d.BlockedVariantName, Conv2d.WinogradStride2VariantName,
                Conv2d.SmallMapVariantName })
            {
                Conv2d.VariantOverride = variant;
                var prepared = new Conv2dPreparedWeights((float[])w.Clone(), g.OutChannels, g.InChannelsPerGroup, g.KernelH, g.KernelW, g.Groups);
                foreach ((float[] residual, bool relu) in new[] { (r, true), (Array.Empty<float>(), false), (Array.Empty<float>(), true) })
                {
                    float[] expected = new float[g.OutputLength];
                    Conv2d.Forward(x, w, b, g, expected, residual, relu);
                    for (int call = 0; call < 2; call++)   // the second call reuses the packed weights
                    {
                        float[] actual = GemmConv2dNumerics.Random((int)g.OutputLength, 65);
                        Conv2d.Forward(x, prepared, b, g, actual, residual, relu);
                        AssertBitwise(expected, actual, $"{variant} {name} residual={residual.Length > 0} relu={relu} call {call}");
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
    public void ForwardPrepared_WithAllocator_PackedFormsFromItSameBits()
    {
        // Storage from the allocator (filled with NaN, so any element the packer left unwritten would show) for every
        // packed form; a wrong length is refused with the lengths in the message.
        Conv2dGeometry[] shapes = [s_cases["ResNetLayer4Batch1Like"], s_cases["Winograd3x3OddMaps"], s_cases["Stride2ManyPanels"], s_cases["GemmTiles"]];
        try
        {
            foreach (string variant in new[] { Conv2d.ImplicitVariantName, Conv2d.WinogradVariantName, Conv2d.Winograd4x4VariantName, Conv2d.WinogradStride2VariantName, Conv2d.SmallMapVariantName })
            {
                Conv2d.VariantOverride = variant;
                foreach (Conv2dGeometry g in shapes)
                {
                    float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 71), w = GemmConv2dNumerics.Random((int)g.WeightLength, 72);
                    float[] b = GemmConv2dNumerics.Random(g.OutChannels, 73);
                    int asked = 0;
                    var prepared = new Conv2dPreparedWeights((float[])w.Clone(), g.OutChannels, g.InChannelsPerGroup, g.KernelH, g.KernelW, g.Groups)
                    {
                        Allocator = n =>
                        {
                            asked++;
                            float[] a = GC.AllocateUninitializedArray<float>(n, pinned: true);
                            Array.Fill(a, float.NaN);
                            return a;
                        },
                    };
                    float[] expected = new float[g.OutputLength], actual = new float[g.OutputLength];
                    Conv2d.Forward(x, w, b, g, expected, [], true);
                    Conv2d.Forward(x, prepared, b, g, actual, [], true);
                    AssertBitwise(expected, actual, $"{variant} {g}");
                    Assert.True(asked <= 1, $"{variant}: {asked} allocations");
                }
            }

            Conv2d.VariantOverride = Conv2d.ImplicitVariantName;
            Conv2dGeometry one = s_cases["GemmTiles"];
            var wrong = new Conv2dPreparedWeights(GemmConv2dNumerics.Random((int)one.WeightLength, 74), one.OutChannels, one.InChannelsPerGroup, one.KernelH, one.KernelW)
            {
                Allocator = n => new float[n - 1],
            };
            var e = Assert.Throws<InvalidOperationException>(() =>
                Conv2d.Forward(GemmConv2dNumerics.Random((int)one.InputLength, 75), wrong, [], one, new float[one.OutputLength], [], false));
            Assert.Contains("asked for", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }

    [Fact]
    public void SelectedPreparedVariant_Batch1_PicksWinograd4x4WhereTransformedWeightsFitElsePlainChoice()
    {
        var layer2 = new Conv2dGeometry(1, 128, 28, 28, 128, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var layer3 = new Conv2dGeometry(1, 256, 14, 14, 256, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var layer4 = new Conv2dGeometry(1, 512, 7, 7, 512, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        bool avx512 = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        string w4 = avx512 ? Conv2d.Winograd4x4VariantName : Conv2d.VariantName;
        Assert.Equal(w4, Conv2d.SelectedPreparedVariant(layer2));
        Assert.NotEqual(Conv2d.Winograd4x4VariantName, Conv2d.SelectedVariant(layer3)); // the per-call transform does not pay
        Assert.Equal(w4, Conv2d.SelectedPreparedVariant(layer3));                       // 9.4 MB transformed once: it does
        Assert.Equal(avx512 ? Conv2d.SmallMapVariantName : Conv2d.SelectedVariant(layer4), Conv2d.SelectedPreparedVariant(layer4)); // 37.7 MB of U streamed per call: the small-map GEMM
        Assert.NotEqual(Conv2d.Winograd4x4VariantName, Conv2d.SelectedPreparedVariant(layer4));
        Assert.Equal(w4, Conv2d.SelectedPreparedVariant(layer4 with { Batch = 16 }));
        Assert.Equal(Conv2d.SelectedVariant(layer2 with { StrideH = 2, StrideW = 2 }), Conv2d.SelectedPreparedVariant(layer2 with { StrideH = 2, StrideW = 2 }));
        Assert.Equal(Conv2d.SelectedVariant(layer3 with { InChannels = 16 }), Conv2d.SelectedPreparedVariant(layer3 with { InChannels = 16 }));
        try
        {
            Conv2d.VariantOverride = Conv2d.ImplicitVariantName; // a forced variant is kept
            Assert.Equal(Conv2d.SelectedVariant(layer3), Conv2d.SelectedPreparedVariant(layer3));
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }
    }

    [Fact]
    public void ForwardPrepared_WeightsOfAnotherShape_ThrowsNamingBoth()
    {
        Conv2dGeometry g = s_cases["Basic3x3Pad1"];
        var prepared = new Conv2dPreparedWeights(new float[5 * 3 * 3 * 3], 5, 3, 3, 3);
        ArgumentException e = Assert.Throws<ArgumentException>(() =>
            Conv2d.Forward(new float[g.InputLength], prepared, [], g, new float[g.OutputLength], [], relu: true));
        Assert.Contains("C_out=4", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Conv2dPreparedWeights(new float[10], 5, 3, 3, 3));
    }

    [Fact]
    public void ForwardWithEpilogue_ResidualOverlapsOutputOrWrongLength_Throws()
    {
        Conv2dGeometry g = s_cases["Basic3x3Pad1"];
        float[] x = new float[g.InputLength], w = new float[g.WeightLength], y = new float[g.OutputLength];
        ArgumentException overlap = Assert.Throws<ArgumentException>(() => Conv2d.Forward(x, w, [], g, y, y, relu: true));
        Assert.Contains("residual", overlap.Message, StringComparison.Ordinal);
        ArgumentException length = Assert.Throws<ArgumentException>(() => Conv2d.Forward(x, w, [], g, y, new float[g.OutputLength - 1], relu: true));
        Assert.Contains("residual", length.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, false, true)]
    [InlineData(true, false, true)]
    [InlineData(true, true, false)]
    [InlineData(false, true, true)]
    [InlineData(true, true, true)]
    public unsafe void ApplyRow_RaggedLengths_MatchesScalarFormula(bool withBias, bool withResidual, bool relu)
    {
        float[] bias = [0.25f, -1.5f, 3f];
        for (int count = 0; count <= 40; count++)
        {
            float[] src = TestUtil.Random(count + 3, count);
            float[] res = TestUtil.Random(count + 7, count + 100);
            src[0] = -0f;   // no bias: a −0 stays −0, as the unfused chain leaves it
            float[] dst = new float[count + 3];
            const int Channel = 1;
            const int Offset = 5;
            fixed (float* pb = bias)
            fixed (float* pr = res)
            fixed (float* ps = src)
            fixed (float* pd = dst)
            {
                var epilogue = new ConvEpilogue(withBias ? pb : null, withResidual ? pr : null, relu);
                epilogue.ApplyRow(ps, pd, count, Channel, Offset);
            }

            for (int i = 0; i < count + 3; i++)
            {
                float expected = 0f;
                if (i < count)
                {
                    float v = withBias ? src[i] + bias[Channel] : src[i];
                    v = withResidual ? v + res[Offset + i] : v;
                    expected = relu && v < 0f ? 0f : v;
                }

                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(dst[i]),
                    $"count {count}, element {i}: {dst[i]} but expected {expected}");
            }
        }
    }

    private static void AssertBitwise(float[] expected, float[] actual, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{context}: element {i} is {actual[i]} but the unfused chain gives {expected[i]}.");
            }
        }
    }
}
