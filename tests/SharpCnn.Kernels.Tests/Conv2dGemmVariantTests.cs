namespace SharpCnn.Kernels.Tests;

/// <summary>The conv kernels run on whichever GEMM is selected; these run them over every supported variant.</summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dGemmVariantTests
{
    public static TheoryData<GemmVariant, string> Cases()
    {
        var data = new TheoryData<GemmVariant, string>();
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            foreach (string name in new[] { "GemmTiles", "StrideDilationGroupsAsymmetric", "Pointwise1x1Groups2", "Depthwise" })
            {
                data.Add(variant, name);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Conv2dKernels_EachGemmVariant_MatchDoubleReference(GemmVariant variant, string name)
    {
        Conv2dGeometry g = Conv2dCases.All[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 21);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 22);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 23);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 24);
        var y = new float[g.OutputLength];
        var dx = new float[g.InputLength];
        var dw = new float[g.WeightLength];
        var db = new float[g.OutChannels];
        try
        {
            Gemm.VariantOverride = variant;
            Conv2d.Forward(x, w, b, g, y);
            Conv2d.BackwardData(dy, w, g, dx);
            Conv2d.BackwardWeight(dy, x, g, dw, db);
        }
        finally
        {
            Gemm.VariantOverride = null;
        }

        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w), bd = GemmConv2dNumerics.ToDouble(b), dyd = GemmConv2dNumerics.ToDouble(dy);
        var ey = new double[y.Length];
        var my = new double[y.Length];
        Conv2dReference.Forward<double>(xd, wd, bd, g, ey);
        Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(xd), GemmConv2dNumerics.Abs(wd), GemmConv2dNumerics.Abs(bd), g, my);
        GemmConv2dNumerics.AssertClose(y, ey, my, g.WeightLength / g.OutChannels, $"{variant} {name} forward");

        GemmConv2dNumerics.AssertBackwardMatchesReference(g, xd, wd, dyd, dx, dw, db, $"{variant} {name}");
    }
}
