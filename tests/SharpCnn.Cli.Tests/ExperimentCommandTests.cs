using System.Globalization;
using System.Text.Json;
using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

/// <summary>The training experiments through the CLI entry point, on tiny synthetic MNIST files written by the test.</summary>
[Collection("cli-training")]
public sealed class ExperimentCommandTests : IDisposable
{
    private const int TestImages = 64;
    private readonly string _root = Directory.CreateTempSubdirectory("sharpcnn-experiment-").FullName;
    private readonly string _data;

    public ExperimentCommandTests()
    {
        _data = Path.Combine(_root, "mnist");
        SyntheticMnist.Write(_data, trainCount: 256, testCount: TestImages);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private (int Code, string Out, string Err) Experiment(string name, string run, params string[] extra) =>
        Run(["experiment", name, "--data-dir", _data, "--out", Path.Combine(_root, run), "--threads", "2", "--epochs", "1", "--limit", "128", "--seed", "4", .. extra]);

    private static double Fraction(string s) => double.Parse(s, CultureInfo.InvariantCulture);

    /// <summary>shuffle.csv as (model, pixels) → (accuracy, loss).</summary>
    private Dictionary<(string, string), (double Accuracy, double Loss)> ShuffleCsv(string run)
    {
        string[] lines = File.ReadAllLines(Path.Combine(_root, run, "shuffle.csv"));
        Assert.Equal("model,pixels,test_accuracy,test_loss,epochs,seconds", lines[0]);
        return lines[1..].Select(l => l.Split(',')).ToDictionary(c => (c[0], c[1]), c => (Fraction(c[2]), Fraction(c[3])));
    }

    [Fact]
    public void Shuffle_TinySubset_TableCsvJsonAndPng()
    {
        (int code, string output, string error) = Experiment("shuffle", "shuffle");
        Assert.True(code == 0, output + error);
        Assert.Contains("128 train / 64 test images", output, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^model\s+original\s+shuffled\s+difference$", output);
        Assert.Matches(@"(?m)^mlp\s+\d+\.\d\d%\s+\d+\.\d\d%\s+[+-]?\d+\.\d\d pts$", output);
        Assert.Matches(@"(?m)^lenet5\s+\d+\.\d\d%\s+\d+\.\d\d%\s+[+-]?\d+\.\d\d pts$", output);

        Dictionary<(string, string), (double Accuracy, double Loss)> csv = ShuffleCsv("shuffle");
        Assert.Equal([("mlp", "original"), ("mlp", "shuffled"), ("lenet5", "original"), ("lenet5", "shuffled")], csv.Keys);
        Assert.All(csv.Values, v => Assert.InRange(v.Accuracy, 0, 1));
        Assert.All(csv.Values, v => Assert.True(double.IsFinite(v.Loss) && v.Loss > 0));
        Assert.Contains($"mlp     {Commands.Percent(csv[("mlp", "original")].Accuracy),9}  {Commands.Percent(csv[("mlp", "shuffled")].Accuracy),9}", output, StringComparison.Ordinal);

        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "shuffle", "shuffle.json")));
        JsonElement root = json.RootElement;
        Assert.Equal(5UL, root.GetProperty("permutation_seed").GetUInt64());
        Assert.Equal(Enumerable.Range(0, 784), root.GetProperty("permutation").EnumerateArray().Select(e => e.GetInt32()).Order());
        Assert.Equal(2, root.GetProperty("results").GetArrayLength());
        Assert.Equal(1, root.GetProperty("results")[0].GetProperty("original").GetProperty("epochs").GetArrayLength());
        PngAssert.Valid(Path.Combine(_root, "shuffle", "shuffle.png"));
    }

    [Fact]
    public void Shuffle_SameSeedTwice_SameAccuracies()
    {
        Assert.Equal(0, Experiment("shuffle", "a").Code);
        Assert.Equal(0, Experiment("shuffle", "b").Code);
        Assert.Equal(ShuffleCsv("a"), ShuffleCsv("b"));
    }

    /// <summary>
    /// With --same-init the shuffled MLP starts from the permuted weights, so both runs compute the same function
    /// (up to float summation order); without it they start from unpermuted weights and end elsewhere.
    /// </summary>
    [Fact]
    public void Shuffle_SameInit_MlpRunsAgree_OtherwiseTheyDiffer()
    {
        Assert.Equal(0, Experiment("shuffle", "same", "--same-init").Code);
        Assert.Equal(0, Experiment("shuffle", "independent").Code);
        Dictionary<(string, string), (double Accuracy, double Loss)> same = ShuffleCsv("same"), independent = ShuffleCsv("independent");
        (double a, double l) = same[("mlp", "original")];
        (double sa, double sl) = same[("mlp", "shuffled")];
        Assert.True(Math.Abs(l - sl) <= 1e-4 * l, $"same-init losses {l} vs {sl}");
        Assert.True(Math.Abs(a - sa) <= 1.0 / TestImages, $"same-init accuracies {a} vs {sa}");
        Assert.True(Math.Abs(independent[("mlp", "original")].Loss - independent[("mlp", "shuffled")].Loss) > 1e-3 * l, "independent init should not give the same run");

        // The original runs and LeNet-5 do not depend on the option.
        Assert.Equal(same[("mlp", "original")], independent[("mlp", "original")]);
        Assert.Equal(same[("lenet5", "shuffled")], independent[("lenet5", "shuffled")]);
    }

    [Fact]
    public void Translate_TinySubset_TableCsvJsonAndPng()
    {
        (int code, string output, string error) = Experiment("translate", "translate", "--max-shift", "3", "--augment-shift", "2");
        Assert.True(code == 0, output + error);
        Assert.Matches(@"(?m)^shift\s+mlp\s+lenet5\s+lenet5\+shift±2$", output);
        for (int shift = 0; shift <= 3; shift++)
        {
            Assert.Matches($@"(?m)^\s+{shift}(\s+\d+\.\d\d%){{3}}$", output);
        }

        string[] csv = File.ReadAllLines(Path.Combine(_root, "translate", "translate.csv"));
        Assert.Equal("model,shift,right,left,down,up,mean", csv[0]);
        Assert.Equal(1 + (3 * 4), csv.Length);
        foreach (string line in csv[1..])
        {
            string[] c = line.Split(',');
            double[] directions = [.. c[2..6].Select(Fraction)];
            Assert.All(directions, d => Assert.InRange(d, 0, 1));
            Assert.Equal(directions.Average(), Fraction(c[6]), 12);
            if (c[1] == "0")
            {
                Assert.All(directions, d => Assert.Equal(directions[0], d));
            }
        }

        Assert.Equal(["mlp", "lenet5", "lenet5+shift±2"], csv[1..].Select(l => l.Split(',')[0]).Distinct());
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(_root, "translate", "translate.json")));
        Assert.Equal(4, json.RootElement.GetProperty("results")[1].GetProperty("by_shift").GetArrayLength());
        PngAssert.Valid(Path.Combine(_root, "translate", "translate.png"));
    }

    /// <summary>The synthetic classes are 6×6 squares at fixed places: moved 10 pixels they sit where no class is, so accuracy must fall.</summary>
    [Fact]
    public void Translate_LargeShift_LowersAccuracy()
    {
        (int code, string output, string error) = Experiment("translate", "far", "--max-shift", "10", "--no-augment", "--epochs", "3", "--limit", "256", "--batch-size", "16");
        Assert.True(code == 0, output + error);
        string[][] rows = [.. File.ReadAllLines(Path.Combine(_root, "far", "translate.csv"))[1..].Select(l => l.Split(','))];
        Assert.Equal(["mlp", "lenet5"], rows.Select(r => r[0]).Distinct());
        foreach (string model in new[] { "mlp", "lenet5" })
        {
            double at0 = Fraction(rows.Single(r => r[0] == model && r[1] == "0")[6]);
            double at10 = Fraction(rows.Single(r => r[0] == model && r[1] == "10")[6]);
            Assert.True(at0 > 0.9 && at10 < at0 - 0.3, $"{model}: {at0} unshifted, {at10} at 10 pixels");
        }
    }

    [Theory]
    [InlineData(new[] { "experiment" }, "experiment needs a name")]
    [InlineData(new[] { "experiment", "nope" }, "unknown experiment 'nope'")]
    [InlineData(new[] { "experiment", "shuffle", "--epochs", "0" }, "invalid value '0' for --epochs")]
    [InlineData(new[] { "experiment", "shuffle", "--max-shift", "3" }, "unknown option '--max-shift'")]
    [InlineData(new[] { "experiment", "translate", "--max-shift", "30" }, "expected at most 27")]
    [InlineData(new[] { "experiment", "translate", "--lr", "x" }, "invalid value 'x' for --lr")]
    [InlineData(new[] { "experiment", "translate", "extra" }, "unexpected argument 'extra'")]
    public void Experiment_BadArguments_OneLineAndUsage(string[] args, string message)
    {
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        string[] lines = error.Split('\n');
        Assert.StartsWith("sharpcnn: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(message, lines[0], StringComparison.Ordinal);
        Assert.Equal("", lines[1].TrimEnd());
        Assert.StartsWith("usage: sharpcnn experiment", lines[2], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shuffle", "--same-init")]
    [InlineData("translate", "--max-shift")]
    [InlineData("shapes", "layer grammar")]
    public void Experiment_Help_UsageWithExamples(string name, string mentions)
    {
        (int code, string output, _) = Run("experiment", name, "--help");
        Assert.Equal(0, code);
        Assert.StartsWith($"usage: sharpcnn experiment {name}", output, StringComparison.Ordinal);
        Assert.Contains("examples:", output, StringComparison.Ordinal);
        Assert.Contains(mentions, output, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ListsExperiment()
    {
        Assert.Contains("experiment NAME", Run("--help").Out, StringComparison.Ordinal);
        (int code, string output, _) = Run("experiment", "--help");
        Assert.Equal(0, code);
        Assert.Contains("shuffle", output, StringComparison.Ordinal);
    }
}
