using SharpCnn.Data;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Transforms;
using SkiaSharp;
using static SharpCnn.Vision.Tests.Datasets.IdxTestFiles;
using static SharpCnn.Vision.Tests.Datasets.ImageTestFiles;

namespace SharpCnn.Vision.Tests.Datasets;

public sealed class DatasetCatalogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-catalog-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Sub(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;

    private static void PutMnistFormat(string dir, byte label)
    {
        File.WriteAllBytes(Path.Combine(dir, "t10k-images-idx3-ubyte"), Images(1));
        File.WriteAllBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte"), Labels(label));
    }

    private void PutPng(string relative, int width, int height)
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, EncodeRgba(Pattern(width, height), width, height, SKEncodedImageFormat.Png));
    }

    [Fact]
    public void Names_AreTheThreeBuiltInDatasets() =>
        Assert.Equal(["mnist", "fashion-mnist", "cifar10"], DatasetCatalog.Names);

    [Fact]
    public void DefaultDirectory_IsDataSlashName() =>
        Assert.Equal(Path.Combine("data", "cifar10"), DatasetCatalog.DefaultDirectory("cifar10"));

    [Fact]
    public void Open_Mnist_AndFashion_ShareTheFormatButNotNamesOrStats()
    {
        string dir = Sub("m");
        PutMnistFormat(dir, 7);

        IClassDataset mnist = DatasetCatalog.Open("mnist", dir, train: false);
        IClassDataset fashion = DatasetCatalog.Open("fashion-mnist", dir, train: false);

        Assert.Equal("7", mnist.Classes[mnist.Get(0).Label]);
        Assert.Equal("Sneaker", fashion.Classes[fashion.Get(0).Label]);
        Assert.Equal(((300 % 256 / 255f) - 0.1307f) / 0.3081f, mnist.Get(0).Input.Data[300]);
        Assert.Equal(((300 % 256 / 255f) - 0.2860f) / 0.3530f, fashion.Get(0).Input.Data[300]);
    }

    [Fact]
    public void Open_NormalizeFalse_GivesToTensorValues()
    {
        string dir = Sub("m");
        PutMnistFormat(dir, 1);

        IClassDataset raw = DatasetCatalog.Open("fashion-mnist", dir, train: false, normalize: false);

        Assert.Equal(Enumerable.Range(0, 784).Select(i => (byte)i / 255f), raw.Get(0).Input.ToArray());
    }

    [Fact]
    public void Open_Padding_ReachesTheReader()
    {
        string dir = Sub("m");
        PutMnistFormat(dir, 1);
        Assert.Equal([1, 32, 32], ((IRowDataset)DatasetCatalog.Open("mnist", dir, train: false, padding: 2)).SampleShape);
    }

    [Fact]
    public void Open_Cifar10_RoundTrips()
    {
        string dir = Sub("c");
        var records = new byte[2 * Cifar10Dataset.RecordBytes];
        records[0] = 8;
        records[Cifar10Dataset.RecordBytes] = 1;
        records[Cifar10Dataset.RecordBytes + 1 + 2048] = 255;
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), records);

        IClassDataset ds = DatasetCatalog.Open("cifar10", dir, train: false, normalize: false);

        Assert.Equal(2, ds.Count);
        Assert.Equal("ship", ds.Classes[ds.Get(0).Label]);
        Assert.Equal("automobile", ds.Classes[ds.Get(1).Label]);
        Assert.Equal(1f, ds.Get(1).Input.Data[2048]);
        Assert.Equal([3, 32, 32], ((IRowDataset)ds).SampleShape);
        Assert.Equal((0f - 0.4465f) / 0.2616f, DatasetCatalog.Open("cifar10", dir, train: false).Get(0).Input.Data[2048]);
    }

    [Fact]
    public void Open_FolderPath_OpensTrainAndTestSplitsWithImageNetStats()
    {
        string root = Sub("pets");
        PutPng("pets/train/dog/1.png", 4, 3);
        PutPng("pets/train/cat/1.png", 4, 3);
        PutPng("pets/test/dog/2.png", 4, 3);
        PutPng("pets/test/cat/2.png", 4, 3);

        Assert.True(DatasetCatalog.IsImageFolder(root));
        Assert.Equal(root, DatasetCatalog.DefaultDirectory(root));
        IClassDataset train = DatasetCatalog.Open(root, DatasetCatalog.DefaultDirectory(root), train: true);
        IClassDataset test = DatasetCatalog.Open(root, root, train: false, normalize: false);

        Assert.Equal(["cat", "dog"], train.Classes);
        Assert.Equal(["cat", "dog"], test.Classes);
        float[] raw = test.Get(0).Input.ToArray();
        Assert.Equal(ImageDecoder.DecodeRgb(Path.Combine(root, "test", "cat", "2.png")).ToArray(), raw);
        float[] normalized = DatasetCatalog.Open(root, root, train: false).Get(0).Input.ToArray();
        Assert.Equal((raw[0] - 0.485f) / 0.229f, normalized[0]);
        Assert.Equal((raw[^1] - 0.406f) / 0.225f, normalized[^1]);
    }

    [Fact]
    public void Open_FolderWithValSplit_UsesItAsTest()
    {
        string root = Sub("v");
        PutPng("v/train/a/1.png", 2, 2);
        PutPng("v/val/a/1.png", 2, 2);

        var test = (ImageFolderDataset)DatasetCatalog.Open(root, root, train: false);

        Assert.Equal(Path.Combine(root, "val"), test.Root);
    }

    [Fact]
    public void Open_FolderImageTransform_RunsBeforeNormalisation()
    {
        string root = Sub("t");
        PutPng("t/train/a/1.png", 3, 2);
        var shift = new ConstantTransform(0.25f);

        float[] raw = DatasetCatalog.Open(root, root, train: true, normalize: false).Get(0).Input.ToArray();
        float[] both = DatasetCatalog.Open(root, root, train: true, imageTransform: shift).Get(0).Input.ToArray();

        Assert.Equal((0.25f - 0.485f) / 0.229f, both[0]);
        Assert.NotEqual(0.25f, raw[0]);
    }

    [Fact]
    public void Open_FolderWithoutSplits_SaysWhatWasExpected()
    {
        string root = Sub("flat");
        PutPng("flat/cat/1.png", 2, 2);

        var ex = Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Open(root, root, train: true));

        Assert.Contains("expected a sub-folder train/", ex.Message, StringComparison.Ordinal);
        Assert.Contains("found cat/", ex.Message, StringComparison.Ordinal);
        Assert.Contains("test/ or val/",
            Assert.Throws<FileNotFoundException>(() => DatasetCatalog.Open(root, root, train: false)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_FolderSplitsWithDifferentClasses_Rejected()
    {
        string root = Sub("d");
        PutPng("d/train/a/1.png", 2, 2);
        PutPng("d/train/b/1.png", 2, 2);
        PutPng("d/test/b/1.png", 2, 2);

        var ex = Assert.Throws<InvalidDataException>(() => DatasetCatalog.Open(root, root, train: false));

        Assert.Contains("different classes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_BadArguments_Rejected()
    {
        string root = Sub("p");
        PutPng("p/train/a/1.png", 2, 2);

        Assert.Contains("Unknown dataset \"cifar\"", Assert.Throws<ArgumentException>(() => DatasetCatalog.Open("cifar", _dir, train: true)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => DatasetCatalog.Open(root, root, train: true, padding: 2));
        Assert.Throws<ArgumentException>(() => DatasetCatalog.Open("mnist", _dir, train: true, imageTransform: new ConstantTransform(0)));
    }

    [Fact]
    public void Normalization_GivesEachDatasetsStats()
    {
        Assert.Equal([0.1307f], DatasetCatalog.Normalization("mnist").Mean);
        Assert.Equal([0.3530f], DatasetCatalog.Normalization("fashion-mnist").Std);
        Assert.Equal([0.4914f, 0.4822f, 0.4465f], DatasetCatalog.Normalization("cifar10").Mean);
        Assert.Equal([0.2470f, 0.2435f, 0.2616f], DatasetCatalog.Normalization("cifar10").Std);
        Assert.Equal([0.485f, 0.456f, 0.406f], DatasetCatalog.Normalization(_dir).Mean);
        Assert.Equal([0.229f, 0.224f, 0.225f], DatasetCatalog.Normalization(_dir).Std);
        Assert.Equal(1, DatasetCatalog.Channels("mnist"));
        Assert.Equal(3, DatasetCatalog.Channels("cifar10"));
        Assert.Throws<ArgumentException>(() => DatasetCatalog.Normalization("imagenet"));
    }

    [Fact]
    public void NormalizationsNone_LeavesValuesBitIdentical()
    {
        Normalize none = Normalizations.None(3);
        for (int b = 0; b < 256; b++)
        {
            float x = ToTensor.Scale((byte)b);
            Assert.Equal(BitConverter.SingleToInt32Bits(x), BitConverter.SingleToInt32Bits(none.Apply(x, 2)));
        }
    }

    private sealed class ConstantTransform(float value) : ITransform
    {
        public Tensor Apply(Tensor input)
        {
            float[] data = new float[input.Numel];
            Array.Fill(data, value);
            return new Tensor(data, input.Shape);
        }
    }
}
