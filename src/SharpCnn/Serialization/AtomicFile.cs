namespace SharpCnn.Serialization;

/// <summary>
/// Replaces a file so that readers see either the old contents or the complete new contents,
/// never a torn file: write a temp file in the same directory, flush it to disk, rename it over
/// the target (rename(2) is atomic within one file system).
/// </summary>
/// <remarks>
/// Temp files are named <c>.{file name}.{32 hex digits}.tmp</c> beside the target, so they are on
/// the same file system (staging in <c>$TMPDIR</c> can cross devices or run out of space, Lightning
/// #21253). On failure the temp file is deleted and the exception rethrown unchanged; a process
/// killed mid-write can leave one behind, which <see cref="CleanStaleTemps"/> removes. The directory
/// entry itself is not fsynced (.NET has no managed API for it): after a power loss the rename may
/// be lost, leaving the previous complete file, never a partial one. If the target is a symbolic
/// link, the link itself is replaced by a regular file (rename semantics); its old target is untouched.
/// </remarks>
public static class AtomicFile
{
    private const string TempSuffix = ".tmp";

    /// <summary>Atomically replaces (or creates) <paramref name="path"/> with what <paramref name="write"/> writes.</summary>
    /// <param name="path">The target file; its directory must exist.</param>
    /// <param name="write">Writes the full contents to the given stream; it must not close it.</param>
    /// <exception cref="DirectoryNotFoundException">The target's directory does not exist.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    /// <exception cref="IOException">Writing, flushing or renaming failed (e.g. the target is a directory).</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string fullPath = Path.GetFullPath(path);
        string fileName = Path.GetFileName(fullPath);
        if (fileName.Length == 0)
        {
            throw new ArgumentException($"Expected a file path, but got the directory path \"{path}\".", nameof(path));
        }

        string directory = Path.GetDirectoryName(fullPath)!;
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"Cannot write \"{fullPath}\": the directory \"{directory}\" does not exist.");
        }

        if (Directory.Exists(fullPath))
        {
            throw new IOException($"Cannot write \"{fullPath}\": a directory already has that name.");
        }

        string tempPath = Path.Combine(directory, TempName(fileName));
        try
        {
            using (var stream = new FileStream(tempPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(tempPath, fullPath, overwrite: true);
        }
        catch
        {
            TryDelete(tempPath);
            throw;
        }
    }

    /// <summary>
    /// Deletes temp files left in <paramref name="directory"/> by interrupted <see cref="Write"/> calls
    /// (names <c>.{name}.{32 hex}.tmp</c>); other files are never touched.
    /// </summary>
    /// <param name="directory">The directory to clean; nothing happens when it does not exist.</param>
    /// <param name="minimumAge">Only delete temps last written at least this long ago, so a write in
    /// progress in another process survives; default zero (delete all).</param>
    /// <returns>The number of files deleted.</returns>
    public static int CleanStaleTemps(string directory, TimeSpan minimumAge = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        if (!Directory.Exists(directory))
        {
            return 0;
        }

        int deleted = 0;
        DateTime cutoff = DateTime.UtcNow - minimumAge;
        foreach (string file in Directory.EnumerateFiles(directory, "." + "*" + TempSuffix))
        {
            if (IsTempName(Path.GetFileName(file)) && File.GetLastWriteTimeUtc(file) <= cutoff && TryDelete(file))
            {
                deleted++;
            }
        }

        return deleted;
    }

    /// <summary>Whether a file name has the shape of this class's temp files.</summary>
    internal static bool IsTempName(string name)
    {
        // ".{file}.{32 hex}.tmp": at least 1 + 1 + 1 + 32 + 4 characters.
        const int GuidLength = 32;
        if (name.Length < 1 + 1 + 1 + GuidLength + TempSuffix.Length || name[0] != '.' || !name.EndsWith(TempSuffix, StringComparison.Ordinal))
        {
            return false;
        }

        int guidStart = name.Length - TempSuffix.Length - GuidLength;
        if (name[guidStart - 1] != '.')
        {
            return false;
        }

        foreach (char c in name.AsSpan(guidStart, GuidLength))
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }

        return true;
    }

    private static string TempName(string fileName) => $".{fileName}.{Guid.NewGuid():N}{TempSuffix}";

    private static bool TryDelete(string path)
    {
        try
        {
            File.Delete(path);
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }
}
