namespace SharpCnn.Kernels.Tests;

public class Pool2dTests
{
    public static TheoryData<int[], bool> MaxConfigs => new()
    {
        { [1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1], false },
        { [2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1], false },
        { [2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1], true },
        { [1, 2, 6, 6, 3, 3, 2, 2, 0, 0, 1, 1], true },
        { [1, 2, 5, 5, 2, 2, 2, 2, 1, 1, 1, 1], true },
        { [3, 2, 11, 8, 3, 2, 3, 1, 1, 1, 2, 3], false },
        { [1, 1, 9, 10, 3, 3, 2, 3, 1, 0, 2, 2], true },
        { [2, 1, 1, 13, 1, 4, 1, 3, 0, 2, 1, 1], true },
        { [1, 4, 5, 5, 5, 5, 1, 1, 2, 2, 1, 1], false },
        { [1, 1, 3, 3, 1, 1, 1, 1, 0, 0, 1, 1], false },
        { [2, 2, 8, 7, 4, 4, 4, 3, 2, 1, 1, 1], true },
    };

    public static TheoryData<int[], bool> AvgConfigs => new()
    {
        { [1, 1, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1], false },
        { [2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1], false },
        { [2, 3, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1], true },
        { [1, 2, 6, 6, 3, 3, 2, 2, 0, 0, 1, 1], true },
        { [1, 2, 5, 5, 2, 2, 2, 2, 1, 1, 1, 1], true },
        { [3, 2, 11, 8, 3, 2, 3, 1, 1, 1, 1, 1], false },
        { [2, 1, 1, 13, 1, 4, 1, 3, 0, 2, 1, 1], true },
        { [2, 2, 8, 7, 4, 4, 4, 3, 2, 1, 1, 1], true },
        { [1, 1, 4, 4, 3, 3, 3, 3, 1, 1, 1, 1], true },
    };

    // s = n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw
    private static Pool2dGeometry Geo(int[] s, bool ceil) =>
        new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10], s[11], ceil);

    [Theory]
    [InlineData(6, 3, 2, 0, 1, true, 3)]
    [InlineData(6, 3, 2, 0, 1, false, 2)]
    [InlineData(5, 2, 2, 1, 1, true, 3)]
    [InlineData(5, 2, 2, 1, 1, false, 3)]
    [InlineData(5, 2, 2, 0, 1, true, 3)]
    [InlineData(5, 2, 2, 0, 1, false, 2)]
    [InlineData(7, 3, 2, 1, 2, false, 3)]
    [InlineData(32, 3, 2, 1, 1, false, 16)]
    [InlineData(112, 3, 2, 1, 1, false, 56)]
    [InlineData(4, 3, 3, 1, 1, true, 2)]
    [InlineData(10, 3, 3, 1, 1, true, 4)]
    [InlineData(1, 1, 1, 0, 1, false, 1)]
    public void Geometry_KnownPyTorchCases_OutputSizeMatches(int input, int k, int s, int pad, int dil, bool ceil, int expected)
    {
        var g = new Pool2dGeometry(1, 1, input, input, k, k, s, s, pad, pad, dil, dil, ceil);
        g.Validate();
        Assert.Equal(expected, g.OutHeight);
        Assert.Equal(expected, g.OutWidth);
    }

    [Fact]
    public void Geometry_OneDimensional_HeightOneWorks()
    {
        var g = new Pool2dGeometry(2, 3, 1, 10, 1, 3, 1, 2, 0, 1, 1, 1, false);
        g.Validate();
        Assert.Equal(1, g.OutHeight);
        Assert.Equal(5, g.OutWidth);
    }

    [Theory]
    [InlineData(5, 3, 1, 2, 1)]
    [InlineData(5, 0, 1, 0, 1)]
    [InlineData(5, 2, 0, 0, 1)]
    [InlineData(5, 2, 1, 0, 0)]
    [InlineData(1, 3, 1, 0, 1)]
    [InlineData(2, 2, 1, -1, 1)]
    public void Geometry_InvalidArguments_Throws(int input, int k, int s, int pad, int dil)
    {
        var g = new Pool2dGeometry(1, 1, input, input, k, k, s, s, pad, pad, dil, dil);
        ArgumentException e = Assert.Throws<ArgumentException>(g.Validate);
        Assert.Contains("got", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Geometry_PadOverHalfKernel_MessageNamesValues()
    {
        var g = new Pool2dGeometry(1, 1, 8, 8, 3, 3, 1, 1, 2, 0);
        ArgumentException e = Assert.Throws<ArgumentException>(g.Validate);
        Assert.Contains("pad=(2, 0)", e.Message, StringComparison.Ordinal);
        Assert.Contains("kernel=(3, 3)", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(MaxConfigs))]
    public void MaxForward_Configs_MatchesReference(int[] s, bool ceil)
    {
        Pool2dGeometry g = Geo(s, ceil);
        float[] x = TestUtil.RandomGrid(g.InputLength, (g.Height * 31) + g.Width);
        var y = new float[g.OutputLength];
        var arg = new int[g.OutputLength];
        Pool2d.MaxForward(x, g, y, arg);

        var yr = new double[g.OutputLength];
        var argr = new int[g.OutputLength];
        Pool2dReference.MaxForward<double>(TestUtil.ToDouble(x), g, yr, argr);
        TestUtil.AssertClose(y, yr);
        Assert.Equal(argr, arg);

        float[] go = TestUtil.Random(g.OutputLength, 3);
        var gi = new float[g.InputLength];
        Array.Fill(gi, 42f);
        Pool2d.MaxBackward(go, arg, g, gi);
        var gir = new double[g.InputLength];
        Pool2dReference.MaxBackward<double>(TestUtil.ToDouble(go), argr, g, gir);
        TestUtil.AssertClose(gi, gir);
    }

    [Theory]
    [MemberData(nameof(MaxConfigs))]
    public void MaxBackwardReference_Configs_MatchesCentralDifferences(int[] s, bool ceil)
    {
        Pool2dGeometry g = Geo(s, ceil);
        double[] x = TestUtil.Distinct(g.InputLength, 11);
        TestUtil.CheckGradient(
            x,
            g.OutputLength,
            xs =>
            {
                var y = new double[g.OutputLength];
                Pool2dReference.MaxForward<double>(xs, g, y, new int[g.OutputLength]);
                return y;
            },
            (xs, r) =>
            {
                var y = new double[g.OutputLength];
                var arg = new int[g.OutputLength];
                Pool2dReference.MaxForward<double>(xs, g, y, arg);
                var gi = new double[g.InputLength];
                Pool2dReference.MaxBackward<double>(r, arg, g, gi);
                return gi;
            });
    }

    [Fact]
    public void MaxForward_Ties_FirstInRowMajorOrderWins()
    {
        var g = new Pool2dGeometry(1, 1, 2, 2, 2, 2, 2, 2);
        float[] x = [1f, 5f, 5f, 5f];
        var y = new float[1];
        var arg = new int[1];
        Pool2d.MaxForward(x, g, y, arg);
        Assert.Equal(5f, y[0]);
        Assert.Equal(1, arg[0]);

        var gi = new float[4];
        Pool2d.MaxBackward([2.5f], arg, g, gi);
        Assert.Equal([0f, 2.5f, 0f, 0f], gi);
    }

    [Fact]
    public void MaxForward_NaNInWindow_PropagatesWithLastNaNIndex()
    {
        var g = new Pool2dGeometry(1, 1, 2, 3, 2, 3, 1, 1);
        float[] x = [1f, float.NaN, 9f, float.NaN, 3f, 4f];
        var y = new float[1];
        var arg = new int[1];
        Pool2d.MaxForward(x, g, y, arg);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(3, arg[0]);
    }

    [Fact]
    public void MaxForward_PaddingNeverWins_AllNegativeInput()
    {
        var g = new Pool2dGeometry(1, 1, 3, 3, 3, 3, 1, 1, 1, 1);
        float[] x = TestUtil.Random(9, 5, -9f, -1f);
        var y = new float[9];
        var arg = new int[9];
        Pool2d.MaxForward(x, g, y, arg);
        for (int o = 0; o < 9; o++)
        {
            Assert.True(y[o] < 0f);
            Assert.Equal(x[arg[o]], y[o]);
        }
    }

    [Fact]
    public void MaxBackward_OverlappingWindows_GradientAccumulatesAtArgmax()
    {
        var g = new Pool2dGeometry(1, 1, 1, 4, 1, 3, 1, 1);
        float[] x = [0f, 7f, 1f, 2f];
        var y = new float[2];
        var arg = new int[2];
        Pool2d.MaxForward(x, g, y, arg);
        Assert.Equal([1, 1], arg);
        var gi = new float[4];
        Pool2d.MaxBackward([1f, 2f], arg, g, gi);
        Assert.Equal([0f, 3f, 0f, 0f], gi);
    }

    [Theory]
    [MemberData(nameof(AvgConfigs))]
    public void AvgForwardBackward_Configs_MatchReference(int[] s, bool ceil)
    {
        Pool2dGeometry g = Geo(s, ceil);
        float[] x = TestUtil.Random(g.InputLength, 17);
        float[] go = TestUtil.Random(g.OutputLength, 19);
        foreach ((bool include, int divisor) in new[] { (true, 0), (false, 0), (true, 5), (false, 2) })
        {
            var y = new float[g.OutputLength];
            Pool2d.AvgForward(x, g, include, divisor, y);
            var yr = new double[g.OutputLength];
            Pool2dReference.AvgForward<double>(TestUtil.ToDouble(x), g, include, divisor, yr);
            TestUtil.AssertClose(y, yr, $"avg include={include} divisor={divisor}");

            var gi = new float[g.InputLength];
            Array.Fill(gi, -3f);
            Pool2d.AvgBackward(go, g, include, divisor, gi);
            var gir = new double[g.InputLength];
            Pool2dReference.AvgBackward<double>(TestUtil.ToDouble(go), g, include, divisor, gir);
            TestUtil.AssertClose(gi, gir, $"avg grad include={include} divisor={divisor}");

            TestUtil.CheckGradient(
                TestUtil.ToDouble(x),
                g.OutputLength,
                xs =>
                {
                    var yy = new double[g.OutputLength];
                    Pool2dReference.AvgForward<double>(xs, g, include, divisor, yy);
                    return yy;
                },
                (xs, r) =>
                {
                    var gg = new double[g.InputLength];
                    Pool2dReference.AvgBackward<double>(r, g, include, divisor, gg);
                    return gg;
                });
        }
    }

    [Fact]
    public void AvgForward_CountIncludePad_DivisorFollowsPyTorch()
    {
        // 1×1×3×3 of ones, k=2, s=2, pad=1, ceil: windows clipped to [-1, 4): the corner window
        // covers 1 real element of a 2×2 padded window.
        var g = new Pool2dGeometry(1, 1, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, true);
        Assert.Equal(2, g.OutHeight);
        float[] x = [1, 1, 1, 1, 1, 1, 1, 1, 1];
        var y = new float[4];
        Pool2d.AvgForward(x, g, true, 0, y);
        Assert.Equal([0.25f, 0.5f, 0.5f, 1f], y);
        Pool2d.AvgForward(x, g, false, 0, y);
        Assert.Equal([1f, 1f, 1f, 1f], y);
    }

    [Fact]
    public void AvgForward_Dilation_Throws()
    {
        var g = new Pool2dGeometry(1, 1, 5, 5, 2, 2, 1, 1, 0, 0, 2, 2);
        Assert.Throws<ArgumentException>(() => Pool2d.AvgForward(new float[25], g, true, 0, new float[9]));
    }

    [Theory]
    [InlineData(1, 5, 5, 3, 3)]
    [InlineData(2, 7, 9, 3, 4)]
    [InlineData(3, 4, 4, 1, 1)]
    [InlineData(1, 3, 5, 5, 7)]
    [InlineData(2, 10, 1, 3, 1)]
    public void AdaptiveAvg_Configs_MatchReferenceAndCentralDifferences(int planes, int h, int w, int oh, int ow)
    {
        float[] x = TestUtil.Random(planes * h * w, 23);
        var y = new float[planes * oh * ow];
        Pool2d.AdaptiveAvgForward(x, planes, h, w, oh, ow, y);
        var yr = new double[y.Length];
        Pool2dReference.AdaptiveAvgForward<double>(TestUtil.ToDouble(x), planes, h, w, oh, ow, yr);
        TestUtil.AssertClose(y, yr);

        float[] go = TestUtil.Random(y.Length, 29);
        var gi = new float[x.Length];
        Pool2d.AdaptiveAvgBackward(go, planes, h, w, oh, ow, gi);
        var gir = new double[x.Length];
        Pool2dReference.AdaptiveAvgBackward<double>(TestUtil.ToDouble(go), planes, h, w, oh, ow, gir);
        TestUtil.AssertClose(gi, gir);

        TestUtil.CheckGradient(
            TestUtil.ToDouble(x),
            y.Length,
            xs =>
            {
                var yy = new double[y.Length];
                Pool2dReference.AdaptiveAvgForward<double>(xs, planes, h, w, oh, ow, yy);
                return yy;
            },
            (xs, r) =>
            {
                var gg = new double[x.Length];
                Pool2dReference.AdaptiveAvgBackward<double>(r, planes, h, w, oh, ow, gg);
                return gg;
            });
    }

    [Fact]
    public void MaxForward_LargeInput_ParallelEqualsSerial()
    {
        var g = new Pool2dGeometry(4, 16, 33, 31, 3, 3, 2, 2, 1, 1);
        float[] x = TestUtil.Random(g.InputLength, 31);
        var y1 = new float[g.OutputLength];
        var a1 = new int[g.OutputLength];
        var y2 = new float[g.OutputLength];
        var a2 = new int[g.OutputLength];
        int keep = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            Pool2d.MaxForward(x, g, y1, a1);
            KernelParallel.MaxThreads = 2;
            Pool2d.MaxForward(x, g, y2, a2);
        }
        finally
        {
            KernelParallel.MaxThreads = keep;
        }

        Assert.Equal(y1, y2);
        Assert.Equal(a1, a2);
    }
}
