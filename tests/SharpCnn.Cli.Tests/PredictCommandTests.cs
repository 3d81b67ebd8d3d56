using System.Globalization;
using SharpCnn.Nn;
using SharpCnn.Serialization;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using SkiaSharp;
using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

/// <summary><c>sharpcnn predict</c> on a LeNet-5 trained through the CLI on synthetic MNIST files.</summary>
[Collection("cli-training")]
public sealed class PredictCommandTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpcnn-predict-").FullName;
    private readonly string _data;
    private readonly string _checkpoint;

    public PredictCommandTests()
    {
        _data = Path.Combine(_root, "mnist");
        SyntheticMnist.Write(_data);
        string run = Path.Combine(_root, "run");
        (int code, string output, string error) = Run("train", "--data-dir", _data, "--out", run, "--threads", "2", "--seed", "1",
            "--epochs", "4", "--batch-size", "16", "--no-report");
        Assert.True(code == 0, output + error);
        _checkpoint = Path.Combine(run, "last.safetensors");
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Writes test image <paramref name="index"/> of the synthetic set as an 8-bit grey PNG (optionally inverted).</summary>
    private string WriteTestImage(int index, bool invert)
    {
        MnistData test = MnistData.Load(_data, train: false);
        using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
        Span<byte> pixels = bitmap.GetPixelSpan();
        for (int i = 0; i < 784; i++)
        {
            byte b = test.Images[(index * 784) + i];
            pixels[i] = invert ? (byte)(255 - b) : b;
        }

        string path = Path.Combine(_root, $"test{index}{(invert ? "-inverted" : "")}.png");
        using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, png.ToArray());
        return path;
    }

    /// <summary>The checkpoint's softmax output for test sample <paramref name="index"/> read through the dataset.</summary>
    private float[] DatasetProbabilities(int index)
    {
        CheckpointData data = Checkpoint.Read(_checkpoint);
        Module model = ModelZoo.Create("lenet5", 10, inChannels: 1);
        model.LoadStateDict(data.Model);
        model.Eval();
        (Tensor x, _) = MnistDataset.Load(_data, train: false).Get(index);
        using (Autograd.Autograd.NoGrad())
        {
            return Functional.F.Softmax(model.Call(x.Unsqueeze(0)), 1).ToArray();
        }
    }

    private static List<(string Label, double Percent)> Ranking(string output, string image)
    {
        string[] lines = output.Split('\n');
        int start = Array.FindIndex(lines, l => l.TrimEnd().StartsWith(image, StringComparison.Ordinal));
        Assert.True(start >= 0, output);
        var rows = new List<(string, double)>();
        for (int i = start + 1; i < lines.Length && lines[i].StartsWith("  ", StringComparison.Ordinal); i++)
        {
            string[] parts = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            rows.Add((parts[1], double.Parse(parts[^1].TrimEnd('%'), CultureInfo.InvariantCulture)));
        }

        return rows;
    }

    [Fact]
    public void Predict_TestImageAsPng_SameProbabilitiesAsTheDatasetPath()
    {
        for (int index = 0; index < 3; index++)
        {
            string png = WriteTestImage(index, invert: false);
            (int code, string output, string error) = Run("predict", "--checkpoint", _checkpoint, "--top", "3", "--invert", "no", png);
            Assert.True(code == 0, output + error);
            List<(string Label, double Percent)> rows = Ranking(output, png);
            Assert.Equal(3, rows.Count);

            float[] p = DatasetProbabilities(index);
            int[] expected = [.. Enumerable.Range(0, 10).OrderByDescending(i => p[i]).ThenBy(i => i).Take(3)];
            for (int k = 0; k < 3; k++)
            {
                Assert.Equal(expected[k].ToString(CultureInfo.InvariantCulture), rows[k].Label);
                Assert.Equal(p[expected[k]] * 100, rows[k].Percent, 0.006);
            }
        }
    }

    [Fact]
    public void Predict_DarkOnLightImage_InvertedAutomatically()
    {
        string plain = WriteTestImage(7, invert: false);
        string inverted = WriteTestImage(7, invert: true);
        (int code, string output, string error) = Run("predict", "--checkpoint", _checkpoint, plain, inverted);
        Assert.True(code == 0, output + error);
        Assert.Contains($"{inverted} (inverted to light-on-dark)", output, StringComparison.Ordinal);
        Assert.DoesNotContain($"{plain} (inverted", output, StringComparison.Ordinal);
        Assert.Equal(Ranking(output, plain), Ranking(output, inverted));
        Assert.Equal(5, Ranking(output, plain).Count);
    }

    [Fact]
    public void Predict_BadInput_ClearErrors()
    {
        (int code, _, string error) = Run("predict", "--checkpoint", _checkpoint);
        Assert.Equal(2, code);
        Assert.Contains("at least one IMAGE", error, StringComparison.Ordinal);

        (code, _, error) = Run("predict", "--checkpoint", _checkpoint, Path.Combine(_root, "missing.png"));
        Assert.Equal(1, code);
        Assert.Contains("missing.png", error, StringComparison.Ordinal);

        string corrupt = Path.Combine(_root, "corrupt.png");
        File.WriteAllBytes(corrupt, [0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10, 1, 2, 3]);
        (code, _, error) = Run("predict", "--checkpoint", _checkpoint, corrupt);
        Assert.Equal(1, code);
        Assert.Contains("corrupt.png", error, StringComparison.Ordinal);

        (code, _, error) = Run("predict", "--checkpoint", _checkpoint, "--top", "0", corrupt);
        Assert.Equal(2, code);
        Assert.Contains("--top", error, StringComparison.Ordinal);
    }
}
