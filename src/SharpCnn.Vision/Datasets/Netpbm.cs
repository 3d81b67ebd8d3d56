using System.Globalization;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// A managed reader for the Netpbm grey and colour formats (PGM <c>P2</c>/<c>P5</c>, PPM <c>P3</c>/<c>P6</c>), which
/// torchvision's extension list includes and Skia does not decode.
/// </summary>
/// <remarks>
/// Header: magic, then width, height and maxval as decimal numbers separated by white space, with <c>#</c> comments
/// running to the end of a line; one white-space byte ends the header of the binary forms. Samples are one byte
/// (maxval &lt; 256) or two big-endian bytes, and are scaled to 8 bits as Pillow does, <c>round(v / maxval · 255)</c>
/// with ties to even. A sample above maxval, a truncated raster, or a malformed header is an error; bytes after the
/// first image are ignored (as Pillow does). Sizes are checked against the limits before anything is allocated.
/// </remarks>
internal static class Netpbm
{
    /// <summary>Whether <paramref name="data"/> starts with a supported Netpbm magic (<c>P2</c>, <c>P3</c>, <c>P5</c>, <c>P6</c>) and white space.</summary>
    public static bool IsNetpbm(ReadOnlySpan<byte> data) =>
        data.Length >= 3 && data[0] == (byte)'P' && data[1] is (byte)'2' or (byte)'3' or (byte)'5' or (byte)'6' && IsSpace(data[2]);

    /// <summary>Reads the header: the size, the maxval and where the raster starts.</summary>
    public static (int Width, int Height, int MaxVal, int RasterStart) ReadHeader(ReadOnlySpan<byte> data, string sourceName)
    {
        int pos = 2;
        long width = ReadNumber(data, ref pos, sourceName, "width");
        long height = ReadNumber(data, ref pos, sourceName, "height");
        long maxVal = ReadNumber(data, ref pos, sourceName, "maxval");
        if (width is < 1 or > ImageDecoder.MaxSide || height is < 1 or > ImageDecoder.MaxSide)
        {
            throw new InvalidDataException(
                $"Image '{sourceName}' (Netpbm) declares {width}×{height} pixels; each side must be 1 to {ImageDecoder.MaxSide:N0}. Refused before decoding.");
        }

        if (maxVal is < 1 or > 65535)
        {
            throw new InvalidDataException($"Image '{sourceName}' (Netpbm) has maxval {maxVal}; expected 1 to 65,535.");
        }

        // The binary forms: exactly one white-space byte separates maxval from the raster.
        return ((int)width, (int)height, (int)maxVal, pos + 1);
    }

    /// <summary>Decodes to RGBA bytes (alpha 255) after the caller has checked the pixel count.</summary>
    public static byte[] DecodeRgba(ReadOnlySpan<byte> data, int width, int height, int maxVal, int rasterStart, string sourceName)
    {
        bool colour = data[1] is (byte)'3' or (byte)'6';
        bool ascii = data[1] is (byte)'2' or (byte)'3';
        int channels = colour ? 3 : 1;
        long samples = (long)width * height * channels;
        int bytesPerSample = maxVal < 256 ? 1 : 2;
        if (!ascii)
        {
            long available = Math.Max(0, data.Length - rasterStart);
            if (available < samples * bytesPerSample)
            {
                throw new InvalidDataException(
                    $"Image '{sourceName}' (Netpbm P{(char)data[1]}, {width}×{height}) is truncated: the raster needs {samples * bytesPerSample:N0} bytes " +
                    $"but {available:N0} follow the header.");
            }
        }

        var rgba = new byte[(long)width * height * 4];
        int pos = ascii ? rasterStart - 1 : rasterStart;
        for (long i = 0; i < samples; i++)
        {
            long v;
            if (ascii)
            {
                v = ReadNumber(data, ref pos, sourceName, "sample", truncatedIsExpected: true);
            }
            else if (bytesPerSample == 1)
            {
                v = data[pos++];
            }
            else
            {
                v = (data[pos] << 8) | data[pos + 1];
                pos += 2;
            }

            if (v > maxVal)
            {
                throw new InvalidDataException($"Image '{sourceName}' (Netpbm): sample {i:N0} is {v}, above the maxval {maxVal}.");
            }

            byte b = maxVal == 255 ? (byte)v : (byte)Math.Round(v / (double)maxVal * 255, MidpointRounding.ToEven);
            long pixel = i / channels;
            if (colour)
            {
                rgba[(pixel * 4) + (i % 3)] = b;
            }
            else
            {
                rgba[pixel * 4] = rgba[(pixel * 4) + 1] = rgba[(pixel * 4) + 2] = b;
            }

            rgba[(pixel * 4) + 3] = 255;
        }

        return rgba;
    }

    private static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private static long ReadNumber(ReadOnlySpan<byte> data, ref int pos, string sourceName, string what, bool truncatedIsExpected = false)
    {
        while (pos < data.Length && (IsSpace(data[pos]) || data[pos] == (byte)'#'))
        {
            if (data[pos] == (byte)'#')
            {
                while (pos < data.Length && data[pos] != (byte)'\n' && data[pos] != (byte)'\r')
                {
                    pos++;
                }
            }
            else
            {
                pos++;
            }
        }

        int start = pos;
        long value = 0;
        while (pos < data.Length && data[pos] is >= (byte)'0' and <= (byte)'9')
        {
            value = (value * 10) + (data[pos] - '0');
            if (value > int.MaxValue)
            {
                throw new InvalidDataException($"Image '{sourceName}' (Netpbm): the {what} has too many digits.");
            }

            pos++;
        }

        if (pos == start)
        {
            string found = pos >= data.Length ? "the end of the data" : $"byte 0x{data[pos]:X2}";
            throw new InvalidDataException(truncatedIsExpected && pos >= data.Length
                ? $"Image '{sourceName}' (Netpbm) is truncated: it ends before all samples are given."
                : $"Image '{sourceName}' (Netpbm): expected the {what} as a decimal number at byte {start.ToString(CultureInfo.InvariantCulture)} but found {found}.");
        }

        if (pos < data.Length && !IsSpace(data[pos]) && data[pos] != (byte)'#')
        {
            throw new InvalidDataException($"Image '{sourceName}' (Netpbm): the {what} is followed by byte 0x{data[pos]:X2} instead of white space.");
        }

        return value;
    }
}
