namespace SharpCnn.Nn;

/// <summary>A (height, width) pair that converts from <c>int</c> and <c>(int, int)</c>, like PyTorch's <c>_pair</c>.</summary>
public readonly record struct Size2(int H, int W)
{
    /// <summary>The same value for both sides.</summary>
    public static implicit operator Size2(int value) => new(value, value);

    /// <summary>(height, width).</summary>
    public static implicit operator Size2((int H, int W) value) => new(value.H, value.W);

    /// <summary>Same as the implicit conversion from <c>int</c>.</summary>
    public static Size2 FromInt32(int value) => new(value, value);

    /// <summary>Same as the implicit conversion from a tuple.</summary>
    public static Size2 FromValueTuple((int H, int W) value) => new(value.H, value.W);

    /// <summary>Shown as PyTorch shows tuples: <c>(3, 3)</c>.</summary>
    public override string ToString() => $"({H}, {W})";
}
