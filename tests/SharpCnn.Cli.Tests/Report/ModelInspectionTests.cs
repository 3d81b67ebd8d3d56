using SharpCnn.Cli.Report;
using SharpCnn.Data;
using SharpCnn.Nn;
using SharpCnn.Vision.Models;

namespace SharpCnn.Cli.Tests.Report;

public class ModelInspectionTests
{
    /// <summary>A "model" whose logits are its input rows, so every prediction is known in advance.</summary>
    private sealed class InputIsLogits : Module
    {
        public override Tensor Forward(Tensor input) => input;
    }

    [Fact]
    public void Evaluate_KnownLogits_CountsConfusionAndRanksMistakes()
    {
        float[][] rows =
        [
            [3, 0, 0],  // label 0, predicted 0
            [0, 0, 5],  // label 0, predicted 2 (confident mistake)
            [0, 1, 0],  // label 1, predicted 1
            [1, 1.2f, 0], // label 2, predicted 1 (unsure mistake)
            [0, 0, 2],  // label 2, predicted 2
        ];
        int[] labels = [0, 0, 1, 2, 2];
        var dataset = new TensorDataset(Tensor.FromArray(rows), labels);
        TestEvaluation r = ModelInspection.Evaluate(new InputIsLogits(), dataset, classes: 3, keepMistakes: 10, batchSize: 2);

        long[,] expected = { { 1, 0, 1 }, { 0, 1, 0 }, { 0, 1, 1 } };
        Assert.Equal(expected, r.Confusion);
        Assert.Equal((5, 3, 2), (r.Count, r.Correct, r.MistakeCount));
        Assert.Equal(0.6, r.Accuracy, 12);
        Assert.Equal([(1, 0, 2), (3, 2, 1)], r.Mistakes.Select(m => (m.Index, m.Label, m.Predicted)));
        Assert.Equal(Math.Exp(5) / (2 + Math.Exp(5)), r.Mistakes[0].Confidence, 12);
        Assert.Equal(Math.Exp(1.2f) / (1 + Math.Exp(1.2f) + Math.Exp(1)), r.Mistakes[1].Confidence, 6);

        TestEvaluation top1 = ModelInspection.Evaluate(new InputIsLogits(), dataset, 3, keepMistakes: 1);
        Assert.Equal([1], top1.Mistakes.Select(m => m.Index));
        Assert.Equal(2, top1.MistakeCount);
    }

    [Fact]
    public void Evaluate_OutputWidthDiffersFromClasses_ClearError()
    {
        var dataset = new TensorDataset(Tensor.FromArray([[1f, 2f]]), [0]);
        var e = Assert.Throws<InvalidDataException>(() => ModelInspection.Evaluate(new InputIsLogits(), dataset, classes: 10, keepMistakes: 4));
        Assert.Contains("expected (1, 10)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ArgMaxSoftmax_TiesGoToLowestIndex()
    {
        (int index, double p) = ModelInspection.ArgMaxSoftmax([1f, 4f, 4f, 0f]);
        Assert.Equal(1, index);
        Assert.Equal(Math.Exp(4) / ((2 * Math.Exp(4)) + Math.E + 1), p, 12);
    }

    [Fact]
    public void CaptureStages_LeNet5_ReluAfterEachConv()
    {
        Module model = ModelZoo.Create("lenet5", 10, inChannels: 1);
        IReadOnlyList<FeatureStage> stages = ModelInspection.CaptureStages(model, Tensor.Randn(1, 1, 28, 28));
        Assert.Equal(
            [("features.1", 6, 28, 28), ("features.4", 16, 10, 10)],
            stages.Select(s => (s.Path, s.Channels, s.Height, s.Width)));
        Assert.Equal("ReLU after features.0 (Conv2d)", stages[0].Description);
        Assert.All(stages, s => Assert.Equal(s.Channels * s.Height * s.Width, s.Maps.Length));
        Assert.All(stages, s => Assert.All(s.Maps, v => Assert.True(v >= 0))); // after ReLU
        Assert.True(model.Training); // the probe restores the mode
    }

    [Fact]
    public void CaptureStages_LeNet5Paper_ConnectionTableIsOneStage_OneByOneLeftOut()
    {
        Module model = ModelZoo.Create("lenet5-paper", 10, inChannels: 1);
        IReadOnlyList<FeatureStage> stages = ModelInspection.CaptureStages(model, Tensor.Randn(1, 1, 32, 32));
        Assert.Equal([("c1", 6, 28, 28), ("c3", 16, 10, 10)], stages.Select(s => (s.Path, s.Channels, s.Height, s.Width)));
    }

    [Fact]
    public void CaptureStages_CifarResNet20_ConvThenEveryBlock()
    {
        Module model = ModelZoo.Create("resnet20", 10, inChannels: 1);
        IReadOnlyList<FeatureStage> stages = ModelInspection.CaptureStages(model, Tensor.Randn(1, 1, 28, 28));
        string[] blocks = [.. new[] { "layer1", "layer2", "layer3" }.SelectMany(l => Enumerable.Range(0, 3).Select(i => $"{l}.{i}"))];
        Assert.Equal(["conv1", .. blocks], stages.Select(s => s.Path));
        Assert.Equal((64, 7, 7), (stages[^1].Channels, stages[^1].Height, stages[^1].Width));
    }

    [Fact]
    public void CaptureStages_ManyBlocks_KeepsEachContainersLast()
    {
        Module model = ModelZoo.Create("resnet56", 10, inChannels: 1);
        IReadOnlyList<FeatureStage> stages = ModelInspection.CaptureStages(model, Tensor.Randn(1, 1, 16, 16));
        Assert.Equal(["conv1", "layer1.8", "layer2.8", "layer3.8"], stages.Select(s => s.Path));
    }

    [Fact]
    public void CaptureStages_Mlp_None()
    {
        Module model = ModelZoo.Create("mlp", 10, inChannels: 1);
        Assert.Empty(ModelInspection.CaptureStages(model, Tensor.Randn(1, 1, 28, 28)));
        Assert.Null(ModelInspection.FirstConv(model, Tensor.Randn(1, 1, 28, 28)));
    }

    [Fact]
    public void FirstConv_LeNet5_FirstCalledConvolution()
    {
        Module model = ModelZoo.Create("lenet5", 10, inChannels: 3);
        (string path, Tensor weight) = ModelInspection.FirstConv(model, Tensor.Randn(1, 3, 28, 28))!.Value;
        Assert.Equal("features.0", path);
        Assert.Equal([6, 3, 5, 5], weight.Shape);
    }
}
