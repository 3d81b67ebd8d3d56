using System.Runtime.InteropServices;
using SkiaSharp;

namespace SharpCnn.Cli.Report;

/// <summary>An RGB picture built pixel by pixel (image grids of the report), encoded as PNG through SkiaSharp.</summary>
internal sealed class PixelImage
{
    private readonly byte[] _rgba;

    /// <summary>A <paramref name="width"/>×<paramref name="height"/> picture filled with <paramref name="background"/>.</summary>
    public PixelImage(int width, int height, (byte R, byte G, byte B) background)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        Width = width;
        Height = height;
        _rgba = new byte[checked(width * height * 4)];
        FillRect(0, 0, width, height, background);
    }

    /// <summary>Width in pixels.</summary>
    public int Width { get; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; }

    /// <summary>The colour at (x, y).</summary>
    public (byte R, byte G, byte B) this[int x, int y]
    {
        get
        {
            int i = ((y * Width) + x) * 4;
            return (_rgba[i], _rgba[i + 1], _rgba[i + 2]);
        }
    }

    /// <summary>Fills the rectangle at (x, y) of size w×h, clipped to the picture.</summary>
    public void FillRect(int x, int y, int w, int h, (byte R, byte G, byte B) colour)
    {
        int x0 = Math.Max(0, x);
        int y0 = Math.Max(0, y);
        int x1 = Math.Min(Width, x + w);
        int y1 = Math.Min(Height, y + h);
        for (int yy = y0; yy < y1; yy++)
        {
            for (int xx = x0; xx < x1; xx++)
            {
                int i = ((yy * Width) + xx) * 4;
                _rgba[i] = colour.R;
                _rgba[i + 1] = colour.G;
                _rgba[i + 2] = colour.B;
                _rgba[i + 3] = 255;
            }
        }
    }

    /// <summary>Encodes the picture as PNG (lossless, opaque).</summary>
    public byte[] ToPng()
    {
        var info = new SKImageInfo(Width, Height, SKColorType.Rgba8888, SKAlphaType.Opaque);
        using var bitmap = new SKBitmap(info);
        Marshal.Copy(_rgba, 0, bitmap.GetPixels(), _rgba.Length);
        using SKImage image = SKImage.FromBitmap(bitmap);
        using SKData data = image.Encode(SKEncodedImageFormat.Png, 100)
            ?? throw new InvalidOperationException($"SkiaSharp could not encode a {Width}×{Height} PNG.");
        return data.ToArray();
    }

    /// <summary>The (width, height) recorded in a PNG's IHDR chunk (bytes 16–23, big-endian).</summary>
    /// <exception cref="InvalidDataException">The bytes do not start with a PNG signature and IHDR.</exception>
    public static (int Width, int Height) PngSize(ReadOnlySpan<byte> png)
    {
        ReadOnlySpan<byte> signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];
        if (png.Length < 24 || !png[..8].SequenceEqual(signature) || !png.Slice(12, 4).SequenceEqual("IHDR"u8))
        {
            throw new InvalidDataException($"Expected PNG bytes (signature and IHDR chunk), got {png.Length} bytes that are not.");
        }

        return (System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png[16..]), System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(png[20..]));
    }
}
