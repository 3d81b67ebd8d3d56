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
        float[] x = Numerics.Random((int)g.InputLength, 21);
        float[] w = Numerics.Random((int)g.WeightLength, 22);
        float[] b = Numerics.Random(g.OutChannels, 23);
        float[] dy = Numerics.Random((int)g.OutputLength, 24);
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

        double[] xd = Numerics.ToDouble(x), wd = Numerics.ToDouble(w), bd = Numerics.ToDouble(b), dyd = Numerics.ToDouble(dy);
        var ey = new double[y.Length];
        var my = new double[y.Length];
        Conv2dReference.Forward<double>(xd, wd, bd, g, ey);
        Conv2dReference.Forward<double>(Numerics.Abs(xd), Numerics.Abs(wd), Numerics.Abs(bd), g, my);
        Numerics.AssertClose(y, ey, my, g.WeightLength / g.OutChannels, $"{variant} {name} forward");

        var edx = new double[dx.Length];
        var mdx = new double[dx.Length];
        Conv2dReference.BackwardData<double>(dyd, wd, g, edx);
        Conv2dReference.BackwardData<double>(Numerics.Abs(dyd), Numerics.Abs(wd), g, mdx);
        Numerics.AssertClose(dx, edx, mdx, (long)g.OutChannelsPerGroup * g.KernelH * g.KernelW, $"{variant} {name} backward-data");

        var edw = new double[dw.Length];
        var edb = new double[db.Length];
        var mdw = new double[dw.Length];
        var mdb = new double[db.Length];
        Conv2dReference.BackwardWeight<double>(dyd, xd, g, edw, edb);
        Conv2dReference.BackwardWeight<double>(Numerics.Abs(dyd), Numerics.Abs(xd), g, mdw, mdb);
        long terms = (long)g.Batch * g.OutHeight * g.OutWidth;
        Numerics.AssertClose(dw, edw, mdw, terms, $"{variant} {name} backward-weight");
        Numerics.AssertClose(db, edb, mdb, terms, $"{variant} {name} bias-grad");
    }
}
