using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// Reads IDX files, the format of MNIST and Fashion-MNIST: magic <c>00 00 TT DD</c> (TT the element
/// type, DD the number of dimensions), DD big-endian u32 sizes, then C-order data.
/// </summary>
/// <remarks>
/// Gzip-compressed files (first bytes 0x1F 0x8B, as MNIST is often shipped) are decompressed on the
/// fly. Validation is strict (stricter than torchvision, which tolerates trailing bytes in label
/// files): magic bytes 0–1 zero; type 0x08 (the other IDX types are named but not yet supported);
/// 1 to 3 dimensions; each dimension below 2^31; the payload exactly <c>product(dims)</c> bytes, neither
/// truncated nor followed by trailing bytes. Declared sizes are checked against the bytes actually
/// present before allocating; for gzip input only the declared bytes (at most the size cap) are ever
/// decompressed, which stops decompression bombs. Because <see cref="GZipStream"/> accepts a stream
/// cut inside its trailer, the trailer's ISIZE is compared with the decompressed length, so a
/// truncated <c>.gz</c> is rejected too (multi-member gzip files are therefore not supported).
/// </remarks>
public static class Idx
{
    /// <summary>The IDX type code of unsigned bytes (MNIST pixels and labels).</summary>
    public const byte UnsignedByte = 0x08;

    /// <summary>The default cap on the payload size: 1 GiB (MNIST's training images are 47 MB).</summary>
    public const long DefaultMaxPayloadBytes = 1L << 30;

    private const int TrailingProbeBytes = 1 << 20;

    /// <summary>Reads and validates an IDX file, plain or gzip-compressed.</summary>
    /// <param name="path">The file.</param>
    /// <param name="maxPayloadBytes">Reject files declaring more data than this (default 1 GiB).</param>
    /// <exception cref="IdxFormatException">The file is malformed; the message names it.</exception>
    /// <exception cref="IOException">The file cannot be opened or read.</exception>
    public static IdxArray Read(string path, long maxPayloadBytes = DefaultMaxPayloadBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Read(stream, path, maxPayloadBytes);
    }

    /// <summary>Reads and validates an IDX file, plain or gzip-compressed, from the stream's position to its end.</summary>
    /// <param name="stream">A readable stream; it is not closed. A non-seekable stream is first copied to memory.</param>
    /// <param name="sourceName">Named in error messages (usually the file path).</param>
    /// <param name="maxPayloadBytes">Reject files declaring more data than this (default 1 GiB).</param>
    /// <exception cref="IdxFormatException">The data is malformed; the message names <paramref name="sourceName"/>.</exception>
    public static IdxArray Read(Stream stream, string sourceName, long maxPayloadBytes = DefaultMaxPayloadBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(sourceName);
        ArgumentOutOfRangeException.ThrowIfNegative(maxPayloadBytes);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream must be readable.", nameof(stream));
        }

        if (!stream.CanSeek)
        {
            // The compressed or raw bytes that are physically there: no bomb risk in copying them.
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            return Read(copy, sourceName, maxPayloadBytes);
        }

        long start = stream.Position;
        Span<byte> signature = stackalloc byte[2];
        int got = stream.ReadAtLeast(signature, 2, throwOnEndOfStream: false);
        stream.Position = start;
        if (got == 2 && signature[0] == 0x1F && signature[1] == 0x8B)
        {
            // GZipStream accepts a stream cut inside its 8-byte trailer without complaint, so check
            // the trailer's ISIZE (uncompressed length mod 2^32) ourselves. A gzip member is at least
            // 18 bytes; multi-member (concatenated) gzip is not supported by this check.
            long compressed = stream.Length - start;
            if (compressed < 18)
            {
                throw new IdxFormatException(sourceName, $"gzip data is truncated: {compressed} bytes, but a gzip file has at least 18");
            }

            Span<byte> trailer = stackalloc byte[4];
            stream.Position = stream.Length - 4;
            stream.ReadExactly(trailer);
            uint isize = BinaryPrimitives.ReadUInt32LittleEndian(trailer);
            stream.Position = start;
            try
            {
                IdxArray array;
                using (var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true))
                {
                    array = ReadCore(gzip, available: null, sourceName, "decompressed ", maxPayloadBytes);
                }

                uint decompressed = unchecked((uint)(4 + (4 * array.Dims.Length) + array.Data.LongLength));
                if (decompressed != isize)
                {
                    throw new IdxFormatException(sourceName,
                        $"gzip trailer records {isize:N0} uncompressed bytes (mod 2^32) but {decompressed:N0} were decompressed; the file is truncated or corrupt");
                }

                return array;
            }
            catch (InvalidDataException ex)
            {
                throw new IdxFormatException($"IDX file '{sourceName}': the gzip data is corrupt: {ex.Message}", ex);
            }
        }

        return ReadCore(stream, stream.Length - start, sourceName, string.Empty, maxPayloadBytes);
    }

    /// <summary>The name of an IDX type code, e.g. "0x0D (float32)".</summary>
    internal static string DescribeType(byte type) => type switch
    {
        0x08 => "0x08 (unsigned byte)",
        0x09 => "0x09 (signed byte)",
        0x0B => "0x0B (int16)",
        0x0C => "0x0C (int32)",
        0x0D => "0x0D (float32)",
        0x0E => "0x0E (float64)",
        _ => $"0x{type:X2}",
    };

    internal static string FormatDims(IEnumerable<long> dims) =>
        "[" + string.Join(", ", dims.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    private static IdxArray ReadCore(Stream s, long? available, string source, string what, long maxPayloadBytes)
    {
        Span<byte> head = stackalloc byte[4];
        int got = s.ReadAtLeast(head, 4, throwOnEndOfStream: false);
        if (got < 4)
        {
            throw new IdxFormatException(source, $"{what}file is {got} bytes; an IDX file needs at least 4 (the magic number)");
        }

        if (head[0] != 0 || head[1] != 0)
        {
            throw new IdxFormatException(source,
                $"magic number {head[0]:X2} {head[1]:X2} {head[2]:X2} {head[3]:X2} does not start with two zero bytes, so this is not an IDX file");
        }

        byte type = head[2];
        if (type != UnsignedByte)
        {
            bool known = type is 0x09 or 0x0B or 0x0C or 0x0D or 0x0E;
            throw new IdxFormatException(source, known
                ? $"element type {DescribeType(type)} is not supported; only 0x08 (unsigned byte) is"
                : $"type byte 0x{type:X2} is not an IDX type (expected 0x08 unsigned byte; 0x09 signed byte, 0x0B int16, 0x0C int32, 0x0D float32 and 0x0E float64 exist but are not supported)");
        }

        int ndim = head[3];
        if (ndim is 0 or > 3)
        {
            throw new IdxFormatException(source, $"declares {ndim} dimensions; 1 to 3 are supported");
        }

        int headerLength = 4 + (4 * ndim);
        Span<byte> dimBytes = stackalloc byte[4 * ndim];
        got = s.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false);
        if (got < dimBytes.Length)
        {
            throw new IdxFormatException(source,
                $"header is truncated: {ndim} dimensions need a {headerLength}-byte header but the {what}file has {4 + got} bytes");
        }

        var dims = new int[ndim];
        long count = 1;
        bool overflow = false;
        for (int i = 0; i < ndim; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes[(4 * i)..]);
            if (d > int.MaxValue)
            {
                throw new IdxFormatException(source, $"dimension {i} is {d:N0}, which is not below 2^31");
            }

            dims[i] = (int)d;
            overflow |= d != 0 && count > long.MaxValue / d;
            count = overflow ? long.MaxValue : count * d;
        }

        long limit = Math.Min(maxPayloadBytes, Array.MaxLength);
        if (overflow || count > limit)
        {
            throw new IdxFormatException(source,
                $"dims {FormatDims(dims.Select(d => (long)d))} declare {(overflow ? "more than 2^63" : count.ToString("N0", CultureInfo.InvariantCulture))} bytes of data, over the {limit:N0}-byte limit");
        }

        if (available is long total && total - headerLength != count)
        {
            throw SizeMismatch(source, what, dims, headerLength, count, total - headerLength);
        }

        // Size already checked against the bytes present when known; otherwise grow as bytes arrive.
        byte[] data = ReadUpTo(s, count, initial: available is null ? Math.Min(count, 1 << 24) : count, out long read);
        if (read < count)
        {
            throw SizeMismatch(source, what, dims, headerLength, count, read);
        }

        if (available is null)
        {
            long extra = CountTrailing(s);
            if (extra > 0)
            {
                throw new IdxFormatException(source,
                    $"has trailing bytes: dims {FormatDims(dims.Select(d => (long)d))} need {count:N0} payload bytes after the {headerLength}-byte header, " +
                    $"but the {what}file has {(extra >= TrailingProbeBytes ? "at least " : string.Empty)}{Math.Min(extra, TrailingProbeBytes):N0} more");
            }
        }

        return new IdxArray(type, dims, data);
    }

    private static IdxFormatException SizeMismatch(string source, string what, int[] dims, int headerLength, long expected, long actual) =>
        new(source,
            $"payload is {(actual < expected ? "truncated" : "followed by trailing bytes")}: dims {FormatDims(dims.Select(d => (long)d))} need " +
            $"{expected:N0} bytes after the {headerLength}-byte header, but the {what}file has {actual:N0} " +
            $"(expected total {headerLength + expected:N0}, received {headerLength + actual:N0})");

    /// <summary>Reads up to <paramref name="count"/> bytes, growing the buffer as bytes arrive so a short stream costs little.</summary>
    private static byte[] ReadUpTo(Stream s, long count, long initial, out long read)
    {
        var buffer = new byte[initial];
        long filled = 0;
        while (filled < count)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(count, (long)buffer.Length * 2));
            }

            int n = s.Read(buffer, (int)filled, (int)(buffer.Length - filled));
            if (n == 0)
            {
                break;
            }

            filled += n;
        }

        read = filled;
        return buffer;
    }

    private static long CountTrailing(Stream s)
    {
        var probe = new byte[64 * 1024];
        long extra = 0;
        while (extra < TrailingProbeBytes)
        {
            int n = s.Read(probe, 0, probe.Length);
            if (n == 0)
            {
                break;
            }

            extra += n;
        }

        return extra;
    }
}
