using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

/// <summary><c>train --config FILE</c> and the new train options, parsed without training.</summary>
public sealed class TrainConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-config-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(string json)
    {
        string path = Path.Combine(_dir, $"c{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }

    private static TrainSettings Settings(params string[] args)
    {
        ParsedOptions o = ParsedOptions.Parse(args, TrainSettings.Specs, Usage.Train);
        return TrainSettings.From(o, config: o.String("config") is { } path ? TrainSettings.ReadConfig(path) : null);
    }

    [Fact]
    public void Config_SetsOptions_CommandLineOverrides()
    {
        string path = Config("""
            {
              // comments and trailing commas are allowed
              "epochs": 5, "lr": 0.1, "nesterov": false, "scheduler": "multistep:2,4", "label-smoothing": "0.1",
              "clip-grad": 1, "early-stop": 3, "monitor": "test_loss", "keep": 1, "detect-anomaly": true,
            }
            """);
        TrainSettings s = Settings("--config", path, "--epochs", "7");
        Assert.Equal((7, 0.1, false, "multistep", 0.1), (s.Epochs, s.Lr, s.Nesterov, s.Scheduler, s.LabelSmoothing));
        Assert.Equal([2, 4], s.Milestones);
        Assert.Equal((1.0, 3, "test_loss", 1, true), (s.ClipGrad, s.EarlyStop, s.Monitor, s.Keep, s.DetectAnomaly));
        Assert.Equal("multistep:2,4", s.SchedulerText);
    }

    [Fact]
    public void Config_SwitchFalse_CommandLineSwitchWins()
    {
        string path = Config("""{"nesterov": false, "detect-anomaly": false}""");
        TrainSettings s = Settings("--config", path, "--nesterov");
        Assert.True(s.Nesterov);
        Assert.False(s.DetectAnomaly);
        Assert.False(Settings("--config", path).Nesterov);
    }

    [Theory]
    [InlineData("""{"epoch": 3}""", "unknown key \"epoch\" (known keys: model, data,")]
    [InlineData("""{"resume": "x"}""", "unknown key \"resume\"")]
    [InlineData("""{"lr": true}""", "key \"lr\" must be a string or a number, got true")]
    [InlineData("""{"model": ["lenet5"]}""", "key \"model\" must be a string or a number, got [\"lenet5\"]")]
    [InlineData("""{"nesterov": "yes"}""", "key \"nesterov\" must be true or false, got \"yes\"")]
    [InlineData("""[1, 2]""", "must hold one JSON object of train options")]
    [InlineData("""{"lr": 0.1""", "is not valid JSON")]
    public void Config_Bad_OneLineErrorNamingTheKey_ExitCode1(string json, string expected)
    {
        string path = Config(json);
        (int code, string output, string error) = Run("train", "--config", path);
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Single(error.TrimEnd().Split('\n'));
        Assert.Contains($"config file \"{path}\"", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_BadValue_UsageErrorNamingTheOption()
    {
        (int code, _, string error) = Run("train", "--config", Config("""{"epochs": "many"}"""));
        Assert.Equal(2, code);
        Assert.Contains("invalid value 'many' for --epochs", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Config_Missing_ErrorExitCode1()
    {
        (int code, _, string error) = Run("train", "--config", Path.Combine(_dir, "none.json"));
        Assert.Equal(1, code);
        Assert.Contains("none.json\" does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void NewOptions_Defaults()
    {
        TrainSettings s = Settings();
        Assert.Equal((0.0, (int?)null, "test_accuracy", 0.0, (double?)null, (double?)null, 3, false, (int?)null),
            (s.LabelSmoothing, s.EarlyStop, s.Monitor, s.MinDelta, s.ClipGrad, s.ClipValue, s.Keep, s.DetectAnomaly, s.StopAfterEpoch));
    }
}
