namespace SharpCnn.Kernels.Tests;

public class Conv2dTests
{
    [Theory]
    [MemberData(nameof(Conv2dCases.Names), MemberType = typeof(Conv2dCases))]
    public void Forward_Config_MatchesDoubleReference(string name)
    {
        Conv2dGeometry g = Conv2dCases.All[name];
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 2);
        float[] b = GemmConv2dNumerics.Random(g.OutChannels, 3);
        foreach (bool withBias in new[] { false, true })
        {
            float[] bias = withBias ? b : [];
            var y = new float[g.OutputLength];
            Conv2d.Forward(x, w, bias, g, y);

            var expected = new double[g.OutputLength];
            var magnitude = new double[g.OutputLength];
            Conv2dReference.Forward<double>(GemmConv2dNumerics.ToDouble(x), GemmConv2dNumerics.ToDouble(w), GemmConv2dNumerics.ToDouble(bias), g, expected);
            Conv2dReference.Forward<double>(GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(x)), GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(w)), GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(bias)), g, magnitude);
            GemmConv2dNumerics.AssertClose(y, expected, magnitude, g.WeightLength / g.OutChannels, $"{name} forward bias={withBias}");
        }
    }

    [Theory]
    [MemberData(nameof(Conv2dCases.Names), MemberType = typeof(Conv2dCases))]
    public void BackwardData_Config_MatchesDoubleReference(string name)
    {
        Conv2dGeometry g = Conv2dCases.All[name];
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 5);
        float[] dx = GemmConv2dNumerics.Random((int)g.InputLength, 6); // garbage: must be overwritten
        Conv2d.BackwardData(dy, w, g, dx);

        var expected = new double[g.InputLength];
        var magnitude = new double[g.InputLength];
        Conv2dReference.BackwardData<double>(GemmConv2dNumerics.ToDouble(dy), GemmConv2dNumerics.ToDouble(w), g, expected);
        Conv2dReference.BackwardData<double>(GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(dy)), GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(w)), g, magnitude);
        long terms = (long)g.OutChannelsPerGroup * g.KernelH * g.KernelW;
        GemmConv2dNumerics.AssertClose(dx, expected, magnitude, terms, $"{name} backward-data");
    }

    [Theory]
    [MemberData(nameof(Conv2dCases.Names), MemberType = typeof(Conv2dCases))]
    public void BackwardWeight_Config_MatchesDoubleReference(string name)
    {
        Conv2dGeometry g = Conv2dCases.All[name];
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 7);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 8);
        float[] dw = GemmConv2dNumerics.Random((int)g.WeightLength, 9); // garbage: must be overwritten
        float[] db = GemmConv2dNumerics.Random(g.OutChannels, 10);
        Conv2d.BackwardWeight(dy, x, g, dw, db);

        var expectedW = new double[g.WeightLength];
        var expectedB = new double[g.OutChannels];
        var magnitudeW = new double[g.WeightLength];
        var magnitudeB = new double[g.OutChannels];
        Conv2dReference.BackwardWeight<double>(GemmConv2dNumerics.ToDouble(dy), GemmConv2dNumerics.ToDouble(x), g, expectedW, expectedB);
        Conv2dReference.BackwardWeight<double>(GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(dy)), GemmConv2dNumerics.Abs(GemmConv2dNumerics.ToDouble(x)), g, magnitudeW, magnitudeB);
        long terms = (long)g.Batch * g.OutHeight * g.OutWidth;
        GemmConv2dNumerics.AssertClose(dw, expectedW, magnitudeW, terms, $"{name} backward-weight");
        GemmConv2dNumerics.AssertClose(db, expectedB, magnitudeB, terms, $"{name} bias-grad");
    }

    [Fact]
    public void BackwardWeight_NoBiasSpan_LeavesBiasAloneAndComputesWeight()
    {
        Conv2dGeometry g = Conv2dCases.All["Basic3x3Pad1"];
        var dw = new float[g.WeightLength];
        Conv2d.BackwardWeight(GemmConv2dNumerics.Random((int)g.OutputLength, 1), GemmConv2dNumerics.Random((int)g.InputLength, 2), g, dw, []);
        Assert.Contains(dw, v => v != 0f);
    }

    [Fact]
    public void Forward_EmptyBatch_DoesNothing()
    {
        var g = new Conv2dGeometry(0, 2, 5, 5, 3, 3, 3);
        Conv2d.Forward([], new float[g.WeightLength], [], g, []);
        var dw = new float[g.WeightLength];
        dw[0] = 1f;
        Conv2d.BackwardWeight([], [], g, dw, []);
        Assert.All(dw, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Forward_WrongInputLength_ThrowsNamingSizes()
    {
        var g = new Conv2dGeometry(2, 3, 5, 5, 4, 3, 3);
        var error = Assert.Throws<ArgumentException>(() =>
            Conv2d.Forward(new float[100], new float[g.WeightLength], [], g, new float[g.OutputLength]));
        Assert.Contains("input has 100 elements", error.Message, StringComparison.Ordinal);
        Assert.Contains("needs 150", error.Message, StringComparison.Ordinal);
    }
}
