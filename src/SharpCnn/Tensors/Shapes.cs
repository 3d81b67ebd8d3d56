namespace SharpCnn;

/// <summary>Shape arithmetic shared by tensors, ops and layers.</summary>
internal static class Shapes
{
    public static long Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException($"Shape {Format(shape)} has a negative dimension.");
            }

            n = checked(n * d);
        }

        if (n > Array.MaxLength)
        {
            throw new ArgumentException($"Shape {Format(shape)} has {n:N0} elements, more than one array can hold.");
        }

        return n;
    }

    public static string Format(ReadOnlySpan<int> shape) => "(" + string.Join(", ", shape.ToArray()) + ")";

    public static int NormalizeDim(int dim, int rank, string op)
    {
        int d = dim < 0 ? dim + rank : dim;
        if (d < 0 || d >= rank)
        {
            // A 0-d tensor has no dimension to name; callers that accept scalars handle them first.
            throw new ArgumentOutOfRangeException(nameof(dim), rank == 0
                ? $"{op}: a 0-dimensional tensor has no dimension {dim}."
                : $"{op}: dimension {dim} is out of range for a tensor of rank {rank} (valid: {-rank} to {rank - 1}).");
        }

        return d;
    }

    public static bool Equal(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);

    /// <summary>Row-major strides of a contiguous shape.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            strides[d] = s;
            s *= shape[d];
        }

        return strides;
    }

    /// <summary>NumPy broadcasting: align from the right; each pair must be equal or contain a 1.</summary>
    public static int[] Broadcast(ReadOnlySpan<int> a, ReadOnlySpan<int> b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i < rank - a.Length ? 1 : a[i - (rank - a.Length)];
            int db = i < rank - b.Length ? 1 : b[i - (rank - b.Length)];
            if (da != db && da != 1 && db != 1)
            {
                throw new ArgumentException($"{op}: shapes {Format(a)} and {Format(b)} cannot be broadcast (dimension {i}: {da} vs {db}).");
            }

            result[i] = da == 1 ? db : da;
        }

        return result;
    }

    /// <summary>(outer, dim, inner) sizes around dimension <paramref name="dim"/>.</summary>
    public static (int Outer, int Dim, int Inner) Split(ReadOnlySpan<int> shape, int dim)
    {
        int outer = 1;
        int inner = 1;
        for (int i = 0; i < dim; i++)
        {
            outer *= shape[i];
        }

        for (int i = dim + 1; i < shape.Length; i++)
        {
            inner *= shape[i];
        }

        return (outer, shape.Length == 0 ? 1 : shape[dim], inner);
    }

    /// <summary>
    /// Steps a row-major multi-index to the next row (all dimensions but the last, like an odometer) and moves
    /// <paramref name="offset"/> along <paramref name="strides"/> with it.
    /// </summary>
    public static void NextRow(Span<int> index, ReadOnlySpan<int> shape, ReadOnlySpan<int> strides, ref int offset)
    {
        int unused = 0;
        NextRow(index, shape, strides, ref offset, default, ref unused);
    }

    /// <summary>As <see cref="NextRow(Span{int}, ReadOnlySpan{int}, ReadOnlySpan{int}, ref int)"/>, moving two offsets.</summary>
    public static void NextRow(Span<int> index, ReadOnlySpan<int> shape, ReadOnlySpan<int> stridesA, ref int offsetA, ReadOnlySpan<int> stridesB, ref int offsetB)
    {
        for (int d = shape.Length - 2; d >= 0; d--)
        {
            index[d]++;
            offsetA += stridesA[d];
            offsetB += stridesB.IsEmpty ? 0 : stridesB[d];
            if (index[d] < shape[d])
            {
                return;
            }

            offsetA -= index[d] * stridesA[d];
            offsetB -= stridesB.IsEmpty ? 0 : index[d] * stridesB[d];
            index[d] = 0;
        }
    }
}
