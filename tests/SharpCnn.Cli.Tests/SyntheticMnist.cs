using System.Buffers.Binary;

namespace SharpCnn.Cli.Tests;

/// <summary>Writes tiny MNIST-format IDX files: class k is a bright 6×6 square at a class-specific place, plus seeded noise.</summary>
internal static class SyntheticMnist
{
    public static void Write(string dir, int trainCount = 256, int testCount = 64)
    {
        Directory.CreateDirectory(dir);
        WriteSplit(dir, "train", trainCount, seed: 1);
        WriteSplit(dir, "t10k", testCount, seed: 2);
    }

    private static void WriteSplit(string dir, string prefix, int n, ulong seed)
    {
        var g = new Generator(seed);
        var images = new byte[n * 28 * 28];
        var labels = new byte[n];
        for (int i = 0; i < n; i++)
        {
            int k = i % 10;
            labels[i] = (byte)k;
            int top = 2 + (k / 5 * 13);
            int left = 1 + (k % 5 * 5);
            for (int r = 0; r < 28; r++)
            {
                for (int c = 0; c < 28; c++)
                {
                    bool on = r >= top && r < top + 6 && c >= left && c < left + 6;
                    images[(i * 784) + (r * 28) + c] = on ? (byte)(200 + g.NextInt(56)) : (byte)g.NextInt(40);
                }
            }
        }

        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte"), [.. Header(0x803, n, 28, 28), .. images]);
        File.WriteAllBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte"), [.. Header(0x801, n), .. labels]);
    }

    private static byte[] Header(int magic, params int[] dims)
    {
        var h = new byte[4 + (4 * dims.Length)];
        BinaryPrimitives.WriteInt32BigEndian(h, magic);
        for (int d = 0; d < dims.Length; d++)
        {
            BinaryPrimitives.WriteInt32BigEndian(h.AsSpan(4 + (4 * d)), dims[d]);
        }

        return h;
    }
}
