using SharpCnn.Vision.Datasets;
using SkiaSharp;
using static SharpCnn.Vision.Tests.Datasets.ImageTestFiles;

namespace SharpCnn.Vision.Tests.Datasets;

public sealed class ImageDecoderTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-images-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Put(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>The RGB channels of an RGBA buffer as ToTensor gives them: [3, H, W], b/255.</summary>
    private static float[] ExpectedChw(byte[] rgba, int width, int height)
    {
        int plane = width * height;
        var expected = new float[3 * plane];
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < 3; c++)
            {
                expected[(c * plane) + p] = rgba[(4 * p) + c] / 255f;
            }
        }

        return expected;
    }

    [Fact]
    public void DecodeRgb_Png_EqualsEncodedPixelsExactly()
    {
        byte[] rgba = Pattern(7, 5);
        string path = Put("a.png", EncodeRgba(rgba, 7, 5, SKEncodedImageFormat.Png));

        Tensor t = ImageDecoder.DecodeRgb(path);

        Assert.Equal([3, 5, 7], t.Shape);
        Assert.Equal(ExpectedChw(rgba, 7, 5), t.ToArray());
    }

    [Fact]
    public void DecodeRgb_Bmp_EqualsEncodedPixelsExactly()
    {
        byte[] rgba = Pattern(5, 3);
        Tensor t = ImageDecoder.DecodeRgb(Put("a.bmp", Bmp24(rgba, 5, 3)));

        Assert.Equal([3, 3, 5], t.Shape);
        Assert.Equal(ExpectedChw(rgba, 5, 3), t.ToArray());
    }

    [Fact]
    public void DecodeRgb_LosslessWebp_EqualsEncodedPixelsExactly()
    {
        byte[] rgba = Pattern(6, 4);
        Tensor t = ImageDecoder.DecodeRgb(Put("a.webp", EncodeWebpLossless(rgba, 6, 4)));

        Assert.Equal([3, 4, 6], t.Shape);
        Assert.Equal(ExpectedChw(rgba, 6, 4), t.ToArray());
    }

    [Fact]
    public void DecodeRgb_Jpeg_CloseToEncodedGradient()
    {
        const int W = 32, H = 24;
        byte[] rgba = Gradient(W, H);
        Tensor t = ImageDecoder.DecodeRgb(Put("a.jpg", EncodeRgba(rgba, W, H, SKEncodedImageFormat.Jpeg, quality: 95)));

        Assert.Equal([3, H, W], t.Shape);
        float[] expected = ExpectedChw(rgba, W, H);
        float[] actual = t.ToArray();
        double meanError = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Average();
        float maxError = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();

        // JPEG is lossy: at quality 95 a smooth gradient comes back within a few levels on average.
        Assert.True(meanError < 3 / 255.0, $"mean |error| {meanError * 255:F2} levels");
        Assert.True(maxError < 16 / 255f, $"max |error| {maxError * 255:F2} levels");
    }

    [Fact]
    public void DecodeRgb_GreyPng_CopiesGreyToAllThreeChannels()
    {
        byte[] grey = [0, 1, 2, 127, 128, 200, 254, 255];
        Tensor t = ImageDecoder.DecodeRgb(Put("g.png", EncodeGrayPng(grey, 4, 2)));

        Assert.Equal([3, 2, 4], t.Shape);
        float[] v = t.ToArray();
        for (int c = 0; c < 3; c++)
        {
            Assert.Equal(grey.Select(b => b / 255f), v.Skip(c * 8).Take(8));
        }
    }

    [Fact]
    public void DecodeRgb_AlphaPng_DropsAlphaKeepingStoredColour()
    {
        byte[] rgba = Pattern(5, 4, opaque: false);
        Assert.Contains(rgba.Where((_, i) => i % 4 == 3), a => a is > 0 and < 255);

        Tensor t = ImageDecoder.DecodeRgb(Put("a.png", EncodeRgba(rgba, 5, 4, SKEncodedImageFormat.Png)));

        Assert.Equal([3, 4, 5], t.Shape);
        Assert.Equal(ExpectedChw(rgba, 5, 4), t.ToArray());
    }

    [Fact]
    public void DecodeGrayscale_UsesPilLumaAndKeepsGreyExact()
    {
        // PIL's convert("L") gives 76 for pure red, 150 for pure green, 29 for pure blue.
        byte[] rgba = [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 90, 90, 90, 255];
        Tensor t = ImageDecoder.DecodeGrayscale(Put("c.png", EncodeRgba(rgba, 4, 1, SKEncodedImageFormat.Png)));

        Assert.Equal([1, 1, 4], t.Shape);
        Assert.Equal([76 / 255f, 150 / 255f, 29 / 255f, 90 / 255f], t.ToArray());
    }

    [Fact]
    public void Luma_OfEqualChannels_IsThatValue()
    {
        for (int v = 0; v < 256; v++)
        {
            Assert.Equal((byte)v, ImageDecoder.Luma((byte)v, (byte)v, (byte)v));
        }
    }

    [Fact]
    public void DecodeRgb_Span_EqualsFileDecode()
    {
        byte[] png = EncodeRgba(Pattern(3, 3), 3, 3, SKEncodedImageFormat.Png);
        Assert.Equal(ImageDecoder.DecodeRgb(Put("s.png", png)).ToArray(), ImageDecoder.DecodeRgb(png.AsSpan()).ToArray());
    }

    [Fact]
    public void DecodeRgb_HugeDeclaredPng_RefusedBeforeDecoding()
    {
        string path = Put("bomb.png", PngHeaderOnly(100_000, 100_000));

        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("100000×100000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Refused before decoding", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRgb_OverCallerPixelLimit_RefusedWithTheCounts()
    {
        string path = Put("big.png", EncodeRgba(Pattern(40, 30), 40, 30, SKEncodedImageFormat.Png));

        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path, maxPixels: 1_000));

        Assert.Contains("40×30 = 1,200 pixels", ex.Message, StringComparison.Ordinal);
        Assert.Contains("limit of 1,000", ex.Message, StringComparison.Ordinal);
        Assert.Equal([3, 30, 40], ImageDecoder.DecodeRgb(path, maxPixels: 1_200).Shape);
    }

    [Fact]
    public void DecodeRgb_PngSignatureThenGarbage_NamesFile()
    {
        byte[] bytes = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, .. Enumerable.Range(0, 200).Select(i => (byte)(i * 7))];
        string path = Put("corrupt.png", bytes);

        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("89504E470D0A1A0A", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRgb_TruncatedPng_SaysTruncated()
    {
        byte[] png = EncodeRgba(Pattern(64, 64), 64, 64, SKEncodedImageFormat.Png);
        string path = Put("cut.png", png[..(png.Length / 2)]);

        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRgb_EmptyOrNonImage_Refused()
    {
        Assert.Contains("empty", Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(Put("e.png", []))).Message, StringComparison.Ordinal);
        Assert.Contains("not in a supported format",
            Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(Put("t.jpg", "hello, world"u8.ToArray()))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRgb_MissingFile_ThrowsFileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => ImageDecoder.DecodeRgb(Path.Combine(_dir, "nope.png")));

    [Fact]
    public void ReadHeader_GivesSizeAndFormat()
    {
        byte[] png = EncodeRgba(Pattern(9, 2), 9, 2, SKEncodedImageFormat.Png);
        Assert.Equal((9, 2, "Png"), ImageDecoder.ReadHeader(png));
    }
}
