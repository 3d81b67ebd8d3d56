namespace SharpCnn;

public partial class Tensor
{
    /// <summary>A tensor of zeros.</summary>
    public static Tensor Zeros(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return ZeroFilled(shape);
    }

    /// <summary>A tensor of ones.</summary>
    public static Tensor Ones(params int[] shape) => Full(shape, 1f);

    /// <summary>A tensor filled with <paramref name="value"/>.</summary>
    public static Tensor Full(int[] shape, float value)
    {
        ArgumentNullException.ThrowIfNull(shape);
        Tensor t = Uninitialized(shape);
        t.Data.Fill(value);
        return t;
    }

    /// <summary>A zero tensor with the shape of <paramref name="other"/>.</summary>
    public static Tensor ZerosLike(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return ZeroFilled(other._shape);
    }

    /// <summary>A one tensor with the shape of <paramref name="other"/>.</summary>
    public static Tensor OnesLike(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return Full(other._shape, 1f);
    }

    /// <summary>A 0-dimensional tensor holding <paramref name="value"/>.</summary>
    public static Tensor Scalar(float value) => new([value]);

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (1-D when omitted).</summary>
    /// <exception cref="ArgumentException">The data length does not equal the shape's element count.</exception>
    public static Tensor FromArray(float[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (shape is null || shape.Length == 0)
        {
            shape = [data.Length];
        }

        long numel = Shapes.Numel(shape);
        if (numel != data.Length)
        {
            throw new ArgumentException($"FromArray: {data.Length:N0} values cannot fill shape {Shapes.Format(shape)} ({numel:N0} elements).", nameof(data));
        }

        Tensor t = Uninitialized(shape);
        data.CopyTo(t.Data);
        return t;
    }

    /// <summary>A 2-D tensor from a rectangular jagged array.</summary>
    public static Tensor FromArray(float[][] rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int cols = rows.Length == 0 ? 0 : rows[0].Length;
        var data = new float[rows.Length * cols];
        for (int i = 0; i < rows.Length; i++)
        {
            if (rows[i].Length != cols)
            {
                throw new ArgumentException($"FromArray: row {i} has {rows[i].Length} values but row 0 has {cols}.", nameof(rows));
            }

            rows[i].CopyTo(data, i * cols);
        }

        return new Tensor(data, rows.Length, cols);
    }

    /// <summary>1-D tensor [start, start+step, …) up to <paramref name="end"/> (exclusive), as <c>torch.arange</c>.</summary>
    public static Tensor Arange(float start, float end, float step = 1f)
    {
        if (step == 0 || float.IsNaN(step) || ((end - start) / step) < 0)
        {
            throw new ArgumentException($"Arange: step {step} cannot go from {start} to {end}.", nameof(step));
        }

        int n = (int)Math.Ceiling((end - start) / (double)step);
        Tensor t = Uninitialized(n);
        Span<float> d = t.Data;
        for (int i = 0; i < n; i++)
        {
            d[i] = start + (i * step);
        }

        return t;
    }

    /// <summary>1-D tensor 0, 1, …, end−1.</summary>
    public static Tensor Arange(int end) => Arange(0, end);

    /// <summary>Uniform samples in [0, 1) from the default generator.</summary>
    public static Tensor Rand(params int[] shape) => Rand(Generator.Default, shape);

    /// <summary>Uniform samples in [0, 1) from <paramref name="generator"/>.</summary>
    public static Tensor Rand(Generator generator, params int[] shape) => Sample(generator, shape, normal: false);

    /// <summary>Standard normal samples from the default generator.</summary>
    public static Tensor Randn(params int[] shape) => Randn(Generator.Default, shape);

    /// <summary>Standard normal samples from <paramref name="generator"/>.</summary>
    public static Tensor Randn(Generator generator, params int[] shape) => Sample(generator, shape, normal: true);

    private static Tensor Sample(Generator generator, int[] shape, bool normal)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(shape);
        Tensor t = Uninitialized(shape);
        Span<float> d = t.Data;
        if (normal)
        {
            generator.FillNormal(d);
            return t;
        }

        for (int i = 0; i < d.Length; i++)
        {
            d[i] = generator.NextSingle();
        }

        return t;
    }

    /// <summary>A float tensor holding integer positions (argmax results), as PyTorch's int64 index tensors.</summary>
    internal static Tensor FromIndices(ReadOnlySpan<int> indices, params int[] shape)
    {
        Tensor t = Uninitialized(shape);
        Span<float> d = t.Data;
        for (int i = 0; i < indices.Length; i++)
        {
            d[i] = indices[i];
        }

        return t;
    }
}
