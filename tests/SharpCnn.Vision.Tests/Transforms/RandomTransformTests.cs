using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Tests.Transforms;

/// <summary>
/// The random transforms: their outputs are the functional forms (tested against torchvision) at the drawn
/// parameters, and the parameters follow the documented distributions. Statistical bounds are 5 standard
/// deviations of the count or mean, so a correct implementation fails about once in 3.5 million runs while a wrong
/// rate or range is far outside.
/// </summary>
public sealed class RandomTransformTests
{
    private static Tensor Image(int c, int h, int w, int seed = 1) => Tensor.Rand(new Generator((ulong)seed), c, h, w);

    private static void AssertWithin(double actual, double expected, double sigma, string what) =>
        Assert.True(Math.Abs(actual - expected) <= 5 * sigma, $"{what}: {actual} is more than 5σ ({5 * sigma}) from {expected}");

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.3)]
    public void RandomHorizontalFlip_Rate_IsP(double p)
    {
        Tensor x = Tensor.FromArray([1f, 2f], 1, 1, 2);
        var flip = new RandomHorizontalFlip(p);
        var g = new Generator(11);
        const int N = 10_000;
        int flipped = 0;
        for (int i = 0; i < N; i++)
        {
            float[] y = flip.Apply(x, g).ToArray();
            flipped += y[0] == 2f ? 1 : 0;
            Assert.Equal(3f, y[0] + y[1]);
        }

        AssertWithin(flipped, N * p, Math.Sqrt(N * p * (1 - p)), "flips");
        Assert.Equal([1f, 2f], x.ToArray());
    }

    [Fact]
    public void RandomFlips_P0AndP1_NeverAndAlways()
    {
        Tensor x = Image(2, 3, 4);
        var g = new Generator(3);
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(x.ToArray(), new RandomHorizontalFlip(0).Apply(x, g).ToArray());
            Assert.Equal(TF.HorizontalFlip(x).ToArray(), new RandomHorizontalFlip(1).Apply(x, g).ToArray());
            Assert.Equal(TF.VerticalFlip(x).ToArray(), new RandomVerticalFlip(1).Apply(x, g).ToArray());
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomHorizontalFlip(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomVerticalFlip(double.NaN));
    }

    [Fact]
    public void Flips_TwiceGiveTheInput_AndMirror()
    {
        Tensor x = Tensor.FromArray([1f, 2f, 3f, 4f, 5f, 6f], 1, 2, 3);
        Assert.Equal([3f, 2f, 1f, 6f, 5f, 4f], TF.HorizontalFlip(x).ToArray());
        Assert.Equal([4f, 5f, 6f, 1f, 2f, 3f], TF.VerticalFlip(x).ToArray());
        Tensor big = Image(3, 17, 33);
        Assert.Equal(big.ToArray(), TF.HorizontalFlip(TF.HorizontalFlip(big)).ToArray());
    }

    [Fact]
    public void RandomCrop_Offsets_UniformOverAllPositions()
    {
        // Pixel value = row·6 + column, so the crop's first value tells its offset.
        Tensor x = Tensor.FromArray([.. Enumerable.Range(0, 36).Select(i => (float)i)], 1, 6, 6);
        var crop = new RandomCrop(4);
        var g = new Generator(5);
        var counts = new int[9];
        const int N = 9000;
        for (int i = 0; i < N; i++)
        {
            Tensor y = crop.Apply(x, g);
            int top = (int)y[0, 0, 0] / 6;
            int left = (int)y[0, 0, 0] % 6;
            Assert.Equal(TF.Crop(x, top, left, 4, 4).ToArray(), y.ToArray());
            counts[(top * 3) + left]++;
        }

        Assert.All(counts, c => AssertWithin(c, N / 9.0, Math.Sqrt(N * (1 / 9.0) * (8 / 9.0)), "crop position"));
    }

    [Fact]
    public void RandomCrop_Padding_IsACropOfThePaddedImage()
    {
        Tensor x = Image(3, 32, 32);
        var crop = new RandomCrop(32, padding: [4], fill: [0.25f]);
        var g = new Generator(8);
        Tensor padded = TF.Pad(x, [4], PaddingMode.Constant, [0.25f]);
        var seen = new HashSet<(int, int)>();
        for (int i = 0; i < 200; i++)
        {
            float[] y = crop.Apply(x, g).ToArray();
            (int top, int left)? match = null;
            for (int t = 0; t <= 8 && match is null; t++)
            {
                for (int l = 0; l <= 8 && match is null; l++)
                {
                    if (TF.Crop(padded, t, l, 32, 32).ToArray().AsSpan().SequenceEqual(y))
                    {
                        match = (t, l);
                    }
                }
            }

            Assert.NotNull(match);
            seen.Add(match.Value);
        }

        Assert.True(seen.Count > 40, $"only {seen.Count} of 81 offsets seen in 200 draws");
    }

    [Fact]
    public void RandomCrop_TooLarge_ErrorGivesSizes_PadIfNeededPads()
    {
        Tensor x = Image(1, 7, 9);
        var e = Assert.Throws<ArgumentException>(() => new RandomCrop(10).Apply(x, new Generator(1)));
        Assert.Contains("RandomCrop of 10×10 is larger than the image (7×9", e.Message, StringComparison.Ordinal);
        Tensor y = new RandomCrop(10, padIfNeeded: true).Apply(x, new Generator(1));
        Assert.Equal([1, 10, 10], y.Shape);
        // Width 9 → padded by 1 on both sides to 11, height 7 → by 3 to 13; every value is from x or the zero fill.
        var values = new HashSet<float>(x.ToArray()) { 0f };
        Assert.All(y.ToArray(), v => Assert.Contains(v, values));
        Assert.Throws<ArgumentException>(() => new RandomCrop(4, padding: [1, 2, 3]));
    }

    [Fact]
    public void RandomAffine_Parameters_FollowTheirRanges()
    {
        var affine = new RandomAffine(10, translate: (0.1, 0.2), scale: (0.9, 1.1));
        var g = new Generator(21);
        const int N = 10_000;
        double sumAngle = 0;
        double sumAngle2 = 0;
        double sumScale = 0;
        var tx = new HashSet<double>();
        var ty = new HashSet<double>();
        for (int i = 0; i < N; i++)
        {
            (double angle, (double X, double Y) t, double scale, (double X, double Y) shear) = affine.DrawParameters(28, 30, g);
            Assert.InRange(angle, -10, 10);
            Assert.InRange(scale, 0.9, 1.1);
            Assert.Equal((0.0, 0.0), shear);
            sumAngle += angle;
            sumAngle2 += angle * angle;
            sumScale += scale;
            tx.Add(t.X);
            ty.Add(t.Y);
        }

        // U(−10, 10): mean 0, variance 100/3; U(0.9, 1.1): mean 1, sd 0.2/√12.
        AssertWithin(sumAngle / N, 0, Math.Sqrt(100.0 / 3 / N), "mean angle");
        AssertWithin(sumAngle2 / N, 100.0 / 3, Math.Sqrt(((10000.0 / 5) - (10000.0 / 9)) / N), "mean squared angle");
        AssertWithin(sumScale / N, 1, 0.2 / Math.Sqrt(12 * N), "mean scale");
        // Translations are whole pixels within ±round(0.1·30) = ±3 and ±round(0.2·28) = ±6 (5.6 rounds to 6 only at the very edge).
        Assert.Equal(Enumerable.Range(-3, 7).Select(v => (double)v), tx.Order());
        Assert.Subset(new HashSet<double>(Enumerable.Range(-6, 13).Select(v => (double)v)), ty);
        Assert.Superset(new HashSet<double>(Enumerable.Range(-5, 11).Select(v => (double)v)), ty);
    }

    [Fact]
    public void RandomAffine_Output_IsTheFunctionalFormAtTheDrawnParameters()
    {
        Tensor x = Image(3, 11, 13);
        var affine = new RandomAffine((-20, 30), translate: (0.2, 0.1), scale: (0.8, 1.2), shearX: (-5, 5), shearY: (0, 3),
                                      interpolation: Interpolation.Bilinear, fill: [0.1f, 0.2f, 0.3f]);
        for (ulong seed = 0; seed < 20; seed++)
        {
            (double angle, (double, double) t, double scale, (double, double) shear) = affine.DrawParameters(11, 13, new Generator(seed));
            Tensor expected = TF.Affine(x, angle, t, scale, shear, Interpolation.Bilinear, [0.1f, 0.2f, 0.3f]);
            Assert.Equal(expected.ToArray(), affine.Apply(x, new Generator(seed)).ToArray());
        }

        Assert.Throws<ArgumentException>(() => affine.Apply(Image(2, 5, 5), new Generator(1)));
    }

    [Fact]
    public void Affine_Identity_KeepsTheImage_AndQuarterTurnRotatesASquare()
    {
        Tensor x = Image(2, 5, 5);
        Assert.Equal(x.ToArray(), TF.Affine(x, 0, (0, 0), 1, (0, 0), Interpolation.Bilinear, [0f]).ToArray());
        Assert.Equal(x.ToArray(), TF.Affine(x, 0, (0, 0), 1, (0, 0), Interpolation.Nearest).ToArray());
        // Output (x, y) reads source R⁻¹ about the centre: for +90° that is (y, 4 − x), i.e. a transpose then vertical flip.
        Tensor turned = TF.Affine(x, 90, (0, 0), 1, (0, 0), Interpolation.Nearest);
        for (int c = 0; c < 2; c++)
        {
            for (int i = 0; i < 5; i++)
            {
                for (int j = 0; j < 5; j++)
                {
                    Assert.Equal(x[c, 4 - j, i], turned[c, i, j]);
                }
            }
        }

        // A whole-pixel translation moves the image and fills the uncovered column.
        Tensor moved = TF.Affine(x, 0, (1, 0), 1, (0, 0), Interpolation.Bilinear, [0.5f]);
        Assert.Equal(0.5f, moved[0, 2, 0]);
        Assert.Equal(x[1, 3, 2], moved[1, 3, 3]);
    }

    [Fact]
    public void ColorJitter_Parameters_RandomOrderAndRanges()
    {
        var jitter = new ColorJitter(brightness: 0.4, contrast: 0.3, saturation: 1.5, hue: 0.1);
        Assert.Equal((0.6, 1.4), jitter.Brightness);
        Assert.Equal((0.0, 2.5), jitter.Saturation);
        Assert.Equal((-0.1, 0.1), jitter.Hue);
        var g = new Generator(4);
        var firsts = new int[4];
        const int N = 4000;
        for (int i = 0; i < N; i++)
        {
            (int[] order, double? b, double? c, double? s, double? h) = jitter.DrawParameters(g);
            Assert.Equal([0, 1, 2, 3], order.Order());
            firsts[order[0]]++;
            Assert.InRange(b!.Value, 0.6, 1.4);
            Assert.InRange(c!.Value, 0.7, 1.3);
            Assert.InRange(s!.Value, 0, 2.5);
            Assert.InRange(h!.Value, -0.1, 0.1);
        }

        Assert.All(firsts, f => AssertWithin(f, N / 4.0, Math.Sqrt(N * 0.25 * 0.75), "first adjustment"));
        Assert.Null(new ColorJitter(contrast: 0.5).DrawParameters(g).Brightness);
    }

    [Fact]
    public void ColorJitter_Output_IsTheAdjustmentsInTheDrawnOrder()
    {
        Tensor x = Image(3, 6, 7);
        var jitter = new ColorJitter(0.5, 0.5, 0.5, 0.2);
        for (ulong seed = 0; seed < 10; seed++)
        {
            (int[] order, double? b, double? c, double? s, double? h) = jitter.DrawParameters(new Generator(seed));
            Tensor expected = x;
            foreach (int step in order)
            {
                expected = step switch
                {
                    0 => TF.AdjustBrightness(expected, b!.Value),
                    1 => TF.AdjustContrast(expected, c!.Value),
                    2 => TF.AdjustSaturation(expected, s!.Value),
                    _ => TF.AdjustHue(expected, h!.Value),
                };
            }

            Assert.Equal(expected.ToArray(), jitter.Apply(x, new Generator(seed)).ToArray());
        }

        // One channel: brightness and contrast apply, saturation and hue leave it.
        Tensor grey = Image(1, 4, 4);
        Assert.Equal([1, 4, 4], new ColorJitter(0.5, 0.5, 0.5, 0.5).Apply(grey, new Generator(1)).Shape);
    }

    [Fact]
    public void RandomResizedCrop_Windows_InsideWithAreaAndRatioInRange()
    {
        var rrc = new RandomResizedCrop(16, scale: (0.2, 0.8), ratio: (0.5, 2.0));
        var g = new Generator(6);
        for (int i = 0; i < 2000; i++)
        {
            (int top, int left, int h, int w) = rrc.DrawWindow(60, 80, g);
            Assert.InRange(top, 0, 60 - h);
            Assert.InRange(left, 0, 80 - w);
            // Rounding each side moves the area by at most about one row plus one column.
            Assert.InRange((double)h * w, (0.2 * 4800) - 80 - 60, (0.8 * 4800) + 80 + 60);
            Assert.InRange((double)w / h, 0.5 * 0.85, 2.0 * 1.15);
        }

        Assert.Equal([3, 16, 16], rrc.Apply(Image(3, 60, 80), g).Shape);
    }

    [Fact]
    public void RandomResizedCrop_NoWindowFits_FallsBackToTheCentreClampedToTheRatio()
    {
        // An area of 2–3 images never fits: the fallback is the whole image clamped to the ratio, centred.
        var rrc = new RandomResizedCrop(8, scale: (2, 3), ratio: (0.75, 1.3333333333333333));
        Assert.Equal((0, 10, 40, 53), rrc.DrawWindow(40, 73, new Generator(1))); // w = round(40·4/3) = 53
        Assert.Equal((13, 0, 40, 30), rrc.DrawWindow(66, 30, new Generator(1))); // h = round(30 / 0.75) = 40
        Assert.Equal((0, 0, 30, 33), rrc.DrawWindow(30, 33, new Generator(1)));
    }

    [Fact]
    public void RandomApply_Rate_IsP_AndCompose_PassesOneGeneratorAlong()
    {
        Tensor x = Tensor.FromArray([1f, 2f], 1, 1, 2);
        var apply = new RandomApply([new RandomHorizontalFlip(1)], p: 0.2);
        var g = new Generator(12);
        const int N = 10_000;
        int applied = 0;
        for (int i = 0; i < N; i++)
        {
            applied += apply.Apply(x, g)[0, 0, 0] == 2f ? 1 : 0;
        }

        AssertWithin(applied, N * 0.2, Math.Sqrt(N * 0.2 * 0.8), "RandomApply");

        // Two coin flips in a row from one generator: the composed result is the parity of the two draws.
        var twice = new Compose(new RandomHorizontalFlip(), new RandomHorizontalFlip());
        for (ulong seed = 0; seed < 50; seed++)
        {
            var draws = new Generator(seed);
            bool flipped = (draws.NextDouble() < 0.5) ^ (draws.NextDouble() < 0.5);
            Assert.Equal(flipped ? 2f : 1f, twice.Apply(x, new Generator(seed))[0, 0, 0]);
        }
    }

    [Fact]
    public void RandomTransform_WithoutGenerator_DrawsFromTheScopedDefault()
    {
        Tensor x = Image(1, 9, 9);
        var affine = new RandomAffine(30, translate: (0.2, 0.2));
        Tensor expected = affine.Apply(x, new Generator(99));
        using (Generator.UseAsDefault(new Generator(99)))
        {
            Assert.Equal(expected.ToArray(), affine.Apply(x).ToArray());
        }

        var lambda = new Lambda((t, g) => Tensor.FromArray([g.NextSingle()], 1));
        Assert.Equal(new Generator(5).NextSingle(), lambda.Apply(x, new Generator(5))[0]);
        Assert.Equal([2f], new Lambda(t => Tensor.FromArray([2f], 1)).Apply(x).ToArray());
    }
}
