using SharpCnn.Vision.Datasets;
using static SharpCnn.Vision.Tests.Datasets.IdxTestFiles;

namespace SharpCnn.Vision.Tests.Datasets;

public sealed class MnistDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-mnist-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Put(string name, byte[] bytes) => File.WriteAllBytes(Path.Combine(_dir, name), bytes);

    [Fact]
    public void Load_PlainFiles_ReturnsImagesAndLabels()
    {
        Put("t10k-images-idx3-ubyte", Images(3));
        Put("t10k-labels-idx1-ubyte", Labels(7, 0, 9));

        MnistData data = MnistData.Load(_dir, train: false);

        Assert.Equal(3, data.Count);
        Assert.Equal(3 * 28 * 28, data.Images.Length);
        Assert.Equal([7, 0, 9], data.Labels);
        Assert.Equal((byte)(28 * 28 % 256), data.Images[28 * 28]);
    }

    [Fact]
    public void Load_GzFiles_Accepted()
    {
        Put("train-images-idx3-ubyte.gz", Gzip(Images(2)));
        Put("train-labels-idx1-ubyte.gz", Gzip(Labels(1, 2)));

        MnistData data = MnistData.Load(_dir, train: true);

        Assert.Equal(2, data.Count);
        Assert.Equal([1, 2], data.Labels);
    }

    [Fact]
    public void Load_MissingFile_NamesPathsTried()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => MnistData.Load(_dir, train: true));
        Assert.Contains("train-images-idx3-ubyte", ex.Message);
        Assert.Contains("train-images-idx3-ubyte.gz", ex.Message);
    }

    [Fact]
    public void Load_CountMismatch_Rejected()
    {
        Put("t10k-images-idx3-ubyte", Images(3));
        Put("t10k-labels-idx1-ubyte", Labels(1, 2));

        var ex = Assert.Throws<IdxFormatException>(() => MnistData.Load(_dir, train: false));
        Assert.Contains("has 2 labels but the images file", ex.Message);
        Assert.Contains("has 3 images", ex.Message);
    }

    [Fact]
    public void Load_LabelOf10_NamesIndexAndValue()
    {
        Put("t10k-images-idx3-ubyte", Images(5));
        Put("t10k-labels-idx1-ubyte", Labels(0, 1, 2, 10, 4));

        var ex = Assert.Throws<IdxFormatException>(() => MnistData.Load(_dir, train: false));
        Assert.Contains("label 10 at index 3 is out of range 0..9", ex.Message);
        Assert.Contains("t10k-labels-idx1-ubyte", ex.Message);
    }

    [Fact]
    public void Load_SwappedFiles_SaysWhichKindIsExpected()
    {
        Put("t10k-images-idx3-ubyte", Labels(1, 2));
        Put("t10k-labels-idx1-ubyte", Images(2));

        var ex = Assert.Throws<IdxFormatException>(() => MnistData.Load(_dir, train: false));
        Assert.Contains("expected MNIST images with 3 dimensions (magic 2051 = 0x00000803)", ex.Message);
        Assert.Contains("magic 0x00000801", ex.Message);
        Assert.Contains("labels file", ex.Message);
    }

    [Fact]
    public void Load_LabelsWithThreeDims_Rejected()
    {
        string images = Path.Combine(_dir, "i");
        string labels = Path.Combine(_dir, "l");
        File.WriteAllBytes(images, Images(2));
        File.WriteAllBytes(labels, Images(2));

        var ex = Assert.Throws<IdxFormatException>(() => MnistData.Load(images, labels));
        Assert.Contains("expected MNIST labels with 1 dimension (magic 2049", ex.Message);
    }

    [Fact]
    public void Load_Not28x28_Rejected()
    {
        Put("t10k-images-idx3-ubyte", Images(2, 32, 32));
        Put("t10k-labels-idx1-ubyte", Labels(1, 2));

        var ex = Assert.Throws<IdxFormatException>(() => MnistData.Load(_dir, train: false));
        Assert.Contains("expected 28×28 MNIST images but the file has 32×32", ex.Message);
    }

    [Fact]
    public void Load_TruncatedImages_Rejected()
    {
        Put("t10k-images-idx3-ubyte", Images(2)[..100]);
        Put("t10k-labels-idx1-ubyte", Labels(1, 2));

        var ex = Assert.Throws<IdxFormatException>(() => MnistData.Load(_dir, train: false));
        Assert.Contains("truncated", ex.Message);
        Assert.Contains("expected total 1,584, received 100", ex.Message);
    }

    /// <summary>Runs against the real files when SHARPCNN_MNIST_DIR points at them (nothing downloads in tests).</summary>
    [RealMnistFact]
    public void Load_RealMnist_HasStandardCounts()
    {
        string dir = Environment.GetEnvironmentVariable(RealMnistFactAttribute.Variable)!;

        MnistData train = MnistData.Load(dir, train: true);
        MnistData test = MnistData.Load(dir, train: false);

        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        Assert.Equal(5, train.Labels[0]);
        Assert.Equal(7, test.Labels[0]);
        Assert.Empty(MnistFetcher.FindProblems(dir, MnistFetcher.Files));
    }
}

/// <summary>A fact that runs only when SHARPCNN_MNIST_DIR names a directory with the real MNIST files.</summary>
public sealed class RealMnistFactAttribute : FactAttribute
{
    public const string Variable = "SHARPCNN_MNIST_DIR";

    public RealMnistFactAttribute()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(Variable)))
        {
            Skip = $"Set {Variable} to a directory holding the real MNIST files (see scripts/fetch-mnist.sh).";
        }
    }
}
