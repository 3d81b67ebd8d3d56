namespace SharpCnn.Data;

/// <summary>
/// A finite, indexable collection of labelled samples for classification, as <c>torch.utils.data.Dataset</c>
/// restricted to (input, class) pairs.
/// </summary>
public interface IDataset
{
    /// <summary>Number of samples.</summary>
    int Count { get; }

    /// <summary>The sample at <paramref name="index"/>: an input tensor (e.g. C×H×W) and its class index.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Count).</exception>
    (Tensor Input, int Label) Get(int index);
}

/// <summary>
/// A dataset whose samples all have one shape and can be written straight into a batch buffer, so the
/// <see cref="DataLoader"/> assembles batches without allocating a tensor per sample.
/// </summary>
public interface IRowDataset : IDataset
{
    /// <summary>The shape of every input (e.g. [1, 28, 28]).</summary>
    IReadOnlyList<int> SampleShape { get; }

    /// <summary>Writes input <paramref name="index"/> into <paramref name="destination"/> (exactly one sample long) and returns its label.</summary>
    int CopySample(int index, Span<float> destination);
}

/// <summary>An in-memory dataset over a float tensor of inputs (N, …) and integer labels.</summary>
public sealed class TensorDataset : IRowDataset
{
    private readonly float[] _inputs;
    private readonly int[] _labels;
    private readonly int[] _sampleShape;
    private readonly int _sampleSize;

    /// <summary>Wraps <paramref name="inputs"/> (N, …) and <paramref name="labels"/> (N values); the data is copied.</summary>
    /// <exception cref="ArgumentException">The counts differ or the inputs are a scalar.</exception>
    public TensorDataset(Tensor inputs, IReadOnlyList<int> labels)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(labels);
        if (inputs.Rank < 1 || inputs.Size(0) != labels.Count)
        {
            throw new ArgumentException(
                $"TensorDataset needs inputs (N, ...) with one label per row; got inputs of shape [{string.Join(", ", inputs.Shape)}] and {labels.Count} labels.",
                nameof(labels));
        }

        _inputs = inputs.ToArray();
        _labels = [.. labels];
        _sampleShape = inputs.Shape[1..];
        _sampleSize = labels.Count == 0 ? 0 : _inputs.Length / labels.Count;
    }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <inheritdoc/>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        var data = new float[_sampleSize];
        int label = CopySample(index, data);
        return (Tensor.FromArray(data, _sampleShape), label);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        _inputs.AsSpan(index * _sampleSize, _sampleSize).CopyTo(destination);
        return _labels[index];
    }
}

/// <summary>The first <c>count</c> samples of another dataset (as <c>torch.utils.data.Subset(ds, range(count))</c>).</summary>
public sealed class PrefixDataset : IRowDataset
{
    private readonly IDataset _inner;

    /// <summary>Takes the first <paramref name="count"/> samples of <paramref name="inner"/> (all of them when it has fewer).</summary>
    public PrefixDataset(IDataset inner, int count)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _inner = inner;
        Count = Math.Min(count, inner.Count);
    }

    /// <inheritdoc/>
    public int Count { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> SampleShape => _inner is IRowDataset rows
        ? rows.SampleShape
        : (Count == 0 ? [] : _inner.Get(0).Input.Shape);

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _inner.Get(index);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        if (_inner is IRowDataset rows)
        {
            return rows.CopySample(index, destination);
        }

        (Tensor input, int label) = _inner.Get(index);
        input.Data.CopyTo(destination);
        return label;
    }
}

/// <summary>A classification dataset that knows its class names (index = label).</summary>
public interface IClassDataset : IDataset
{
    /// <summary>The class names in label order (e.g. <c>"0"…"9"</c> for MNIST, <c>"airplane"…</c> for CIFAR-10).</summary>
    IReadOnlyList<string> Classes { get; }
}
