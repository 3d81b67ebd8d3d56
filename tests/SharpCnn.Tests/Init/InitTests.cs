using static SharpCnn.Init.Init;

namespace SharpCnn.Tests.Init;

public class InitTests
{
    private static (double Mean, double Std, double Min, double Max) Stats(Tensor t)
    {
        double sum = 0, sumSq = 0, min = double.MaxValue, max = double.MinValue;
        foreach (float x in t.Data)
        {
            sum += x;
            sumSq += (double)x * x;
            min = Math.Min(min, x);
            max = Math.Max(max, x);
        }

        double mean = sum / t.Numel;
        return (mean, Math.Sqrt((sumSq / t.Numel) - (mean * mean)), min, max);
    }

    [Fact]
    public void Uniform_LargeTensor_StaysInBoundsWithUniformMoments()
    {
        Tensor t = Uniform(Tensor.Zeros(200_000), -2, 3, new Generator(1));
        (double mean, double std, double min, double max) = Stats(t);
        Assert.True(min >= -2 && max <= 3, $"range [{min}, {max}]");
        Assert.Equal(0.5, mean, 0.02);
        Assert.Equal(5 / Math.Sqrt(12), std, 0.01);
        Assert.True(min < -1.99 && max > 2.99);
    }

    [Fact]
    public void Normal_LargeTensor_HasRequestedMeanAndStd()
    {
        (double mean, double std, _, _) = Stats(Normal(Tensor.Zeros(200_000), 1.5, 0.5, new Generator(2)));
        Assert.Equal(1.5, mean, 0.01);
        Assert.Equal(0.5, std, 0.01);
    }

    [Fact]
    public void TruncatedNormal_LargeTensor_StaysInBounds()
    {
        (double mean, _, double min, double max) = Stats(TruncatedNormal(Tensor.Zeros(100_000), 0, 1, -1, 2, new Generator(3)));
        Assert.True(min >= -1 && max <= 2, $"range [{min}, {max}]");
        Assert.True(mean > 0.1 && mean < 0.3, $"mean {mean}"); // truncated N(0,1) on [−1, 2]: mean ≈ 0.2
    }

    [Fact]
    public void ConstantZerosOnes_Fill_ReturnSameTensor()
    {
        Tensor t = Tensor.Zeros(2, 3);
        Assert.Same(t, Constant(t, 0.25));
        Assert.All(t.ToArray(), x => Assert.Equal(0.25f, x));
        Assert.All(Ones(t).ToArray(), x => Assert.Equal(1f, x));
        Assert.All(Zeros(t).ToArray(), x => Assert.Equal(0f, x));
    }

    [Fact]
    public void CalculateFanInAndFanOut_ConvWeight_MultipliesReceptiveField()
    {
        Assert.Equal((32 * 3 * 3, 64 * 3 * 3), CalculateFanInAndFanOut(Tensor.Zeros(64, 32, 3, 3)));
        Assert.Equal((20, 10), CalculateFanInAndFanOut(Tensor.Zeros(10, 20)));
        Assert.Equal((4 * 5, 2 * 5), CalculateFanInAndFanOut(Tensor.Zeros(2, 4, 5)));
    }

    [Fact]
    public void CalculateFanInAndFanOut_OneDimension_ThrowsNamingShape()
    {
        var ex = Assert.Throws<ArgumentException>(() => CalculateFanInAndFanOut(Tensor.Zeros(7)));
        Assert.Contains("(7)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("linear", null, 1.0)]
    [InlineData("conv2d", null, 1.0)]
    [InlineData("sigmoid", null, 1.0)]
    [InlineData("tanh", null, 5.0 / 3)]
    [InlineData("relu", null, 1.4142135623730951)]
    [InlineData("leaky_relu", null, 1.4141428569978354)] // √(2 / (1 + 0.01²))
    [InlineData("leaky_relu", 0.2, 1.3867504905630728)] // √(2 / 1.04)
    [InlineData("selu", null, 0.75)]
    public void CalculateGain_KnownNonlinearity_MatchesPyTorchTable(string name, double? param, double expected) =>
        Assert.Equal(expected, CalculateGain(name, param), 1e-15);

    [Fact]
    public void CalculateGain_Unknown_ThrowsNamingIt()
    {
        var ex = Assert.Throws<ArgumentException>(() => CalculateGain("gelu"));
        Assert.Contains("'gelu'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KaimingUniform_ConvWeightRelu_BoundIsGainTimesSqrtThreeOverFanIn()
    {
        Tensor w = KaimingUniform(Tensor.Zeros(64, 32, 3, 3), nonlinearity: "relu", generator: new Generator(4));
        double bound = Math.Sqrt(2) * Math.Sqrt(3.0 / 288);
        (double mean, double std, double min, double max) = Stats(w);
        Assert.True(min >= -bound && max <= bound, $"range [{min}, {max}] vs bound {bound}");
        Assert.True(max > 0.99 * bound && min < -0.99 * bound);
        Assert.Equal(0, mean, 0.002);
        Assert.Equal(bound / Math.Sqrt(3), std, 0.002);
    }

    [Fact]
    public void KaimingUniform_DefaultLeakyReluA_MatchesTorchLinearInit()
    {
        // nn.Linear's reset uses a = √5: gain = √(2/6), bound = gain·√(3/fan_in) = 1/√fan_in.
        Tensor w = KaimingUniform(Tensor.Zeros(100, 400), a: Math.Sqrt(5), generator: new Generator(5));
        (_, _, double min, double max) = Stats(w);
        Assert.True(max <= 0.05 && min >= -0.05 && max > 0.0495);
    }

    [Fact]
    public void KaimingNormal_FanOut_StdIsGainOverSqrtFanOut()
    {
        (double mean, double std, _, _) = Stats(KaimingNormal(Tensor.Zeros(128, 64, 3, 3), mode: SharpCnn.Init.FanMode.FanOut,
                                                              nonlinearity: "relu", generator: new Generator(6)));
        Assert.Equal(0, mean, 0.001);
        Assert.Equal(Math.Sqrt(2.0 / (128 * 9)), std, 0.001);
    }

    [Fact]
    public void XavierUniform_Bound_IsGainTimesSqrtSixOverFanSum()
    {
        Tensor w = XavierUniform(Tensor.Zeros(300, 500), gain: 2, generator: new Generator(7));
        double bound = 2 * Math.Sqrt(6.0 / 800);
        (_, double std, double min, double max) = Stats(w);
        Assert.True(min >= -bound && max <= bound);
        Assert.True(max > 0.99 * bound);
        Assert.Equal(bound / Math.Sqrt(3), std, 0.002);
    }

    [Fact]
    public void XavierNormal_Std_IsGainTimesSqrtTwoOverFanSum()
    {
        (_, double std, _, _) = Stats(XavierNormal(Tensor.Zeros(200, 50, 5, 5), generator: new Generator(8)));
        Assert.Equal(Math.Sqrt(2.0 / (250 * 25)), std, 0.0005);
    }

    [Fact]
    public void KaimingUniform_SameSeed_SameValues()
    {
        float[] a = KaimingUniform(Tensor.Zeros(16, 8, 3, 3), generator: new Generator(42)).ToArray();
        float[] b = KaimingUniform(Tensor.Zeros(16, 8, 3, 3), generator: new Generator(42)).ToArray();
        float[] c = KaimingUniform(Tensor.Zeros(16, 8, 3, 3), generator: new Generator(43)).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Fact]
    public void Uniform_ReversedBounds_Throws() =>
        Assert.Throws<ArgumentException>(() => Uniform(Tensor.Zeros(3), 1, 0));

    [Fact]
    public void Kaiming_EmptyTensor_ReturnsUnchanged() =>
        Assert.Equal(0, KaimingUniform(Tensor.Zeros(0, 3)).Numel);

    [Fact]
    public void KaimingUniform_Parameter_RecordsNothing()
    {
        var p = new SharpCnn.Nn.Parameter(Tensor.Zeros(4, 4));
        Assert.Same(p, KaimingUniform(p, generator: new Generator(1)));
        Assert.True(p.IsLeaf);
        Assert.Null(p.Grad);
    }
}
