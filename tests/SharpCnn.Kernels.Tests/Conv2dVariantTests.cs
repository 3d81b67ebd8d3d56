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
    };

    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string variant in new[] { Conv2d.VariantName, Conv2d.DirectVariantName })
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
    public void SelectedVariant_LeNetLayers_PickDirectOnAvx512()
    {
        var conv1 = new Conv2dGeometry(64, 1, 28, 28, 6, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2);
        var strided = new Conv2dGeometry(64, 3, 32, 32, 16, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var wide = new Conv2dGeometry(8, 64, 14, 14, 64, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        var depthwise = new Conv2dGeometry(8, 32, 14, 14, 32, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 32);
        string expected = System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated ? Conv2d.DirectVariantName : Conv2d.VariantName;
        Assert.Equal(expected, Conv2d.SelectedVariant(conv1));
        Assert.Equal(Conv2d.VariantName, Conv2d.SelectedVariant(depthwise));
        Assert.Equal(Conv2d.VariantName, Conv2d.SelectedVariant(strided));
        Assert.Equal(Conv2d.VariantName, Conv2d.SelectedVariant(wide));
    }
}
