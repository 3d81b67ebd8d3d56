using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 70,000 28×28 grey images of clothing in 10 classes, stored in
/// MNIST's IDX format under MNIST's file names (<c>{train,t10k}-{images-idx3,labels-idx1}-ubyte</c>, plain or
/// <c>.gz</c>), so it is read by the same validated reader (<see cref="MnistData"/>) into an <see cref="MnistDataset"/>
/// with its own class names and normalisation.
/// </summary>
/// <remarks>
/// No package registry ships the original IDX files, so the files are not fetched automatically: download the four
/// <c>.gz</c> files from the Fashion-MNIST release and put them in the data folder (default <c>data/fashion-mnist</c>).
/// </remarks>
public static class FashionMnist
{
    /// <summary>The catalog name (<c>--data fashion-mnist</c>).</summary>
    public const string Name = "fashion-mnist";

    /// <summary>The class names in label order: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot.</summary>
    public static IReadOnlyList<string> Classes { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The file names a data folder must hold (each plain or with a <c>.gz</c> suffix).</summary>
    public static IReadOnlyList<string> FileNames { get; } =
    [
        MnistData.ImagesFileName(true), MnistData.LabelsFileName(true),
        MnistData.ImagesFileName(false), MnistData.LabelsFileName(false),
    ];

    /// <summary>Loads the raw bytes of the training or test split, validated as <see cref="MnistData.Load(string, bool)"/> does.</summary>
    /// <exception cref="FileNotFoundException">A file is missing; the message lists the names tried and where to put them.</exception>
    /// <exception cref="IdxFormatException">A file is malformed; the message names it.</exception>
    public static MnistData LoadData(string directory, bool train) =>
        MnistData.Load(directory, train, "Fashion-MNIST", MissingFilesHint(directory));

    /// <summary>
    /// Loads the training or test split as normalised 1×28×28 samples with the Fashion-MNIST class names.
    /// </summary>
    /// <param name="directory">The folder with the four IDX files.</param>
    /// <param name="train">The training split (60,000 images) or the test split (10,000).</param>
    /// <param name="normalize">Default <see cref="Normalizations.FashionMnist"/>; <see cref="Normalizations.None"/> gives ToTensor's [0, 1] values.</param>
    /// <param name="padding">Background pixels added on every side (2 gives 32×32).</param>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="IdxFormatException">A file is malformed.</exception>
    public static MnistDataset Load(string directory, bool train, Normalize? normalize = null, int padding = 0)
    {
        MnistData data = LoadData(directory, train);
        return new MnistDataset(data.Images, data.Labels, MnistData.ImageSize, MnistData.ImageSize,
            normalize ?? Normalizations.FashionMnist, padding, Classes);
    }

    /// <summary>Whether every file of both splits is in <paramref name="directory"/> (plain or <c>.gz</c>); does not validate them.</summary>
    public static bool FilesPresent(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return FileNames.All(f => File.Exists(Path.Combine(directory, f)) || File.Exists(Path.Combine(directory, f + ".gz")));
    }

    /// <summary>What to do when the files are missing: where to put which files (the CLI's <c>data get fashion-mnist</c> prints it).</summary>
    public static string MissingFilesHint(string directory) =>
        "Fashion-MNIST is not fetched automatically (no package registry ships its original IDX files): download " +
        $"{string.Join(", ", FileNames.Select(f => f + ".gz"))} from the Fashion-MNIST release (zalandoresearch/fashion-mnist) " +
        $"and put them, gzipped or not, in '{directory}'.";
}
