using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

public class CommandLineTests
{
    private static TrainSettings Settings(params string[] args) =>
        TrainSettings.From(ParsedOptions.Parse(args, TrainSettings.Specs, Usage.Train));

    [Fact]
    public void Train_Defaults_MatchTheRecipe()
    {
        TrainSettings s = Settings();
        Assert.Equal(("lenet5", "mnist", 3, 64, "sgd"), (s.Model, s.Data, s.Epochs, s.BatchSize, s.Optimizer));
        Assert.Equal((0.05, 0.9, true, "onecycle", 0UL), (s.Lr, s.Momentum, s.Nesterov, s.Scheduler, s.Seed));
        Assert.Equal(Path.Combine("data", "mnist"), s.DataDir);
        Assert.Null(s.Limit);
        Assert.Null(s.Out);
    }

    [Fact]
    public void Train_Options_ParsedInBothForms()
    {
        TrainSettings s = Settings("--model=mlp", "--epochs", "5", "--lr", "0.1", "--no-nesterov", "--scheduler", "step", "--seed=7", "--limit", "100", "--threads", "1");
        Assert.Equal(("mlp", 5, 0.1, false, "step", 7UL, 100, 1), (s.Model, s.Epochs, s.Lr, s.Nesterov, s.Scheduler, s.Seed, s.Limit, s.Threads));
    }

    [Fact]
    public void Train_Adam_DefaultsToSmallLrWithoutNesterov()
    {
        TrainSettings s = Settings("--optimizer", "adam");
        Assert.Equal((1e-3, false), (s.Lr, s.Nesterov));
    }

    [Theory]
    [InlineData("unknown option '--bogus'", "train", "--bogus")]
    [InlineData("invalid value 'resnet' for --model; expected one of: lenet5, lenet5-paper, mlp, alexnet", "train", "--model", "resnet")]
    [InlineData("invalid value 'zero' for --epochs", "train", "--epochs", "zero")]
    [InlineData("invalid value '0' for --batch-size", "train", "--batch-size", "0")]
    [InlineData("invalid value '-1' for --lr", "train", "--lr", "-1")]
    [InlineData("option '--lr' needs a value", "train", "--lr")]
    [InlineData("--nesterov applies to sgd only", "train", "--optimizer", "adam", "--nesterov")]
    [InlineData("invalid value 'no-such-data' for --data", "train", "--data", "no-such-data")]
    [InlineData("invalid value 'multistep:5,3' for --scheduler; multistep needs increasing epochs", "train", "--scheduler", "multistep:5,3")]
    [InlineData("invalid value 'cyclic' for --scheduler; expected one of: onecycle, cosine, step, multistep:M1,M2,…, none", "train", "--scheduler", "cyclic")]
    [InlineData("invalid value '1' for --label-smoothing; expected a number in [0, 1)", "train", "--label-smoothing", "1")]
    [InlineData("invalid value 'val_acc' for --monitor; expected one of: test_loss, test_accuracy", "train", "--monitor", "val_acc")]
    [InlineData("invalid value '0' for --clip-grad; expected a number > 0", "train", "--clip-grad", "0")]
    [InlineData("invalid value '-1' for --keep", "train", "--keep", "-1")]
    [InlineData("invalid value '0' for --early-stop", "train", "--early-stop", "0")]
    [InlineData("option '--detect-anomaly' takes no value", "train", "--detect-anomaly=yes")]
    [InlineData("unknown option '--bogus'", "eval", "--bogus")]
    [InlineData("unknown option '--bogus'", "summary", "lenet5", "--bogus")]
    [InlineData("unexpected argument 'x'", "models", "x")]
    [InlineData("unexpected argument 'extra'", "train", "extra")]
    [InlineData("unknown command 'fit'", "fit")]
    [InlineData("eval needs --checkpoint FILE", "eval")]
    [InlineData("unknown data command 'get cifar'", "data", "get", "cifar")]
    public void BadArguments_MessageAndUsage_ExitCode2(string expected, params string[] args)
    {
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Contains("usage: sharpcnn", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void NoArguments_PrintsUsage_ExitCode2()
    {
        (int code, string output, _) = Run();
        Assert.Equal(2, code);
        Assert.Contains("usage: sharpcnn <command>", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("train")]
    [InlineData("eval")]
    [InlineData("data")]
    [InlineData("summary")]
    [InlineData("models")]
    public void Help_PrintsCommandUsage_ExitCode0(string command)
    {
        (int code, string output, _) = Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains($"usage: sharpcnn {command}", output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("train", "sharpcnn train --resume runs/")]
    [InlineData("eval", "sharpcnn eval --checkpoint runs/")]
    [InlineData("summary", "sharpcnn summary resnet18 --input 3x32x32")]
    [InlineData("models", "sharpcnn models")]
    [InlineData("--help", "sharpcnn summary resnet50")]
    public void Help_ShowsExamples(string command, string example)
    {
        (int code, string output, _) = command == "--help" ? Run(command) : Run(command, "--help");
        Assert.Equal(0, code);
        Assert.Contains("example", output, StringComparison.Ordinal);
        Assert.Contains(example, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_MissingCheckpoint_ErrorExitCode1()
    {
        (int code, _, string error) = Run("eval", "--checkpoint", Path.Combine(Path.GetTempPath(), "no-such-checkpoint.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("does not exist", error, StringComparison.Ordinal);
    }
}
