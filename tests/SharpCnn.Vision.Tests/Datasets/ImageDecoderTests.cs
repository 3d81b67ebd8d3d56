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

    [Theory]
    [InlineData(100_000u, 100_000u, "each side must be 1 to 65,535")]
    [InlineData(60_000u, 60_000u, "= 3,600,000,000 pixels, over the limit of 67,108,864")]
    public void DecodeRgb_HugeDeclaredPng_RefusedBeforeDecoding(uint width, uint height, string expected)
    {
        string path = Put("bomb.png", PngHeaderOnly(width, height));

        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains($"{width}×{height}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("Refused before decoding", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRgb_LimitRaisedPastOneBuffer_StillRefusedBeforeDecoding()
    {
        string path = Put("bomb.png", PngHeaderOnly(60_000, 60_000));

        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path, maxPixels: long.MaxValue));

        Assert.Contains("more than one decode buffer can hold", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRgb_BinaryPpm_EqualsBytesExactly()
    {
        byte[] rgb = [.. Enumerable.Range(0, 2 * 3 * 3).Select(i => (byte)(i * 14))];
        Tensor t = ImageDecoder.DecodeRgb(Put("a.ppm", [.. "P6\n# made by a test\n3 2\n255\n"u8, .. rgb]));

        Assert.Equal([3, 2, 3], t.Shape);
        float[] v = t.ToArray();
        for (int p = 0; p < 6; p++)
        {
            for (int c = 0; c < 3; c++)
            {
                Assert.Equal(rgb[(3 * p) + c] / 255f, v[(c * 6) + p]);
            }
        }
    }

    [Fact]
    public void DecodeRgb_PgmWithSmallMaxval_ScaledAsPillow()
    {
        // Pillow: round(v / maxval * 255), so maxval 15 maps 0, 5, 10, 15 to 0, 85, 170, 255 and maxval 7 maps 1 to 36.
        Tensor t = ImageDecoder.DecodeRgb(Put("a.pgm", [.. "P5 4 1 15 "u8, 0, 5, 10, 15]));
        Assert.Equal([0f, 85 / 255f, 170 / 255f, 1f], t.ToArray()[..4]);
        Assert.Equal(t.ToArray()[..4], t.ToArray()[8..]);

        Tensor ascii = ImageDecoder.DecodeGrayscale(Put("b.pgm", "P2\n# ascii\n3 1\n7\n0 1\n7\n"u8.ToArray()));
        Assert.Equal([0f, 36 / 255f, 1f], ascii.ToArray());
    }

    [Fact]
    public void DecodeRgb_SixteenBitAndAsciiPpm_Decoded()
    {
        // 16-bit samples are big-endian: 0x0000, 0x8000, 0xFFFF with maxval 65535 give 0, 128, 255.
        Tensor wide = ImageDecoder.DecodeRgb(Put("w.ppm", [.. "P6 1 1 65535\n"u8, 0x00, 0x00, 0x80, 0x00, 0xFF, 0xFF]));
        Assert.Equal([0f, 128 / 255f, 1f], wide.ToArray());

        Tensor ascii = ImageDecoder.DecodeRgb(Put("a.ppm", "P3 2 1 255 1 2 3 4 5 6"u8.ToArray()));
        Assert.Equal([1 / 255f, 4 / 255f, 2 / 255f, 5 / 255f, 3 / 255f, 6 / 255f], ascii.ToArray());
    }

    [Theory]
    [InlineData("P6 2 2 255\n\u0001\u0002\u0003", "truncated")]
    [InlineData("P2 2 1 7 3 9", "sample 1 is 9, above the maxval 7")]
    [InlineData("P2 2 1 7 3", "truncated")]
    [InlineData("P5 x 1 255 ", "expected the width")]
    [InlineData("P5 2 1 0 ", "maxval 0")]
    [InlineData("P5 70000 1 255 ", "each side must be 1 to 65,535")]
    public void DecodeRgb_BadNetpbm_Refused(string contents, string expected)
    {
        string path = Put("bad.pgm", System.Text.Encoding.Latin1.GetBytes(contents));

        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeRgb_NetpbmOverPixelLimit_RefusedBeforeReadingTheRaster()
    {
        // The header claims 60000×60000 but no raster follows: the limit must fire first.
        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(Put("big.ppm", "P6 60000 60000 255\n"u8.ToArray())));
        Assert.Contains("over the limit", ex.Message, StringComparison.Ordinal);
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
    public void DecodeRgb_Tiff_SaysTiffIsNotSupported()
    {
        string path = Put("a.tif", [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 0, 0]);
        var ex = Assert.Throws<InvalidDataException>(() => ImageDecoder.DecodeRgb(path));
        Assert.Contains("is a TIFF file", ex.Message, StringComparison.Ordinal);
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
