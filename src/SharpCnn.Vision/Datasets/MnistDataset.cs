using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using SharpCnn.Data;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// MNIST (or Fashion-MNIST, see <see cref="FashionMnist"/>) as a dataset of normalised 1×28×28 float images and
/// labels 0–9: each pixel becomes <c>(b/255 − mean) / std</c>, exactly what <c>Compose(ToTensor(), Normalize(mean, std))</c> gives.
/// </summary>
/// <remarks>
/// The bytes stay in memory (47 MB for the training set) and are expanded when a batch is assembled, so no float
/// copy of the whole set is kept: 16 pixels at a time by the transform chain's own arithmetic ((b / 255 − mean) / std
/// in float32, vectorised), used only when it gives the bits of a 256-entry lookup table of that chain for every byte
/// value (checked once per dataset), else through that table. An optional zero border (before normalisation, so it takes the
/// background's value) gives the 32×32 field LeCun et al. fed LeNet-5.
/// </remarks>
public sealed class MnistDataset : IRowDataset, IClassDataset
{
    private static readonly string[] s_digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private readonly byte[] _images;
    private readonly byte[] _labels;
    private readonly float[] _table = new float[256];
    private readonly int[] _sampleShape;
    private readonly int _imageSize;
    private readonly int _rows;
    private readonly int _cols;
    private readonly int _padding;
    private readonly float _mean;
    private readonly float _std;
    private readonly bool _vectorExact;

    /// <summary>Wraps raw images (N·rows·cols bytes, row-major) and labels (N bytes).</summary>
    /// <param name="images">Pixels, one byte each.</param>
    /// <param name="labels">Class of each image (0–9).</param>
    /// <param name="rows">Image height (28 for MNIST).</param>
    /// <param name="cols">Image width (28 for MNIST).</param>
    /// <param name="normalize">The normalisation; default <see cref="Normalize.Mnist"/>.</param>
    /// <param name="padding">Background pixels added on every side (2 turns 28×28 into LeNet-5's 32×32).</param>
    /// <param name="classes">The class names in label order; default the digits "0"…"9". Labels must be below its count.</param>
    /// <exception cref="ArgumentException">The sizes do not agree, a label has no class, or a class list is empty.</exception>
    public MnistDataset(byte[] images, byte[] labels, int rows = 28, int cols = 28, Normalize? normalize = null, int padding = 0,
                        IReadOnlyList<string>? classes = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(cols);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        _imageSize = rows * cols;
        if ((long)labels.Length * _imageSize != images.Length)
        {
            throw new ArgumentException(
                $"MNIST needs {rows}×{cols} = {_imageSize} image bytes per label: got {images.Length:N0} image bytes for {labels.Length:N0} labels.", nameof(images));
        }

        string[] names = classes is null ? s_digits : [.. classes];
        if (names.Length is 0 or > 256)
        {
            throw new ArgumentException($"An MNIST-format dataset needs 1 to 256 class names (labels are bytes); got {names.Length}.", nameof(classes));
        }

        int bad = Array.FindIndex(labels, l => l >= names.Length);
        if (bad >= 0)
        {
            throw new ArgumentException($"MNIST-format label {labels[bad]} at index {bad} is out of range 0–{names.Length - 1} ({names.Length} classes).", nameof(labels));
        }

        Classes = Array.AsReadOnly(names);

        _images = images;
        _labels = labels;
        _rows = rows;
        _cols = cols;
        _padding = padding;
        _sampleShape = [1, rows + (2 * padding), cols + (2 * padding)];
        Normalize n = normalize ?? Normalize.Mnist;
        if (n.Mean.Count != 1)
        {
            throw new ArgumentException($"MNIST has one channel, but the normalisation has {n.Mean.Count}.", nameof(normalize));
        }

        for (int b = 0; b < 256; b++)
        {
            _table[b] = n.Apply(ToTensor.Scale((byte)b), 0);
        }

        // The vector path must reproduce the table bit for bit (it does: the same three IEEE float operations).
        _mean = n.Mean[0];
        _std = n.Std[0];
        if (Avx512F.IsSupported)
        {
            byte[] all = new byte[256];
            float[] expanded = new float[256];
            for (int b = 0; b < 256; b++)
            {
                all[b] = (byte)b;
            }

            ExpandVector(all, expanded, _mean, _std);
            _vectorExact = expanded.AsSpan().SequenceEqual(_table);
        }
    }

    /// <summary>Loads the training or test split from <paramref name="directory"/> (see <see cref="MnistData.Load(string, bool)"/>).</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="IdxFormatException">A file is malformed.</exception>
    public static MnistDataset Load(string directory, bool train, Normalize? normalize = null, int padding = 0)
    {
        MnistData data = MnistData.Load(directory, train);
        return new MnistDataset(data.Images, data.Labels, MnistData.ImageSize, MnistData.ImageSize, normalize, padding);
    }

    /// <inheritdoc/>
    public int Count => _labels.Length;

    /// <summary>The class names in label order: the digits "0"…"9" for MNIST, "T-shirt/top"… for Fashion-MNIST.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <inheritdoc/>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>The label bytes.</summary>
    public ReadOnlySpan<byte> Labels => _labels;

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        var data = new float[_sampleShape[1] * _sampleShape[2]];
        int label = CopySample(index, data);
        return (new Tensor(data, _sampleShape), label);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        ReadOnlySpan<byte> pixels = _images.AsSpan(index * _imageSize, _imageSize);
        int width = _sampleShape[2];
        destination = destination[..(_sampleShape[1] * width)];
        if (_padding > 0)
        {
            destination.Fill(_table[0]);
        }

        if (_padding == 0)
        {
            Expand(pixels, destination);
        }
        else
        {
            for (int r = 0; r < _rows; r++)
            {
                Expand(pixels.Slice(r * _cols, _cols), destination.Slice(((r + _padding) * width) + _padding, _cols));
            }
        }

        return _labels[index];
    }

    /// <summary>destination[i] = table[source[i]], by the vector path where it is exact.</summary>
    private void Expand(ReadOnlySpan<byte> source, Span<float> destination)
    {
        int done = _vectorExact ? ExpandVector(source, destination, _mean, _std) : 0;
        for (int i = done; i < source.Length; i++)
        {
            destination[i] = _table[source[i]];
        }
    }

    /// <summary>
    /// destination[i] = (source[i] / 255 − mean) / std for the largest multiple of 16 pixels (AVX-512); returns how
    /// many pixels it wrote.
    /// </summary>
    private static int ExpandVector(ReadOnlySpan<byte> source, Span<float> destination, float mean, float std)
    {
        int i = 0;
        if (!Avx512F.IsSupported || destination.Length < source.Length)
        {
            return 0;
        }

        Vector512<float> scale = Vector512.Create(255f), m = Vector512.Create(mean), s = Vector512.Create(std);
        ref byte src = ref MemoryMarshal.GetReference(source);
        ref float dst = ref MemoryMarshal.GetReference(destination);
        for (; i + 16 <= source.Length; i += 16)
        {
            Vector512<float> v = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref src, (nuint)i)));
            ((v / scale - m) / s).StoreUnsafe(ref dst, (nuint)i);
        }

        return i;
    }
}
