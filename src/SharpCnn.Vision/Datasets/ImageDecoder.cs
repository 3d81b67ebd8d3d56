using System.Runtime.InteropServices;
using SkiaSharp;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// Decodes image files (JPEG, PNG, BMP, WebP, GIF, ICO, WBMP through Skia; PGM and PPM through a managed reader) into float tensors with
/// torchvision's <c>ToTensor</c> semantics: C×H×W, each byte scaled by 1/255 into [0, 1].
/// </summary>
/// <remarks>
/// <para>
/// The header is read first and the image refused before any pixel is decoded when a side is 0 or above
/// <see cref="MaxSide"/> (65,535) or the pixel count exceeds the caller's limit (default
/// <see cref="DefaultMaxPixels"/>, 64 megapixels): a small file can claim a huge image (a decompression bomb).
/// </para>
/// <para>
/// Every image becomes RGB, as torchvision's loader does with PIL's <c>convert("RGB")</c>: grey is copied to the three
/// channels, palettes are expanded, and an alpha channel is dropped, keeping each pixel's stored (unpremultiplied)
/// colour rather than blending it over a background. No colour-profile conversion and no EXIF rotation are applied
/// (PIL applies neither when loading). Animated formats give their first frame. 16-bit channels are reduced to 8 bits.
/// </para>
/// <para>
/// Files that are not images, corrupt or truncated (PIL also refuses truncated files by default) throw
/// <see cref="InvalidDataException"/> naming the file and the fault. Decoding uses SkiaSharp's native Skia build.
/// </para>
/// </remarks>
public static class ImageDecoder
{
    /// <summary>The default pixel limit: 64 megapixels (2^26; an 8192×8192 image).</summary>
    public const long DefaultMaxPixels = 1L << 26;

    /// <summary>The largest width or height accepted (65,535), whatever the pixel limit.</summary>
    public const int MaxSide = 65_535;

    // The largest file read into memory: well above any real image a pixel limit admits.
    private const long MaxFileBytes = 1L << 30;

    private static readonly float[] s_scale = BuildScale();

    /// <summary>Decodes the image file at <paramref name="path"/> into an RGB float tensor [3, H, W] in [0, 1].</summary>
    /// <param name="path">The image file.</param>
    /// <param name="maxPixels">Refuse images with more than this many pixels (width·height), checked from the header before decoding.</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is empty, not a supported image, corrupt, truncated or too large; the message names it.</exception>
    public static Tensor DecodeRgb(string path, long maxPixels = DefaultMaxPixels)
    {
        byte[] bytes = ReadFile(path);
        return DecodeRgb(bytes, maxPixels, path);
    }

    /// <summary>Decodes an encoded image held in memory into an RGB float tensor [3, H, W] in [0, 1].</summary>
    /// <param name="encoded">The file's bytes.</param>
    /// <param name="maxPixels">Refuse images with more than this many pixels, checked before decoding.</param>
    /// <param name="sourceName">Named in error messages (e.g. the file name).</param>
    /// <exception cref="InvalidDataException">The data is empty, not a supported image, corrupt, truncated or too large.</exception>
    public static Tensor DecodeRgb(ReadOnlySpan<byte> encoded, long maxPixels = DefaultMaxPixels, string sourceName = "image")
    {
        (byte[] rgba, int width, int height) = DecodeRgba(encoded, maxPixels, sourceName);
        int plane = width * height;
        var data = new float[3 * plane];
        for (int p = 0; p < plane; p++)
        {
            int s = 4 * p;
            data[p] = s_scale[rgba[s]];
            data[plane + p] = s_scale[rgba[s + 1]];
            data[(2 * plane) + p] = s_scale[rgba[s + 2]];
        }

        return new Tensor(data, 3, height, width);
    }

    /// <summary>
    /// Decodes the image file at <paramref name="path"/> into a one-channel float tensor [1, H, W] in [0, 1] for
    /// grey models: the RGB values (see the remarks) reduced to luma as PIL's <c>convert("L")</c> does,
    /// <c>L = round((19595·R + 38470·G + 7471·B) / 65536)</c> (ITU-R 601 weights 0.299, 0.587, 0.114), so a grey
    /// image keeps its bytes exactly.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not a supported image, corrupt, truncated or too large.</exception>
    public static Tensor DecodeGrayscale(string path, long maxPixels = DefaultMaxPixels)
    {
        byte[] bytes = ReadFile(path);
        return DecodeGrayscale(bytes, maxPixels, path);
    }

    /// <summary>Decodes an encoded image held in memory into a one-channel tensor [1, H, W]; see <see cref="DecodeGrayscale(string, long)"/>.</summary>
    /// <exception cref="InvalidDataException">The data is not a supported image, corrupt, truncated or too large.</exception>
    public static Tensor DecodeGrayscale(ReadOnlySpan<byte> encoded, long maxPixels = DefaultMaxPixels, string sourceName = "image")
    {
        (byte[] rgba, int width, int height) = DecodeRgba(encoded, maxPixels, sourceName);
        int plane = width * height;
        var data = new float[plane];
        for (int p = 0; p < plane; p++)
        {
            int s = 4 * p;
            data[p] = s_scale[Luma(rgba[s], rgba[s + 1], rgba[s + 2])];
        }

        return new Tensor(data, 1, height, width);
    }

    /// <summary>Reads only the header: the image's width and height and its encoded format (e.g. "Png", "Jpeg").</summary>
    /// <exception cref="InvalidDataException">The data is not a supported image.</exception>
    public static (int Width, int Height, string Format) ReadHeader(ReadOnlySpan<byte> encoded, string sourceName = "image")
    {
        ArgumentNullException.ThrowIfNull(sourceName);
        if (Netpbm.IsNetpbm(encoded))
        {
            (int w, int h, _, _) = Netpbm.ReadHeader(encoded, sourceName);
            return (w, h, "Netpbm");
        }

        using SKCodec codec = OpenCodec(encoded, sourceName);
        return (codec.Info.Width, codec.Info.Height, codec.EncodedFormat.ToString());
    }

    /// <summary>PIL's integer luma: <c>(19595·R + 38470·G + 7471·B + 2^15) >> 16</c>; the weights sum to 2^16, so R = G = B = v gives v.</summary>
    internal static byte Luma(byte r, byte g, byte b) => (byte)(((19595 * r) + (38470 * g) + (7471 * b) + 0x8000) >> 16);

    private static byte[] ReadFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new FileNotFoundException($"Image file '{path}' not found.", path);
        }

        if (info.Length > MaxFileBytes)
        {
            throw new InvalidDataException($"Image '{path}' is {info.Length:N0} bytes; files over {MaxFileBytes:N0} bytes are refused.");
        }

        return File.ReadAllBytes(path);
    }

    private static SKCodec OpenCodec(ReadOnlySpan<byte> encoded, string sourceName)
    {
        if (encoded.IsEmpty)
        {
            throw new InvalidDataException($"Image '{sourceName}' is empty (0 bytes).");
        }

        SKData data = SKData.CreateCopy(encoded);
        var stream = new SKMemoryStream(data);
        SKCodec? codec = SKCodec.Create(stream, out SKCodecResult result);
        if (codec is null)
        {
            stream.Dispose();
            data.Dispose();
            if (encoded.StartsWith("II*\0"u8) || encoded.StartsWith("MM\0*"u8))
            {
                throw new InvalidDataException(
                    $"Image '{sourceName}' is a TIFF file, which this decoder does not read (Skia has no TIFF codec); convert it to PNG.");
            }

            throw new InvalidDataException(
                $"Image '{sourceName}' could not be read ({Describe(result)}; {encoded.Length:N0} bytes starting {Signature(encoded)}): " +
                "it is corrupt, or not in a supported format (JPEG, PNG, BMP, WebP, GIF, ICO, WBMP, PGM, PPM; not TIFF).");
        }

        data.Dispose();
        return codec;
    }

    private static (byte[] Rgba, int Width, int Height) DecodeRgba(ReadOnlySpan<byte> encoded, long maxPixels, string sourceName)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPixels);
        ArgumentNullException.ThrowIfNull(sourceName);
        if (Netpbm.IsNetpbm(encoded))
        {
            // PGM/PPM: in torchvision's extension list, not decoded by Skia.
            (int w, int h, int maxVal, int rasterStart) = Netpbm.ReadHeader(encoded, sourceName);
            CheckSize(w, h, maxPixels, sourceName);
            return (Netpbm.DecodeRgba(encoded, w, h, maxVal, rasterStart, sourceName), w, h);
        }

        using SKCodec codec = OpenCodec(encoded, sourceName);
        int width = codec.Info.Width;
        int height = codec.Info.Height;
        long pixels = CheckSize(width, height, maxPixels, sourceName);

        // Unpremultiplied RGBA with no colour space: the stored colours, alpha kept apart (and then dropped).
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[pixels * 4];
        GCHandle pin = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try
        {
            result = codec.GetPixels(info, pin.AddrOfPinnedObject());
        }
        finally
        {
            pin.Free();
        }

        if (result != SKCodecResult.Success)
        {
            throw new InvalidDataException(
                $"Image '{sourceName}' ({codec.EncodedFormat}, {width}×{height}) could not be decoded: {Describe(result)}.");
        }

        return (rgba, width, height);
    }

    private static long CheckSize(int width, int height, long maxPixels, string sourceName)
    {
        if (width <= 0 || height <= 0 || width > MaxSide || height > MaxSide)
        {
            throw new InvalidDataException(
                $"Image '{sourceName}' declares {width}×{height} pixels; each side must be 1 to {MaxSide:N0}. Refused before decoding.");
        }

        long pixels = (long)width * height;
        if (pixels > maxPixels)
        {
            throw new InvalidDataException(
                $"Image '{sourceName}' declares {width}×{height} = {pixels:N0} pixels, over the limit of {maxPixels:N0}. Refused before decoding " +
                "(raise the limit if the image is genuine).");
        }

        if (pixels > Array.MaxLength / 4)
        {
            // Whatever limit the caller set, the RGBA buffer must fit in one array.
            throw new InvalidDataException(
                $"Image '{sourceName}' declares {width}×{height} = {pixels:N0} pixels, more than one decode buffer can hold ({Array.MaxLength / 4:N0}). Refused before decoding.");
        }

        return pixels;
    }

    private static string Describe(SKCodecResult result) => result switch
    {
        SKCodecResult.IncompleteInput => "the data is truncated (incomplete input)",
        SKCodecResult.ErrorInInput => "the data is corrupt (error in input)",
        SKCodecResult.InvalidInput => "the data is not a recognised image (invalid input)",
        SKCodecResult.Unimplemented => "the format or variant is not supported (unimplemented)",
        SKCodecResult.InvalidConversion => "the image cannot be converted to RGB (invalid conversion)",
        _ => $"decoder result {result}",
    };

    private static string Signature(ReadOnlySpan<byte> encoded) =>
        Convert.ToHexString(encoded[..Math.Min(8, encoded.Length)]);

    private static float[] BuildScale()
    {
        var scale = new float[256];
        for (int b = 0; b < 256; b++)
        {
            scale[b] = Transforms.ToTensor.Scale((byte)b);
        }

        return scale;
    }
}
