namespace SharpCnn.Vision.Datasets;

/// <summary>
/// One split of MNIST (or Fashion-MNIST, which shares the format and file names) loaded from the
/// four IDX files: <c>{train,t10k}-images-idx3-ubyte</c> and <c>{train,t10k}-labels-idx1-ubyte</c>,
/// plain or with a <c>.gz</c> suffix.
/// </summary>
public sealed class MnistData
{
    /// <summary>Image height and width in pixels.</summary>
    public const int ImageSize = 28;

    /// <summary>Number of classes (labels are 0..9).</summary>
    public const int ClassCount = 10;

    /// <summary>Magic number of an images file: type 0x08, 3 dimensions (0x00000803).</summary>
    public const int ImagesMagic = 2051;

    /// <summary>Magic number of a labels file: type 0x08, 1 dimension (0x00000801).</summary>
    public const int LabelsMagic = 2049;

    private MnistData(byte[] images, byte[] labels, int count)
    {
        Images = images;
        Labels = labels;
        Count = count;
    }

    /// <summary>Pixels, <c>Count × 28 × 28</c> bytes, row-major, 0 (background) to 255.</summary>
    public byte[] Images { get; }

    /// <summary>Labels, <c>Count</c> bytes, each 0..9.</summary>
    public byte[] Labels { get; }

    /// <summary>Number of examples (60,000 for train and 10,000 for t10k in the real data).</summary>
    public int Count { get; }

    /// <summary>The images file name of a split, e.g. <c>train-images-idx3-ubyte</c>.</summary>
    public static string ImagesFileName(bool train) => (train ? "train" : "t10k") + "-images-idx3-ubyte";

    /// <summary>The labels file name of a split, e.g. <c>t10k-labels-idx1-ubyte</c>.</summary>
    public static string LabelsFileName(bool train) => (train ? "train" : "t10k") + "-labels-idx1-ubyte";

    /// <summary>
    /// Loads the training (<paramref name="train"/> = true) or test split from a directory holding
    /// the standard file names, each plain or gzip-compressed with a <c>.gz</c> suffix.
    /// </summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message lists the names tried.</exception>
    /// <exception cref="IdxFormatException">A file is malformed or not MNIST-shaped; the message names it.</exception>
    public static MnistData Load(string directory, bool train) =>
        Load(directory, train, "MNIST", "Fetch the data with `sharpcnn data get mnist`, MnistFetcher.Ensure(directory) or scripts/fetch-mnist.sh.");

    /// <summary>Loads MNIST images and labels from two explicit IDX file paths (plain or gzip).</summary>
    /// <exception cref="IdxFormatException">A file is malformed or not MNIST-shaped; the message names it.</exception>
    public static MnistData Load(string imagesPath, string labelsPath) => Load(imagesPath, labelsPath, "MNIST");

    /// <summary>
    /// The directory loader shared by MNIST and Fashion-MNIST (same format, same file names): <paramref name="datasetName"/>
    /// appears in the error messages, <paramref name="missingHint"/> ends the message for a missing file.
    /// </summary>
    internal static MnistData Load(string directory, bool train, string datasetName, string missingHint)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string images = Resolve(directory, ImagesFileName(train), train, datasetName, missingHint);
        string labels = Resolve(directory, LabelsFileName(train), train, datasetName, missingHint);
        return Load(images, labels, datasetName);
    }

    /// <summary>The two-file loader shared by MNIST and Fashion-MNIST; <paramref name="datasetName"/> appears in the error messages.</summary>
    internal static MnistData Load(string imagesPath, string labelsPath, string datasetName)
    {
        ArgumentException.ThrowIfNullOrEmpty(imagesPath);
        ArgumentException.ThrowIfNullOrEmpty(labelsPath);
        IdxArray images = Idx.Read(imagesPath);
        if (images.Dims.Length != 3)
        {
            throw new IdxFormatException(imagesPath,
                $"expected {datasetName} images with 3 dimensions (magic {ImagesMagic} = 0x{ImagesMagic:X8}) but the file has " +
                $"{images.Dims.Length} (magic 0x{images.Magic:X8}){(images.Dims.Length == 1 ? "; is it a labels file?" : string.Empty)}");
        }

        if (images.Dims[1] != ImageSize || images.Dims[2] != ImageSize)
        {
            throw new IdxFormatException(imagesPath,
                $"expected {ImageSize}×{ImageSize} {datasetName} images but the file has {images.Dims[1]}×{images.Dims[2]} (dims {Idx.FormatDims(images.Dims.Select(d => (long)d))})");
        }

        IdxArray labels = Idx.Read(labelsPath);
        if (labels.Dims.Length != 1)
        {
            throw new IdxFormatException(labelsPath,
                $"expected {datasetName} labels with 1 dimension (magic {LabelsMagic} = 0x{LabelsMagic:X8}) but the file has " +
                $"{labels.Dims.Length} (magic 0x{labels.Magic:X8}){(labels.Dims.Length == 3 ? "; is it an images file?" : string.Empty)}");
        }

        int count = images.Dims[0];
        if (labels.Dims[0] != count)
        {
            throw new IdxFormatException(labelsPath,
                $"has {labels.Dims[0]:N0} labels but the images file '{imagesPath}' has {count:N0} images; the counts must match");
        }

        byte[] l = labels.Data;
        for (int i = 0; i < l.Length; i++)
        {
            if (l[i] >= ClassCount)
            {
                throw new IdxFormatException(labelsPath, $"label {l[i]} at index {i} is out of range 0..{ClassCount - 1}");
            }
        }

        return new MnistData(images.Data, l, count);
    }

    private static string Resolve(string directory, string name, bool train, string datasetName, string missingHint)
    {
        string plain = Path.Combine(directory, name);
        if (File.Exists(plain))
        {
            return plain;
        }

        string gz = plain + ".gz";
        if (File.Exists(gz))
        {
            return gz;
        }

        throw new FileNotFoundException(
            $"{datasetName} {(train ? "training" : "test")} file not found: looked for '{plain}' and '{gz}'. {missingHint}",
            plain);
    }
}
