using System.Buffers.Binary;
using System.Text;
using SharpCnn.Serialization;

namespace SharpCnn.Tests.Serialization;

public class SafetensorsRoundTripTests
{
    [Fact]
    public void Write_ThenRead_PreservesTensorsAndMetadata()
    {
        byte[] bytes = SafetensorsTestFiles.SmallModel();

        SafetensorsFile file = Safetensors.Read(bytes);

        Assert.Equal(3, file.Tensors.Count);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], file["fc.weight"].ToFloats());
        Assert.Equal([2L, 3L], file["fc.weight"].Shape);
        Assert.Equal([0.5f, -0.5f], file["fc.bias"].ToFloats());
        Assert.Equal([42L], file["bn.num_batches_tracked"].ToInt64s());
        Assert.Empty(file["bn.num_batches_tracked"].Shape);
        Assert.Equal(SafetensorsDtype.I64, file["bn.num_batches_tracked"].Dtype);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("3", file.Metadata["epoch"]);
    }

    [Fact]
    public void Write_EmptyAndScalarTensors_RoundTrip()
    {
        SafetensorsTensor[] tensors =
        [
            SafetensorsTensor.FromFloats("empty", [0], []),
            SafetensorsTensor.FromFloats("empty2d", [3, 0], []),
            SafetensorsTensor.FromFloats("scalar", [], [3.25f]),
        ];
        using var stream = new MemoryStream();

        Safetensors.Write(stream, tensors);
        SafetensorsFile file = Safetensors.Read(stream.ToArray());

        Assert.Empty(file["empty"].Data);
        Assert.Equal([0L], file["empty"].Shape);
        Assert.Equal([3L, 0L], file["empty2d"].Shape);
        Assert.Equal([3.25f], file["scalar"].ToFloats());
        Assert.Equal(1, file["scalar"].ElementCount);
        Assert.Empty(file.Metadata);
    }

    [Theory]
    [InlineData(SafetensorsDtype.Bool)]
    [InlineData(SafetensorsDtype.U8)]
    [InlineData(SafetensorsDtype.I8)]
    [InlineData(SafetensorsDtype.I16)]
    [InlineData(SafetensorsDtype.U16)]
    [InlineData(SafetensorsDtype.F16)]
    [InlineData(SafetensorsDtype.BF16)]
    [InlineData(SafetensorsDtype.I32)]
    [InlineData(SafetensorsDtype.U32)]
    [InlineData(SafetensorsDtype.F32)]
    [InlineData(SafetensorsDtype.F64)]
    [InlineData(SafetensorsDtype.I64)]
    [InlineData(SafetensorsDtype.U64)]
    public void Write_EveryDtype_RoundTripsBytes(SafetensorsDtype dtype)
    {
        byte[] data = Enumerable.Range(0, 3 * dtype.SizeInBytes()).Select(i => (byte)(i + 1)).ToArray();
        var tensor = new SafetensorsTensor("t", dtype, [3], data);
        using var stream = new MemoryStream();

        Safetensors.Write(stream, [tensor]);
        SafetensorsTensor read = Safetensors.Read(stream.ToArray())["t"];

        Assert.Equal(dtype, read.Dtype);
        Assert.Equal(data, read.Data);
        Assert.True(SafetensorsDtypes.TryParse(dtype.ToFileName(), out SafetensorsDtype parsed));
        Assert.Equal(dtype, parsed);
    }

    [Fact]
    public void Write_HeaderIsPaddedToMultipleOf8WithSpaces()
    {
        byte[] bytes = SafetensorsTestFiles.SmallModel();

        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);

        Assert.Equal(0, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.StartsWith("{", header);
        Assert.EndsWith("}", header.TrimEnd(' '));
        Assert.Equal(8 + n + (6 + 2) * 4 + 8, bytes.Length);
    }

    [Fact]
    public void Write_MatchesHandBuiltSpecLayout_ByteForByte()
    {
        // Expected bytes built from the spec, the way the reference writer lays them out:
        // metadata first; tensors by dtype descending (I64 before F32), then by name; compact JSON;
        // header padded with spaces to a multiple of 8; data contiguous from offset 0.
        const string Json =
            "{\"__metadata__\":{\"format\":\"pt\"}," +
            "\"step\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]}," +
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}," +
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1,1],\"data_offsets\":[16,20]}}";
        int padded = (Json.Length + 7) / 8 * 8;
        var expected = new List<byte>();
        expected.AddRange(BitConverter.GetBytes((ulong)padded)); // little-endian host asserted below
        expected.AddRange(Encoding.ASCII.GetBytes(Json.PadRight(padded, ' ')));
        expected.AddRange([7, 0, 0, 0, 0, 0, 0, 0]);              // I64 7
        expected.AddRange([0x00, 0x00, 0x80, 0x3F]);              // F32 1.0
        expected.AddRange([0x00, 0x00, 0x00, 0xC0]);              // F32 -2.0
        expected.AddRange([0x00, 0x00, 0x40, 0x40]);              // F32 3.0
        Assert.True(BitConverter.IsLittleEndian);

        using var stream = new MemoryStream();
        Safetensors.Write(
            stream,
            [
                SafetensorsTensor.FromFloats("b", [1, 1], [3f]),
                SafetensorsTensor.FromFloats("a", [2], [1f, -2f]),
                SafetensorsTensor.FromInt64s("step", [], [7]),
            ],
            new Dictionary<string, string> { ["format"] = "pt" });

        Assert.Equal(expected.ToArray(), stream.ToArray());
    }

    [Fact]
    public void Read_ReferenceDocExample_Loads()
    {
        // The byte string from the reference implementation's documentation example: a 60-byte
        // (unpadded) header, one I32 [2, 2] tensor of zeros.
        byte[] bytes =
        [
            .. "<\0\0\0\0\0\0\0"u8,
            .. "{\"test\":{\"dtype\":\"I32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}"u8,
            .. new byte[16],
        ];

        SafetensorsTensor t = Safetensors.Read(bytes)["test"];

        Assert.Equal(SafetensorsDtype.I32, t.Dtype);
        Assert.Equal([2L, 2L], t.Shape);
        Assert.Equal(new byte[16], t.Data);
    }

    [Fact]
    public void Read_TensorsOutOfNameOrder_ReturnsThemInOffsetOrder()
    {
        // A file written by another tool in any order loads; we sort by data_offsets.
        const string Header =
            "{\"z\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}," +
            "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}";

        SafetensorsFile file = Safetensors.Read(SafetensorsTestFiles.Raw(Header, 3));

        Assert.Equal(["z", "a"], file.Tensors.Select(t => t.Name));
    }

    [Fact]
    public void Read_LeadingSpacePaddingAndUnicodeNames_Accepted()
    {
        var tensor = SafetensorsTensor.FromFloats("блок.权重+<x>", [1], [1f]);
        using var stream = new MemoryStream();
        Safetensors.Write(stream, [tensor], new Dictionary<string, string> { ["note"] = "ünïcode \"quoted\"" });

        SafetensorsFile file = Safetensors.Read(stream.ToArray());

        Assert.Equal([1f], file["блок.权重+<x>"].ToFloats());
        Assert.Equal("ünïcode \"quoted\"", file.Metadata["note"]);
    }

    [Fact]
    public void Read_NonSeekableStream_Works()
    {
        byte[] bytes = SafetensorsTestFiles.SmallModel();
        using var inner = new MemoryStream(bytes);
        using var forwardOnly = new ForwardOnlyStream(inner);

        SafetensorsFile file = Safetensors.Read(forwardOnly);

        Assert.Equal(3, file.Tensors.Count);
    }

    [Fact]
    public void Write_DuplicateNames_Throws()
    {
        var ex = Assert.Throws<ArgumentException>(() => Safetensors.Write(
            Stream.Null,
            [SafetensorsTensor.FromFloats("w", [1], [1f]), SafetensorsTensor.FromFloats("w", [1], [2f])]));
        Assert.Contains("'w'", ex.Message);
    }

    [Fact]
    public void Tensor_DataLengthMismatch_ThrowsNamingBothCounts()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SafetensorsTensor("w", SafetensorsDtype.F32, [2, 2], new byte[15]));
        Assert.Contains("16 bytes", ex.Message);
        Assert.Contains("15 bytes", ex.Message);
    }

    [Fact]
    public void Tensor_ToFloatsOnI64_Throws()
    {
        var t = SafetensorsTensor.FromInt64s("n", [], [1]);
        var ex = Assert.Throws<InvalidOperationException>(() => t.ToFloats());
        Assert.Contains("I64", ex.Message);
    }

    [Fact]
    public void File_MissingTensor_ListsSomeNames()
    {
        SafetensorsFile file = Safetensors.Read(SafetensorsTestFiles.SmallModel());
        var ex = Assert.Throws<KeyNotFoundException>(() => file["nope"]);
        Assert.Contains("fc.bias", ex.Message);
    }

    private sealed class ForwardOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 5));

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
