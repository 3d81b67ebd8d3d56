using SharpCnn.Data;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// Opens a dataset by the name the CLI and configs use (<c>--data NAME</c>): the one place that maps names to readers.
/// </summary>
/// <remarks>
/// A name is one of <see cref="Names"/> (<c>mnist</c>, <c>fashion-mnist</c>, <c>cifar10</c>), read from a data folder
/// (default <c>data/NAME</c>), or the path of an existing folder laid out for <see cref="ImageFolderDataset"/> with a
/// split per sub-folder: <c>PATH/train/&lt;class&gt;/…</c> and <c>PATH/test/&lt;class&gt;/…</c> (or <c>PATH/val/…</c>).
/// Catalog names win over a folder of the same name (write <c>./mnist</c> for the folder).
/// </remarks>
public static class DatasetCatalog
{
    /// <summary>The names <see cref="Open"/> accepts besides a folder path.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mnist", FashionMnist.Name, Cifar10Dataset.Name];

    /// <summary>The split folders of an image-folder dataset: the training split, then the test split's names in order of preference.</summary>
    public static IReadOnlyList<string> FolderSplits { get; } = ["train", "test", "val"];

    /// <summary>Whether <paramref name="name"/> is not a catalog name but an existing folder (opened as image folders).</summary>
    public static bool IsImageFolder(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return !Names.Contains(name, StringComparer.Ordinal) && Directory.Exists(name);
    }

    /// <summary>The default data folder of a named dataset (<c>data/NAME</c>); for a folder path, the path itself.</summary>
    public static string DefaultDirectory(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return IsImageFolder(name) ? name : Path.Combine("data", name);
    }

    /// <summary>The number of image channels a dataset gives: 1 for MNIST and Fashion-MNIST, 3 for CIFAR-10 and image folders.</summary>
    /// <exception cref="ArgumentException">An unknown name that is not an existing folder.</exception>
    public static int Channels(string name) => Normalization(name).Mean.Count;

    /// <summary>
    /// The mean and standard deviation a dataset is normalised with: MNIST's, Fashion-MNIST's, CIFAR-10's, or
    /// ImageNet's for an image folder (see <see cref="Normalizations"/>).
    /// </summary>
    /// <exception cref="ArgumentException">An unknown name that is not an existing folder.</exception>
    public static Normalize Normalization(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name switch
        {
            "mnist" => Normalizations.Mnist,
            FashionMnist.Name => Normalizations.FashionMnist,
            Cifar10Dataset.Name => Normalizations.Cifar10,
            _ when Directory.Exists(name) => Normalizations.ImageNet,
            _ => throw Unknown(name),
        };
    }

    /// <summary>Opens the training or test split of a named dataset or an image-folder dataset.</summary>
    /// <param name="name">A name from <see cref="Names"/>, or the path of a folder with <c>train/</c> and <c>test/</c> (or <c>val/</c>) sub-folders.</param>
    /// <param name="directory">Where a named dataset's files are (ignored for a folder path, which is its own location).</param>
    /// <param name="train">The training split (true) or the test split.</param>
    /// <param name="padding">Background border added on every side (LeNet-5's 32×32 MNIST), for MNIST, Fashion-MNIST and CIFAR-10.</param>
    /// <param name="normalize">
    /// Normalise with <see cref="Normalization"/> (default). False gives ToTensor's [0, 1] values, so colour transforms
    /// can run first and normalise afterwards.
    /// </param>
    /// <param name="imageTransform">
    /// For an image folder only: applied to each decoded [3, H, W] image before normalisation, typically a resize and crop
    /// to one size so images can be batched. Named datasets have a fixed size and take none.
    /// </param>
    /// <returns>
    /// An <see cref="IRowDataset"/> (<see cref="MnistDataset"/>, <see cref="Cifar10Dataset"/>) for a named dataset; an
    /// <see cref="ImageFolderDataset"/> for a folder.
    /// </returns>
    /// <exception cref="ArgumentException">An unknown name, a padding for an image folder, or a transform for a named dataset.</exception>
    /// <exception cref="FileNotFoundException">A data file or split folder is missing; the message says what was expected.</exception>
    /// <exception cref="IdxFormatException">An MNIST-format file is malformed.</exception>
    /// <exception cref="InvalidDataException">A CIFAR-10 file is malformed, or the splits of a folder have different classes.</exception>
    public static IClassDataset Open(string name, string directory, bool train, int padding = 0, bool normalize = true, ITransform? imageTransform = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentOutOfRangeException.ThrowIfNegative(padding);
        if (imageTransform is not null && !IsImageFolder(name))
        {
            throw new ArgumentException(
                $"Dataset \"{name}\" has fixed-size images and takes no image transform here; apply augmentation in the DataLoader.", nameof(imageTransform));
        }

        return name switch
        {
            "mnist" => MnistDataset.Load(directory, train, normalize ? null : Normalizations.None(1), padding),
            FashionMnist.Name => FashionMnist.Load(directory, train, normalize ? null : Normalizations.None(1), padding),
            Cifar10Dataset.Name => Cifar10Dataset.Load(directory, train, normalize ? null : Normalizations.None(3), padding),
            _ when Directory.Exists(name) => OpenFolder(name, train, padding, normalize, imageTransform),
            _ => throw Unknown(name),
        };
    }

    /// <summary>The folder of one split of an image-folder dataset (<c>PATH/train</c>, <c>PATH/test</c> or else <c>PATH/val</c>).</summary>
    /// <exception cref="FileNotFoundException">The split's folder is missing; the message says which layout was expected.</exception>
    public static string FolderSplit(string path, bool train)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string[] candidates = train ? [FolderSplits[0]] : [FolderSplits[1], FolderSplits[2]];
        foreach (string c in candidates)
        {
            string dir = Path.Combine(path, c);
            if (Directory.Exists(dir))
            {
                return dir;
            }
        }

        string present = string.Join(", ", new DirectoryInfo(path).EnumerateDirectories().Select(d => d.Name + "/").Order(StringComparer.Ordinal).Take(8));
        throw new FileNotFoundException(
            $"'{path}' has no {(train ? "training" : "test")} split: expected a sub-folder {string.Join(" or ", candidates.Select(c => c + "/"))} " +
            $"holding one sub-folder of images per class (e.g. {Path.Combine(path, candidates[0], "CLASS", "image.jpg")}); " +
            $"found {(present.Length == 0 ? "no sub-folders" : present)}.",
            Path.Combine(path, candidates[0]));
    }

    private static ImageFolderDataset OpenFolder(string path, bool train, int padding, bool normalize, ITransform? imageTransform)
    {
        if (padding != 0)
        {
            throw new ArgumentException($"Image folder \"{path}\" takes no padding (got {padding}); pad or resize with an image transform.", nameof(padding));
        }

        string split = FolderSplit(path, train);
        ITransform? transform = (imageTransform, normalize) switch
        {
            (null, false) => null,
            (null, true) => Normalizations.ImageNet,
            (_, false) => imageTransform,
            _ => new Compose(imageTransform, Normalizations.ImageNet),
        };
        var dataset = new ImageFolderDataset(split, transform);
        if (!train && Directory.Exists(Path.Combine(path, FolderSplits[0])))
        {
            // Labels are positions in the sorted class list, so a test split with other classes would silently mislabel.
            IReadOnlyList<string> trainClasses = ImageFolderDataset.FindClasses(Path.Combine(path, FolderSplits[0]));
            if (!trainClasses.SequenceEqual(dataset.Classes, StringComparer.Ordinal))
            {
                throw new InvalidDataException(
                    $"The splits of '{path}' have different classes: train/ has {Describe(trainClasses)} but {Path.GetFileName(split)}/ has " +
                    $"{Describe(dataset.Classes)}; label indices would not agree.");
            }
        }

        return dataset;
    }

    private static string Describe(IReadOnlyList<string> classes) =>
        $"{classes.Count} ({string.Join(", ", classes.Take(10))}{(classes.Count > 10 ? ", …" : string.Empty)})";

    private static ArgumentException Unknown(string name) =>
        new($"Unknown dataset \"{name}\"; expected one of {string.Join(", ", Names)}, or the path of an existing folder with train/ and test/ (or val/) sub-folders of class folders.", nameof(name));
}
