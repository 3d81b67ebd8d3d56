namespace SharpCnn.Vision.Transforms;

public static partial class TF
{
    // ITU-R 601-2 luma weights, as torchvision's rgb_to_grayscale.
    private const float LumaR = 0.2989f;
    private const float LumaG = 0.587f;
    private const float LumaB = 0.114f;

    /// <summary>
    /// Luma L = 0.2989·R + 0.587·G + 0.114·B of an image (…, 3, H, W), as <c>TF.rgb_to_grayscale</c>; the result has
    /// one channel, or <paramref name="outputChannels"/> = 3 copies of it. A 1-channel image is copied.
    /// </summary>
    public static Tensor RgbToGrayscale(Tensor image, int outputChannels = 1)
    {
        int c = Check.ColorImage(image, "RgbToGrayscale");
        if (outputChannels is not (1 or 3))
        {
            throw new ArgumentOutOfRangeException(nameof(outputChannels), outputChannels, $"RgbToGrayscale outputChannels must be 1 or 3; got {outputChannels}.");
        }

        int plane = image.Size(-1) * image.Size(-2);
        int images = image.Numel / (c * plane);
        ReadOnlySpan<float> src = image.Data;
        var data = new float[images * outputChannels * plane];
        for (int n = 0; n < images; n++)
        {
            Span<float> grey = data.AsSpan(n * outputChannels * plane, plane);
            Luma(src.Slice(n * c * plane, c * plane), c, plane, grey);
            for (int k = 1; k < outputChannels; k++)
            {
                grey.CopyTo(data.AsSpan(((n * outputChannels) + k) * plane, plane));
            }
        }

        int[] shape = image.Shape;
        shape[^3] = outputChannels;
        return new Tensor(data, shape);
    }

    private static void Luma(ReadOnlySpan<float> img, int channels, int plane, Span<float> grey)
    {
        if (channels == 1)
        {
            img.CopyTo(grey);
            return;
        }

        ReadOnlySpan<float> r = img[..plane];
        ReadOnlySpan<float> g = img.Slice(plane, plane);
        ReadOnlySpan<float> b = img.Slice(2 * plane, plane);
        for (int i = 0; i < plane; i++)
        {
            grey[i] = (LumaR * r[i]) + (LumaG * g[i]) + (LumaB * b[i]);
        }
    }

    /// <summary>
    /// Scales intensities: out = clamp(f·x, 0, 1), as <c>TF.adjust_brightness</c> on float images (which are
    /// taken to lie in [0, 1]: apply colour transforms before <see cref="Normalize"/>). f = 1 keeps the image.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is negative.</exception>
    public static Tensor AdjustBrightness(Tensor image, double factor)
    {
        Check.ColorImage(image, "AdjustBrightness");
        CheckFactor(factor, "AdjustBrightness");
        return Blend(image, factor, new float[image.Numel / (image.Size(-3) * image.Size(-1) * image.Size(-2))]);
    }

    /// <summary>
    /// Blends with the mean luma m of each image: out = clamp(f·x + (1 − f)·m, 0, 1), as <c>TF.adjust_contrast</c>
    /// (m is the mean of <see cref="RgbToGrayscale"/> for 3 channels, of the image itself for 1).
    /// </summary>
    public static Tensor AdjustContrast(Tensor image, double factor)
    {
        int c = Check.ColorImage(image, "AdjustContrast");
        CheckFactor(factor, "AdjustContrast");
        int plane = image.Size(-1) * image.Size(-2);
        ReadOnlySpan<float> src = image.Data;
        var means = new float[image.Numel / (c * plane)];
        var grey = new float[plane];
        for (int n = 0; n < means.Length; n++)
        {
            Luma(src.Slice(n * c * plane, c * plane), c, plane, grey);
            double sum = 0;
            foreach (float v in grey)
            {
                sum += v;
            }

            means[n] = (float)(sum / plane);
        }

        return Blend(image, factor, means);
    }

    /// <summary>
    /// Blends each pixel with its own luma L: out = clamp(f·x + (1 − f)·L, 0, 1), as <c>TF.adjust_saturation</c>;
    /// f = 0 gives grey, a 1-channel image is returned unchanged (copied).
    /// </summary>
    public static Tensor AdjustSaturation(Tensor image, double factor)
    {
        int c = Check.ColorImage(image, "AdjustSaturation");
        CheckFactor(factor, "AdjustSaturation");
        if (c == 1)
        {
            return new Tensor(image.ToArray(), image.Shape);
        }

        return Blend(image, factor, RgbToGrayscale(image).Data);
    }

    /// <summary>
    /// Rotates the hue: RGB → HSV, h ← (h + <paramref name="factor"/>) mod 1, HSV → RGB, as <c>TF.adjust_hue</c> with
    /// torchvision's tensor formulas (h = fmod(h′/6 + 1, 1) with h′ from the max channel, s = (max − min)/max,
    /// v = max; back through sector i = ⌊6h⌋ with p, q, t clamped to [0, 1]). A 1-channel image is returned unchanged.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="factor"/> is outside [−0.5, 0.5].</exception>
    public static Tensor AdjustHue(Tensor image, double factor)
    {
        int c = Check.ColorImage(image, "AdjustHue");
        if (!(factor is >= -0.5 and <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, $"AdjustHue factor must be in [-0.5, 0.5]; got {factor}.");
        }

        float[] data = image.ToArray();
        if (c == 1)
        {
            return new Tensor(data, image.Shape);
        }

        int plane = image.Size(-1) * image.Size(-2);
        float hueShift = (float)factor;
        for (int n = 0; n < data.Length / (3 * plane); n++)
        {
            Span<float> r = data.AsSpan(n * 3 * plane, plane);
            Span<float> g = data.AsSpan(((n * 3) + 1) * plane, plane);
            Span<float> b = data.AsSpan(((n * 3) + 2) * plane, plane);
            for (int i = 0; i < plane; i++)
            {
                (float h, float s, float v) = RgbToHsv(r[i], g[i], b[i]);
                h += hueShift;
                h %= 1f; // torch.remainder by 1: fmod, then + 1 for a negative result
                if (h < 0)
                {
                    h += 1f;
                }

                (r[i], g[i], b[i]) = HsvToRgb(h, s, v);
            }
        }

        return new Tensor(data, image.Shape);
    }

    // torchvision's _rgb2hsv, one pixel, in float.
    private static (float H, float S, float V) RgbToHsv(float r, float g, float b)
    {
        float maxc = Math.Max(r, Math.Max(g, b));
        float minc = Math.Min(r, Math.Min(g, b));
        bool eqc = maxc == minc;
        float cr = maxc - minc;
        float s = cr / (eqc ? 1f : maxc);
        float crDivisor = eqc ? 1f : cr;
        float rc = (maxc - r) / crDivisor;
        float gc = (maxc - g) / crDivisor;
        float bc = (maxc - b) / crDivisor;
        float hr = maxc == r ? bc - gc : 0f;
        float hg = maxc == g && maxc != r ? 2f + rc - bc : 0f;
        float hb = maxc != g && maxc != r ? 4f + gc - rc : 0f;
        float h = hr + hg + hb;
        h = ((h / 6f) + 1f) % 1f;
        return (h, s, maxc);
    }

    // torchvision's _hsv2rgb, one pixel, in float.
    private static (float R, float G, float B) HsvToRgb(float h, float s, float v)
    {
        float i = MathF.Floor(h * 6f);
        float f = (h * 6f) - i;
        float p = Math.Clamp(v * (1f - s), 0f, 1f);
        float q = Math.Clamp(v * (1f - (s * f)), 0f, 1f);
        float t = Math.Clamp(v * (1f - (s * (1f - f))), 0f, 1f);
        int sector = (((int)i % 6) + 6) % 6;
        return sector switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }

    private static void CheckFactor(double factor, string op)
    {
        if (!(factor >= 0) || !double.IsFinite(factor))
        {
            throw new ArgumentOutOfRangeException(nameof(factor), factor, $"{op} factor must be a finite number ≥ 0; got {factor}.");
        }
    }

    // torchvision's _blend(img1, img2, ratio) = clamp(ratio·img1 + (1 − ratio)·img2, 0, 1) in float. img2 is one
    // value per image (other.Length = images) or one per pixel of each image (other.Length = images·H·W), the same
    // for every channel.
    private static Tensor Blend(Tensor image, double ratio, ReadOnlySpan<float> other)
    {
        int c = image.Size(-3);
        int plane = image.Size(-1) * image.Size(-2);
        int images = image.Numel / (c * plane);
        bool perPixel = other.Length == images * plane;
        float a = (float)ratio;
        float b = (float)(1.0 - ratio);
        ReadOnlySpan<float> src = image.Data;
        var data = new float[src.Length];
        for (int n = 0; n < images; n++)
        {
            for (int k = 0; k < c; k++)
            {
                int offset = ((n * c) + k) * plane;
                ReadOnlySpan<float> x = src.Slice(offset, plane);
                Span<float> y = data.AsSpan(offset, plane);
                if (perPixel)
                {
                    ReadOnlySpan<float> o = other.Slice(n * plane, plane);
                    for (int i = 0; i < plane; i++)
                    {
                        y[i] = Math.Clamp((a * x[i]) + (b * o[i]), 0f, 1f);
                    }
                }
                else
                {
                    float bo = b * other[n];
                    for (int i = 0; i < plane; i++)
                    {
                        y[i] = Math.Clamp((a * x[i]) + bo, 0f, 1f);
                    }
                }
            }
        }

        return new Tensor(data, image.Shape);
    }
}
