using SharpCnn.Serialization;

namespace SharpCnn.Tests.Serialization;

public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-atomic-").FullName;

    public void Dispose()
    {
        RestoreWritable(_dir);
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Write_NewFile_CreatesItAndLeavesNoTemp()
    {
        string path = Path.Combine(_dir, "model.safetensors");

        Safetensors.Save(path, SafetensorsTestFiles.SmallModelTensors(), new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3" });

        Assert.Equal(SafetensorsTestFiles.SmallModel(), File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Write_FailingAfterEveryByteCount_KeepsPreviousFileIntactAndNoTemps()
    {
        string path = Path.Combine(_dir, "ckpt.safetensors");
        Safetensors.Save(path, [SafetensorsTensor.FromFloats("old", [2], [9f, 8f])]);
        byte[] previous = File.ReadAllBytes(path);
        byte[] next = SafetensorsTestFiles.SmallModel();
        SafetensorsTensor[] nextTensors = SafetensorsTestFiles.SmallModelTensors();
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3" };

        for (int failAfter = 0; failAfter < next.Length; failAfter++)
        {
            int n = failAfter;
            var ex = Assert.Throws<IOException>(() => AtomicFile.Write(
                path,
                stream => Safetensors.Write(new FailAfterStream(stream, n), nextTensors, metadata)));

            Assert.Contains("simulated", ex.Message);
            Assert.Equal(previous, File.ReadAllBytes(path));
            Assert.Equal([9f, 8f], Safetensors.Read(path)["old"].ToFloats());
            Assert.Equal([path], Directory.GetFiles(_dir));
        }

        AtomicFile.Write(path, stream => Safetensors.Write(new FailAfterStream(stream, next.Length), nextTensors, metadata));
        Assert.Equal(next, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Write_CallbackThrowsNonIoException_PropagatesUnchanged()
    {
        string path = Path.Combine(_dir, "x.bin");
        File.WriteAllBytes(path, [1, 2, 3]);

        var ex = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.WriteByte(9);
            throw new InvalidOperationException("boom");
        }));

        Assert.Equal("boom", ex.Message);
        Assert.Equal([1, 2, 3], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Write_MissingDirectory_ThrowsDirectoryNotFoundNamingIt()
    {
        string path = Path.Combine(_dir, "no-such-dir", "m.safetensors");
        var ex = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.Write(path, _ => { }));
        Assert.Contains("no-such-dir", ex.Message);
    }

    [Fact]
    public void Write_TargetIsADirectory_ThrowsIOException()
    {
        string path = Path.Combine(_dir, "sub");
        Directory.CreateDirectory(path);
        var ex = Assert.Throws<IOException>(() => AtomicFile.Write(path, _ => { }));
        Assert.Contains("directory", ex.Message);
    }

    /// <summary>
    /// Root bypasses directory permissions, so this cannot fail as root (CI runs as root): the
    /// attribute skips it there, and the test also probes the permission before asserting.
    /// </summary>
    [NonRootUnixFact]
    public void Write_ReadOnlyDirectory_ThrowsUnauthorizedAccessAndKeepsNothing()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string path = Path.Combine(_dir, "m.safetensors");
        File.SetUnixFileMode(_dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);

        Assert.Throws<UnauthorizedAccessException>(() => Safetensors.Save(path, SafetensorsTestFiles.SmallModelTensors()));

        RestoreWritable(_dir);
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void CleanStaleTemps_DeletesOnlyOurTempNames()
    {
        string[] temps =
        [
            Path.Combine(_dir, ".model.safetensors.0123456789abcdef0123456789abcdef.tmp"),
            Path.Combine(_dir, ".a.ffffffffffffffffffffffffffffffff.tmp"),
        ];
        string[] keep =
        [
            Path.Combine(_dir, "model.safetensors"),
            Path.Combine(_dir, ".hidden.tmp"),
            Path.Combine(_dir, ".model.0123456789ABCDEF0123456789ABCDEF.tmp"),
            Path.Combine(_dir, "x.0123456789abcdef0123456789abcdef.tmp"),
        ];
        foreach (string f in temps.Concat(keep))
        {
            File.WriteAllBytes(f, [1]);
        }

        int deleted = AtomicFile.CleanStaleTemps(_dir);

        Assert.Equal(2, deleted);
        Assert.Equal(keep.Order(StringComparer.Ordinal), Directory.GetFiles(_dir).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void CleanStaleTemps_MinimumAge_SparesFreshTemps()
    {
        string temp = Path.Combine(_dir, ".m.0123456789abcdef0123456789abcdef.tmp");
        File.WriteAllBytes(temp, [1]);

        Assert.Equal(0, AtomicFile.CleanStaleTemps(_dir, TimeSpan.FromHours(1)));
        File.SetLastWriteTimeUtc(temp, DateTime.UtcNow.AddHours(-2));
        Assert.Equal(1, AtomicFile.CleanStaleTemps(_dir, TimeSpan.FromHours(1)));
    }

    [Fact]
    public void CleanStaleTemps_MissingDirectory_ReturnsZero() =>
        Assert.Equal(0, AtomicFile.CleanStaleTemps(Path.Combine(_dir, "absent")));

    private static void RestoreWritable(string dir)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Passes writes through until <c>limit</c> bytes have gone, then throws like a full disk.</summary>
    private sealed class FailAfterStream(Stream inner, long limit) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            long room = limit - _written;
            if (buffer.Length > room)
            {
                inner.Write(buffer[..(int)Math.Max(room, 0)]);
                _written = limit;
                throw new IOException($"simulated write failure after {limit} bytes");
            }

            inner.Write(buffer);
            _written += buffer.Length;
        }
    }
}

/// <summary>A fact that runs only on Unix as a non-root user (root ignores permission bits).</summary>
public sealed class NonRootUnixFactAttribute : FactAttribute
{
    public NonRootUnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "Unix permission test.";
        }
        else if (Environment.IsPrivilegedProcess)
        {
            Skip = "Running as root, which bypasses directory permissions, so a read-only directory cannot be simulated.";
        }
    }
}
