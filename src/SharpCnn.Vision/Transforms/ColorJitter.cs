namespace SharpCnn.Vision.Transforms;

/// <summary>
/// Randomly changes brightness, contrast, saturation and hue, as <c>transforms.ColorJitter</c>: each draw takes a
/// random order of the four adjustments (a permutation of 0..3), then a factor for each enabled one, uniform in
/// its range, and applies <see cref="TF.AdjustBrightness"/>, <see cref="TF.AdjustContrast"/>,
/// <see cref="TF.AdjustSaturation"/> and <see cref="TF.AdjustHue"/> in that order.
/// </summary>
/// <remarks>
/// A number b for brightness, contrast or saturation means the factor range [max(0, 1 − b), 1 + b]; a number h for
/// hue means [−h, h] with h ≤ 0.5; 0 disables the adjustment. The input must be a float image in [0, 1] with 1
/// or 3 channels (saturation and hue leave 1-channel images as they are), so put ColorJitter before
/// <see cref="Normalize"/>.
/// </remarks>
public sealed class ColorJitter : RandomTransform
{
    /// <summary>Creates the transform; every argument defaults to 0 (off).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A negative amount, or hue above 0.5.</exception>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0)
    {
        Brightness = FactorRange(brightness, nameof(brightness));
        Contrast = FactorRange(contrast, nameof(contrast));
        Saturation = FactorRange(saturation, nameof(saturation));
        if (!(hue is >= 0 and <= 0.5))
        {
            throw new ArgumentOutOfRangeException(nameof(hue), hue, $"ColorJitter hue must be in [0, 0.5]; got {hue}.");
        }

        Hue = hue == 0 ? null : (-hue, hue);
    }

    /// <summary>Creates the transform from explicit ranges (null: off).</summary>
    public ColorJitter((double Min, double Max)? brightness, (double Min, double Max)? contrast, (double Min, double Max)? saturation, (double Min, double Max)? hue)
    {
        Brightness = CheckRange(brightness, nameof(brightness), 0, double.MaxValue);
        Contrast = CheckRange(contrast, nameof(contrast), 0, double.MaxValue);
        Saturation = CheckRange(saturation, nameof(saturation), 0, double.MaxValue);
        Hue = CheckRange(hue, nameof(hue), -0.5, 0.5);
    }

    /// <summary>Brightness factor range, or null when off.</summary>
    public (double Min, double Max)? Brightness { get; }

    /// <summary>Contrast factor range, or null when off.</summary>
    public (double Min, double Max)? Contrast { get; }

    /// <summary>Saturation factor range, or null when off.</summary>
    public (double Min, double Max)? Saturation { get; }

    /// <summary>Hue shift range, or null when off.</summary>
    public (double Min, double Max)? Hue { get; }

    private static (double, double)? FactorRange(double amount, string name)
    {
        if (!(amount >= 0) || !double.IsFinite(amount))
        {
            throw new ArgumentOutOfRangeException(name, amount, $"ColorJitter {name} must be a finite number ≥ 0; got {amount}.");
        }

        return amount == 0 ? null : (Math.Max(0, 1 - amount), 1 + amount);
    }

    private static (double, double)? CheckRange((double Min, double Max)? range, string name, double lower, double upper)
    {
        if (range is { } r)
        {
            Check.Range(r, name, "ColorJitter", lower, upper);
        }

        return range;
    }

    /// <summary>Draws the order (a permutation of 0 brightness, 1 contrast, 2 saturation, 3 hue) and the factors (null when off).</summary>
    public (int[] Order, double? Brightness, double? Contrast, double? Saturation, double? Hue) DrawParameters(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var order = new int[4];
        generator.Permutation(order);
        return (order, Draw(Brightness), Draw(Contrast), Draw(Saturation), Draw(Hue));

        double? Draw((double Min, double Max)? range) =>
            range is { } r ? RandomResizedCrop.Uniform(generator, r.Min, r.Max) : null;
    }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor input, Generator generator)
    {
        Check.ColorImage(input, "ColorJitter");
        (int[] order, double? b, double? c, double? s, double? h) = DrawParameters(generator);
        Tensor x = input;
        foreach (int step in order)
        {
            x = step switch
            {
                0 when b is double f => TF.AdjustBrightness(x, f),
                1 when c is double f => TF.AdjustContrast(x, f),
                2 when s is double f => TF.AdjustSaturation(x, f),
                3 when h is double f => TF.AdjustHue(x, f),
                _ => x,
            };
        }

        return x;
    }
}
