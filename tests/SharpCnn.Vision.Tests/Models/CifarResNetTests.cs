using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

public class CifarResNetTests
{
    public static TheoryData<int, long> Counts() => new()
    {
        { 20, 269_722 },
        { 32, 464_154 },
        { 44, 658_586 },
        { 56, 853_018 },
        { 110, 1_727_962 },
    };

    [Theory]
    [MemberData(nameof(Counts))]
    public void CifarResNet_ParameterCount_MatchesPaperImplementation(int depth, long expected)
    {
        CifarResNet model = depth switch
        {
            20 => CifarResNet.ResNet20(),
            32 => CifarResNet.ResNet32(),
            44 => CifarResNet.ResNet44(),
            56 => CifarResNet.ResNet56(),
            110 => CifarResNet.ResNet110(),
            _ => throw new ArgumentOutOfRangeException(nameof(depth)),
        };
        Assert.Equal(depth, model.Depth);
        Assert.Equal(expected, model.ParameterCount());
        Assert.Equal(expected, model.ParameterCount(trainableOnly: true));
        Assert.Equal(expected, new CifarResNet(depth).ParameterCount());
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void CifarResNet_Forward32_GivesLogits(int depth, long expected)
    {
        _ = expected;
        var model = new CifarResNet(depth);
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            Assert.Equal([2, 10], model.Forward(Tensor.Randn(new Generator(1), 2, 3, 32, 32)).Shape);
        }
    }

    [Fact]
    public void CifarResNet20_StateDictKeys_MatchAkamasterLayout()
    {
        OrderedDictionary<string, Tensor> state = CifarResNet.ResNet20().StateDict();
        var keys = state.Keys.ToList();
        Assert.Equal(116, keys.Count);   // 19 convs, 19 batch norms × 5, linear × 2
        Assert.Equal(["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "layer1.0.conv1.weight"], keys[..7]);
        Assert.Equal(["layer3.2.bn2.num_batches_tracked", "linear.weight", "linear.bias"], keys[^3..]);
        Assert.Equal([16, 3, 3, 3], state["conv1.weight"].Shape);
        Assert.Equal([32, 16, 3, 3], state["layer2.0.conv1.weight"].Shape);
        Assert.Equal([64, 64, 3, 3], state["layer3.2.conv2.weight"].Shape);
        Assert.Equal([10, 64], state["linear.weight"].Shape);
        Assert.DoesNotContain(keys, k => k.Contains("shortcut", StringComparison.Ordinal) || k.EndsWith("conv1.bias", StringComparison.Ordinal));
    }

    [Fact]
    public void CifarResNet_NumClassesAndInChannels_Honoured()
    {
        CifarResNet model = CifarResNet.ResNet32(numClasses: 100, inChannels: 1);
        Assert.Equal([16, 1, 3, 3], model.StateDict()["conv1.weight"].Shape);
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            Assert.Equal([3, 100], model.Forward(Tensor.Randn(new Generator(2), 3, 1, 32, 32)).Shape);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(18)]
    [InlineData(21)]
    [InlineData(-4)]
    public void CifarResNet_DepthNot6nPlus2_Rejected(int depth)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new CifarResNet(depth));
        Assert.Contains("6n + 2", e.Message, StringComparison.Ordinal);
        Assert.Contains($"got {depth}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CifarResNet_BadArguments_Throw()
    {
        Assert.Contains("numClasses", Assert.Throws<ArgumentOutOfRangeException>(() => CifarResNet.ResNet20(numClasses: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("inChannels", Assert.Throws<ArgumentOutOfRangeException>(() => CifarResNet.ResNet56(inChannels: 0)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroPadShortcut_Forward_SubsamplesAndPadsChannels()
    {
        Tensor x = Tensor.Randn(new Generator(3), 2, 4, 5, 5);
        Tensor y = new ZeroPadShortcut(4, 8, 2).Forward(x);
        Assert.Equal([2, 8, 3, 3], y.Shape);
        for (int n = 0; n < 2; n++)
        {
            for (int c = 0; c < 8; c++)
            {
                for (int i = 0; i < 3; i++)
                {
                    for (int j = 0; j < 3; j++)
                    {
                        // x[:, :, ::2, ::2] with 8/4 = 2 zero channels on each side.
                        float expected = c is >= 2 and < 6 ? x[n, c - 2, 2 * i, 2 * j] : 0f;
                        Assert.Equal(expected, y[n, c, i, j]);
                    }
                }
            }
        }
    }

    [Fact]
    public void ZeroPadShortcut_Backward_RoutesGradientToKeptPositionsOnly()
    {
        Tensor x = Tensor.Randn(new Generator(4), 2, 4, 5, 5);
        x.RequiresGrad = true;
        Tensor r = Tensor.Randn(new Generator(5), 2, 8, 3, 3);
        (new ZeroPadShortcut(4, 8, 2).Forward(x) * r).Sum().Backward();
        Assert.NotNull(x.Grad);
        for (int n = 0; n < 2; n++)
        {
            for (int c = 0; c < 4; c++)
            {
                for (int h = 0; h < 5; h++)
                {
                    for (int w = 0; w < 5; w++)
                    {
                        float expected = h % 2 == 0 && w % 2 == 0 ? r[n, c + 2, h / 2, w / 2] : 0f;
                        Assert.Equal(expected, x.Grad![n, c, h, w]);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The whole downsampling block (convolutions, batch norms in eval, ReLUs and the option-A shortcut) against
    /// central differences of L = Σ r·y in the input.
    /// </summary>
    [Fact]
    public void CifarBasicBlock_DownsamplingBackward_MatchesCentralDifferences()
    {
        // Weights from a private generator: other tests draw from the default one concurrently.
        var block = new CifarBasicBlock(2, 4, stride: 2);
        var g = new Generator(8);
        foreach (Parameter p in block.Parameters())
        {
            SharpCnn.Init.Init.Normal(p, p.Rank == 4 ? 0 : 1, 0.3, g);
        }

        block.Eval();
        float[] x0 = Tensor.Randn(new Generator(6), 1, 2, 5, 5).ToArray();
        Tensor r = Tensor.Randn(new Generator(7), 1, 4, 3, 3);
        Tensor x = Tensor.FromArray(x0, 1, 2, 5, 5);
        x.RequiresGrad = true;
        (block.Forward(x) * r).Sum().Backward();

        double Loss(float[] v)
        {
            using (Autograd.Autograd.NoGrad())
            {
                float[] y = block.Forward(Tensor.FromArray(v, 1, 2, 5, 5)).ToArray();
                float[] rr = r.ToArray();
                return y.Select((t, i) => (double)t * rr[i]).Sum();
            }
        }

        const float Eps = 1e-3f;
        for (int k = 0; k < x0.Length; k++)
        {
            float[] plus = (float[])x0.Clone();
            float[] minus = (float[])x0.Clone();
            plus[k] += Eps;
            minus[k] -= Eps;
            double numeric = (Loss(plus) - Loss(minus)) / (2 * Eps);
            double analytic = x.Grad!.Data[k];
            Assert.True(Math.Abs(numeric - analytic) <= 2e-3 + (1e-2 * Math.Abs(numeric)), $"d/dx[{k}]: autograd {analytic}, numeric {numeric}");
        }
    }
}

public class CifarResNetTrainingTests
{
    [Fact]
    public void CifarResNet20_SmallBatch_LossFalls()
    {
        using IDisposable seeded = Generator.UseAsDefault(new Generator(0));  // this thread only: other tests build models in parallel
        CifarResNet model = CifarResNet.ResNet20();
        var g = new Generator(11);
        Tensor x = Tensor.Randn(g, 16, 3, 32, 32);
        Tensor y = Tensor.FromArray([.. Enumerable.Range(0, 16).Select(i => (float)(i % 10))]);
        var opt = new Adam(model.Parameters(), lr: 0.01);
        (float first, float last) = ModelTestKit.Fit(model, x, y, opt, 20);

        Assert.True(last < 0.5f * first, $"loss {first} → {last}");
    }
}
