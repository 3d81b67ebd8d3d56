namespace SharpCnn.Kernels.Tests;

/// <summary>Every Conv2d variant, forced, over the whole configuration table against the double reference.</summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dVariantTests
{
    /// <summary>LeNet-5's layers and shapes that stress the direct kernel's padding, blocking and flat-row tails.</summary>
    private static readonly Dictionary<string, Conv2dGeometry> s_extra = new()
    {
        ["LeNetConv1"] = new(3, 1, 28, 28, 6, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["LeNetConv2"] = new(2, 6, 14, 14, 16, 5, 5),
        ["NineOutputsPadBeyondKernel"] = new(2, 3, 5, 4, 9, 2, 3, PadTop: 3, PadLeft: 1, PadBottom: 0, PadRight: 4),
        ["Width1"] = new(2, 2, 7, 1, 3, 3, 1, PadTop: 1, PadBottom: 1),

        // Implicit GEMM: k cut into two slices, output tiles straddling images, stride phases, wide padding.
        ["TwoKSlices"] = new(3, 40, 6, 5, 11, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["FirstLayer7x7Stride2"] = new(2, 3, 23, 21, 10, 7, 7, StrideH: 2, StrideW: 2, PadTop: 3, PadLeft: 3, PadBottom: 3, PadRight: 3),
        ["OneByOneStride2Ragged"] = new(3, 17, 11, 13, 19, 1, 1, StrideH: 2, StrideW: 2),
        ["TinyMapsManyImages"] = new(5, 9, 3, 3, 13, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Stride3Dilation2"] = new(2, 5, 17, 16, 9, 3, 3, StrideH: 3, StrideW: 3, PadTop: 2, PadLeft: 1, PadBottom: 2, PadRight: 2, DilationH: 2, DilationW: 2),
        ["PadBeyondDilatedKernel"] = new(2, 3, 6, 6, 5, 2, 2, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2),
        ["Winograd3x3OddMapsPadVariants"] = new(3, 19, 9, 7, 21, 3, 3, PadTop: 1, PadLeft: 0, PadBottom: 2, PadRight: 1),
        ["Winograd3x3LongTileRows"] = new(2, 5, 9, 70, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Winograd3x3ManyChannels"] = new(2, 300, 6, 5, 37, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["WideRowsStride2"] = new(2, 4, 9, 70, 17, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        // B-panel plans: 81 tap classes (more than a plan holds) and one-column maps (32 output rows per panel) take the
        // per-tap fallback; a weight above the 1 M-float partial budget is summed in one chunk.
        ["NineByNineFallback"] = new(2, 3, 12, 11, 10, 9, 9, PadTop: 4, PadLeft: 4, PadBottom: 4, PadRight: 4),
        ["OneColumnMapsFallback"] = new(3, 5, 9, 1, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["OneChunkLargeWeight"] = new(3, 160, 3, 4, 400, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        // Implicit-GEMM backward-weight with an odd item count below 16 made even: 2,304 taps in 6 blocks of 384 (not
        // 5 of up to 512), and 5 chunks × 180 taps in 2 blocks of 96 and 84.
        ["WeightTapBlocksEvened"] = new(1, 256, 6, 5, 8, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["WeightChunksOddTapBlocksEvened"] = new(5, 20, 7, 6, 12, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string variant in new[] { Conv2d.VariantName, Conv2d.DirectVariantName, Conv2d.ImplicitVariantName, Conv2d.WinogradVariantName })
        {
            foreach (string name in Conv2dCases.All.Keys.Concat(s_extra.Keys))
            {
                data.Add(variant, name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dKernels_ForcedVariant_MatchDoubleReference(string variant, string name)
    {
        Conv2dGeometry g = Conv2dCases.All.TryGetValue(name, out Conv2dGeometry found) ? found : s_extra[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 31);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 32);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 33);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 34);
        float[] y = GemmConv2dNumerics.Random((int)g.OutputLength, 35); // garbage: must be overwritten
        float[] dx = GemmConv2dNumerics.Random((int)g.InputLength, 36);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 37);
        var db = new float[g.OutChannels];
        var yNoBias = new float[g.OutputLength];
        try
        {
            Conv2d.VariantOverride = variant;
            if (variant == Conv2d.DirectVariantName && System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated)
            {
                Assert.Equal(g.StrideH == 1 && g.StrideW == 1 ? variant : Conv2d.VariantName, Conv2d.SelectedVariant(g));
            }

            Conv2d.Forward(x, w, b, g, y);
            Conv2d.Forward(x, w, [], g, yNoBias);
            Conv2d.BackwardData(dy, w, g, dx);
            Conv2d.BackwardWeight(dy, x, g, dw, db);
        }
        finally
        {
            Conv2d.VariantOverride = null;
        }

        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b), dyd = GemmConv2dNumerics.ToDouble(dy);
        long kTerms = g.WeightLength / g.OutChannels;
        foreach ((float[] actual, double[] bias, string what) in new[] { (y, bd, "forward"), (yNoBias, Array.Empty<double>(), "forward no bias") })
        {
            var ey = new double[y.Length];
            var my = new double[y.Length];
            Conv2dReference.Forward<double>(xd, wd, bias, g, ey);
            Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bias), g, my);
            GemmConv2dNumerics.AssertClose(actual, ey, my, kTerms, $"{variant} {name} {what}");
        }

        GemmConv2dNumerics.AssertBackwardMatchesReference(g, xd, wd, dyd, dx, dw, db, $"{variant} {name}");
    }

    [Fact]
    public void SelectedVariant_LayerShapes_PickDirectWinogradOrImplicitOnAvx512()
    {
        var conv1 = new Conv2dGeometry(64, 1, 28, 28, 6, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2);
        var strided = new Conv2dGeometry(64, 3, 32, 32, 16, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var wide = new Conv2dGeometry(8, 64, 14, 14, 64, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var depthwise = new Conv2dGeometry(8, 32, 14, 14, 32, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 32);
        bool avx512 = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        string gemm = avx512 ? Conv2d.ImplicitVariantName : Conv2d.VariantName;
        Assert.Equal(avx512 ? Conv2d.DirectVariantName : Conv2d.VariantName, Conv2d.SelectedVariant(conv1));
        Assert.Equal(gemm, Conv2d.SelectedVariant(depthwise));
        Assert.Equal(gemm, Conv2d.SelectedVariant(strided));
        string winograd4x4 = avx512 ? Conv2d.Winograd4x4VariantName : Conv2d.VariantName;
        Assert.Equal(winograd4x4, Conv2d.SelectedVariant(wide));
        Assert.Equal(gemm, Conv2d.SelectedVariant(wide with { StrideH = 2, StrideW = 2 }));
        Assert.Equal(winograd4x4, Conv2d.SelectedVariant(wide with { OutChannels = 32 })); // F(4×4) from 32 channels
        Assert.Equal(avx512 ? Conv2d.BlockedVariantName : Conv2d.VariantName, Conv2d.SelectedVariant(wide with { InChannels = 16 })); // too few channels for Winograd
        Assert.Equal(gemm, Conv2d.SelectedVariant(wide with { Batch = 1, Height = 7, Width = 7 })); // weight transform does not pay
        // Batch-1 layer3: too few outputs for F(4×4)'s weight transform; the blocked direct kernel skips the padding taps.
        Assert.Equal(avx512 ? Conv2d.BlockedVariantName : Conv2d.VariantName,
            Conv2d.SelectedVariant(new Conv2dGeometry(1, 256, 14, 14, 256, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1)));
        Assert.Equal(winograd4x4, Conv2d.SelectedVariant(new Conv2dGeometry(1, 128, 28, 28, 128, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1)));
        Assert.Equal(gemm, Conv2d.SelectedVariant(wide with { KernelH = 1, KernelW = 1, PadTop = 0, PadLeft = 0, PadBottom = 0, PadRight = 0 }));
    }
}
