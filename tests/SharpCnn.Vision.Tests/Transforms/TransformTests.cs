using SharpCnn.Data;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Tests.Transforms;

public class TransformTests
{
    [Fact]
    public void ToTensor_HwcBytes_ToChwUnitRange()
    {
        // 1×2 image with 3 channels: pixel 0 = (0, 51, 255), pixel 1 = (255, 0, 102).
        Tensor t = ToTensor.FromBytes([0, 51, 255, 255, 0, 102], channels: 3, height: 1, width: 2);
        Assert.Equal([3, 1, 2], t.Shape);
        Assert.Equal([0f, 1f, 0.2f, 0f, 1f, 0.4f], t.ToArray());
    }

    [Fact]
    public void ToTensor_WrongLength_NamesSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => ToTensor.FromBytes([1, 2, 3], 1, 2, 2));
        Assert.Contains("4 bytes but got 3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Normalize_PerChannel()
    {
        var n = new Normalize([0.5f, 1f], [0.5f, 2f]);
        Tensor t = n.Apply(Tensor.FromArray([1f, 0f, 3f, 5f], 2, 1, 2));
        Assert.Equal([1f, -1f, 1f, 2f], t.ToArray());
    }

    [Fact]
    public void Normalize_ChannelMismatch_Throws()
    {
        var e = Assert.Throws<ArgumentException>(() => Normalize.Mnist.Apply(Tensor.Zeros(3, 4, 4)));
        Assert.Contains("(3, 4, 4)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MnistDataset_LookupTable_BitIdenticalToComposeChain()
    {
        byte[] images = [.. Enumerable.Range(0, 2 * 16).Select(i => (byte)(i * 8 % 256))];
        var ds = new MnistDataset(images, [3, 7], rows: 4, cols: 4);
        var chain = new Compose(Normalize.Mnist);
        for (int i = 0; i < 2; i++)
        {
            Tensor expected = chain.Apply(ToTensor.FromBytes(images.AsSpan(i * 16, 16), 1, 4, 4));
            (Tensor input, int label) = ds.Get(i);
            Assert.Equal([1, 4, 4], input.Shape);
            Assert.Equal(expected.ToArray(), input.ToArray());
            Assert.Equal(i == 0 ? 3 : 7, label);
        }

        Batch batch = new DataLoader(ds, 2).First();
        Assert.Equal([2, 1, 4, 4], batch.Inputs.Shape);
        Assert.Equal([3f, 7f], batch.Targets.ToArray());
    }

    [Theory]
    [InlineData(16, 16, 0)] // 256 pixels: whole vectors only
    [InlineData(17, 15, 0)] // 255 pixels: a scalar tail
    [InlineData(16, 16, 2)] // rows of 16 placed inside a border
    [InlineData(9, 28, 1)]  // rows of 28: one vector and a 12-pixel tail per row
    public void MnistDataset_EveryByteValue_BitIdenticalToComposeChain(int rows, int cols, int padding)
    {
        int size = rows * cols;
        byte[] images = [.. Enumerable.Range(0, 3 * size).Select(i => (byte)((i * 7) + (i / 256)))];
        foreach (Normalize normalize in new[] { Normalize.Mnist, new Normalize([0.5f], [0.25f]), new Normalize([-0.3f], [1.7f]) })
        {
            var ds = new MnistDataset(images, [1, 2, 3], rows, cols, normalize, padding);
            float background = normalize.Apply(0f, 0);
            var chain = new Compose(normalize);
            Batch batch = new DataLoader(ds, 3).First();
            for (int i = 0; i < 3; i++)
            {
                float[] expected = chain.Apply(ToTensor.FromBytes(images.AsSpan(i * size, size), 1, rows, cols)).ToArray();
                float[] actual = ds.Get(i).Input.ToArray();
                float[] batched = batch.Inputs.Select(0, i).ToArray();
                int width = cols + (2 * padding);
                for (int r = 0; r < rows + (2 * padding); r++)
                {
                    for (int c = 0; c < width; c++)
                    {
                        bool inside = r >= padding && r < rows + padding && c >= padding && c < cols + padding;
                        float want = inside ? expected[((r - padding) * cols) + c - padding] : background;
                        Assert.Equal(BitConverter.SingleToInt32Bits(want), BitConverter.SingleToInt32Bits(actual[(r * width) + c]));
                        Assert.Equal(BitConverter.SingleToInt32Bits(want), BitConverter.SingleToInt32Bits(batched[(r * width) + c]));
                    }
                }
            }
        }
    }

    [Fact]
    public void MnistDataset_Padding_SurroundsTheImageWithTheBackgroundValue()
    {
        byte[] images = [.. Enumerable.Range(1, 6).Select(i => (byte)(i * 40))];
        var plain = new MnistDataset(images, [4], rows: 2, cols: 3);
        var padded = new MnistDataset(images, [4], rows: 2, cols: 3, padding: 2);
        Assert.Equal([1, 6, 7], padded.SampleShape);
        (Tensor inner, _) = plain.Get(0);
        (Tensor outer, int label) = padded.Get(0);
        Assert.Equal(4, label);
        Assert.Equal(inner.ToArray(), outer.Narrow(1, 2, 2).Narrow(2, 2, 3).ToArray());
        float background = Normalize.Mnist.Apply(0f, 0);
        float[] all = outer.ToArray();
        Assert.Equal(42 - 6, all.Count(v => v == background));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MnistDataset(images, [4], 2, 3, padding: -1));
    }

    [Fact]
    public void MnistDataset_BadLabelOrSize_Throws()
    {
        Assert.Contains("label 10", Assert.Throws<ArgumentException>(() => new MnistDataset(new byte[4], [10], 2, 2)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new MnistDataset(new byte[5], [1], 2, 2));
    }
}
