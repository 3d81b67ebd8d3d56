using SharpCnn.Data;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// MNIST as a dataset of normalised 1×28×28 float images and labels 0–9: each pixel becomes
/// <c>(b/255 − mean) / std</c>, exactly what <c>Compose(ToTensor(), Normalize(mean, std))</c> gives.
/// </summary>
/// <remarks>
/// The bytes stay in memory (47 MB for the training set) and are expanded through a 256-entry lookup table
/// when a batch is assembled, so no float copy of the whole set is kept and the table's values are
/// bit-identical to the transform chain.
/// </remarks>
public sealed class MnistDataset : IRowDataset
{
    private readonly byte[] _images;
    private readonly byte[] _labels;
    private readonly float[] _table = new float[256];
    private readonly int[] _sampleShape;
    private readonly int _sampleSize;

    /// <summary>Wraps raw images (N·rows·cols bytes, row-major) and labels (N bytes).</summary>
    /// <param name="images">Pixels, one byte each.</param>
    /// <param name="labels">Class of each image (0–9).</param>
    /// <param name="rows">Image height (28 for MNIST).</param>
    /// <param name="cols">Image width (28 for MNIST).</param>
    /// <param name="normalize">The normalisation; default <see cref="Normalize.Mnist"/>.</param>
    /// <exception cref="ArgumentException">The sizes do not agree or a label exceeds 9.</exception>
    public MnistDataset(byte[] images, byte[] labels, int rows = 28, int cols = 28, Normalize? normalize = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        _sampleSize = rows * cols;
        if ((long)labels.Length * _sampleSize != images.Length)
        {
            throw new ArgumentException(
                $"MNIST needs {rows}×{cols} = {_sampleSize} image bytes per label: got {images.Length:N0} image bytes for {labels.Length:N0} labels.", nameof(images));
        }

        int bad = Array.FindIndex(labels, l => l > 9);
        if (bad >= 0)
        {
            throw new ArgumentException($"MNIST label {labels[bad]} at index {bad} is not a digit 0–9.", nameof(labels));
        }

        _images = images;
        _labels = labels;
        _sampleShape = [1, rows, cols];
        Normalize n = normalize ?? Normalize.Mnist;
        if (n.Mean.Count != 1)
        {
            throw new ArgumentException($"MNIST has one channel, but the normalisation has {n.Mean.Count}.", nameof(normalize));
        }

        for (int b = 0; b < 256; b++)
        {
            _table[b] = n.Apply(ToTensor.Scale((byte)b), 0);
        }
    }

    /// <summary>Loads the training or test split from <paramref name="directory"/> (see <see cref="MnistData.Load(string, bool)"/>).</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="IdxFormatException">A file is malformed.</exception>
    public static MnistDataset Load(string directory, bool train, Normalize? normalize = null)
    {
        MnistData data = MnistData.Load(directory, train);
        return new MnistDataset(data.Images, data.Labels, MnistData.ImageSize, MnistData.ImageSize, normalize);
    }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <inheritdoc/>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>The label bytes.</summary>
    public ReadOnlySpan<byte> Labels => _labels;

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        var data = new float[_sampleSize];
        int label = CopySample(index, data);
        return (new Tensor(data, _sampleShape), label);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        ReadOnlySpan<byte> pixels = _images.AsSpan(index * _sampleSize, _sampleSize);
        destination = destination[..pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            destination[i] = _table[pixels[i]];
        }

        return _labels[index];
    }
}
