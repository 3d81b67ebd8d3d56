using System.Globalization;

namespace SharpCnn.Serialization;

/// <summary>
/// Test-only fault injection for checkpoint writes, so crash safety can be tested deterministically: with the
/// environment variable <c>SHARPCNN_TEST_CRASH_CHECKPOINT=K:N</c>, the process dies (<see cref="Environment.FailFast(string)"/>,
/// as a kill would: no finally blocks, no cleanup) after N bytes of the K-th checkpoint file it writes (1-based,
/// counting every file written through <see cref="Checkpoint.Save(string, CheckpointInfo, IEnumerable{KeyValuePair{string, Tensor}}, IEnumerable{KeyValuePair{string, Tensor}}?, IEnumerable{KeyValuePair{string, Tensor}}?)"/>
/// or <see cref="Checkpoint.CopyFile"/>) have reached the temp file. Never set it outside tests.
/// </summary>
internal static class CheckpointFaultInjection
{
    public const string Variable = "SHARPCNN_TEST_CRASH_CHECKPOINT";

    private static readonly (int File, long Bytes)? s_plan = Parse(Environment.GetEnvironmentVariable(Variable));
    private static int s_filesStarted;

    /// <summary>The stream to write checkpoint file contents to: <paramref name="stream"/> itself unless a crash is planned for this file.</summary>
    public static Stream Wrap(Stream stream)
    {
        if (s_plan is not { } plan)
        {
            return stream;
        }

        int file = Interlocked.Increment(ref s_filesStarted);
        return file == plan.File ? new CrashingStream(stream, plan.Bytes) : stream;
    }

    private static (int, long)? Parse(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        string[] parts = value.Split(':');
        return parts.Length == 2
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int file) && file >= 1
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long bytes)
            ? (file, bytes)
            : throw new InvalidOperationException($"{Variable}=\"{value}\" is malformed; expected K:N (crash after N bytes of the K-th checkpoint file).");
    }

    /// <summary>Passes writes through until the budget is spent, makes the bytes written so far reach the file, then ends the process.</summary>
    private sealed class CrashingStream(Stream inner, long budget) : Stream
    {
        private long _left = budget;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => throw new NotSupportedException();
        }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            if (buffer.Length < _left)
            {
                inner.Write(buffer);
                _left -= buffer.Length;
                return;
            }

            inner.Write(buffer[..(int)_left]);
            inner.Flush();
            Environment.FailFast($"{Variable}: simulated crash while writing a checkpoint (test-only fault injection)");
        }
    }
}
