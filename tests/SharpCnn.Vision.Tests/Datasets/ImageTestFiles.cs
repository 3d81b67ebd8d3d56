using System.Buffers.Binary;
using System.IO.Compression;
using SkiaSharp;

namespace SharpCnn.Vision.Tests.Datasets;

/// <summary>Writes small test images: encoded with SkiaSharp (PNG, JPEG, WebP) or by hand (BMP, hostile PNG headers).</summary>
internal static class ImageTestFiles
{
    /// <summary>A deterministic RGBA pattern, <c>height × width × 4</c> bytes, each channel a different function of (x, y).</summary>
    public static byte[] Pattern(int width, int height, bool opaque = true)
    {
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = 4 * ((y * width) + x);
                rgba[i] = (byte)((x * 37) + (y * 11));
                rgba[i + 1] = (byte)((x * 5) + (y * 53) + 7);
                rgba[i + 2] = (byte)(255 - (x * y * 3));
                rgba[i + 3] = opaque ? (byte)255 : (byte)(((x + y) * 40) + 15);
            }
        }

        return rgba;
    }

    /// <summary>A smooth gradient (JPEG's friendliest content), RGBA.</summary>
    public static byte[] Gradient(int width, int height)
    {
        var rgba = new byte[width * height * 4];
        for (int y = 0; y < height; y++)
        {
            for (int x = 0; x < width; x++)
            {
                int i = 4 * ((y * width) + x);
                rgba[i] = (byte)(x * 255 / (width - 1));
                rgba[i + 1] = (byte)(y * 255 / (height - 1));
                rgba[i + 2] = (byte)(128 + ((x - y) * 64 / width));
                rgba[i + 3] = 255;
            }
        }

        return rgba;
    }

    public static byte[] EncodeRgba(byte[] rgba, int width, int height, SKEncodedImageFormat format, int quality = 100)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using SKData data = bitmap.Encode(format, quality) ?? throw new InvalidOperationException($"SkiaSharp cannot encode {format}.");
        return data.ToArray();
    }

    public static byte[] EncodeWebpLossless(byte[] rgba, int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var bitmap = new SKBitmap(info);
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        using SKPixmap pixmap = bitmap.PeekPixels();
        using SKData data = pixmap.Encode(new SKWebpEncoderOptions(SKWebpEncoderCompression.Lossless, 100))
            ?? throw new InvalidOperationException("SkiaSharp cannot encode lossless WebP.");
        return data.ToArray();
    }

    public static byte[] EncodeGrayPng(byte[] grey, int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Gray8, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        System.Runtime.InteropServices.Marshal.Copy(grey, 0, bitmap.GetPixels(), grey.Length);
        using SKData data = bitmap.Encode(SKEncodedImageFormat.Png, 100) ?? throw new InvalidOperationException("SkiaSharp cannot encode grey PNG.");
        return data.ToArray();
    }

    /// <summary>A 24-bit bottom-up BMP written by hand (Skia does not encode BMP).</summary>
    public static byte[] Bmp24(byte[] rgba, int width, int height)
    {
        int stride = ((width * 3) + 3) & ~3;
        var bmp = new byte[54 + (stride * height)];
        bmp[0] = (byte)'B';
        bmp[1] = (byte)'M';
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(2), bmp.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(10), 54);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(14), 40);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(18), width);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(22), height);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(26), 1);
        BinaryPrimitives.WriteInt16LittleEndian(bmp.AsSpan(28), 24);
        BinaryPrimitives.WriteInt32LittleEndian(bmp.AsSpan(34), stride * height);
        for (int y = 0; y < height; y++)
        {
            int row = 54 + ((height - 1 - y) * stride);
            for (int x = 0; x < width; x++)
            {
                int s = 4 * ((y * width) + x);
                bmp[row + (3 * x)] = rgba[s + 2];
                bmp[row + (3 * x) + 1] = rgba[s + 1];
                bmp[row + (3 * x) + 2] = rgba[s];
            }
        }

        return bmp;
    }

    /// <summary>
    /// A well-formed PNG whose IHDR declares <paramref name="width"/>×<paramref name="height"/> RGB pixels but whose
    /// IDAT holds only one compressed row: a decoder that trusted the header would allocate for the full image.
    /// </summary>
    public static byte[] PngHeaderOnly(uint width, uint height)
    {
        using var output = new MemoryStream();
        output.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;  // bit depth
        ihdr[9] = 2;  // colour type: RGB
        WriteChunk(output, "IHDR", ihdr);
        using (var z = new MemoryStream())
        {
            using (var zlib = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true))
            {
                zlib.Write(new byte[1 + 16]);
            }

            WriteChunk(output, "IDAT", z.ToArray());
        }

        WriteChunk(output, "IEND", []);
        return output.ToArray();
    }

    private static void WriteChunk(Stream output, string type, byte[] data)
    {
        Span<byte> u32 = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(u32, (uint)data.Length);
        output.Write(u32);
        byte[] typeAndData = [.. System.Text.Encoding.ASCII.GetBytes(type), .. data];
        output.Write(typeAndData);
        BinaryPrimitives.WriteUInt32BigEndian(u32, Crc32(typeAndData));
        output.Write(u32);
    }

    // PNG's CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), bit by bit: short, and fast enough for headers.
    private static uint Crc32(byte[] bytes)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in bytes)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++)
            {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
            }
        }

        return ~crc;
    }
}
