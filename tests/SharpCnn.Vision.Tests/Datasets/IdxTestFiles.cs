using System.Buffers.Binary;
using System.IO.Compression;

namespace SharpCnn.Vision.Tests.Datasets;

/// <summary>Builds IDX fixtures by hand (big-endian dims), including broken ones.</summary>
internal static class IdxTestFiles
{
    public static byte[] Build(byte type, uint[] dims, byte[] payload)
    {
        var bytes = new byte[4 + (4 * dims.Length) + payload.Length];
        bytes[2] = type;
        bytes[3] = (byte)dims.Length;
        for (int i = 0; i < dims.Length; i++)
        {
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(4 + (4 * i)), dims[i]);
        }

        payload.CopyTo(bytes, 4 + (4 * dims.Length));
        return bytes;
    }

    public static byte[] Images(int count, int rows = 28, int cols = 28) =>
        Build(0x08, [(uint)count, (uint)rows, (uint)cols], Enumerable.Range(0, count * rows * cols).Select(i => (byte)i).ToArray());

    public static byte[] Labels(params byte[] labels) => Build(0x08, [(uint)labels.Length], labels);

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
