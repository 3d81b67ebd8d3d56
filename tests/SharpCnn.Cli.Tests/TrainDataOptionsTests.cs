using SharpCnn.Serialization;
using SkiaSharp;
using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

/// <summary>
/// <c>train --augment</c> and <c>train --data FOLDER</c> end to end: augmented runs resume exactly and differ from plain
/// ones; an image folder of PNGs of different sizes trains, evaluates, reports and predicts.
/// </summary>
[Collection("cli-training")]
public sealed class TrainDataOptionsTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpcnn-data-options-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Augment_PausedAndResumed_BitIdenticalToUninterrupted_AndDiffersFromPlain()
    {
        string data = Path.Combine(_root, "mnist");
        SyntheticMnist.Write(data, trainCount: 128, testCount: 32);
        string[] common = ["train", "--data-dir", data, "--threads", "2", "--seed", "5", "--epochs", "2", "--batch-size", "32", "--progress", "plain", "--no-report"];

        (int code, string output, string error) = Run([.. common, "--augment", "--out", Path.Combine(_root, "full")]);
        Assert.True(code == 0, output + error);
        (code, output, error) = Run([.. common, "--out", Path.Combine(_root, "plain")]);
        Assert.True(code == 0, output + error);
        (code, output, error) = Run([.. common, "--augment", "--out", Path.Combine(_root, "paused"), "--stop-after-epoch", "1"]);
        Assert.True(code == 0, output + error);
        // --augment is recorded in the checkpoint, so the resumed run rebuilds the same pipeline without being told.
        (code, output, error) = Run("train", "--resume", Path.Combine(_root, "paused"), "--data-dir", data, "--threads", "2", "--progress", "plain", "--no-report");
        Assert.True(code == 0, output + error);

        string full = Path.Combine(_root, "full", "last.safetensors");
        Assert.Equal(Rows(Path.Combine(_root, "full")), Rows(Path.Combine(_root, "paused")));
        Assert.Equal(ModelTensors(full), ModelTensors(Path.Combine(_root, "paused", "last.safetensors")));
        Assert.NotEqual(ModelTensors(full)["features.0.weight"], ModelTensors(Path.Combine(_root, "plain", "last.safetensors"))["features.0.weight"]);
        Assert.Contains("\"augment\":\"true\"", Checkpoint.Read(full).Info.HyperParameters.Replace(" ", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    /// <summary>Class "left" has its bright half on the left, "right" on the right; sizes vary per image.</summary>
    private static void WriteFolder(string root)
    {
        foreach ((string split, int count) in new[] { ("train", 24), ("test", 8) })
        {
            foreach (string cls in new[] { "left", "right" })
            {
                string dir = Path.Combine(root, split, cls);
                Directory.CreateDirectory(dir);
                for (int i = 0; i < count; i++)
                {
                    int w = 30 + (i % 5 * 4), h = 28 + (i % 3 * 6);
                    using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
                    for (int y = 0; y < h; y++)
                    {
                        for (int x = 0; x < w; x++)
                        {
                            bool bright = cls == "left" ? x < w / 2 : x >= w / 2;
                            byte v = (byte)(bright ? 200 + ((x + y + i) % 50) : (x * y + i) % 40);
                            bitmap.SetPixel(x, y, new SKColor(v, (byte)(v / 2), (byte)(255 - v)));
                        }
                    }

                    using SKData png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                    File.WriteAllBytes(Path.Combine(dir, $"img{i:D2}.png"), png.ToArray());
                }
            }
        }
    }

    [Fact]
    public void ImageFolder_TrainEvalReportPredict_EndToEnd()
    {
        string folder = Path.Combine(_root, "shapes");
        WriteFolder(folder);
        string run = Path.Combine(_root, "folder-run");
        (int code, string output, string error) = Run("train", "--data", folder, "--threads", "2", "--seed", "1", "--epochs", "3",
            "--batch-size", "8", "--progress", "plain", "--out", run);
        Assert.True(code == 0, output + error);
        Assert.Contains("48 train / 16 test images", output, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(run, "report.html")));

        (code, output, error) = Run("eval", "--checkpoint", Path.Combine(run, "last.safetensors"), "--threads", "2");
        Assert.True(code == 0, output + error);
        Assert.Contains("left", output, StringComparison.Ordinal);
        Assert.Contains("right", output, StringComparison.Ordinal);
        Assert.Contains("16 images, 2 classes", output, StringComparison.Ordinal);

        string image = Path.Combine(folder, "test", "right", "img03.png");
        (code, output, error) = Run("predict", "--checkpoint", Path.Combine(run, "last.safetensors"), "--top", "2", image);
        Assert.True(code == 0, output + error);
        Assert.Contains("(lenet5, trained on " + folder + ", 2 classes)", output, StringComparison.Ordinal);
        Assert.Matches(@"1\. (left|right) +\d+\.\d\d%", output);
        Assert.Matches(@"2\. (left|right) +\d+\.\d\d%", output);

        // Augmented training on the folder: random resized crops of the original sizes.
        (code, output, error) = Run("train", "--data", folder, "--threads", "2", "--seed", "1", "--epochs", "1", "--batch-size", "8",
            "--augment", "--progress", "plain", "--no-report", "--out", Path.Combine(_root, "folder-aug"));
        Assert.True(code == 0, output + error);
    }
}
