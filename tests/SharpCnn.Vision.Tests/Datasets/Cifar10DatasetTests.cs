using SharpCnn.Vision.Datasets;

namespace SharpCnn.Vision.Tests.Datasets;

public sealed class Cifar10DatasetTests : IDisposable
{
    private const int R = Cifar10Dataset.RecordBytes;

    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-cifar-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Put(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Records with the given labels; pixel p of channel c of record i is (i·7 + c·50 + p) mod 256.</summary>
    private static byte[] Records(params byte[] labels)
    {
        var bytes = new byte[labels.Length * R];
        for (int i = 0; i < labels.Length; i++)
        {
            bytes[i * R] = labels[i];
            for (int c = 0; c < 3; c++)
            {
                for (int p = 0; p < 1024; p++)
                {
                    bytes[(i * R) + 1 + (c * 1024) + p] = (byte)((i * 7) + (c * 50) + p);
                }
            }
        }

        return bytes;
    }

    private void PutAll(bool withTest = true)
    {
        for (int k = 1; k <= 5; k++)
        {
            Put($"data_batch_{k}.bin", Records((byte)k, (byte)(k + 4)));
        }

        if (withTest)
        {
            Put("test_batch.bin", Records(3, 0, 9));
        }
    }

    [Fact]
    public void Load_Train_ConcatenatesFiveBatchesInOrder()
    {
        PutAll();

        Cifar10Dataset ds = Cifar10Dataset.Load(_dir, train: true);

        Assert.Equal(10, ds.Count);
        Assert.Equal([1, 5, 2, 6, 3, 7, 4, 8, 5, 9], Enumerable.Range(0, 10).Select(ds.Label));
        Assert.Equal([3, 32, 32], ds.SampleShape);
        Assert.Equal(Cifar10Dataset.StandardClasses, ds.Classes);
    }

    [Fact]
    public void Get_Unnormalized_IsBytesOver255InChannelPlanes()
    {
        PutAll();
        Cifar10Dataset ds = Cifar10Dataset.Load(_dir, train: false, normalize: Normalizations.None(3));

        (Tensor x, int label) = ds.Get(1);

        Assert.Equal(0, label);
        Assert.Equal([3, 32, 32], x.Shape);
        float[] v = x.ToArray();
        byte[] record = Records(3, 0, 9).AsSpan(R, R).ToArray();
        Assert.Equal(record.Skip(1).Select(b => b / 255f), v);
    }

    [Fact]
    public void Get_Normalized_AppliesCifarMeanAndStdPerChannel()
    {
        PutAll();
        Cifar10Dataset ds = Cifar10Dataset.Load(_dir, train: false);
        float[] mean = [0.4914f, 0.4822f, 0.4465f];
        float[] std = [0.2470f, 0.2435f, 0.2616f];

        float[] v = ds.Get(2).Input.ToArray();

        byte[] record = Records(3, 0, 9).AsSpan(2 * R, R).ToArray();
        for (int c = 0; c < 3; c++)
        {
            for (int p = 0; p < 1024; p += 97)
            {
                Assert.Equal(((record[1 + (c * 1024) + p] / 255f) - mean[c]) / std[c], v[(c * 1024) + p]);
            }
        }
    }

    [Fact]
    public void CopySample_WithPadding_SurroundsWithNormalisedBlack()
    {
        PutAll();
        Cifar10Dataset ds = Cifar10Dataset.Load(_dir, train: false, padding: 2);

        Assert.Equal([3, 36, 36], ds.SampleShape);
        var buffer = new float[3 * 36 * 36];
        Assert.Equal(9, ds.CopySample(2, buffer));
        float[] plain = Cifar10Dataset.Load(_dir, train: false).Get(2).Input.ToArray();
        for (int c = 0; c < 3; c++)
        {
            float black = (0f - Normalizations.Cifar10.Mean[c]) / Normalizations.Cifar10.Std[c];
            Assert.Equal(black, buffer[c * 36 * 36]);
            Assert.Equal(black, buffer[(c * 36 * 36) + (35 * 36) + 35]);
            Assert.Equal(plain[(c * 1024) + (5 * 32) + 7], buffer[(c * 36 * 36) + (7 * 36) + 9]);
        }
    }

    [Fact]
    public void Load_TruncatedBatch_GivesLengthAndRemainder()
    {
        PutAll();
        string path = Put("data_batch_3.bin", Records(1, 2)[..((2 * R) - 10)]);

        var ex = Assert.Throws<InvalidDataException>(() => Cifar10Dataset.Load(_dir, train: true));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("6,136 bytes", ex.Message, StringComparison.Ordinal);
        Assert.Contains("remainder 3,063", ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_ShorterThanOneRecordOrEmpty_Rejected()
    {
        PutAll();
        Put("test_batch.bin", new byte[100]);
        Assert.Contains("shorter than one record", Assert.Throws<InvalidDataException>(() => Cifar10Dataset.Load(_dir, train: false)).Message, StringComparison.Ordinal);

        Put("test_batch.bin", []);
        Assert.Contains("is empty", Assert.Throws<InvalidDataException>(() => Cifar10Dataset.Load(_dir, train: false)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_Cifar100SizedFile_SaysSo()
    {
        PutAll();
        Put("test_batch.bin", new byte[3 * 3074]);

        var ex = Assert.Throws<InvalidDataException>(() => Cifar10Dataset.Load(_dir, train: false));

        Assert.Contains("CIFAR-100", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_LabelOf10_NamesFileRecordAndValue()
    {
        PutAll();
        string path = Put("data_batch_4.bin", Records(1, 2, 10));

        var ex = Assert.Throws<InvalidDataException>(() => Cifar10Dataset.Load(_dir, train: true));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("record 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("label 10", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingTestBatch_NamesIt()
    {
        PutAll(withTest: false);

        var ex = Assert.Throws<FileNotFoundException>(() => Cifar10Dataset.Load(_dir, train: false));

        Assert.Contains("test_batch.bin", ex.Message, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(_dir, "test_batch.bin"), ex.FileName);
        Assert.Equal(10, Cifar10Dataset.Load(_dir, train: true).Count);
    }

    [Fact]
    public void Load_MissingFolder_SaysWhatToPutThere()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => Cifar10Dataset.Load(Path.Combine(_dir, "none"), train: true));
        Assert.Contains("data_batch_1.bin", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MetaFileWithBlankLines_GivesItsNames()
    {
        PutAll();
        string[] names = ["a0", "b1", "c2", "d3", "e4", "f5", "g6", "h7", "i8", "j9"];
        File.WriteAllText(Path.Combine(_dir, "batches.meta.txt"), string.Join("\n", names.Take(5)) + "\n\n" + string.Join("\r\n", names.Skip(5)) + "\n\n");

        Assert.Equal(names, Cifar10Dataset.Load(_dir, train: false).Classes);
    }

    [Theory]
    [InlineData("airplane\nautomobile\nbird\n", "3 non-empty line(s)")]
    [InlineData("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n", "11 non-empty line(s)")]
    [InlineData("a\nb\nc\nd\ne\nf\ng\nh\ni\na\n", "class \"a\" more than once")]
    public void Load_BadMetaFile_Rejected(string contents, string expected)
    {
        PutAll();
        string meta = Path.Combine(_dir, "batches.meta.txt");
        File.WriteAllText(meta, contents);

        var ex = Assert.Throws<InvalidDataException>(() => Cifar10Dataset.Load(_dir, train: true));

        Assert.Contains(meta, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_BadInputs_Rejected()
    {
        Assert.Throws<ArgumentException>(() => new Cifar10Dataset(new byte[R + 1]));
        Assert.Contains("label 12", Assert.Throws<ArgumentException>(() => new Cifar10Dataset(Records(12))).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new Cifar10Dataset(Records(1), classes: ["x"]));
        Assert.Throws<ArgumentException>(() => new Cifar10Dataset(Records(1), normalize: Normalizations.Mnist));
    }

    [Fact]
    public void Get_IndexOutOfRange_Throws()
    {
        var ds = new Cifar10Dataset(Records(1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Get(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Get(-1));
    }

    [Fact]
    public void ReadBatch_ReturnsTheRecords()
    {
        byte[] records = Records(4, 5, 6);
        Assert.Equal(records, Cifar10Dataset.ReadBatch(Put("x.bin", records)));
    }
}
