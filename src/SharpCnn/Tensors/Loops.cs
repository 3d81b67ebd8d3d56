using System.Numerics;

namespace SharpCnn;

/// <summary>Small vectorised loops the tensor layer uses directly (gradient accumulation, fills).</summary>
internal static class Loops
{
    /// <summary>dst += src, element by element.</summary>
    public static void AddInto(ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length != dst.Length)
        {
            throw new ArgumentException($"AddInto: lengths {src.Length} and {dst.Length} differ.");
        }

        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= src.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                (new Vector<float>(src[i..]) + new Vector<float>(dst[i..])).CopyTo(dst[i..]);
            }
        }

        for (; i < src.Length; i++)
        {
            dst[i] += src[i];
        }
    }

    /// <summary>a + b for two tensors of the same shape, into a new tensor.</summary>
    public static Tensor Add(Tensor a, Tensor b)
    {
        var result = new Tensor(a.Data.ToArray(), a.Shape);
        AddInto(b.Data, result.Data);
        return result;
    }
}
