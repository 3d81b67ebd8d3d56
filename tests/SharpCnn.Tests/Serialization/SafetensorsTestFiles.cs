using System.Buffers.Binary;
using System.Text;
using SharpCnn.Serialization;

namespace SharpCnn.Tests.Serialization;

/// <summary>Builds safetensors bytes by hand, so malformed files can be made on purpose.</summary>
internal static class SafetensorsTestFiles
{
    /// <summary>8-byte little-endian length, the header text as given (no padding), then <paramref name="dataLength"/> bytes.</summary>
    public static byte[] Raw(string header, long dataLength)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        return Raw(json, dataLength);
    }

    public static byte[] Raw(byte[] header, long dataLength)
    {
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Length);
        header.CopyTo(bytes, 8);
        for (long i = 0; i < dataLength; i++)
        {
            bytes[8 + header.Length + i] = (byte)(i * 7);
        }

        return bytes;
    }

    /// <summary>A small valid model-like file: two F32 tensors, an I64 scalar and metadata.</summary>
    public static byte[] SmallModel()
    {
        using var stream = new MemoryStream();
        Safetensors.Write(stream, SmallModelTensors(), new Dictionary<string, string> { ["format"] = "pt", ["epoch"] = "3" });
        return stream.ToArray();
    }

    public static SafetensorsTensor[] SmallModelTensors() =>
    [
        SafetensorsTensor.FromFloats("fc.weight", [2, 3], [1f, 2f, 3f, 4f, 5f, 6f]),
        SafetensorsTensor.FromFloats("fc.bias", [2], [0.5f, -0.5f]),
        SafetensorsTensor.FromInt64s("bn.num_batches_tracked", [], [42]),
    ];

    public static SafetensorsFormatException Rejects(byte[] bytes) =>
        Assert.Throws<SafetensorsFormatException>(() => Safetensors.Read(bytes, "bad.safetensors"));
}
