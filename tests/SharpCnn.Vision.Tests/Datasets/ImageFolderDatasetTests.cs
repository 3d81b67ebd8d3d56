using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Transforms;
using SkiaSharp;
using static SharpCnn.Vision.Tests.Datasets.ImageTestFiles;

namespace SharpCnn.Vision.Tests.Datasets;

public sealed class ImageFolderDatasetTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpcnn-folder-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    /// <summary>Writes a PNG (width = <paramref name="size"/>, height 2) at <paramref name="relative"/> under the root.</summary>
    private string Png(string relative, int size = 3)
    {
        string path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, EncodeRgba(Pattern(size, 2), size, 2, SKEncodedImageFormat.Png));
        return path;
    }

    private string Rel(string path) => Path.GetRelativePath(_root, path).Replace('\\', '/');

    [Fact]
    public void Classes_SortedOrdinally_IndexIsPosition()
    {
        foreach (string c in new[] { "b", "B", "a10", "a2", "_x", "Ä" })
        {
            Png($"{c}/1.png");
        }

        var ds = new ImageFolderDataset(_root);

        // Ordinal: 'B' (0x42) < '_' (0x5F) < 'a' (0x61) < 'b' (0x62) < 'Ä' (0xC4); "a10" < "a2" character by character.
        Assert.Equal(["B", "_x", "a10", "a2", "b", "Ä"], ds.Classes);
        Assert.Equal([0, 1, 2, 3, 4, 5], ds.Samples.Select(s => s.Label));
        Assert.Equal(["B/1.png", "_x/1.png", "a10/1.png", "a2/1.png", "b/1.png", "Ä/1.png"], ds.Samples.Select(s => Rel(s.Path)));
    }

    [Fact]
    public void Samples_ExtensionFilterIsTorchvisionsCaseInsensitive()
    {
        Png("c/a.PNG");
        Png("c/b.JpEg");
        foreach (string name in new[] { "c.txt", "d.gif", "e.png.bak", "f.jpg~", "noext" })
        {
            File.WriteAllText(Path.Combine(_root, "c", name), "not an image");
        }

        foreach (string ext in ImageFolderDataset.Extensions)
        {
            File.WriteAllText(Path.Combine(_root, "c", "z" + ext), "named as an image");
        }

        var ds = new ImageFolderDataset(_root);

        Assert.Equal(
            ["c/a.PNG", "c/b.JpEg", "c/z.bmp", "c/z.jpeg", "c/z.jpg", "c/z.pgm", "c/z.png", "c/z.ppm", "c/z.tif", "c/z.tiff", "c/z.webp"],
            ds.Samples.Select(s => Rel(s.Path)));
    }

    [Fact]
    public void Samples_NestedFiles_InSortedWalkOrder()
    {
        Png("cls/z.png");
        Png("cls/a/2.png");
        Png("cls/a/1.png");
        Png("cls/a b/x.png");
        Png("cls/a/c/y.png");
        Png("cls/B/q.png");

        var ds = new ImageFolderDataset(_root);

        // Python's sorted(os.walk(...)) orders directories by full path: "cls" < "cls/B" < "cls/a" < "cls/a b" < "cls/a/c"
        // (' ' 0x20 sorts before '/' 0x2F), and each directory's files by name.
        Assert.Equal(
            ["cls/z.png", "cls/B/q.png", "cls/a/1.png", "cls/a/2.png", "cls/a b/x.png", "cls/a/c/y.png"],
            ds.Samples.Select(s => Rel(s.Path)));
    }

    [Fact]
    public void Samples_HiddenFilesAndFoldersIncluded_AsTorchvision()
    {
        Png("cls/.hidden.png");
        Png(".cache/1.png");

        var ds = new ImageFolderDataset(_root);

        Assert.Equal([".cache", "cls"], ds.Classes);
        Assert.Equal(["cls/.hidden.png"], ds.Samples.Where(s => s.Label == 1).Select(s => Rel(s.Path)));
    }

    [Fact]
    public void Constructor_EmptyClassFolder_NamesIt()
    {
        Png("cat/1.png");
        Directory.CreateDirectory(Path.Combine(_root, "dog", "deep"));
        File.WriteAllText(Path.Combine(_root, "dog", "deep", "notes.txt"), "x");

        var ex = Assert.Throws<FileNotFoundException>(() => new ImageFolderDataset(_root));

        Assert.Contains("Found no valid file for the class 'dog'", ex.Message, StringComparison.Ordinal);
        Assert.Contains(".webp", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NoClassFolders_Rejected()
    {
        Png("loose.png");
        var ex = Assert.Throws<FileNotFoundException>(() => new ImageFolderDataset(_root));
        Assert.Contains("Couldn't find any class folder", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_MissingRoot_Rejected() =>
        Assert.Throws<DirectoryNotFoundException>(() => new ImageFolderDataset(Path.Combine(_root, "absent")));

    [Fact]
    public void Constructor_SymlinkLoop_ReportedNotEndless()
    {
        Png("cls/1.png");
        Directory.CreateDirectory(Path.Combine(_root, "cls", "sub"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "cls", "sub", "up"), Path.Combine(_root, "cls"));

        var ex = Assert.Throws<IOException>(() => new ImageFolderDataset(_root));

        Assert.Contains("Symbolic-link loop", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_SymlinkedFolder_Followed()
    {
        string outside = Directory.CreateTempSubdirectory("sharpcnn-outside-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(outside, "o.png"), EncodeRgba(Pattern(2, 2), 2, 2, SKEncodedImageFormat.Png));
            Png("cls/1.png");
            Directory.CreateSymbolicLink(Path.Combine(_root, "cls", "linked"), outside);
            Directory.CreateSymbolicLink(Path.Combine(_root, "other"), outside);

            var ds = new ImageFolderDataset(_root);

            Assert.Equal(["cls", "other"], ds.Classes);
            Assert.Equal(["cls/1.png", "cls/linked/o.png", "other/o.png"], ds.Samples.Select(s => Rel(s.Path)));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Get_DecodesToRgbAndAppliesTransform()
    {
        string path = Png("cls/1.png", size: 4);

        var plain = new ImageFolderDataset(_root);
        (Tensor x, int label) = plain.Get(0);
        Assert.Equal(0, label);
        Assert.Equal([3, 2, 4], x.Shape);
        Assert.Equal(ImageDecoder.DecodeRgb(path).ToArray(), x.ToArray());

        var normalized = new ImageFolderDataset(_root, new Normalize([0.5f, 0.5f, 0.5f], [0.5f, 0.5f, 0.5f]));
        Assert.Equal(x.ToArray().Select(v => (v - 0.5f) / 0.5f), normalized.Get(0).Input.ToArray());

        var viaFunc = new ImageFolderDataset(_root, t => t.Reshape(3, 8));
        Assert.Equal([3, 8], viaFunc.Get(0).Input.Shape);
    }

    [Fact]
    public void Get_Grayscale_GivesOneChannel()
    {
        Png("cls/1.png", size: 5);
        Assert.Equal([1, 2, 5], new ImageFolderDataset(_root, grayscale: true).Get(0).Input.Shape);
    }

    [Fact]
    public void Get_CorruptImage_NamesFileOnRead()
    {
        Png("cls/1.png");
        string bad = Path.Combine(_root, "cls", "2.png");
        File.WriteAllBytes(bad, [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3, 4, 5, 6, 7, 8, 9]);

        var ds = new ImageFolderDataset(_root);
        Assert.Equal(2, ds.Count);
        ds.Get(0);

        var ex = Assert.Throws<InvalidDataException>(() => ds.Get(1));
        Assert.Contains(bad, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Get_OverPixelLimit_Refused()
    {
        Png("cls/1.png", size: 10);
        var ds = new ImageFolderDataset(_root, maxPixels: 19);
        Assert.Contains("over the limit of 19", Assert.Throws<InvalidDataException>(() => ds.Get(0)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HasImageExtension_MatchesTorchvisionEndings()
    {
        Assert.True(ImageFolderDataset.HasImageExtension("x.TIFF"));
        Assert.True(ImageFolderDataset.HasImageExtension(".jpg"));
        Assert.False(ImageFolderDataset.HasImageExtension("x.gif"));
        Assert.False(ImageFolderDataset.HasImageExtension("xjpg"));
    }
}
