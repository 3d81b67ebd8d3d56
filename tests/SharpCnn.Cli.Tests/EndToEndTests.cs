using System.Globalization;
using System.Text.RegularExpressions;
using SharpCnn.Serialization;
using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

[CollectionDefinition("cli-training", DisableParallelization = true)]
public sealed class CliTrainingGroup
{
}

/// <summary>Trains through the CLI entry point on tiny synthetic MNIST files written by the test.</summary>
[Collection("cli-training")]
public sealed partial class EndToEndTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpcnn-cli-").FullName;
    private readonly string _data;

    public EndToEndTests()
    {
        _data = Path.Combine(_root, "mnist");
        SyntheticMnist.Write(_data);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private (int Code, string Out, string Err) Train(string run, params string[] extra) =>
        Run(["train", "--data-dir", _data, "--out", Path.Combine(_root, run), "--threads", "2", "--seed", "3", .. extra]);

    [GeneratedRegex(@"^test accuracy: \d{1,3}\.\d\d%$")]
    private static partial Regex FinalLine();

    [Fact]
    public void Train_OneEpoch_WritesRunFolder_ThenEvalReadsCheckpoint()
    {
        (int code, string output, string error) = Train("run", "--epochs", "1");
        Assert.True(code == 0, output + error);
        string[] lines = output.TrimEnd().Split('\n');
        Assert.Matches(FinalLine(), lines[^1]);
        Assert.Contains(lines, l => l.StartsWith("epoch 1/1: train loss", StringComparison.Ordinal) && l.Contains("test loss", StringComparison.Ordinal));

        string runDir = Path.Combine(_root, "run");
        string[] csv = File.ReadAllLines(Path.Combine(runDir, "metrics.csv"));
        Assert.Equal("epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds,test_top5_accuracy", csv[0]);
        Assert.Equal(2, csv.Length);
        string[] row = csv[1].Split(',');
        Assert.Equal(8, row.Length);
        Assert.Equal("1", row[0]);
        Assert.All(row[1..], v => Assert.True(double.TryParse(v, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d), v));
        Assert.True(File.Exists(Path.Combine(runDir, "last.safetensors")));
        Assert.True(File.Exists(Path.Combine(runDir, "best.safetensors")));
        CheckpointInfo info = Checkpoint.Read(Path.Combine(runDir, "last.safetensors")).Info;
        Assert.Equal(("lenet5", 1, 4L, 3UL), (info.ModelName, info.Epoch, info.GlobalStep, info.Seed));
        Assert.Equal(64, info.DataSha256.Length);

        (int evalCode, string evalOut, string evalErr) = Run("eval", "--checkpoint", Path.Combine(runDir, "last.safetensors"), "--data-dir", _data);
        Assert.True(evalCode == 0, evalOut + evalErr);
        string[] evalLines = evalOut.TrimEnd().Split('\n');
        Assert.StartsWith("test loss: ", evalLines[^3], StringComparison.Ordinal);
        Assert.StartsWith("top-5 accuracy: ", evalLines[^2], StringComparison.Ordinal);
        Assert.Equal(lines[^1], evalLines[^1]);
    }

    [Fact]
    public void Train_SameSeedTwice_BitIdenticalParameters()
    {
        Assert.Equal(0, Train("a", "--epochs", "1", "--model", "mlp").Code);
        Assert.Equal(0, Train("b", "--epochs", "1", "--model", "mlp").Code);
        Assert.Equal(ModelTensors(Path.Combine(_root, "a", "last.safetensors")), ModelTensors(Path.Combine(_root, "b", "last.safetensors")));
    }

    [Fact]
    public void Train_OneOrTwoThreads_BitIdenticalParameters()
    {
        Assert.Equal(0, Run("train", "--data-dir", _data, "--out", Path.Combine(_root, "t1"), "--threads", "1", "--epochs", "1", "--limit", "128").Code);
        Assert.Equal(0, Run("train", "--data-dir", _data, "--out", Path.Combine(_root, "t2"), "--threads", "2", "--epochs", "1", "--limit", "128").Code);
        Assert.Equal(ModelTensors(Path.Combine(_root, "t1", "last.safetensors")), ModelTensors(Path.Combine(_root, "t2", "last.safetensors")));
    }

    [Fact]
    public void Train_ResumeWithMoreEpochs_ContinuesAndAppendsMetrics()
    {
        Assert.Equal(0, Train("part", "--epochs", "1", "--limit", "128").Code);

        // Options not given come from the checkpoint (model, seed, limit, ...); --epochs extends the run.
        (int code, string output, string error) = Run("train", "--resume", Path.Combine(_root, "part", "last.safetensors"), "--data-dir", _data, "--epochs", "2");
        Assert.True(code == 0, output + error);
        Assert.Contains("resumed from", output, StringComparison.Ordinal);
        Assert.Equal(3, File.ReadAllLines(Path.Combine(_root, "part", "metrics.csv")).Length);
    }

    [Fact]
    public void Train_ResumeAfterCancel_BitIdenticalToUninterrupted()
    {
        Assert.Equal(0, Train("full", "--epochs", "2", "--limit", "128").Code);

        // Cancel from the start: the trainer finishes one step, saves, and exits with 130.
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Program.Run(["train", "--data-dir", _data, "--out", Path.Combine(_root, "cut"), "--threads", "2", "--seed", "3", "--epochs", "2", "--limit", "128"],
            output, error, cancellation: cts.Token);
        Assert.True(code == 130, output.ToString() + error);
        Assert.Contains("continue with: sharpcnn train --resume", output.ToString(), StringComparison.Ordinal);
        Assert.Equal(1, Checkpoint.Read(Path.Combine(_root, "cut", "last.safetensors")).Info.BatchInEpoch);

        (int resumed, string o2, string e2) = Run("train", "--resume", Path.Combine(_root, "cut", "last.safetensors"), "--data-dir", _data);
        Assert.True(resumed == 0, o2 + e2);
        Assert.Equal(ModelTensors(Path.Combine(_root, "full", "last.safetensors")), ModelTensors(Path.Combine(_root, "cut", "last.safetensors")));
    }

    [Fact]
    public void Eval_CheckpointOfOtherKind_ClearError()
    {
        string bogus = Path.Combine(_root, "bogus.safetensors");
        File.WriteAllBytes(bogus, [1, 2, 3]);
        (int code, _, string error) = Run("eval", "--checkpoint", bogus, "--data-dir", _data);
        Assert.Equal(1, code);
        Assert.Contains("not a readable checkpoint", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lenet5-paper", "padded to 1x32x32")]
    [InlineData("resnet20", "")]
    [InlineData("googlenet", "")]
    public void Train_ZooModels_TrainOnMnistAndEvalReadsTheirCheckpoint(string model, string note)
    {
        (int code, string output, string error) = Train(model, "--model", model, "--epochs", "1", "--limit", "64", "--batch-size", "32");
        Assert.True(code == 0, output + error);
        Assert.Contains($"training {model} (", output, StringComparison.Ordinal);
        Assert.Contains(note, output, StringComparison.Ordinal);
        Assert.Matches(FinalLine(), output.TrimEnd().Split('\n')[^1]);
        (code, output, error) = Run("eval", "--checkpoint", Path.Combine(_root, model, "last.safetensors"), "--data-dir", _data);
        Assert.True(code == 0, output + error);
        Assert.Contains($"({model}, epoch 1", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("vgg11")]
    [InlineData("alexnet")]
    public void Train_ModelThatCannotTakeMnist_UsageErrorNamingModelAndImageSize(string model)
    {
        (int code, string output, string error) = Train(model, "--model", model);
        Assert.Equal(2, code);
        Assert.Contains($"model {model} cannot take the 1x28x28 images of mnist", error, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_root, model, "last.safetensors")));
    }
}
