namespace SharpCnn.Vision.Transforms;

/// <summary>Mirrors an image left–right with probability p, as <c>transforms.RandomHorizontalFlip</c>: one uniform u ∈ [0, 1); flips when u &lt; p.</summary>
public sealed class RandomHorizontalFlip : RandomTransform
{
    /// <summary>Flips with probability <paramref name="p"/> ∈ [0, 1] (default 0.5).</summary>
    public RandomHorizontalFlip(double p = 0.5)
    {
        Check.Probability(p, nameof(p), "RandomHorizontalFlip");
        P = p;
    }

    /// <summary>The flip probability.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor input, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        Check.Image(input, "RandomHorizontalFlip");
        return generator.NextDouble() < P ? TF.HorizontalFlip(input) : input;
    }
}

/// <summary>Mirrors an image top–bottom with probability p, as <c>transforms.RandomVerticalFlip</c>.</summary>
public sealed class RandomVerticalFlip : RandomTransform
{
    /// <summary>Flips with probability <paramref name="p"/> ∈ [0, 1] (default 0.5).</summary>
    public RandomVerticalFlip(double p = 0.5)
    {
        Check.Probability(p, nameof(p), "RandomVerticalFlip");
        P = p;
    }

    /// <summary>The flip probability.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor input, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        Check.Image(input, "RandomVerticalFlip");
        return generator.NextDouble() < P ? TF.VerticalFlip(input) : input;
    }
}

/// <summary>Crops the centre, as <c>transforms.CenterCrop</c> (see <see cref="TF.CenterCrop"/>; a larger crop zero-pads).</summary>
public sealed class CenterCrop : ITransform
{
    /// <summary>Crops a <paramref name="height"/>×<paramref name="width"/> window (width defaults to height).</summary>
    public CenterCrop(int height, int? width = null)
    {
        Check.Size(height, width ?? height, "CenterCrop");
        Height = height;
        Width = width ?? height;
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor input) => TF.CenterCrop(input, Height, Width);
}

/// <summary>Resizes an image, as <c>transforms.Resize</c> (see <see cref="TF.Resize(Tensor, int, int, Interpolation, bool)"/>).</summary>
public sealed class Resize : ITransform
{
    /// <summary>Resizes so that the shorter side becomes <paramref name="size"/>, keeping the aspect ratio (<see cref="TF.ResizedSize"/>).</summary>
    public Resize(int size, int? maxSize = null, Interpolation interpolation = Interpolation.Bilinear, bool antialias = true)
    {
        _ = TF.ResizedSize(size, size, size, maxSize); // checks size and maxSize
        Size = size;
        MaxSize = maxSize;
        Interpolation = interpolation;
        Antialias = antialias;
    }

    /// <summary>Resizes to exactly <paramref name="height"/>×<paramref name="width"/>.</summary>
    public Resize(int height, int width, Interpolation interpolation = Interpolation.Bilinear, bool antialias = true)
    {
        Check.Size(height, width, "Resize");
        Height = height;
        Width = width;
        Interpolation = interpolation;
        Antialias = antialias;
    }

    /// <summary>The shorter-side target, or null for an exact size.</summary>
    public int? Size { get; }

    /// <summary>The cap on the longer side (shorter-side mode only).</summary>
    public int? MaxSize { get; }

    /// <summary>The exact output height, or null in shorter-side mode.</summary>
    public int? Height { get; }

    /// <summary>The exact output width, or null in shorter-side mode.</summary>
    public int? Width { get; }

    /// <summary>The interpolation (default bilinear).</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Whether shrinking filters first (default true, as torchvision ≥ 0.17).</summary>
    public bool Antialias { get; }

    /// <inheritdoc/>
    public Tensor Apply(Tensor input) => Size is int s
        ? TF.Resize(input, s, MaxSize, Interpolation, Antialias)
        : TF.Resize(input, Height!.Value, Width!.Value, Interpolation, Antialias);
}

/// <summary>
/// Crops a random window, as <c>transforms.RandomCrop</c>: optionally pads first (<see cref="TF.Pad"/>), then,
/// with <c>padIfNeeded</c>, pads a side that is still smaller than the crop by the shortfall on both ends, then
/// draws top ∈ [0, H − h] and left ∈ [0, W − w] uniformly and crops (<see cref="TF.Crop"/>).
/// </summary>
public sealed class RandomCrop : RandomTransform
{
    private readonly int[]? _padding;
    private readonly float[] _fill;

    /// <summary>Creates the transform.</summary>
    /// <param name="height">Crop height.</param>
    /// <param name="width">Crop width (default: <paramref name="height"/>).</param>
    /// <param name="padding">Padding added first: 1, 2 or 4 values as <see cref="TF.Pad"/> (default none).</param>
    /// <param name="padIfNeeded">Pad a side smaller than the crop instead of failing.</param>
    /// <param name="fill">The constant padding value, one or one per channel (default 0).</param>
    /// <param name="paddingMode">How padding is filled (default constant).</param>
    public RandomCrop(int height, int? width = null, IReadOnlyList<int>? padding = null, bool padIfNeeded = false,
                      IReadOnlyList<float>? fill = null, PaddingMode paddingMode = PaddingMode.Constant)
    {
        Check.Size(height, width ?? height, "RandomCrop");
        if (padding is not null)
        {
            _ = TF.PaddingSides(padding, "RandomCrop");
            _padding = [.. padding];
        }

        _fill = Check.Fill(fill, "RandomCrop") ?? [0f];
        Height = height;
        Width = width ?? height;
        PadIfNeeded = padIfNeeded;
        PaddingMode = paddingMode;
    }

    /// <summary>Crop height.</summary>
    public int Height { get; }

    /// <summary>Crop width.</summary>
    public int Width { get; }

    /// <summary>Whether a side smaller than the crop is padded.</summary>
    public bool PadIfNeeded { get; }

    /// <summary>How padding is filled.</summary>
    public PaddingMode PaddingMode { get; }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The (padded) image is smaller than the crop and padding if needed is off.</exception>
    public override Tensor Apply(Tensor input, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        (_, int h, int w) = Check.Image(input, "RandomCrop");
        Tensor x = _padding is null ? input : TF.Pad(input, _padding, PaddingMode, _fill);
        (h, w) = (x.Size(-2), x.Size(-1));
        if (PadIfNeeded && w < Width)
        {
            x = TF.Pad(x, [Width - w, 0], PaddingMode, _fill);
        }

        if (PadIfNeeded && h < Height)
        {
            x = TF.Pad(x, [0, Height - h], PaddingMode, _fill);
        }

        (h, w) = (x.Size(-2), x.Size(-1));
        if (h < Height || w < Width)
        {
            string padded = _padding is null ? "" : " after padding";
            throw new ArgumentException(
                $"RandomCrop of {Height}×{Width} is larger than the image{padded} ({h}×{w}, input shape {Check.Format(input.Shape)}); pass padIfNeeded: true or a smaller size.",
                nameof(input));
        }

        int top = generator.NextInt(h - Height + 1);
        int left = generator.NextInt(w - Width + 1);
        return TF.Crop(x, top, left, Height, Width);
    }
}

/// <summary>
/// Crops a random area and aspect ratio and resizes it, as <c>transforms.RandomResizedCrop</c> (the Inception
/// crop): up to 10 tries draw an area fraction a ~ U(scale) and log-ratio ln r ~ U(ln ratio), w = round(√(A·a·r)),
/// h = round(√(A·a/r)); the first that fits gives a uniform position. Otherwise the centre crop of the whole image
/// clamped to the ratio range. The crop is then resized to the output size (<see cref="TF.ResizedCrop"/>).
/// </summary>
public sealed class RandomResizedCrop : RandomTransform
{
    /// <summary>Creates the transform.</summary>
    /// <param name="height">Output height.</param>
    /// <param name="width">Output width (default: <paramref name="height"/>).</param>
    /// <param name="scale">Range of the crop's area as a fraction of the image (default (0.08, 1)).</param>
    /// <param name="ratio">Range of the crop's width/height (default (3/4, 4/3)).</param>
    /// <param name="interpolation">Resize interpolation (default bilinear).</param>
    /// <param name="antialias">Filter when shrinking (default true).</param>
    public RandomResizedCrop(int height, int? width = null, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null,
                             Interpolation interpolation = Interpolation.Bilinear, bool antialias = true)
    {
        Check.Size(height, width ?? height, "RandomResizedCrop");
        Scale = scale ?? (0.08, 1.0);
        Ratio = ratio ?? (3.0 / 4.0, 4.0 / 3.0);
        Check.Range(Scale, "scale", "RandomResizedCrop", lower: 0);
        Check.Range(Ratio, "ratio", "RandomResizedCrop", lower: double.Epsilon);
        Height = height;
        Width = width ?? height;
        Interpolation = interpolation;
        Antialias = antialias;
    }

    /// <summary>Output height.</summary>
    public int Height { get; }

    /// <summary>Output width.</summary>
    public int Width { get; }

    /// <summary>Area fraction range.</summary>
    public (double Min, double Max) Scale { get; }

    /// <summary>Aspect ratio (width/height) range.</summary>
    public (double Min, double Max) Ratio { get; }

    /// <summary>Resize interpolation.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>Whether shrinking filters first.</summary>
    public bool Antialias { get; }

    /// <summary>The crop window (top, left, height, width) drawn for an image of <paramref name="imageHeight"/>×<paramref name="imageWidth"/>.</summary>
    public (int Top, int Left, int Height, int Width) DrawWindow(int imageHeight, int imageWidth, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        double area = (double)imageHeight * imageWidth;
        double logMin = Math.Log(Ratio.Min);
        double logMax = Math.Log(Ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * Uniform(generator, Scale.Min, Scale.Max);
            double aspect = Math.Exp(Uniform(generator, logMin, logMax));
            int w = (int)Math.Round(Math.Sqrt(target * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(target / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= imageWidth && h > 0 && h <= imageHeight)
            {
                int top = generator.NextInt(imageHeight - h + 1);
                int left = generator.NextInt(imageWidth - w + 1);
                return (top, left, h, w);
            }
        }

        double inRatio = (double)imageWidth / imageHeight;
        (int ch, int cw) = inRatio < Ratio.Min ? ((int)Math.Round(imageWidth / Ratio.Min, MidpointRounding.ToEven), imageWidth)
            : inRatio > Ratio.Max ? (imageHeight, (int)Math.Round(imageHeight * Ratio.Max, MidpointRounding.ToEven))
            : (imageHeight, imageWidth);
        return ((imageHeight - ch) / 2, (imageWidth - cw) / 2, ch, cw);
    }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor input, Generator generator)
    {
        (_, int h, int w) = Check.Image(input, "RandomResizedCrop");
        (int top, int left, int ch, int cw) = DrawWindow(h, w, generator);
        return TF.ResizedCrop(input, top, left, ch, cw, Height, Width, Interpolation, Antialias);
    }

    internal static double Uniform(Generator generator, double min, double max) => min + ((max - min) * generator.NextDouble());
}

/// <summary>
/// A random affine map about the image centre, as <c>transforms.RandomAffine</c>: angle ~ U(degrees),
/// translation (t_x, t_y) = (round(U(−a·W, a·W)), round(U(−b·H, b·H))) pixels for translate = (a, b), scale ~ U(scale),
/// shear x ~ U(shear x range) and y ~ U(shear y range), then <see cref="TF.Affine"/> with the fill (default 0).
/// </summary>
public sealed class RandomAffine : RandomTransform
{
    private readonly float[] _fill;

    /// <summary>Creates the transform.</summary>
    /// <param name="degrees">Rotation range in degrees; a single value d means (−d, d).</param>
    /// <param name="translate">Maximum translation as fractions (a, b) of the width and height, each in [0, 1] (default none).</param>
    /// <param name="scale">Scale range, positive (default none: 1).</param>
    /// <param name="shearX">Shear range along x in degrees (default none).</param>
    /// <param name="shearY">Shear range along y in degrees (default none).</param>
    /// <param name="interpolation">Nearest (torchvision's default) or bilinear.</param>
    /// <param name="fill">Value of the area coming from outside the image: one value or one per channel (default 0).</param>
    public RandomAffine((double Min, double Max) degrees, (double X, double Y)? translate = null, (double Min, double Max)? scale = null,
                        (double Min, double Max)? shearX = null, (double Min, double Max)? shearY = null,
                        Interpolation interpolation = Interpolation.Nearest, IReadOnlyList<float>? fill = null)
    {
        Check.Range(degrees, "degrees", "RandomAffine");
        if (translate is (double a, double b) && !(a is >= 0 and <= 1 && b is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(translate), $"RandomAffine translate fractions must be in [0, 1]; got ({a}, {b}).");
        }

        if (scale is { } s)
        {
            Check.Range(s, "scale", "RandomAffine", lower: double.Epsilon);
        }

        if (shearX is { } sx)
        {
            Check.Range(sx, "shearX", "RandomAffine", -89, 89);
        }

        if (shearY is { } sy)
        {
            Check.Range(sy, "shearY", "RandomAffine", -89, 89);
        }

        Degrees = degrees;
        Translate = translate;
        Scale = scale;
        ShearX = shearX;
        ShearY = shearY;
        Interpolation = interpolation;
        _fill = Check.Fill(fill, "RandomAffine") ?? [0f];
    }

    /// <summary>Creates the transform with a symmetric rotation range (−<paramref name="degrees"/>, <paramref name="degrees"/>).</summary>
    public RandomAffine(double degrees, (double X, double Y)? translate = null, (double Min, double Max)? scale = null,
                        Interpolation interpolation = Interpolation.Nearest, IReadOnlyList<float>? fill = null)
        : this((-NonNegative(degrees), degrees), translate, scale, null, null, interpolation, fill)
    {
    }

    private static double NonNegative(double degrees) => degrees >= 0
        ? degrees
        : throw new ArgumentOutOfRangeException(nameof(degrees), degrees, $"RandomAffine degrees must be ≥ 0 when given as one number; got {degrees}.");

    /// <summary>Rotation range in degrees.</summary>
    public (double Min, double Max) Degrees { get; }

    /// <summary>Maximum translation fractions, or null.</summary>
    public (double X, double Y)? Translate { get; }

    /// <summary>Scale range, or null.</summary>
    public (double Min, double Max)? Scale { get; }

    /// <summary>Shear range along x in degrees, or null.</summary>
    public (double Min, double Max)? ShearX { get; }

    /// <summary>Shear range along y in degrees, or null.</summary>
    public (double Min, double Max)? ShearY { get; }

    /// <summary>The interpolation.</summary>
    public Interpolation Interpolation { get; }

    /// <summary>The fill value(s).</summary>
    public IReadOnlyList<float> Fill => _fill;

    /// <summary>Draws (angle, translate, scale, shear) for an image of <paramref name="height"/>×<paramref name="width"/>, in torchvision's order.</summary>
    public (double Angle, (double X, double Y) Translate, double Scale, (double X, double Y) Shear) DrawParameters(int height, int width, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        double angle = RandomResizedCrop.Uniform(generator, Degrees.Min, Degrees.Max);
        (double X, double Y) translate = (0, 0);
        if (Translate is (double a, double b))
        {
            double maxX = a * width;
            double maxY = b * height;
            translate = (Math.Round(RandomResizedCrop.Uniform(generator, -maxX, maxX), MidpointRounding.ToEven),
                         Math.Round(RandomResizedCrop.Uniform(generator, -maxY, maxY), MidpointRounding.ToEven));
        }

        double scale = Scale is { } s ? RandomResizedCrop.Uniform(generator, s.Min, s.Max) : 1.0;
        double shearX = ShearX is { } sx ? RandomResizedCrop.Uniform(generator, sx.Min, sx.Max) : 0;
        double shearY = ShearY is { } sy ? RandomResizedCrop.Uniform(generator, sy.Min, sy.Max) : 0;
        return (angle, translate, scale, (shearX, shearY));
    }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor input, Generator generator)
    {
        (_, int h, int w) = Check.Image(input, "RandomAffine");
        Check.FillMatches(_fill, input, "RandomAffine");
        (double angle, (double X, double Y) translate, double scale, (double X, double Y) shear) = DrawParameters(h, w, generator);
        return TF.Affine(input, angle, translate, scale, shear, Interpolation, _fill);
    }
}
