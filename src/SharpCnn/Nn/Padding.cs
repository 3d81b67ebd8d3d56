namespace SharpCnn.Nn;

/// <summary>
/// Convolution padding as PyTorch accepts it: a number, a (height, width) pair, <c>"valid"</c> (no padding) or
/// <c>"same"</c> (output size equals input size; stride must be 1; an even kernel puts the extra row and column
/// at the bottom and right, as PyTorch does).
/// </summary>
public readonly record struct Padding
{
    private Padding(int h, int w, bool same)
    {
        if (h < 0 || w < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(h), $"Padding must be non-negative, got ({h}, {w}).");
        }

        (H, W, IsSame) = (h, w, same);
    }

    /// <summary>Rows added above and below (ignored when <see cref="IsSame"/>).</summary>
    public int H { get; }

    /// <summary>Columns added left and right (ignored when <see cref="IsSame"/>).</summary>
    public int W { get; }

    /// <summary>True for <c>"same"</c> padding, computed from the kernel and dilation.</summary>
    public bool IsSame { get; }

    /// <summary>Symmetric padding.</summary>
    public static implicit operator Padding(int value) => new(value, value, false);

    /// <summary>(height, width) padding.</summary>
    public static implicit operator Padding((int H, int W) value) => new(value.H, value.W, false);

    /// <summary>"same" or "valid".</summary>
    public static implicit operator Padding(string mode) => FromString(mode);

    /// <summary>Parses "same" or "valid".</summary>
    /// <exception cref="ArgumentException">Any other string.</exception>
    public static Padding FromString(string mode) => mode switch
    {
        "same" => new Padding(0, 0, true),
        "valid" => new Padding(0, 0, false),
        _ => throw new ArgumentException($"Padding string must be \"same\" or \"valid\", got \"{mode}\".", nameof(mode)),
    };

    /// <summary>Same as the implicit conversion from <c>int</c>.</summary>
    public static Padding FromInt32(int value) => value;

    /// <summary>Same as the implicit conversion from a tuple.</summary>
    public static Padding FromValueTuple((int H, int W) value) => value;

    /// <summary>Shown as PyTorch shows it: <c>(2, 2)</c> or <c>same</c>.</summary>
    public override string ToString() => IsSame ? "same" : $"({H}, {W})";
}
