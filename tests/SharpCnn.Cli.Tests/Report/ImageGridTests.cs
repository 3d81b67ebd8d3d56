using SharpCnn.Cli.Report;
using SharpCnn.Vision.Transforms;
using SkiaSharp;

namespace SharpCnn.Cli.Tests.Report;

public class ImageGridTests
{
    [Fact]
    public void Render_FiveGrayTiles_SizeFollowsFormula()
    {
        float[][] tiles = [.. Enumerable.Range(0, 5).Select(_ => new float[3 * 4])];
        PixelImage image = ImageGrid.Render(tiles, h: 3, w: 4, columns: 2, scale: 5, TileColour.Gray);
        // 2 columns × 3 rows of 20×15 tiles with 2-pixel gaps.
        Assert.Equal((2 + (2 * 22), 2 + (3 * 17)), (image.Width, image.Height));
    }

    [Fact]
    public void Render_NearestNeighbour_EachPixelBecomesAnExactBlock()
    {
        float[] tile = [0f, 1f, 0.5f, 0.2f]; // 2×2
        PixelImage image = ImageGrid.Render([tile], 2, 2, 1, 3, TileColour.Gray);
        int g = ImageGrid.Gap;
        for (int y = 0; y < 6; y++)
        {
            for (int x = 0; x < 6; x++)
            {
                byte expected = (byte)MathF.Round(tile[(y / 3 * 2) + (x / 3)] * 255);
                Assert.Equal((expected, expected, expected), image[g + x, g + y]);
            }
        }
    }

    [Fact]
    public void Render_Rgb_UsesThreePlanes()
    {
        float[] tile = [1f, 0f, 0.5f]; // 1×1, R G B planes
        PixelImage image = ImageGrid.Render([tile], 1, 1, 1, 1, TileColour.Rgb);
        Assert.Equal(((byte)255, (byte)0, (byte)128), image[ImageGrid.Gap, ImageGrid.Gap]);
    }

    [Fact]
    public void Render_WrongTileLength_ClearError()
    {
        var e = Assert.Throws<ArgumentException>(() => ImageGrid.Render([new float[5]], 2, 2, 1, 1, TileColour.Gray));
        Assert.Contains("expected 1×2×2 = 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ToPng_DecodesToSameSizeAndPixels()
    {
        PixelImage image = ImageGrid.Render([[0f, 1f, 0.25f, 0.75f, 0.5f, 0f]], 2, 3, 1, 4, TileColour.Viridis);
        byte[] png = image.ToPng();
        Assert.Equal((image.Width, image.Height), PixelImage.PngSize(png));
        using SKBitmap decoded = SKBitmap.Decode(png);
        Assert.Equal((image.Width, image.Height), (decoded.Width, decoded.Height));
        SKColor c = decoded.GetPixel(ImageGrid.Gap + 5, ImageGrid.Gap + 1);
        Assert.Equal(image[ImageGrid.Gap + 5, ImageGrid.Gap + 1], (c.Red, c.Green, c.Blue));
    }

    [Fact]
    public void PngSize_NotPng_Throws() =>
        Assert.Throws<InvalidDataException>(() => PixelImage.PngSize(new byte[40]));

    [Fact]
    public void MinMax_MapsToUnitRange_ConstantToZero()
    {
        Assert.Equal([0f, 0.25f, 1f], ImageGrid.MinMax([-1f, 0f, 3f]));
        Assert.Equal([0f, 0f], ImageGrid.MinMax([2f, 2f]));
    }

    [Fact]
    public void Denormalize_Mnist_RecoversPixelFractions()
    {
        Normalize n = Normalize.Mnist;
        float[] normalised = [n.Apply(0f, 0), n.Apply(1f, 0), n.Apply(0.5f, 0), 10f];
        float[] shown = ImageGrid.Denormalize(normalised, 1, n.Mean, n.Std);
        Assert.Equal(0f, shown[0], 1e-6f);
        Assert.Equal(1f, shown[1], 1e-6f);
        Assert.Equal(0.5f, shown[2], 1e-6f);
        Assert.Equal(1f, shown[3]); // clamped
    }

    [Fact]
    public void ScaleFor_ReachesTarget()
    {
        Assert.Equal(3, ImageGrid.ScaleFor(28, 84));
        Assert.Equal(4, ImageGrid.ScaleFor(28, 85));
        Assert.Equal(1, ImageGrid.ScaleFor(224, 56));
    }
}

public class ChartsTests
{
    [Fact]
    public void LogTicks_TwoDecades_OneTwoFive()
    {
        (double[] positions, string[] labels) = Charts.LogTicks(Math.Log10(0.03), Math.Log10(0.6));
        Assert.Equal(["0.05", "0.1", "0.2", "0.5"], labels);
        Assert.Equal(Math.Log10(0.05), positions[0], 12);
    }

    [Fact]
    public void LogTicks_NarrowRange_EveryDigit()
    {
        (_, string[] labels) = Charts.LogTicks(Math.Log10(0.025), Math.Log10(0.045));
        Assert.Equal(["0.03", "0.04"], labels);
    }

    [Fact]
    public void Line_NoFinitePoint_Null_OtherwisePngOfChartSize()
    {
        Assert.Null(Charts.Line("t", "x", "y", [new ChartSeries("a", [1, 2], [double.NaN, double.NaN])]));
        Assert.Null(Charts.Line("t", "x", "y", [new ChartSeries("a", [1], [-1])], logY: true));
        byte[] png = Charts.Line("t", "x", "y", [new ChartSeries("a", [1, 2], [0.5, 0.25])], logY: true)!;
        Assert.Equal((Charts.Width, Charts.Height), PixelImage.PngSize(png));
    }
}

public class ConfusionImageTests
{
    [Fact]
    public void ConfusionImage_ManyClasses_CellsShadedByRowShare()
    {
        const int K = 50;
        var confusion = new long[K, K];
        for (int i = 0; i < K; i++)
        {
            confusion[i, i] = 4;
        }

        confusion[3, 3] = 3;
        confusion[3, 7] = 1; // a quarter of row 3: shown at sqrt(1/4) = half strength
        PixelImage image = RunReport.ConfusionImage(confusion, cell: 3);
        Assert.Equal((150, 150), (image.Width, image.Height));
        Assert.Equal(((byte)40, (byte)87, (byte)164), image[0, 0]);         // a full diagonal cell
        Assert.Equal(((byte)255, (byte)255, (byte)255), image[3 * 2, 0]);   // an empty cell
        Assert.Equal(((byte)217, (byte)146, (byte)142), image[(7 * 3) + 1, (3 * 3) + 2]); // 255 + (c − 255)/2, halves to even
    }
}
