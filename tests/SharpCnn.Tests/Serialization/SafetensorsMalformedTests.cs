using System.Buffers.Binary;
using SharpCnn.Serialization;
using static SharpCnn.Tests.Serialization.SafetensorsTestFiles;

namespace SharpCnn.Tests.Serialization;

/// <summary>Each case of the safetensors checklist (research §1.6) is rejected with a specific message.</summary>
public class SafetensorsMalformedTests
{
    private const string OneTensor = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    [Fact]
    public void Read_WellFormedBaseline_Loads() => Assert.Single(Safetensors.Read(Raw(OneTensor, 8)).Tensors);

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    public void Read_ShorterThan8Bytes_HeaderTooSmall(int length)
    {
        var ex = Rejects(new byte[length]);
        Assert.Contains($"file is {length} bytes", ex.Message);
        Assert.Contains("at least 8", ex.Message);
        Assert.Contains("bad.safetensors", ex.Message);
    }

    [Fact]
    public void Read_HeaderLengthOverLimit_HeaderTooLarge()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 100_000_001);
        Assert.Contains("exceeds the limit of 100,000,000", Rejects(bytes).Message);
    }

    [Fact]
    public void Read_HeaderLengthULongMax_HeaderTooLargeNotOverflow()
    {
        var bytes = new byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue);
        Assert.Contains("exceeds the limit", Rejects(bytes).Message);
    }

    [Fact]
    public void Read_HeaderLengthBeyondFile_InvalidHeaderLength()
    {
        byte[] bytes = Raw(OneTensor, 8);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        Assert.Contains("runs past the end of the file", Rejects(bytes).Message);
    }

    [Fact]
    public void Read_EmptyHeader_Rejected() => Assert.Contains("header is empty", Rejects(Raw(string.Empty, 0)).Message);

    [Fact]
    public void Read_HeaderNotStartingWithBrace_Rejected() =>
        Assert.Contains("must start with '{'", Rejects(Raw(" " + OneTensor, 8)).Message);

    [Fact]
    public void Read_HeaderNotUtf8_Rejected()
    {
        byte[] header = System.Text.Encoding.UTF8.GetBytes("{\"w\xFF\":1}");
        header[3] = 0xFF;
        Assert.Contains("not valid UTF-8", Rejects(Raw(header, 0)).Message);
    }

    [Theory]
    [InlineData("{\"w\":")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",}}")]
    [InlineData("{} x")]
    [InlineData("{}{}")]
    [InlineData("{/*c*/}")]
    public void Read_HeaderNotJson_Rejected(string header) =>
        Assert.Contains("not valid JSON", Rejects(Raw(header, 0)).Message);

    [Fact]
    public void Read_DuplicateTensorKey_Rejected()
    {
        const string Header =
            "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}," +
            "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}";
        Assert.Contains("key 'w' more than once", Rejects(Raw(Header, 2)).Message);
    }

    [Fact]
    public void Read_DuplicateMetadataKey_Rejected()
    {
        const string Header = "{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}";
        Assert.Contains("__metadata__ has the key 'a' more than once", Rejects(Raw(Header, 0)).Message);
    }

    [Fact]
    public void Read_DuplicateMetadataSection_Rejected()
    {
        const string Header = "{\"__metadata__\":{},\"__metadata__\":{}}";
        Assert.Contains("key '__metadata__' more than once", Rejects(Raw(Header, 0)).Message);
    }

    [Fact]
    public void Read_DuplicateField_Rejected()
    {
        const string Header = "{\"w\":{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
        Assert.Contains("field 'dtype' more than once", Rejects(Raw(Header, 1)).Message);
    }

    [Theory]
    [InlineData("F8_E4M3")]
    [InlineData("f32")]
    [InlineData("FLOAT")]
    public void Read_UnknownDtype_Rejected(string dtype)
    {
        string header = "{\"w\":{\"dtype\":\"" + dtype + "\",\"shape\":[1],\"data_offsets\":[0,1]}}";
        var ex = Rejects(Raw(header, 1));
        Assert.Contains($"dtype \"{dtype}\"", ex.Message);
        Assert.Contains("not supported", ex.Message);
    }

    [Fact]
    public void Read_NegativeShapeEntry_Rejected()
    {
        const string Header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,0]}}";
        Assert.Contains("negative dimension -1 in shape [2, -1]", Rejects(Raw(Header, 0)).Message);
    }

    [Theory]
    [InlineData("[1.5]")]
    [InlineData("[\"2\"]")]
    [InlineData("[99999999999999999999]")]
    [InlineData("2")]
    public void Read_NonIntegerShape_Rejected(string shape)
    {
        string header = "{\"w\":{\"dtype\":\"U8\",\"shape\":" + shape + ",\"data_offsets\":[0,2]}}";
        Assert.Contains("tensor 'w' shape", Rejects(Raw(header, 2)).Message);
    }

    [Fact]
    public void Read_NumelTimesSizeOverflows_Rejected()
    {
        const string Header = "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}";
        Assert.Contains("overflows a 64-bit byte count", Rejects(Raw(Header, 8)).Message);
    }

    [Fact]
    public void Read_ElementSizeOverflowOnly_Rejected()
    {
        // numel fits in a long, numel·8 does not.
        const string Header = "{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,8]}}";
        Assert.Contains("overflows", Rejects(Raw(Header, 8)).Message);
    }

    [Fact]
    public void Read_OffsetsNotStartingAtZero_Rejected()
    {
        const string Header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
        var ex = Rejects(Raw(Header, 12));
        Assert.Contains("leaves a gap", ex.Message);
        Assert.Contains("start at offset 0", ex.Message);
    }

    [Fact]
    public void Read_GapBetweenTensors_Rejected()
    {
        const string Header =
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}," +
            "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[3,5]}}";
        var ex = Rejects(Raw(Header, 5));
        Assert.Contains("tensor 'b' data_offsets [3, 5] leaves a gap", ex.Message);
        Assert.Contains("where 'a' ends, at 2", ex.Message);
    }

    [Fact]
    public void Read_OverlappingTensors_Rejected()
    {
        const string Header =
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]}," +
            "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,4]}}";
        Assert.Contains("overlaps", Rejects(Raw(Header, 4)).Message);
    }

    [Fact]
    public void Read_SameRangeTwice_Rejected()
    {
        // Two names aliasing one byte range (the polyglot trick the audit closed).
        const string Header =
            "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}," +
            "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
        Assert.Contains("overlaps", Rejects(Raw(Header, 2)).Message);
    }

    [Fact]
    public void Read_EndBeforeBegin_Rejected()
    {
        const string Header = "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},\"v\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,2]}}";
        Assert.Contains("end before they begin", Rejects(Raw(Header, 4)).Message);
    }

    [Theory]
    [InlineData("[0]")]
    [InlineData("[0,8,16]")]
    [InlineData("[-1,8]")]
    public void Read_OffsetsNotAPair_Rejected(string offsets)
    {
        string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + offsets + "}}";
        Assert.Contains("data_offsets must be [begin, end]", Rejects(Raw(header, 8)).Message);
    }

    [Fact]
    public void Read_SpanDisagreesWithShape_MessageGivesBothByteCounts()
    {
        const string Header = "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[120,400],\"data_offsets\":[0,191996]}}";
        var ex = Rejects(Raw(Header, 191_996));
        Assert.Equal(
            "safetensors: bad.safetensors: tensor 'fc.weight' declares shape [120, 400] (48,000 F32 values = 192,000 bytes) " +
            "but its data_offsets [0, 191996] span 191,996 bytes",
            ex.Message);
    }

    [Fact]
    public void Read_TrailingBytesAfterLastTensor_Rejected()
    {
        var ex = Rejects(Raw(OneTensor, 9));
        Assert.Contains("data section is 9 bytes but the header's data_offsets end at 8", ex.Message);
        Assert.Contains("trailing", ex.Message);
    }

    [Fact]
    public void Read_DataSectionShort_Rejected()
    {
        var ex = Rejects(Raw(OneTensor, 7));
        Assert.Contains("data section is 7 bytes", ex.Message);
        Assert.Contains("truncated", ex.Message);
    }

    [Fact]
    public void Read_NoTensorsButData_Rejected() =>
        Assert.Contains("data section is 3 bytes", Rejects(Raw("{}", 3)).Message);

    [Theory]
    [InlineData("{\"__metadata__\":{\"epoch\":3}}", "entry 'epoch' must be a string, but is 3")]
    [InlineData("{\"__metadata__\":{\"a\":{\"b\":\"c\"}}}", "entry 'a' must be a string, but is an object")]
    [InlineData("{\"__metadata__\":[\"a\"]}", "must be an object of string to string, but is an array")]
    [InlineData("{\"__metadata__\":null}", "must be an object of string to string, but is null")]
    public void Read_MetadataNotStringToString_Rejected(string header, string expected) =>
        Assert.Contains(expected, Rejects(Raw(header, 0)).Message);

    [Theory]
    [InlineData("{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "missing the field 'dtype'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "missing the field 'shape'")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", "missing the field 'data_offsets'")]
    public void Read_MissingField_Rejected(string header, string expected) =>
        Assert.Contains(expected, Rejects(Raw(header, 8)).Message);

    [Fact]
    public void Read_ExtraField_Rejected()
    {
        const string Header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"strides\":[1]}}";
        Assert.Contains("unexpected field 'strides'", Rejects(Raw(Header, 8)).Message);
    }

    [Theory]
    [InlineData("{\"w\":3}", "tensor 'w' must be an object")]
    [InlineData("{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", "dtype must be a string")]
    [InlineData("{\"\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", "empty name")]
    public void Read_BadTensorEntry_Rejected(string header, string expected) =>
        Assert.Contains(expected, Rejects(Raw(header, 8)).Message);

    [Fact]
    public void Read_DeeplyNestedJson_RejectedWithoutStackOverflow()
    {
        string header = "{\"__metadata__\":" + new string('[', 10_000) + new string(']', 10_000) + "}";
        Assert.IsType<SafetensorsFormatException>(Rejects(Raw(header, 0)));
    }

    [Fact]
    public void Read_EveryTruncation_GivesFormatExceptionOnly()
    {
        byte[] full = SmallModel();
        for (int length = 0; length < full.Length; length++)
        {
            byte[] cut = full.AsSpan(0, length).ToArray();
            Exception? ex = Record.Exception(() => Safetensors.Read(cut, "cut"));
            Assert.True(ex is SafetensorsFormatException, $"length {length}: {ex?.GetType().Name ?? "no exception"}: {ex?.Message}");
        }
    }

    [Fact]
    public void Read_EveryTruncation_ThroughFileStream_GivesFormatExceptionOnly()
    {
        byte[] full = SmallModel();
        string dir = Directory.CreateTempSubdirectory("sharpcnn-st-").FullName;
        try
        {
            string path = Path.Combine(dir, "cut.safetensors");
            for (int length = 0; length < full.Length; length += 3)
            {
                File.WriteAllBytes(path, full.AsSpan(0, length).ToArray());
                var ex = Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(path));
                Assert.Contains(path, ex.Message);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Read_EverySingleByteFlipInHeader_NeverCrashesWithOtherException()
    {
        byte[] full = SmallModel();
        int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(full);
        for (int i = 0; i < headerEnd; i++)
        {
            foreach (byte value in new byte[] { 0x00, 0x22, 0x7B, 0x7D, 0x2C, 0x39, 0xFF })
            {
                byte[] mutated = (byte[])full.Clone();
                mutated[i] = value;
                Exception? ex = Record.Exception(() => Safetensors.Read(mutated, "mutated"));
                Assert.True(ex is null or SafetensorsFormatException, $"byte {i} = 0x{value:X2}: {ex?.GetType().Name}: {ex?.Message}");
            }
        }
    }
}
