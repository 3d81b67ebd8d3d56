using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

/// <summary><c>sharpcnn data get</c> for the user-supplied datasets (nothing is downloaded).</summary>
public sealed class DataGetTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-dataget-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void DataGetFashionMnist_NoFiles_SaysWhereToPutThemAndFails()
    {
        (int code, string output, string error) = Run("data", "get", "fashion-mnist", "--dir", _dir);

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("train-images-idx3-ubyte.gz", error, StringComparison.Ordinal);
        Assert.Contains(_dir, error, StringComparison.Ordinal);
    }

    [Fact]
    public void DataGetFashionMnist_FilesPresent_ValidatesAndSucceeds()
    {
        WriteIdx("train", 3);
        WriteIdx("t10k", 2);

        (int code, string output, _) = Run("data", "get", "fashion-mnist", "--dir", _dir);

        Assert.Equal(0, code);
        Assert.Contains("3 training and 2 test images", output, StringComparison.Ordinal);
    }

    [Fact]
    public void DataGetCifar10_MissingBatch_NamesItAndFails()
    {
        (int code, _, string error) = Run("data", "get", "cifar10", "--dir", _dir);

        Assert.Equal(1, code);
        Assert.Contains("data_batch_1.bin", error, StringComparison.Ordinal);
    }

    [Fact]
    public void DataGetCifar10_FilesPresent_ValidatesAndSucceeds()
    {
        for (int k = 1; k <= 5; k++)
        {
            File.WriteAllBytes(Path.Combine(_dir, $"data_batch_{k}.bin"), new byte[3073]);
        }

        File.WriteAllBytes(Path.Combine(_dir, "test_batch.bin"), new byte[2 * 3073]);

        (int code, string output, _) = Run("data", "get", "cifar10", "--dir", _dir);

        Assert.Equal(0, code);
        Assert.Contains("5 training and 2 test images", output, StringComparison.Ordinal);
    }

    private void WriteIdx(string split, int count)
    {
        var images = new byte[16 + (count * 784)];
        images[2] = 0x08;
        images[3] = 3;
        images[7] = (byte)count;
        images[11] = 28;
        images[15] = 28;
        var labels = new byte[8 + count];
        labels[2] = 0x08;
        labels[3] = 1;
        labels[7] = (byte)count;
        File.WriteAllBytes(Path.Combine(_dir, $"{split}-images-idx3-ubyte"), images);
        File.WriteAllBytes(Path.Combine(_dir, $"{split}-labels-idx1-ubyte"), labels);
    }
}
