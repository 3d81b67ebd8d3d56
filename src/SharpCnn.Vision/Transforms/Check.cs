using System.Globalization;

namespace SharpCnn.Vision.Transforms;

/// <summary>Argument checks shared by the transforms; every message names the transform and the value received.</summary>
internal static class Check
{
    /// <summary>The (planes, H, W) view of an image (…, H, W): every leading index is one H×W plane.</summary>
    public static (int Planes, int Height, int Width) Image(Tensor image, string op)
    {
        ArgumentNullException.ThrowIfNull(image, nameof(image));
        if (image.Rank < 2 || image.Size(-1) == 0 || image.Size(-2) == 0)
        {
            throw new ArgumentException($"{op} expected an image (..., H, W) with H, W ≥ 1 but got shape {Format(image.Shape)}.", nameof(image));
        }

        int h = image.Size(-2);
        int w = image.Size(-1);
        return (image.Numel / (h * w), h, w);
    }

    /// <summary>The channel count C (dimension −3) of a colour image, which must be 1 or 3.</summary>
    public static int ColorImage(Tensor image, string op)
    {
        ArgumentNullException.ThrowIfNull(image, nameof(image));
        if (image.Rank < 3 || image.Size(-3) is not (1 or 3) || image.Size(-1) == 0 || image.Size(-2) == 0)
        {
            throw new ArgumentException($"{op} expected an image (..., C, H, W) with C = 1 or 3 but got shape {Format(image.Shape)}.", nameof(image));
        }

        return image.Size(-3);
    }

    /// <summary>The channel count a per-channel fill refers to: C (dimension −3), or 1 for a 2-D image.</summary>
    public static int Channels(Tensor image) => image.Rank >= 3 ? image.Size(-3) : 1;

    /// <summary>Checks a fill of one value or one per channel and returns it (null stays null).</summary>
    public static float[]? Fill(IReadOnlyList<float>? fill, string op)
    {
        if (fill is null)
        {
            return null;
        }

        if (fill.Count == 0)
        {
            throw new ArgumentException($"{op} fill needs one value or one per channel; got none.", nameof(fill));
        }

        return [.. fill];
    }

    /// <summary>The fill of plane <paramref name="plane"/>: the single value, or the value of its channel.</summary>
    public static float FillOf(float[]? fill, int plane, int channels) =>
        fill is null ? 0f : fill.Length == 1 ? fill[0] : fill[plane % channels];

    /// <summary>Checks that a per-channel fill matches the image's channel count.</summary>
    public static void FillMatches(float[]? fill, Tensor image, string op)
    {
        if (fill is not null && fill.Length != 1 && fill.Length != Channels(image))
        {
            throw new ArgumentException(
                $"{op} fill has {fill.Length} values but the image {Format(image.Shape)} has {Channels(image)} channel(s); give one value or one per channel.",
                nameof(fill));
        }
    }

    /// <summary>A shape as "(a, b, c)".</summary>
    public static string Format(IReadOnlyList<int> shape) => "(" + string.Join(", ", shape) + ")";

    public static void Probability(double p, string name, string op)
    {
        if (!(p is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(name, p, $"{op} probability must be in [0, 1]; got {p.ToString(CultureInfo.InvariantCulture)}.");
        }
    }

    public static void Size(int height, int width, string op)
    {
        if (height <= 0 || width <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(height), $"{op} size must be positive; got {height}×{width}.");
        }
    }

    /// <summary>Checks a [min, max] range: finite, min ≤ max, and inside [lower, upper].</summary>
    public static void Range((double Min, double Max) range, string name, string op, double lower = double.NegativeInfinity, double upper = double.PositiveInfinity)
    {
        if (!double.IsFinite(range.Min) || !double.IsFinite(range.Max) || range.Min > range.Max || range.Min < lower || range.Max > upper)
        {
            throw new ArgumentOutOfRangeException(name,
                $"{op} {name} must be a finite range (min ≤ max) inside [{lower.ToString(CultureInfo.InvariantCulture)}, {upper.ToString(CultureInfo.InvariantCulture)}]; " +
                $"got ({range.Min.ToString(CultureInfo.InvariantCulture)}, {range.Max.ToString(CultureInfo.InvariantCulture)}).");
        }
    }
}
