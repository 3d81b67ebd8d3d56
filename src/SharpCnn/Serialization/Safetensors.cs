using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Unicode;

namespace SharpCnn.Serialization;

/// <summary>
/// Reads and writes the safetensors format (huggingface/safetensors): an 8-byte little-endian
/// header length N, N bytes of UTF-8 JSON
/// <c>{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}</c>,
/// then the data buffer, each tensor a row-major little-endian byte range of it.
/// </summary>
/// <remarks>
/// <para><b>Reading</b> validates everything before returning: header length in 2..100,000,000 and
/// inside the file; UTF-8; a JSON object starting with <c>{</c>; no duplicate keys (at any level);
/// known dtypes; integer non-negative shapes; no <c>numel·size</c> overflow; byte ranges that,
/// sorted, start at 0 and follow one another without gaps or overlaps; each range exactly
/// <c>numel·size</c> bytes; the data section exactly as long as the last range's end; metadata
/// string→string; no missing and no extra fields. Every violation is a
/// <see cref="SafetensorsFormatException"/>; a truncated file never gives another exception type.</para>
/// <para><b>Writing</b> follows the reference writer byte for byte: tensors sorted by dtype
/// (descending in the reference's order BOOL &lt; U8 &lt; I8 &lt; I16 &lt; U16 &lt; F16 &lt; BF16 &lt; I32 &lt; U32
/// &lt; F32 &lt; F64 &lt; I64 &lt; U64, which puts larger alignments first) and then by name (ordinal), offsets contiguous from 0, compact JSON with
/// <c>__metadata__</c> first (keys sorted ordinally; omitted when empty), header padded with spaces to a
/// multiple of 8 bytes so the data section is 8-byte aligned. Output is deterministic.</para>
/// <para>Element bytes are carried as-is; the format is little-endian, and the float/long helpers
/// on <see cref="SafetensorsTensor"/> convert on big-endian hosts.</para>
/// </remarks>
public static class Safetensors
{
    /// <summary>The reserved header key holding string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The largest header the reader accepts (the reference implementation's limit).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private static readonly JsonWriterOptions s_writerOptions = new()
    {
        Indented = false,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    /// <summary>Reads and validates a safetensors file.</summary>
    /// <exception cref="SafetensorsFormatException">The file breaks the format; the message names the file.</exception>
    /// <exception cref="IOException">The file cannot be opened or read.</exception>
    public static SafetensorsFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return Read(stream, path);
    }

    /// <summary>Reads and validates safetensors bytes.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="sourceName">Named in error messages; defaults to <c>&lt;bytes&gt;</c>.</param>
    /// <exception cref="SafetensorsFormatException">The bytes break the format.</exception>
    public static SafetensorsFile Read(byte[] bytes, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        using var stream = new MemoryStream(bytes, writable: false);
        return Read(stream, sourceName ?? "<bytes>");
    }

    /// <summary>
    /// Reads and validates a safetensors file from the stream's current position to its end.
    /// A non-seekable stream is first copied to memory (its length must be known to validate).
    /// </summary>
    /// <param name="stream">A readable stream; it is not closed.</param>
    /// <param name="sourceName">Named in error messages; defaults to <c>&lt;stream&gt;</c>.</param>
    /// <exception cref="SafetensorsFormatException">The data breaks the format.</exception>
    public static SafetensorsFile Read(Stream stream, string? sourceName = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead)
        {
            throw new ArgumentException("The stream must be readable.", nameof(stream));
        }

        string source = sourceName ?? "<stream>";
        if (!stream.CanSeek)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            return ReadCore(copy, copy.Length, source);
        }

        return ReadCore(stream, stream.Length - stream.Position, source);
    }

    /// <summary>
    /// Writes tensors and metadata in safetensors format (see the class remarks for the layout).
    /// </summary>
    /// <param name="stream">A writable stream; it is not closed or flushed to disk.</param>
    /// <param name="tensors">Tensors with unique names; written sorted by dtype (descending, see remarks), then name.</param>
    /// <param name="metadata">Optional string metadata; null or empty writes no <c>__metadata__</c>.</param>
    /// <exception cref="ArgumentException">Two tensors share a name, or the header would exceed <see cref="MaxHeaderBytes"/>.</exception>
    public static void Write(Stream stream, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        List<SafetensorsTensor> ordered = OrderForWriting(tensors);
        byte[] header = BuildHeader(ordered, metadata);

        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (SafetensorsTensor t in ordered)
        {
            stream.Write(t.Data);
        }
    }

    /// <summary>
    /// Writes a safetensors file atomically: a crash or error mid-write leaves any previous file
    /// at <paramref name="path"/> untouched (see <see cref="AtomicFile.Write"/>).
    /// </summary>
    public static void Save(string path, IEnumerable<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        List<SafetensorsTensor> list = tensors.ToList();
        AtomicFile.Write(path, stream => Write(stream, list, metadata));
    }

    private static List<SafetensorsTensor> OrderForWriting(IEnumerable<SafetensorsTensor> tensors)
    {
        var list = new List<SafetensorsTensor>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (SafetensorsTensor t in tensors)
        {
            if (t is null)
            {
                throw new ArgumentException("The tensor list contains null.", nameof(tensors));
            }

            if (!names.Add(t.Name))
            {
                throw new ArgumentException($"Tensor name '{t.Name}' appears more than once; names must be unique.", nameof(tensors));
            }

            list.Add(t);
        }

        // The reference writer's order (safetensors/src/tensor.rs `prepare`): dtype descending in
        // its enum order, then name. That order puts larger alignments first, so every tensor starts
        // at a multiple of its element size (the data section itself is 8-byte aligned).
        list.Sort((a, b) =>
        {
            int byDtype = ((int)b.Dtype).CompareTo((int)a.Dtype);
            return byDtype != 0 ? byDtype : string.CompareOrdinal(a.Name, b.Name);
        });
        return list;
    }

    private static byte[] BuildHeader(List<SafetensorsTensor> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(MetadataKey);
                foreach (KeyValuePair<string, string> kv in metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                {
                    if (kv.Key is null || kv.Value is null)
                    {
                        throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
                    }

                    json.WriteString(kv.Key, kv.Value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (SafetensorsTensor t in ordered)
            {
                json.WriteStartObject(t.Name);
                json.WriteString("dtype", t.Dtype.ToFileName());
                json.WriteStartArray("shape");
                foreach (long d in t.Shape)
                {
                    json.WriteNumberValue(d);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                offset = checked(offset + t.Data.LongLength);
                json.WriteNumberValue(offset);
                json.WriteEndArray();
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        // Pad with spaces (valid JSON whitespace) to a multiple of 8, as the reference writer does.
        long padded = (buffer.WrittenCount + 7L) / 8 * 8;
        if (padded > MaxHeaderBytes)
        {
            throw new ArgumentException(
                $"The safetensors header would be {padded:N0} bytes; the format allows at most {MaxHeaderBytes:N0}.",
                nameof(ordered));
        }

        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static SafetensorsFile ReadCore(Stream stream, long available, string source)
    {
        if (available < 8)
        {
            throw Fail(source, $"file is {available:N0} bytes, but a safetensors file needs at least 8 (the header length)");
        }

        Span<byte> prefix = stackalloc byte[8];
        ReadExactly(stream, prefix, source);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength > (ulong)MaxHeaderBytes)
        {
            throw Fail(source, $"header length {headerLength:N0} exceeds the limit of {MaxHeaderBytes:N0} bytes");
        }

        long n = (long)headerLength;
        if (n > available - 8)
        {
            throw Fail(source, $"header length {n:N0} runs past the end of the file: only {available - 8:N0} bytes follow the 8-byte length");
        }

        var header = new byte[n];
        ReadExactly(stream, header, source);
        (List<Entry> entries, Dictionary<string, string> metadata) = ParseHeader(header, source);
        long dataLength = available - 8 - n;
        ValidateLayout(entries, dataLength, source);

        var tensors = new List<SafetensorsTensor>(entries.Count);
        foreach (Entry e in entries)
        {
            // Ranges are contiguous from 0 (validated), so reading them in order is sequential.
            var data = new byte[e.End - e.Begin];
            ReadExactly(stream, data, source);
            tensors.Add(new SafetensorsTensor(e.Name, e.Dtype, e.Shape, data));
        }

        return new SafetensorsFile(tensors, metadata);
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string source)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw new SafetensorsFormatException($"safetensors: {source}: the file ended before its declared length (it may be truncated or still being written)", ex);
        }
    }

    private readonly record struct Entry(string Name, SafetensorsDtype Dtype, long[] Shape, long Begin, long End, int Order);

    private static (List<Entry> Entries, Dictionary<string, string> Metadata) ParseHeader(byte[] header, string source)
    {
        if (header.Length == 0 || header[0] != (byte)'{')
        {
            throw Fail(source, header.Length == 0
                ? "header is empty; expected a JSON object"
                : $"header must start with '{{' but starts with byte 0x{header[0]:X2}");
        }

        if (!Utf8.IsValid(header))
        {
            throw Fail(source, "header is not valid UTF-8");
        }

        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var keys = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 16 });
            reader.Read(); // StartObject, guaranteed by the '{' check (or a JsonException)
            while (true)
            {
                Next(ref reader, source);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                string key = reader.GetString()!;
                if (!keys.Add(key))
                {
                    throw Fail(source, $"header has the key '{key}' more than once");
                }

                Next(ref reader, source);
                if (key == MetadataKey)
                {
                    ParseMetadata(ref reader, metadata, source);
                }
                else
                {
                    entries.Add(ParseTensor(ref reader, key, entries.Count, source));
                }
            }

            if (reader.Read())
            {
                throw Fail(source, $"header has content after its JSON object ({reader.TokenType})");
            }
        }
        catch (JsonException ex)
        {
            throw new SafetensorsFormatException($"safetensors: {source}: header is not valid JSON: {ex.Message}", ex);
        }

        return (entries, metadata);
    }

    private static void Next(ref Utf8JsonReader reader, string source)
    {
        if (!reader.Read())
        {
            throw Fail(source, "header JSON ends early");
        }
    }

    private static void ParseMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string source)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(source, $"{MetadataKey} must be an object of string to string, but is {Describe(ref reader)}");
        }

        while (true)
        {
            Next(ref reader, source);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return;
            }

            string key = reader.GetString()!;
            Next(ref reader, source);
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Fail(source, $"{MetadataKey} entry '{key}' must be a string, but is {Describe(ref reader)}");
            }

            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Fail(source, $"{MetadataKey} has the key '{key}' more than once");
            }
        }
    }

    private static Entry ParseTensor(ref Utf8JsonReader reader, string name, int order, string source)
    {
        if (name.Length == 0)
        {
            throw Fail(source, "header has a tensor with an empty name");
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(source, $"tensor '{name}' must be an object with dtype, shape and data_offsets, but is {Describe(ref reader)}");
        }

        SafetensorsDtype? dtype = null;
        List<long>? shape = null;
        List<long>? offsets = null;
        while (true)
        {
            Next(ref reader, source);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            string field = reader.GetString()!;
            Next(ref reader, source);
            switch (field)
            {
                case "dtype" when dtype is null:
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Fail(source, $"tensor '{name}' dtype must be a string, but is {Describe(ref reader)}");
                    }

                    string dtypeName = reader.GetString()!;
                    if (!SafetensorsDtypes.TryParse(dtypeName, out SafetensorsDtype parsed))
                    {
                        throw Fail(source, $"tensor '{name}' has dtype \"{dtypeName}\", which is not supported " +
                            "(expected one of BOOL, U8, I8, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64)");
                    }

                    dtype = parsed;
                    break;
                case "shape" when shape is null:
                    shape = ReadIntegers(ref reader, name, "shape", source);
                    foreach (long d in shape)
                    {
                        if (d < 0)
                        {
                            throw Fail(source, $"tensor '{name}' has a negative dimension {d} in shape {SafetensorsTensor.FormatShape(shape)}");
                        }
                    }

                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadIntegers(ref reader, name, "data_offsets", source);
                    if (offsets.Count != 2 || offsets[0] < 0 || offsets[1] < 0)
                    {
                        throw Fail(source, $"tensor '{name}' data_offsets must be [begin, end] with both ≥ 0, but is {SafetensorsTensor.FormatShape(offsets)}");
                    }

                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Fail(source, $"tensor '{name}' has the field '{field}' more than once");
                default:
                    throw Fail(source, $"tensor '{name}' has an unexpected field '{field}'; expected only dtype, shape and data_offsets");
            }
        }

        if (dtype is null || shape is null || offsets is null)
        {
            string missing = dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw Fail(source, $"tensor '{name}' is missing the field '{missing}'");
        }

        return new Entry(name, dtype.Value, shape.ToArray(), offsets[0], offsets[1], order);
    }

    private static List<long> ReadIntegers(ref Utf8JsonReader reader, string name, string field, string source)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(source, $"tensor '{name}' {field} must be an array of integers, but is {Describe(ref reader)}");
        }

        var values = new List<long>();
        while (true)
        {
            Next(ref reader, source);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return values;
            }

            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value))
            {
                throw Fail(source, $"tensor '{name}' {field} entry {Describe(ref reader)} is not an integer in the 64-bit range");
            }

            values.Add(value);
        }
    }

    private static string Describe(ref Utf8JsonReader reader)
    {
        string raw = reader.TokenType is JsonTokenType.Number or JsonTokenType.String
            ? Encoding.UTF8.GetString(reader.ValueSpan)
            : string.Empty;
        if (raw.Length > 40)
        {
            raw = raw[..40] + "…";
        }

        return reader.TokenType switch
        {
            JsonTokenType.Number => raw,
            JsonTokenType.String => $"the string \"{raw}\"",
            JsonTokenType.StartObject => "an object",
            JsonTokenType.StartArray => "an array",
            JsonTokenType.True or JsonTokenType.False => "a boolean",
            JsonTokenType.Null => "null",
            _ => reader.TokenType.ToString(),
        };
    }

    private static void ValidateLayout(List<Entry> entries, long dataLength, string source)
    {
        // Sort by (begin, end), stable on header order: empty tensors may share an offset.
        entries.Sort((a, b) =>
        {
            int c = a.Begin.CompareTo(b.Begin);
            if (c == 0)
            {
                c = a.End.CompareTo(b.End);
            }

            return c != 0 ? c : a.Order.CompareTo(b.Order);
        });

        long expectedBegin = 0;
        string? previous = null;
        foreach (Entry e in entries)
        {
            if (e.End < e.Begin)
            {
                throw Fail(source, $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] end before they begin");
            }

            if (e.Begin != expectedBegin)
            {
                string where = previous is null
                    ? "the first tensor's data must start at offset 0"
                    : $"it must start where '{previous}' ends, at {expectedBegin:N0}";
                string what = e.Begin > expectedBegin ? "leaves a gap" : "overlaps";
                throw Fail(source, $"tensor '{e.Name}' data_offsets [{e.Begin}, {e.End}] {what}: {where}");
            }

            long span = e.End - e.Begin;
            long? needed = SafetensorsTensor.TryByteCount(e.Dtype, e.Shape, out long numel);
            if (needed is null)
            {
                throw Fail(source, $"tensor '{e.Name}' shape {SafetensorsTensor.FormatShape(e.Shape)} of {e.Dtype.ToFileName()} overflows a 64-bit byte count");
            }

            if (needed.Value != span)
            {
                throw Fail(source,
                    $"tensor '{e.Name}' declares shape {SafetensorsTensor.FormatShape(e.Shape)} " +
                    $"({numel:N0} {e.Dtype.ToFileName()} values = {needed.Value:N0} bytes) " +
                    $"but its data_offsets [{e.Begin}, {e.End}] span {span:N0} bytes");
            }

            if (span > Array.MaxLength)
            {
                throw Fail(source, $"tensor '{e.Name}' is {span:N0} bytes, over this reader's per-tensor limit of {Array.MaxLength:N0} bytes");
            }

            expectedBegin = e.End;
            previous = e.Name;
        }

        if (dataLength != expectedBegin)
        {
            string detail = dataLength < expectedBegin ? "the file is truncated" : "the file has trailing bytes";
            throw Fail(source, $"data section is {dataLength:N0} bytes but the header's data_offsets end at {expectedBegin:N0} ({detail})");
        }
    }

    private static SafetensorsFormatException Fail(string source, string detail) =>
        new(string.Create(CultureInfo.InvariantCulture, $"safetensors: {source}: {detail}"));
}
