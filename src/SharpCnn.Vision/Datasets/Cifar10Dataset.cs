using SharpCnn.Data;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// CIFAR-10 from its binary version (Krizhevsky, 2009): 32×32 colour images in 10 classes, as normalised 3×32×32
/// float samples. Each pixel becomes <c>(b/255 − mean[c]) / std[c]</c>, exactly what
/// <c>Compose(ToTensor(), Normalize(mean, std))</c> gives.
/// </summary>
/// <remarks>
/// <para>
/// Layout of a folder: <c>data_batch_1.bin</c> … <c>data_batch_5.bin</c> (training, 50,000 images),
/// <c>test_batch.bin</c> (test, 10,000) and <c>batches.meta.txt</c> (the class names, one per line). Each batch
/// file is a sequence of 3,073-byte records: one label byte 0–9, then 1,024 red, 1,024 green and 1,024 blue bytes,
/// each plane 32×32 row-major, so a record's pixels are already in C×H×W order.
/// </para>
/// <para>
/// Checks: every batch file present (the message names the missing one); its length a non-zero multiple of
/// 3,073 (the message gives the length and the remainder: a short final record is truncated, and a multiple
/// of 3,074 suggests a CIFAR-100 file); every label below 10 (file, record and value named); a
/// <c>batches.meta.txt</c>, when present, holds exactly 10 distinct non-empty names (blank lines and
/// surrounding spaces ignored). When the meta file is absent the standard names are used (they are fixed by the
/// dataset, and many copies of the data ship the batches alone); a meta file that is present but wrong is an error,
/// since it says the folder holds something else.
/// </para>
/// <para>
/// The bytes stay in memory (154 MB for the training set) and are expanded through a 256-entry lookup table per
/// channel when a batch is assembled, as <see cref="MnistDataset"/> does; no float copy of the set is kept.
/// </para>
/// </remarks>
public sealed class Cifar10Dataset : IRowDataset, IClassDataset
{
    /// <summary>The catalog name (<c>--data cifar10</c>).</summary>
    public const string Name = "cifar10";

    /// <summary>Image height and width in pixels.</summary>
    public const int ImageSize = 32;

    /// <summary>Colour channels (R, G, B).</summary>
    public const int Channels = 3;

    /// <summary>Number of classes (labels are 0..9).</summary>
    public const int ClassCount = 10;

    /// <summary>Bytes of one pixel plane (32·32).</summary>
    public const int PlaneBytes = ImageSize * ImageSize;

    /// <summary>Bytes of one record: 1 label byte + 3·1,024 pixel bytes = 3,073.</summary>
    public const int RecordBytes = 1 + (Channels * PlaneBytes);

    /// <summary>The class-names file, <c>batches.meta.txt</c>.</summary>
    public const string MetaFileName = "batches.meta.txt";

    private const int Cifar100RecordBytes = RecordBytes + 1;

    private readonly byte[] _records;
    private readonly float[] _table = new float[Channels * 256];
    private readonly int[] _sampleShape;
    private readonly int _padding;

    /// <summary>Wraps records already in memory: <c>Count × 3,073</c> bytes, each a label byte then R, G, B planes.</summary>
    /// <param name="records">The records (not copied).</param>
    /// <param name="classes">The class names; default <see cref="StandardClasses"/>. Must have 10 entries.</param>
    /// <param name="normalize">Default <see cref="Normalizations.Cifar10"/>; <see cref="Normalizations.None"/> gives ToTensor's [0, 1] values.</param>
    /// <param name="padding">Zero (black, before normalisation) pixels added on every side.</param>
    /// <exception cref="ArgumentException">The length is not a multiple of 3,073, a label exceeds 9, or the class list or normalisation has the wrong size.</exception>
    public Cifar10Dataset(byte[] records, IReadOnlyList<string>? classes = null, Normalize? normalize = null, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (records.Length % RecordBytes != 0)
        {
            throw new ArgumentException(
                $"CIFAR-10 records are {RecordBytes:N0} bytes each; got {records.Length:N0} bytes (remainder {records.Length % RecordBytes:N0}).", nameof(records));
        }

        for (int i = 0; i < records.Length; i += RecordBytes)
        {
            if (records[i] >= ClassCount)
            {
                throw new ArgumentException($"CIFAR-10 label {records[i]} at record {i / RecordBytes} is out of range 0–{ClassCount - 1}.", nameof(records));
            }
        }

        IReadOnlyList<string> names = classes is null ? StandardClasses : [.. classes];
        if (names.Count != ClassCount)
        {
            throw new ArgumentException($"CIFAR-10 has {ClassCount} classes; got {names.Count} class names.", nameof(classes));
        }

        Normalize n = normalize ?? Normalizations.Cifar10;
        if (n.Mean.Count != Channels)
        {
            throw new ArgumentException($"CIFAR-10 has {Channels} channels, but the normalisation has {n.Mean.Count}.", nameof(normalize));
        }

        for (int c = 0; c < Channels; c++)
        {
            for (int b = 0; b < 256; b++)
            {
                _table[(c * 256) + b] = n.Apply(ToTensor.Scale((byte)b), c);
            }
        }

        _records = records;
        _padding = padding;
        Classes = names;
        Normalization = n;
        Count = records.Length / RecordBytes;
        _sampleShape = [Channels, ImageSize + (2 * padding), ImageSize + (2 * padding)];
    }

    /// <summary>airplane, automobile, bird, cat, deer, dog, frog, horse, ship, truck: the names in <c>batches.meta.txt</c>.</summary>
    public static IReadOnlyList<string> StandardClasses { get; } =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>The batch files of a split: <c>data_batch_1.bin</c>…<c>data_batch_5.bin</c> (train) or <c>test_batch.bin</c>.</summary>
    public static IReadOnlyList<string> BatchFileNames(bool train) =>
        train ? ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"] : ["test_batch.bin"];

    /// <inheritdoc/>
    public int Count { get; }

    /// <summary>The class names in label order (from <c>batches.meta.txt</c>, or <see cref="StandardClasses"/>).</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>The normalisation applied to every sample.</summary>
    public Normalize Normalization { get; }

    /// <summary>[3, 32, 32], plus twice the padding on H and W.</summary>
    public IReadOnlyList<int> SampleShape => _sampleShape;

    /// <summary>The label of sample <paramref name="index"/> without expanding its pixels.</summary>
    public int Label(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        return _records[index * RecordBytes];
    }

    /// <summary>Loads the training (all five batches, in order) or test split from <paramref name="directory"/>.</summary>
    /// <param name="directory">The folder holding the <c>.bin</c> files (e.g. <c>data/cifar10</c>, the unpacked <c>cifar-10-batches-bin</c>).</param>
    /// <param name="train">The training split or the test split.</param>
    /// <param name="normalize">Default <see cref="Normalizations.Cifar10"/>; <see cref="Normalizations.None"/> gives ToTensor's [0, 1] values.</param>
    /// <param name="padding">Zero pixels added on every side.</param>
    /// <exception cref="FileNotFoundException">The folder or a batch file is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A batch or the meta file is malformed; the message names the file and the fault.</exception>
    public static Cifar10Dataset Load(string directory, bool train, Normalize? normalize = null, int padding = 0)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            throw new FileNotFoundException(
                $"CIFAR-10 folder '{directory}' not found. Put the binary version's files ({string.Join(", ", BatchFileNames(true).Concat(BatchFileNames(false)))}, " +
                $"{MetaFileName}) there, e.g. unpacked from cifar-10-binary.tar.gz.", directory);
        }

        IReadOnlyList<string> files = BatchFileNames(train);
        var lengths = new long[files.Count];
        long total = 0;
        for (int f = 0; f < files.Count; f++)
        {
            lengths[f] = CheckBatchLength(Path.Combine(directory, files[f]));
            total += lengths[f];
        }

        if (total > Array.MaxLength)
        {
            throw new InvalidDataException($"CIFAR-10 {(train ? "training" : "test")} files in '{directory}' hold {total:N0} bytes, more than one array can ({Array.MaxLength:N0}).");
        }

        var records = new byte[total];
        long offset = 0;
        for (int f = 0; f < files.Count; f++)
        {
            ReadBatchInto(Path.Combine(directory, files[f]), records.AsSpan((int)offset, (int)lengths[f]));
            offset += lengths[f];
        }

        string meta = Path.Combine(directory, MetaFileName);
        IReadOnlyList<string> classes = File.Exists(meta) ? ReadClassNames(meta) : StandardClasses;
        return new Cifar10Dataset(records, classes, normalize, padding);
    }

    /// <summary>Reads and validates one batch file: its length a non-zero multiple of 3,073 and every label below 10.</summary>
    /// <returns>The file's records (<c>N × 3,073</c> bytes).</returns>
    /// <exception cref="FileNotFoundException">The file is missing.</exception>
    /// <exception cref="InvalidDataException">The length or a label is wrong; the message names the file.</exception>
    public static byte[] ReadBatch(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        long length = CheckBatchLength(path);
        if (length > Array.MaxLength)
        {
            throw new InvalidDataException($"CIFAR-10 batch '{path}' is {length:N0} bytes, more than one array can hold.");
        }

        var records = new byte[length];
        ReadBatchInto(path, records);
        return records;
    }

    /// <summary>
    /// Reads a <c>batches.meta.txt</c>: one class name per line, blank lines and surrounding white space ignored;
    /// there must be exactly 10 names, all distinct.
    /// </summary>
    /// <exception cref="InvalidDataException">Not 10 names, or a name repeated; the message names the file and lists what it found.</exception>
    public static IReadOnlyList<string> ReadClassNames(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (info.Exists && info.Length > 1 << 20)
        {
            // The real file is 61 bytes: anything this large is not a class list, and is not worth reading whole.
            throw new InvalidDataException($"CIFAR-10 meta file '{path}' is {info.Length:N0} bytes; expected {ClassCount} short class names, one per line.");
        }

        string[] names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length != 0).ToArray();
        if (names.Length != ClassCount)
        {
            string shown = string.Join(", ", names.Take(12).Select(n => $"\"{Shorten(n)}\"")) + (names.Length > 12 ? ", …" : string.Empty);
            throw new InvalidDataException(
                $"CIFAR-10 meta file '{path}' has {names.Length} non-empty line(s) ({shown}); expected exactly {ClassCount} class names, one per line. " +
                $"Remove the file to use the standard names, or fix it.");
        }

        string? repeated = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (repeated is not null)
        {
            throw new InvalidDataException($"CIFAR-10 meta file '{path}' names class \"{Shorten(repeated)}\" more than once; the {ClassCount} names must be distinct.");
        }

        return names;
    }

    /// <inheritdoc/>
    public (Tensor Input, int Label) Get(int index)
    {
        var data = new float[_sampleShape[0] * _sampleShape[1] * _sampleShape[2]];
        int label = CopySample(index, data);
        return (new Tensor(data, _sampleShape), label);
    }

    /// <inheritdoc/>
    public int CopySample(int index, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        ReadOnlySpan<byte> record = _records.AsSpan(index * RecordBytes, RecordBytes);
        int width = _sampleShape[2];
        int plane = _sampleShape[1] * width;
        destination = destination[..(Channels * plane)];
        for (int c = 0; c < Channels; c++)
        {
            ReadOnlySpan<float> table = _table.AsSpan(c * 256, 256);
            ReadOnlySpan<byte> source = record.Slice(1 + (c * PlaneBytes), PlaneBytes);
            Span<float> target = destination.Slice(c * plane, plane);
            if (_padding > 0)
            {
                target.Fill(table[0]);
            }

            for (int r = 0; r < ImageSize; r++)
            {
                Span<float> row = target.Slice(((r + _padding) * width) + _padding, ImageSize);
                ReadOnlySpan<byte> bytes = source.Slice(r * ImageSize, ImageSize);
                for (int i = 0; i < bytes.Length; i++)
                {
                    row[i] = table[bytes[i]];
                }
            }
        }

        return record[0];
    }

    private static long CheckBatchLength(string path)
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException(
                $"CIFAR-10 batch file '{path}' not found. A CIFAR-10 folder holds the binary version's " +
                $"{string.Join(", ", BatchFileNames(true).Concat(BatchFileNames(false)))} (and optionally {MetaFileName}).", path);
        }

        long length = info.Length;
        if (length == 0)
        {
            throw new InvalidDataException($"CIFAR-10 batch '{path}' is empty; expected records of {RecordBytes:N0} bytes (a full batch is 10,000 records, 30,730,000 bytes).");
        }

        long remainder = length % RecordBytes;
        if (remainder != 0)
        {
            string why = length % Cifar100RecordBytes == 0
                ? $"it is a multiple of {Cifar100RecordBytes:N0}, the record size of CIFAR-100 (2 label bytes): is this a CIFAR-100 file?"
                : length > RecordBytes
                    ? $"the final record is truncated ({remainder:N0} of {RecordBytes:N0} bytes)"
                    : "shorter than one record";
            throw new InvalidDataException(
                $"CIFAR-10 batch '{path}' is {length:N0} bytes, not a multiple of the {RecordBytes:N0}-byte record (remainder {remainder:N0}): {why}.");
        }

        return length;
    }

    private static void ReadBatchInto(string path, Span<byte> destination)
    {
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        {
            int got = stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false);
            if (got != destination.Length || stream.ReadByte() != -1)
            {
                // The file changed size between the length check and the read.
                throw new InvalidDataException($"CIFAR-10 batch '{path}' changed while it was read: expected {destination.Length:N0} bytes, read {got:N0}.");
            }
        }

        for (int r = 0; r < destination.Length / RecordBytes; r++)
        {
            byte label = destination[r * RecordBytes];
            if (label >= ClassCount)
            {
                throw new InvalidDataException(
                    $"CIFAR-10 batch '{path}': record {r:N0} (byte offset {(long)r * RecordBytes:N0}) has label {label}; labels are 0–{ClassCount - 1}.");
            }
        }
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
