namespace SharpCnn.Cli.Report;

/// <summary>How a tile's values in [0, 1] become colours.</summary>
internal enum TileColour
{
    /// <summary>One channel, black (0) to white (1).</summary>
    Gray,

    /// <summary>Three channels (R, G, B planes).</summary>
    Rgb,

    /// <summary>One channel through the viridis colour map (dark blue 0 to yellow 1), for activations.</summary>
    Viridis,
}

/// <summary>
/// Lays out small images (filters, feature maps, test digits) as one picture: tiles in a grid, each enlarged by an
/// integer factor with nearest-neighbour sampling so single pixels stay sharp squares.
/// </summary>
internal static class ImageGrid
{
    /// <summary>Pixels between tiles and around the grid.</summary>
    public const int Gap = 2;

    private static readonly (byte, byte, byte) s_background = (225, 228, 232);
    private static readonly (byte R, byte G, byte B)[] s_viridis = BuildViridis();

    /// <summary>
    /// The picture of <paramref name="tiles"/>, each C×h×w planar values in [0, 1] (C = 3 for <see cref="TileColour.Rgb"/>,
    /// else 1), in rows of <paramref name="columns"/>, each pixel drawn as a <paramref name="scale"/>×<paramref name="scale"/> block.
    /// Size: width = Gap + cols·(w·scale + Gap), height = Gap + rows·(h·scale + Gap).
    /// </summary>
    public static PixelImage Render(IReadOnlyList<float[]> tiles, int h, int w, int columns, int scale, TileColour colour)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tiles.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(columns);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(scale);
        int channels = colour == TileColour.Rgb ? 3 : 1;
        int cols = Math.Min(columns, tiles.Count);
        int rows = (tiles.Count + cols - 1) / cols;
        int tileW = w * scale;
        int tileH = h * scale;
        var image = new PixelImage(Gap + (cols * (tileW + Gap)), Gap + (rows * (tileH + Gap)), s_background);
        for (int t = 0; t < tiles.Count; t++)
        {
            float[] tile = tiles[t];
            if (tile.Length != channels * h * w)
            {
                throw new ArgumentException($"Tile {t} has {tile.Length} values; expected {channels}×{h}×{w} = {channels * h * w}.", nameof(tiles));
            }

            int x0 = Gap + (t % cols * (tileW + Gap));
            int y0 = Gap + (t / cols * (tileH + Gap));
            for (int y = 0; y < h; y++)
            {
                for (int x = 0; x < w; x++)
                {
                    int i = (y * w) + x;
                    (byte, byte, byte) c = colour switch
                    {
                        TileColour.Rgb => (Byte(tile[i]), Byte(tile[(h * w) + i]), Byte(tile[(2 * h * w) + i])),
                        TileColour.Viridis => Viridis(tile[i]),
                        _ => (Byte(tile[i]), Byte(tile[i]), Byte(tile[i])),
                    };
                    image.FillRect(x0 + (x * scale), y0 + (y * scale), scale, scale, c);
                }
            }
        }

        return image;
    }

    /// <summary>The integer enlargement that brings <paramref name="size"/> pixels to at least <paramref name="target"/> (1 when already there).</summary>
    public static int ScaleFor(int size, int target) => size >= target ? 1 : (target + size - 1) / size;

    /// <summary>Maps values linearly so their minimum becomes 0 and maximum 1; a constant input becomes all 0.</summary>
    public static float[] MinMax(ReadOnlySpan<float> values)
    {
        var result = new float[values.Length];
        if (values.IsEmpty)
        {
            return result;
        }

        float min = float.PositiveInfinity;
        float max = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (float.IsFinite(v))
            {
                min = Math.Min(min, v);
                max = Math.Max(max, v);
            }
        }

        float range = max - min;
        if (!(range > 0))
        {
            return result;
        }

        for (int i = 0; i < values.Length; i++)
        {
            result[i] = float.IsFinite(values[i]) ? (values[i] - min) / range : 0;
        }

        return result;
    }

    /// <summary>
    /// Undoes a per-channel normalisation (x·std + mean) of a C×H×W image and clamps to [0, 1]; without
    /// <paramref name="mean"/>/<paramref name="std"/>, scales the whole image by its own minimum and maximum.
    /// </summary>
    public static float[] Denormalize(ReadOnlySpan<float> image, int channels, IReadOnlyList<float>? mean, IReadOnlyList<float>? std)
    {
        if (mean is null || std is null || mean.Count != channels || std.Count != channels)
        {
            return MinMax(image);
        }

        var result = new float[image.Length];
        int plane = image.Length / channels;
        for (int i = 0; i < image.Length; i++)
        {
            int c = i / plane;
            result[i] = Math.Clamp((image[i] * std[c]) + mean[c], 0f, 1f);
        }

        return result;
    }

    private static byte Byte(float v) => (byte)Math.Clamp(MathF.Round(v * 255f), 0f, 255f);

    private static (byte, byte, byte) Viridis(float v)
    {
        int i = (int)MathF.Round(Math.Clamp(float.IsFinite(v) ? v : 0f, 0f, 1f) * (s_viridis.Length - 1));
        return s_viridis[i];
    }

    private static (byte R, byte G, byte B)[] BuildViridis()
    {
        var colormap = new ScottPlot.Colormaps.Viridis();
        var table = new (byte, byte, byte)[256];
        for (int i = 0; i < table.Length; i++)
        {
            ScottPlot.Color c = colormap.GetColor(i / 255.0);
            table[i] = (c.R, c.G, c.B);
        }

        return table;
    }
}
