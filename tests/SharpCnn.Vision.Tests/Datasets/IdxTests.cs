using SharpCnn.Vision.Datasets;
using static SharpCnn.Vision.Tests.Datasets.IdxTestFiles;

namespace SharpCnn.Vision.Tests.Datasets;

public class IdxTests
{
    private static IdxFormatException Rejects(byte[] bytes, string name = "bad.idx")
    {
        using var stream = new MemoryStream(bytes);
        var ex = Assert.Throws<IdxFormatException>(() => Idx.Read(stream, name));
        Assert.Contains(name, ex.Message);
        return ex;
    }

    private static IdxArray ReadBytes(byte[] bytes)
    {
        using var stream = new MemoryStream(bytes);
        return Idx.Read(stream, "mem.idx");
    }

    [Fact]
    public void Read_ValidLabels_ReturnsDimsAndData()
    {
        IdxArray array = ReadBytes(Labels(3, 1, 4));

        Assert.Equal(Idx.UnsignedByte, array.DataType);
        Assert.Equal([3], array.Dims);
        Assert.Equal([3, 1, 4], array.Data);
        Assert.Equal(2049, array.Magic);
    }

    [Fact]
    public void Read_DimsAreBigEndian()
    {
        // 258 = 0x00000102: read little-endian it would be 0x02010000 = 33,619,968.
        byte[] payload = Enumerable.Range(0, 258 * 3).Select(i => (byte)i).ToArray();
        byte[] bytes = Build(0x08, [258, 3], payload);
        Assert.Equal([0x00, 0x00, 0x01, 0x02], bytes[4..8]);

        IdxArray array = ReadBytes(bytes);

        Assert.Equal([258, 3], array.Dims);
        Assert.Equal(payload, array.Data);
    }

    [Fact]
    public void Read_GzipFile_Decompressed()
    {
        byte[] plain = Images(2);
        IdxArray array = ReadBytes(Gzip(plain));

        Assert.Equal([2, 28, 28], array.Dims);
        Assert.Equal(plain[16..], array.Data);
    }

    [Fact]
    public void Read_FromPath_PlainAndGzip()
    {
        string dir = Directory.CreateTempSubdirectory("sharpcnn-idx-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "a"), Labels(1, 2));
            File.WriteAllBytes(Path.Combine(dir, "a.gz"), Gzip(Labels(1, 2)));

            Assert.Equal([1, 2], Idx.Read(Path.Combine(dir, "a")).Data);
            Assert.Equal([1, 2], Idx.Read(Path.Combine(dir, "a.gz")).Data);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Read_ShorterThan4Bytes_Rejected(int length) =>
        Assert.Contains($"file is {length} bytes", Rejects(new byte[length]).Message);

    [Fact]
    public void Read_MagicNotStartingWithZeros_Rejected()
    {
        byte[] bytes = Labels(1);
        bytes[0] = 0x12;
        Assert.Contains("does not start with two zero bytes", Rejects(bytes).Message);
    }

    [Theory]
    [InlineData(0x0D, "0x0D (float32) is not supported")]
    [InlineData(0x09, "0x09 (signed byte) is not supported")]
    [InlineData(0x42, "type byte 0x42 is not an IDX type")]
    public void Read_UnsupportedType_NamesIt(byte type, string expected) =>
        Assert.Contains(expected, Rejects(Build(type, [1], [0])).Message);

    [Theory]
    [InlineData(0)]
    [InlineData(4)]
    public void Read_BadDimensionCount_Rejected(int ndim)
    {
        byte[] bytes = Build(0x08, Enumerable.Repeat(1u, ndim).ToArray(), [1]);
        Assert.Contains($"declares {ndim} dimensions", Rejects(bytes).Message);
    }

    [Fact]
    public void Read_HeaderShorterThanDims_Rejected()
    {
        byte[] bytes = Images(1)[..10];
        Assert.Contains("need a 16-byte header but the file has 10 bytes", Rejects(bytes).Message);
    }

    [Fact]
    public void Read_DimensionAtLeast2Pow31_Rejected() =>
        Assert.Contains("2,147,483,648, which is not below 2^31", Rejects(Build(0x08, [0x8000_0000u], [])).Message);

    [Fact]
    public void Read_ProductOverCap_RejectedBeforeAllocating()
    {
        var ex = Rejects(Build(0x08, [0x7FFF_FFFFu, 0x7FFF_FFFFu, 0x7FFF_FFFFu], []));
        Assert.Contains("over the", ex.Message);
        Assert.Contains("-byte limit", ex.Message);
    }

    [Fact]
    public void Read_PayloadTruncated_GivesReceivedAndExpected()
    {
        byte[] bytes = Labels(1, 2, 3, 4)[..10];
        var ex = Rejects(bytes);
        Assert.Contains("truncated", ex.Message);
        Assert.Contains("need 4 bytes after the 8-byte header, but the file has 2", ex.Message);
        Assert.Contains("expected total 12, received 10", ex.Message);
    }

    [Fact]
    public void Read_TrailingBytes_Rejected()
    {
        byte[] bytes = [.. Labels(1, 2), 0xAA, 0xBB];
        var ex = Rejects(bytes);
        Assert.Contains("trailing bytes", ex.Message);
        Assert.Contains("expected total 10, received 12", ex.Message);
    }

    [Fact]
    public void Read_GzipTruncatedPayload_Rejected()
    {
        var ex = Rejects(Gzip(Labels(1, 2, 3, 4)[..10]));
        Assert.Contains("truncated", ex.Message);
        Assert.Contains("decompressed file has 2", ex.Message);
    }

    [Fact]
    public void Read_GzipTrailingBytes_Rejected() =>
        Assert.Contains("trailing bytes", Rejects(Gzip([.. Labels(1, 2), 9])).Message);

    [Fact]
    public void Read_CorruptGzip_Rejected()
    {
        byte[] gz = Gzip(Images(3));
        for (int i = 10; i < gz.Length - 8; i++)
        {
            gz[i] ^= 0x5A;
        }

        Assert.IsType<IdxFormatException>(Rejects(gz));
    }

    [Fact]
    public void Read_GzipBomb_StoppedByCap()
    {
        // 64 MiB of zeros declared as 8 labels: only 8 bytes + a bounded probe are decompressed.
        byte[] bomb = Gzip([.. Labels(0, 0, 0, 0, 0, 0, 0, 0), .. new byte[64 << 20]]);
        Assert.True(bomb.Length < 1 << 20);
        Assert.Contains("at least 1,048,576 more", Rejects(bomb).Message);
    }

    [Fact]
    public void Read_EveryTruncationOfValidFile_GivesIdxFormatExceptionOnly()
    {
        byte[] full = Images(2, 3, 3);
        for (int length = 0; length < full.Length; length++)
        {
            using var stream = new MemoryStream(full[..length]);
            Exception? ex = Record.Exception(() => Idx.Read(stream, "cut"));
            Assert.True(ex is IdxFormatException, $"length {length}: {ex?.GetType().Name ?? "none"}");
        }

        byte[] gz = Gzip(full);
        for (int length = 0; length < gz.Length; length++)
        {
            using var stream = new MemoryStream(gz[..length]);
            Exception? ex = Record.Exception(() => Idx.Read(stream, "cut.gz"));
            Assert.True(ex is IdxFormatException, $"gzip length {length}: {ex?.GetType().Name ?? "none"}: {ex?.Message}");
        }
    }
}
