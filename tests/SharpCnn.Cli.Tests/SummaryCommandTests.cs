using System.Text.Json;
using SharpCnn.Vision.Models;
using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

public class SummaryCommandTests
{
    [Fact]
    public void Summary_LeNet5_TableWithTotals()
    {
        (int code, string output, string error) = Run("summary", "lenet5");
        Assert.True(code == 0, error);
        Assert.StartsWith("LeNet5, input [1, 1, 28, 28]", output, StringComparison.Ordinal);
        Assert.Matches(@"features\.0\s+Conv2d\s+\[1, 6, 28, 28\]\s+156\s+117,600", output);
        Assert.Contains("Total params: 61,706", output, StringComparison.Ordinal);
        Assert.Contains("Total MACs: 416,520", output, StringComparison.Ordinal);
        Assert.Equal("", error);
    }

    [Fact]
    public void Summary_Json_ParsesAndCountsLeNet5()
    {
        (int code, string output, string error) = Run("summary", "lenet5", "--json");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        JsonElement root = doc.RootElement;
        Assert.Equal("LeNet5", root.GetProperty("model").GetString());
        Assert.Equal(61_706, root.GetProperty("total_params").GetInt64());
        Assert.Equal(61_706, root.GetProperty("trainable_params").GetInt64());
        Assert.Equal(0, root.GetProperty("non_trainable_params").GetInt64());
        Assert.Equal(416_520, root.GetProperty("macs").GetInt64());
        Assert.True(root.GetProperty("activation_bytes").GetInt64() > 0);
        Assert.Equal([1, 1, 28, 28], root.GetProperty("input").EnumerateArray().Select(e => e.GetInt32()));
        JsonElement last = root.GetProperty("layers")[root.GetProperty("layers").GetArrayLength() - 1];
        Assert.Equal(("classifier.5", "Linear", 850, 840), (last.GetProperty("name").GetString(), last.GetProperty("type").GetString(), last.GetProperty("params").GetInt64(), last.GetProperty("macs").GetInt64()));
        Assert.Equal([1, 10], last.GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Fact]
    public void Summary_ClassesAndChannels_ChangeTheModel()
    {
        (int code, string output, string error) = Run("summary", "LeNet5", "--input", "3x28x28", "--classes", "100", "--json");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        // conv1 gains 2·150 weights; the last layer is 84·100 + 100.
        Assert.Equal(61_706 + 300 + (84 * 90) + 90, doc.RootElement.GetProperty("total_params").GetInt64());
    }

    [Fact]
    public void Summary_HxW_KeepsTheModelsChannels()
    {
        (int code, string output, _) = Run("summary", "mlp", "--input", "14x56", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal([1, 1, 14, 56], doc.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetInt32()));
    }

    [Theory]
    [InlineData("summary needs a MODEL", "summary")]
    [InlineData("unknown model 'resnet9'; known models: lenet5, lenet5-paper, mlp, alexnet", "summary", "resnet9")]
    [InlineData("unexpected argument 'mlp'", "summary", "lenet5", "mlp")]
    [InlineData("invalid value '3x224x' for --input", "summary", "lenet5", "--input", "3x224x")]
    [InlineData("invalid value '28' for --input", "summary", "lenet5", "--input", "28")]
    [InlineData("invalid value '1x0x28' for --input", "summary", "lenet5", "--input", "1x0x28")]
    [InlineData("invalid value 'axbxc' for --input", "summary", "lenet5", "--input", "axbxc")]
    [InlineData("invalid value '1x2x3x4' for --input", "summary", "lenet5", "--input", "1x2x3x4")]
    [InlineData("invalid value '0' for --classes", "summary", "lenet5", "--classes", "0")]
    [InlineData("option '--input' needs a value", "summary", "lenet5", "--input")]
    [InlineData("unknown option '--batch'", "summary", "lenet5", "--batch", "2")]
    public void Summary_BadArguments_OneLineErrorAndUsage_ExitCode2(string expected, params string[] args)
    {
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.StartsWith("sharpcnn: " + expected, error, StringComparison.Ordinal);
        Assert.Contains("usage: sharpcnn summary MODEL", error, StringComparison.Ordinal);
        Assert.Equal("", output);
    }

    [Fact]
    public void Summary_InputTheModelCannotTake_ClearErrorExitCode1()
    {
        (int code, string output, string error) = Run("summary", "lenet5", "--input", "1x32x32");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("sharpcnn: error: LeNet5 cannot take input (1, 1, 32, 32)", error, StringComparison.Ordinal);
        Assert.Contains("Linear expected input", error, StringComparison.Ordinal);
        Assert.DoesNotContain("usage:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_Help_ExitCode0()
    {
        (int code, string output, _) = Run("summary", "--help");
        Assert.Equal(0, code);
        Assert.Contains("usage: sharpcnn summary MODEL", output, StringComparison.Ordinal);
        Assert.Contains("summary MODEL", Run("--help").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_ZooModels_RunAtTheirDefaultInput()
    {
        // Every model's totals are checked in SharpCnn.Vision.Tests (ModelZooTests); here a few kinds go through the CLI.
        foreach (string name in new[] { "lenet5-paper", "alexnet-paper", "googlenet", "resnet20" })
        {
            (int code, string output, string error) = Run("summary", name, "--json");
            Assert.True(code == 0, $"{name}: {error}");
            using var doc = JsonDocument.Parse(output);
            (int c, int h, int w) = ModelZoo.DefaultInput(name);
            Assert.Equal([1, c, h, w], doc.RootElement.GetProperty("input").EnumerateArray().Select(e => e.GetInt32()));
        }
    }
}
