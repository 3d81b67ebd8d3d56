using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// The one loop every elementwise operator runs in: Vector512 blocks, then Vector256 blocks, then a scalar
/// tail. The destination may be the same span as a source (in place) but must not partly overlap one.
/// Long spans are cut into chunks of <see cref="ChunkLength"/> elements (a multiple of 16) that
/// <see cref="KernelParallel"/> spreads over threads; every element takes the same code path (vector width or
/// scalar tail) for any thread count, so results are bitwise identical.
/// </summary>
public static class ElementwiseDriver
{
    /// <summary>Elements per parallel chunk (64 KiB of floats; a multiple of every vector width).</summary>
    public const int ChunkLength = 16384;

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
        if (x.Length >= 2 * ChunkLength && KernelParallel.MaxThreads > 1)
        {
            unsafe
            {
                fixed (float* px = x)
                fixed (float* pd = dst)
                {
                    nint xa = (nint)px, da = (nint)pd;
                    int length = x.Length;
                    KernelParallel.For(Chunks(length), ChunkLength, (start, end) =>
                    {
                        (int offset, int count) = ChunkRange(start, end, length);
                        UnaryCore(ref Unsafe.AsRef<float>((float*)xa + offset), ref Unsafe.AsRef<float>((float*)da + offset), (nuint)count, op);
                    });
                }
            }

            return;
        }

        UnaryCore(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(dst), (nuint)x.Length, op);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UnaryCore<TOp>(ref float xr, ref float dr, nuint n, TOp op)
        where TOp : struct, IUnaryOperator
    {
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
        if (x.Length >= 2 * ChunkLength && KernelParallel.MaxThreads > 1)
        {
            unsafe
            {
                fixed (float* px = x)
                fixed (float* py = y)
                fixed (float* pd = dst)
                {
                    nint xa = (nint)px, ya = (nint)py, da = (nint)pd;
                    int length = x.Length;
                    KernelParallel.For(Chunks(length), ChunkLength, (start, end) =>
                    {
                        (int offset, int count) = ChunkRange(start, end, length);
                        BinaryCore(
                            ref Unsafe.AsRef<float>((float*)xa + offset),
                            ref Unsafe.AsRef<float>((float*)ya + offset),
                            ref Unsafe.AsRef<float>((float*)da + offset),
                            (nuint)count,
                            op);
                    });
                }
            }

            return;
        }

        BinaryCore(ref MemoryMarshal.GetReference(x), ref MemoryMarshal.GetReference(y), ref MemoryMarshal.GetReference(dst), (nuint)x.Length, op);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BinaryCore<TOp>(ref float xr, ref float yr, ref float dr, nuint n, TOp op)
        where TOp : struct, IBinaryOperator
    {
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

    private static int Chunks(int length) => (int)(((long)length + ChunkLength - 1) / ChunkLength);

    private static (int Offset, int Count) ChunkRange(int start, int end, int length)
    {
        long offset = (long)start * ChunkLength;
        return ((int)offset, (int)(Math.Min((long)end * ChunkLength, length) - offset));
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
