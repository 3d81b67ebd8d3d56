using System.Buffers;
using SharpCnn.Data;

namespace SharpCnn.Cli.Experiments;

/// <summary>
/// Applies one fixed permutation to the pixels of every sample: output element <c>j</c> is input element
/// <c>permutation[j]</c> of the flattened sample (C·H·W values), so the shape stays the same.
/// </summary>
/// <remarks>
/// The same permutation object is meant to wrap the training and the test split, so both see the same scrambling:
/// a network that does not use the pixels' neighbourhood (an MLP) loses nothing, one that does (a CNN) loses its
/// prior.
/// </remarks>
internal sealed class PermutedDataset : IRowDataset
{
    private readonly IRowDataset _inner;
    private readonly int[] _permutation;
    private readonly int _sampleSize;

    /// <summary>Wraps <paramref name="inner"/>; <paramref name="permutation"/> must be a permutation of 0…sampleSize−1.</summary>
    /// <exception cref="ArgumentException">The permutation's length differs from the sample size, or it repeats or misses an index.</exception>
    public PermutedDataset(IRowDataset inner, int[] permutation)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(permutation);
        _sampleSize = inner.SampleShape.Aggregate(1, (a, d) => a * d);
        if (permutation.Length != _sampleSize)
        {
            throw new ArgumentException($"The pixel permutation has {permutation.Length} entries but a sample has {_sampleSize} values.", nameof(permutation));
        }

        var seen = new bool[_sampleSize];
        foreach (int p in permutation)
        {
            if ((uint)p >= (uint)_sampleSize || seen[p])
            {
                throw new ArgumentException($"The pixel permutation is not a bijection of 0…{_sampleSize - 1}: index {p} is out of range or repeated.", nameof(permutation));
            }

            seen[p] = true;
        }

        _inner = inner;
        _permutation = permutation;
    }

    /// <summary>The permutation (output index → input index).</summary>
    public IReadOnlyList<int> Permutation => _permutation;

    /// <inheritdoc/>
    public int Count => _inner.Count;

    /// <inheritdoc/>
    public IReadOnlyList<int> SampleShape => _inner.SampleShape;

    /// <summary>A permutation of 0…<paramref name="length"/>−1 drawn from a generator seeded with <paramref name="seed"/> (Fisher–Yates).</summary>
    public static int[] Create(int length, ulong seed)
    {
        var permutation = new int[length];
        for (int i = 0; i < length; i++)
        {
            permutation[i] = i;
        }

        new Generator(seed).Permutation(permutation);
        return permutation;
    }

    /// <summary>
    /// Reorders a linear layer's input columns so that it computes on permuted inputs what it computed on the
    /// originals: with x′[j] = x[p[j]], W′[:, j] = W[:, p[j]] gives W′·x′ = W·x. <paramref name="weight"/> is
    /// (out, in) as PyTorch's <c>Linear.weight</c>; it is changed in place.
    /// </summary>
    public static void PermuteColumns(Tensor weight, IReadOnlyList<int> permutation)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(permutation);
        if (weight.Rank != 2 || weight.Size(1) != permutation.Count)
        {
            throw new ArgumentException($"PermuteColumns needs a weight (out, {permutation.Count}) but got [{string.Join(", ", weight.Shape)}].", nameof(weight));
        }

        int rows = weight.Size(0), cols = weight.Size(1);
        float[] before = weight.ToArray();
        Span<float> data = weight.Data;
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0; j < cols; j++)
            {
                data[(r * cols) + j] = before[(r * cols) + permutation[j]];
            }
        }
    }

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        var data = new float[_sampleSize];
        int label = CopySample(index, data);
        return (Tensor.FromArray(data, [.. SampleShape]), label);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination)
    {
        float[] scratch = ArrayPool<float>.Shared.Rent(_sampleSize);
        try
        {
            int label = _inner.CopySample(index, scratch.AsSpan(0, _sampleSize));
            for (int j = 0; j < _sampleSize; j++)
            {
                destination[j] = scratch[_permutation[j]];
            }

            return label;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }
}

/// <summary>
/// Moves every image of a (C, H, W) dataset by a fixed offset: output pixel (y, x) is input pixel
/// (y − <c>down</c>, x − <c>right</c>), and pixels that come from outside the image take <c>fill</c> (the
/// background). Positive <c>right</c> moves the content right, positive <c>down</c> moves it down; negative
/// values move it left or up. Pixels pushed past the border are lost.
/// </summary>
internal sealed class ShiftedDataset : IRowDataset
{
    private readonly IRowDataset _inner;
    private readonly float _fill;
    private readonly int _sampleSize;

    /// <summary>Wraps <paramref name="inner"/>, whose samples must be (C, H, W).</summary>
    public ShiftedDataset(IRowDataset inner, int down, int right, float fill)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (inner.SampleShape.Count != 3)
        {
            throw new ArgumentException($"ShiftedDataset needs (C, H, W) samples but got [{string.Join(", ", inner.SampleShape)}].", nameof(inner));
        }

        _inner = inner;
        (Down, Right, _fill) = (down, right, fill);
        _sampleSize = inner.SampleShape.Aggregate(1, (a, d) => a * d);
    }

    /// <summary>Rows the content moves down (negative: up).</summary>
    public int Down { get; }

    /// <summary>Columns the content moves right (negative: left).</summary>
    public int Right { get; }

    /// <inheritdoc/>
    public int Count => _inner.Count;

    /// <inheritdoc/>
    public IReadOnlyList<int> SampleShape => _inner.SampleShape;

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        var data = new float[_sampleSize];
        int label = CopySample(index, data);
        return (Tensor.FromArray(data, [.. SampleShape]), label);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination) => CopyShifted(_inner, index, destination, Down, Right, _fill);

    /// <summary>Copies sample <paramref name="index"/> of <paramref name="inner"/> moved by (down, right) into <paramref name="destination"/>.</summary>
    internal static int CopyShifted(IRowDataset inner, int index, Span<float> destination, int down, int right, float fill)
    {
        int channels = inner.SampleShape[0], height = inner.SampleShape[1], width = inner.SampleShape[2];
        int size = channels * height * width;
        if (down == 0 && right == 0)
        {
            return inner.CopySample(index, destination[..size]);
        }

        float[] scratch = ArrayPool<float>.Shared.Rent(size);
        try
        {
            int label = inner.CopySample(index, scratch.AsSpan(0, size));
            destination[..size].Fill(fill);

            // Output rows y with 0 ≤ y − down < height, columns x with 0 ≤ x − right < width.
            int y0 = Math.Max(0, down), y1 = Math.Min(height, height + down);
            int x0 = Math.Max(0, right), x1 = Math.Min(width, width + right);
            if (x1 > x0)
            {
                for (int c = 0; c < channels; c++)
                {
                    for (int y = y0; y < y1; y++)
                    {
                        scratch.AsSpan((((c * height) + y - down) * width) + x0 - right, x1 - x0)
                            .CopyTo(destination[(((c * height) + y) * width + x0)..]);
                    }
                }
            }

            return label;
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }
}

/// <summary>
/// Augmentation by random translation: each read of a sample moves it by (dy, dx), each drawn uniformly from
/// −<c>maxShift</c>…<c>maxShift</c>, filling with the background. The offset is a hash of (seed, index, how many times
/// this index was read before), so epoch k of a training run sees the same offsets whatever thread builds the
/// batches, and a rerun with the same seed reproduces them. A stand-in for torchvision's
/// <c>RandomAffine(degrees=0, translate=…)</c> with whole-pixel steps.
/// </summary>
internal sealed class RandomShiftDataset : IRowDataset
{
    private readonly IRowDataset _inner;
    private readonly int _maxShift;
    private readonly float _fill;
    private readonly ulong _seed;
    private readonly int[] _reads;

    /// <summary>Wraps <paramref name="inner"/> ((C, H, W) samples).</summary>
    public RandomShiftDataset(IRowDataset inner, int maxShift, float fill, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(maxShift);
        if (inner.SampleShape.Count != 3)
        {
            throw new ArgumentException($"RandomShiftDataset needs (C, H, W) samples but got [{string.Join(", ", inner.SampleShape)}].", nameof(inner));
        }

        (_inner, _maxShift, _fill, _seed) = (inner, maxShift, fill, seed);
        _reads = new int[inner.Count];
    }

    /// <inheritdoc/>
    public int Count => _inner.Count;

    /// <inheritdoc/>
    public IReadOnlyList<int> SampleShape => _inner.SampleShape;

    /// <summary>The offset (down, right) of read number <paramref name="read"/> (0-based) of sample <paramref name="index"/>.</summary>
    public (int Down, int Right) Offset(int index, int read)
    {
        // SplitMix64 finaliser over the three inputs: cheap, well mixed, no shared state.
        ulong z = _seed ^ ((ulong)(uint)index * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)read * 0xD1B54A32D192ED03UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        int span = (2 * _maxShift) + 1;
        return ((int)((z & 0xFFFFFFFF) % (uint)span) - _maxShift, (int)((z >> 32) % (uint)span) - _maxShift);
    }

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        var data = new float[SampleShape.Aggregate(1, (a, d) => a * d)];
        int label = CopySample(index, data);
        return (Tensor.FromArray(data, [.. SampleShape]), label);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        int read = Interlocked.Increment(ref _reads[index]) - 1;
        (int down, int right) = Offset(index, read);
        return ShiftedDataset.CopyShifted(_inner, index, destination, down, right, _fill);
    }
}
