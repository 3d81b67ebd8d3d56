using SharpCnn.Data;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// Images arranged one folder per class, <c>root/&lt;class&gt;/**/&lt;image&gt;</c>, as torchvision's
/// <c>datasets.ImageFolder</c>: each sample is an image decoded to an RGB float tensor [3, H, W] in [0, 1]
/// (<see cref="ImageDecoder"/>), passed through an optional per-sample transform, with the class index as label.
/// </summary>
/// <remarks>
/// <para>
/// Order, equal to torchvision's so label indices match weights trained there: the classes are the immediate
/// sub-folders of the root (hidden ones included, as torchvision does) sorted ordinally
/// (<see cref="string.CompareOrdinal(string, string)"/>, i.e. by UTF-16 code unit: the same as Python's code-point
/// order except for names mixing characters above U+FFFF with ones in U+E000–U+FFFF); the class index is the position.
/// Within a class, every directory below it is visited in ordinal order of its full path (as Python's
/// <c>sorted(os.walk(...))</c>) and its files in ordinal order of their names; a file is kept when its name ends,
/// case-insensitively, in one of <see cref="Extensions"/>. Symbolic links to folders are followed (torchvision walks
/// with <c>followlinks=True</c>); a link back to one of its own ancestors is an error rather than an endless walk.
/// </para>
/// <para>
/// The folder is scanned once, in the constructor; images are decoded on every <see cref="Get"/>, so a bad image is
/// reported (as <see cref="InvalidDataException"/> naming the file) when it is first read. Images may differ in size:
/// give a transform that brings them to one size (e.g. a resize and centre crop) before batching them. Random
/// augmentation belongs in the <see cref="DataLoader"/>'s transforms; the transform here runs on every read.
/// </para>
/// </remarks>
public sealed class ImageFolderDataset : IClassDataset
{
    // Hidden and system entries are included (the defaults skip them), as Python's os.scandir does.
    private static readonly EnumerationOptions s_allEntries = new()
    {
        AttributesToSkip = FileAttributes.None,
        IgnoreInaccessible = false,
        RecurseSubdirectories = false,
        ReturnSpecialDirectories = false,
    };

    private readonly Func<Tensor, Tensor>? _transform;
    private readonly (string Path, int Label)[] _samples;

    /// <summary>Scans <paramref name="root"/> for class folders and images.</summary>
    /// <param name="root">The folder holding one sub-folder per class.</param>
    /// <param name="transform">Applied to each decoded [C, H, W] tensor (e.g. resize, crop, <see cref="Normalize"/>); null for none.</param>
    /// <param name="grayscale">Decode to one channel [1, H, W] (<see cref="ImageDecoder.DecodeGrayscale(string, long)"/>) instead of RGB.</param>
    /// <param name="maxPixels">Refuse images with more pixels than this, before decoding them (default 64 megapixels).</param>
    /// <exception cref="DirectoryNotFoundException"><paramref name="root"/> does not exist.</exception>
    /// <exception cref="FileNotFoundException">The root has no class folder, or a class folder holds no image file.</exception>
    /// <exception cref="IOException">A symbolic-link loop was found, or a folder cannot be read.</exception>
    /// <exception cref="UnauthorizedAccessException">A folder may not be listed.</exception>
    public ImageFolderDataset(string root, ITransform? transform = null, bool grayscale = false, long maxPixels = ImageDecoder.DefaultMaxPixels)
        : this(root, transform is null ? null : transform.Apply, grayscale, maxPixels)
    {
    }

    /// <summary>Scans <paramref name="root"/> for class folders and images, with the transform given as a function.</summary>
    /// <inheritdoc cref="ImageFolderDataset(string, ITransform, bool, long)"/>
    public ImageFolderDataset(string root, Func<Tensor, Tensor>? transform, bool grayscale = false, long maxPixels = ImageDecoder.DefaultMaxPixels)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        if (!Directory.Exists(root))
        {
            throw new DirectoryNotFoundException($"Image folder '{root}' not found; expected a folder with one sub-folder of images per class.");
        }

        Root = root;
        _transform = transform;
        Grayscale = grayscale;
        MaxPixels = maxPixels;
        Classes = FindClasses(root);
        var samples = new List<(string, int)>();
        var empty = new List<string>();
        for (int c = 0; c < Classes.Count; c++)
        {
            int before = samples.Count;
            foreach (string file in FindImages(Path.Combine(root, Classes[c])))
            {
                samples.Add((file, c));
            }

            if (samples.Count == before)
            {
                empty.Add(Classes[c]);
            }
        }

        if (empty.Count != 0)
        {
            throw new FileNotFoundException(
                $"Found no valid file for the class{(empty.Count == 1 ? string.Empty : "es")} {string.Join(", ", empty.Select(e => $"'{e}'"))} in '{root}'. " +
                $"Supported extensions are: {string.Join(", ", Extensions)}.");
        }

        _samples = [.. samples];
    }

    /// <summary>The file endings kept (torchvision's <c>IMG_EXTENSIONS</c>), compared case-insensitively.</summary>
    public static IReadOnlyList<string> Extensions { get; } = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"];

    /// <summary>The folder that was scanned.</summary>
    public string Root { get; }

    /// <summary>The class names (the sub-folder names) in label order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Whether images are decoded to one grey channel instead of RGB.</summary>
    public bool Grayscale { get; }

    /// <summary>The pixel limit each image is checked against before decoding.</summary>
    public long MaxPixels { get; }

    /// <summary>Every (file path, label) pair in sample order.</summary>
    public IReadOnlyList<(string Path, int Label)> Samples => _samples;

    /// <inheritdoc/>
    public int Count => _samples.Length;

    /// <summary>Whether <paramref name="fileName"/> ends (case-insensitively) in one of <see cref="Extensions"/>.</summary>
    public static bool HasImageExtension(string fileName)
    {
        ArgumentNullException.ThrowIfNull(fileName);
        foreach (string e in Extensions)
        {
            if (fileName.EndsWith(e, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Decodes sample <paramref name="index"/> and applies the transform.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, Count).</exception>
    /// <exception cref="InvalidDataException">The image is corrupt, unsupported or too large; the message names the file.</exception>
    /// <exception cref="FileNotFoundException">The file was removed after the scan.</exception>
    public (Tensor Input, int Label) Get(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)Count, nameof(index));
        (string path, int label) = _samples[index];
        Tensor image = Grayscale ? ImageDecoder.DecodeGrayscale(path, MaxPixels) : ImageDecoder.DecodeRgb(path, MaxPixels);
        return (_transform is null ? image : _transform(image), label);
    }

    /// <summary>The class names under <paramref name="root"/>: its immediate sub-folders (hidden ones included), sorted ordinally.</summary>
    /// <exception cref="FileNotFoundException">The root has no sub-folder.</exception>
    /// <exception cref="DirectoryNotFoundException">The root does not exist.</exception>
    public static IReadOnlyList<string> FindClasses(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        string[] classes = new DirectoryInfo(root).EnumerateDirectories("*", s_allEntries).Select(d => d.Name).ToArray();
        if (classes.Length == 0)
        {
            throw new FileNotFoundException($"Couldn't find any class folder in '{root}'; expected one sub-folder of images per class (root/<class>/<image>).");
        }

        Array.Sort(classes, StringComparer.Ordinal);
        return Array.AsReadOnly(classes);
    }

    /// <summary>The image files below a class folder in torchvision's order: directories by full path, then files by name.</summary>
    private static List<string> FindImages(string classDir)
    {
        var directories = new List<string>();
        Walk(classDir, RealPath(new DirectoryInfo(classDir)), [], directories);
        directories.Sort(StringComparer.Ordinal);
        var files = new List<string>();
        foreach (string dir in directories)
        {
            string[] names = new DirectoryInfo(dir).EnumerateFiles("*", s_allEntries).Select(f => f.Name).Where(HasImageExtension).ToArray();
            Array.Sort(names, StringComparer.Ordinal);
            files.AddRange(names.Select(n => Path.Combine(dir, n)));
        }

        return files;
    }

    private static void Walk(string dir, string real, HashSet<string> ancestors, List<string> directories)
    {
        directories.Add(dir);
        ancestors.Add(real);
        foreach (DirectoryInfo sub in new DirectoryInfo(dir).EnumerateDirectories("*", s_allEntries))
        {
            // A plain folder's real path extends its parent's; a link's is its final target.
            string subReal = sub.LinkTarget is null ? Path.Combine(real, sub.Name) : RealPath(sub);
            if (ancestors.Contains(subReal))
            {
                throw new IOException($"Symbolic-link loop in the image folder: '{sub.FullName}' leads back to its ancestor '{subReal}'.");
            }

            Walk(Path.Combine(dir, sub.Name), subReal, ancestors, directories);
        }

        ancestors.Remove(real);
    }

    private static string RealPath(DirectoryInfo dir) =>
        Path.TrimEndingDirectorySeparator(dir.LinkTarget is null ? dir.FullName : dir.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? dir.FullName);
}
