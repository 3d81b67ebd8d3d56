using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// The one loop every elementwise operator runs in: Vector512 blocks, then Vector256 blocks, then a scalar
/// tail. The destination may be the same span as a source (in place) but must not partly overlap one.
/// </summary>
public static class ElementwiseDriver
{
    /// <summary>dst[i] = op(x[i]).</summary>
    /// <typeparam name="TOp">Operator struct.</typeparam>
    /// <param name="x">Input.</param>
    /// <param name="dst">Output, same length as <paramref name="x"/>.</param>
    /// <param name="op">Operator (carries parameters such as a slope).</param>
    public static void Unary<TOp>(ReadOnlySpan<float> x, Span<float> dst, TOp op)
        where TOp : struct, IUnaryOperator
    {
        CheckSameLength(x.Length, dst.Length);
        CheckAlias(x, dst);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(dst);
        nuint n = (nuint)x.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                op.Invoke(Vector512.LoadUnsafe(ref xr, i)).StoreUnsafe(ref dr, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                op.Invoke(Vector256.LoadUnsafe(ref xr, i)).StoreUnsafe(ref dr, i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref dr, i) = op.Invoke(Unsafe.Add(ref xr, i));
        }
    }

    /// <summary>dst[i] = op(x[i], y[i]).</summary>
    /// <typeparam name="TOp">Operator struct.</typeparam>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand, same length.</param>
    /// <param name="dst">Output, same length.</param>
    /// <param name="op">Operator.</param>
    public static void Binary<TOp>(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> dst, TOp op)
        where TOp : struct, IBinaryOperator
    {
        CheckSameLength(x.Length, y.Length);
        CheckSameLength(x.Length, dst.Length);
        CheckAlias(x, dst);
        CheckAlias(y, dst);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float dr = ref MemoryMarshal.GetReference(dst);
        nuint n = (nuint)x.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i + 16 <= n; i += 16)
            {
                op.Invoke(Vector512.LoadUnsafe(ref xr, i), Vector512.LoadUnsafe(ref yr, i)).StoreUnsafe(ref dr, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            for (; i + 8 <= n; i += 8)
            {
                op.Invoke(Vector256.LoadUnsafe(ref xr, i), Vector256.LoadUnsafe(ref yr, i)).StoreUnsafe(ref dr, i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref dr, i) = op.Invoke(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i));
        }
    }

    /// <summary>dst[i] = op(x[i], y) with a scalar second operand.</summary>
    /// <typeparam name="TOp">Operator struct.</typeparam>
    /// <param name="x">First operand.</param>
    /// <param name="y">Scalar second operand.</param>
    /// <param name="dst">Output, same length as <paramref name="x"/>.</param>
    /// <param name="op">Operator.</param>
    public static void BinaryScalar<TOp>(ReadOnlySpan<float> x, float y, Span<float> dst, TOp op)
        where TOp : struct, IBinaryOperator
    {
        CheckSameLength(x.Length, dst.Length);
        CheckAlias(x, dst);
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float dr = ref MemoryMarshal.GetReference(dst);
        nuint n = (nuint)x.Length;
        nuint i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> yv = Vector512.Create(y);
            for (; i + 16 <= n; i += 16)
            {
                op.Invoke(Vector512.LoadUnsafe(ref xr, i), yv).StoreUnsafe(ref dr, i);
            }
        }

        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> yv = Vector256.Create(y);
            for (; i + 8 <= n; i += 8)
            {
                op.Invoke(Vector256.LoadUnsafe(ref xr, i), yv).StoreUnsafe(ref dr, i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref dr, i) = op.Invoke(Unsafe.Add(ref xr, i), y);
        }
    }

    private static void CheckSameLength(int a, int b)
    {
        if (a != b)
        {
            throw new ArgumentException($"Elementwise operands must have equal lengths but got {a} and {b}");
        }
    }

    private static void CheckAlias(ReadOnlySpan<float> source, Span<float> dst)
    {
        if (source.Overlaps(dst, out int offset) && offset != 0)
        {
            throw new ArgumentException($"Elementwise destination partly overlaps a source (offset {offset}); only exact in-place use is allowed");
        }
    }
}
