using SharpCnn.Nn;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

/// <summary>
/// A full VGG draws about 130M normal samples at construction (seconds on a busy machine), so only two full models
/// are built here; the per-variant counts go through <see cref="Vgg.MakeLayers"/>, the same stack the constructor
/// uses, plus the classifier every variant shares.
/// </summary>
public class VggTests
{
    // 25088→4096, 4096→4096, 4096→1000 with biases: identical in every variant for 1000 classes.
    private const long Classifier1000 = (25088L * 4096) + 4096 + (4096L * 4096) + 4096 + (4096L * 1000) + 1000;

    private static IReadOnlyList<int> Column(char c) => c switch
    {
        'A' => Vgg.ColumnA,
        'B' => Vgg.ColumnB,
        'D' => Vgg.ColumnD,
        'E' => Vgg.ColumnE,
        _ => throw new ArgumentException(c.ToString()),
    };

    [Theory]
    [InlineData('A', false, 132_863_336, 21)]
    [InlineData('B', false, 133_047_848, 25)]
    [InlineData('D', false, 138_357_544, 31)]
    [InlineData('E', false, 143_667_240, 37)]
    [InlineData('A', true, 132_868_840, 29)]
    [InlineData('B', true, 133_053_736, 35)]
    [InlineData('D', true, 138_365_992, 44)]
    [InlineData('E', true, 143_678_248, 53)]
    public void Vgg_EveryVariant_ParameterCountMatchesTorchvision(char column, bool batchNorm, long expected, int featureLayers)
    {
        Sequential features = Vgg.MakeLayers(Column(column), batchNorm);
        Assert.Equal(featureLayers, features.Count);
        Assert.Equal(expected, features.ParameterCount() + Classifier1000);
        Assert.IsType<MaxPool2d>(features[featureLayers - 1]);
    }

    [Fact]
    public void Vgg_Columns_AreTable1()
    {
        // Weight layers = convolutions + 3 FC: 11, 13, 16, 19; five pools each.
        Assert.Equal([8, 10, 13, 16], new[] { 'A', 'B', 'D', 'E' }.Select(c => Column(c).Count(v => v > 0)));
        Assert.All(new[] { 'A', 'B', 'D', 'E' }, c => Assert.Equal(5, Column(c).Count(v => v == Vgg.M)));
        Assert.Equal([64, 64, Vgg.M, 128, 128, Vgg.M, 256, 256, 256, Vgg.M, 512, 512, 512, Vgg.M, 512, 512, 512, Vgg.M], Vgg.ColumnD);
    }

    [Fact]
    public void Vgg16_FeatureIndices_MatchTorchvision()
    {
        int[] Convs(bool bn) => [.. Vgg.MakeLayers(Vgg.ColumnD, bn).NamedChildren().Where(c => c.Module is Conv2d).Select(c => int.Parse(c.Name, System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal([0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28], Convs(false));
        Assert.Equal([0, 3, 7, 10, 14, 17, 20, 24, 27, 30, 34, 37, 40], Convs(true));
        Assert.Equal(
            ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked", "4.weight"],
            Vgg.MakeLayers(Vgg.ColumnA, batchNorm: true).StateDict().Keys.Take(8));
    }

    [Fact]
    public void Vgg19_Forward224_CountKeysAndLogits()
    {
        Vgg model = Vgg.Vgg19();
        Assert.Equal(143_667_240, model.ParameterCount());
        OrderedDictionary<string, Tensor> state = model.StateDict();
        Assert.Equal("features.0.weight", state.Keys.First());
        Assert.Equal("classifier.6.bias", state.Keys.Last());
        Assert.Equal([512, 512, 3, 3], state["features.34.weight"].Shape);
        Assert.Equal([4096, 25088], state["classifier.0.weight"].Shape);
        Assert.Equal([4096, 4096], state["classifier.3.weight"].Shape);
        Assert.Equal([1000, 4096], state["classifier.6.weight"].Shape);
        Assert.Equal(38, state.Count);  // 16 convolutions + 3 FC, weight and bias each

        Tensor y = ModelTestKit.EvalForward(model, Tensor.Randn(new Generator(1), 1, 3, 224, 224));

        Assert.Equal([1, 1000], y.Shape);
        Assert.All(y.Data.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void Vgg11Bn_NumClassesInChannelsAndInit_AreTorchvisions()
    {
        Vgg model = Vgg.Vgg11(numClasses: 5, batchNorm: true, inChannels: 1, dropout: 0.3f);
        OrderedDictionary<string, Tensor> state = model.StateDict();
        Assert.Equal([64, 1, 3, 3], state["features.0.weight"].Shape);
        Assert.Equal([5, 4096], state["classifier.6.weight"].Shape);
        Assert.Equal(132_868_840 - (64 * 2 * 9) - ((4096 + 1) * 995), model.ParameterCount());

        // kaiming_normal(fan_out, relu): std √(2 / (C_out·9)); bias 0; BN γ 1, β 0; Linear N(0, 0.01²), bias 0.
        AssertStd(state["features.25.weight"], Math.Sqrt(2.0 / (512 * 9)));
        AssertStd(state["classifier.3.weight"], 0.01);
        Assert.All(state["features.0.bias"].Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(state["features.1.weight"].Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(state["features.1.bias"].Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(state["classifier.0.bias"].Data.ToArray(), v => Assert.Equal(0f, v));

        // Five halvings take 32×32 to 1×1; the adaptive pool lifts it to 7×7.
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            Assert.Equal([2, 5], model.Forward(Tensor.Randn(new Generator(2), 2, 1, 32, 32)).Shape);
        }
    }

    [Fact]
    public void Vgg_BadArguments_ThrowBeforeBuilding()
    {
        Assert.Contains("numClasses must be positive, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => Vgg.Vgg16(numClasses: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("inChannels must be positive, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => Vgg.Vgg11(inChannels: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("dropout must be in [0, 1]", Assert.Throws<ArgumentOutOfRangeException>(() => Vgg.Vgg13(dropout: -0.1f)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Vgg([Vgg.M, Vgg.M]));
        Assert.Throws<ArgumentException>(() => Vgg.MakeLayers([64, -1]));
    }

    private static void AssertStd(Tensor t, double expected)
    {
        float[] v = t.Data.ToArray();
        double std = Math.Sqrt(v.Average(x => (double)x * x));
        Assert.InRange(std, expected * 0.98, expected * 1.02);
        Assert.InRange(v.Average(x => (double)x), -expected * 0.02, expected * 0.02);
    }
}
