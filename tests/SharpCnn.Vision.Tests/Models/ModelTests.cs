using SharpCnn.Optim;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

public class ModelTests
{
    [Fact]
    public void LeNet5_ParameterCountAndKeys_MatchTorchLayout()
    {
        var model = new LeNet5();
        Assert.Equal(61_706, model.ParameterCount());
        Assert.Equal(
            ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias",
             "classifier.1.weight", "classifier.1.bias", "classifier.3.weight", "classifier.3.bias",
             "classifier.5.weight", "classifier.5.bias"],
            model.StateDict().Keys);
        Assert.Equal([6, 1, 5, 5], model.StateDict()["features.0.weight"].Shape);
        Assert.Equal([120, 400], model.StateDict()["classifier.1.weight"].Shape);
    }

    [Fact]
    public void LeNet5_Forward_GivesLogitsPerClass()
    {
        Tensor y = new LeNet5().Forward(Tensor.Randn(new Generator(1), 3, 1, 28, 28));
        Assert.Equal([3, 10], y.Shape);
    }

    [Fact]
    public void Mlp_ParameterCountAndKeys()
    {
        var model = new Mlp();
        Assert.Equal((784 * 512) + 512 + (512 * 256) + 256 + (256 * 10) + 10, model.ParameterCount());
        Assert.Equal(["layers.1.weight", "layers.1.bias", "layers.3.weight", "layers.3.bias", "layers.5.weight", "layers.5.bias"], model.StateDict().Keys);
        Assert.Equal([2, 10], model.Forward(Tensor.Zeros(2, 1, 28, 28)).Shape);
    }

    [Fact]
    public void ModelZoo_KnownAndUnknownNames()
    {
        Assert.IsType<LeNet5>(ModelZoo.Create("lenet5"));
        Assert.IsType<Mlp>(ModelZoo.Create("MLP"));
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("resnet"));
        Assert.Contains("lenet5, lenet5-paper, mlp", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void LeNet5_TinyBatch_OverfitsToZeroError(int seed)
    {
        using IDisposable seeded = Generator.UseAsDefault(new Generator((ulong)seed));  // this thread only: other tests build models in parallel
        var model = new LeNet5();
        var g = new Generator(5 + (ulong)seed);
        Tensor x = Tensor.Randn(g, 16, 1, 28, 28);
        Tensor y = Tensor.FromArray([.. Enumerable.Range(0, 16).Select(i => (float)(i % 10))]);
        (_, float loss) = ModelTestKit.Fit(model, x, y, new Adam(model.Parameters(), lr: 2e-3), 60);
        Tensor logits = ModelTestKit.EvalForward(model, x);
        Assert.True(loss < 0.05f, $"loss after 60 steps: {loss}");
        Assert.Equal(16, SharpCnn.Training.RunningMetrics.CountCorrect(logits, y));
    }
}
