using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Single-precision matrix multiply, C = op(A)·op(B) (+ C), row-major. The variant is chosen once per process:
/// the fastest one the hardware accelerates, or the one named by the environment variable <c>SHARPCNN_KERNEL</c>
/// (a comma-separated list of variant names; the first <see cref="GemmVariant"/> name in it wins).
/// </summary>
/// <remarks>
/// Work is split across threads by blocks of rows or columns of C, never along k, and every element of C is
/// computed by the same sequence of operations whatever the split, so results are bitwise identical for any
/// <see cref="KernelParallel.MaxThreads"/>.
/// </remarks>
public static class Gemm
{
    private static readonly Lazy<GemmVariant> s_selected = new(SelectVariant);

    /// <summary>Gets the variant <see cref="Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool)"/> uses.</summary>
    /// <exception cref="PlatformNotSupportedException"><c>SHARPCNN_KERNEL</c> names a variant this machine cannot run.</exception>
    public static GemmVariant SelectedVariant => VariantOverride ?? s_selected.Value;

    /// <summary>Gets or sets a variant that replaces the selected one process-wide (tests run the conv kernels over every variant).</summary>
    internal static GemmVariant? VariantOverride { get; set; }

    /// <summary>Gets the variants this machine can run, slowest first.</summary>
    public static IReadOnlyList<GemmVariant> SupportedVariants { get; } =
        Enum.GetValues<GemmVariant>().Where(IsSupported).ToArray();

    /// <summary>Tells whether the hardware accelerates what <paramref name="variant"/> needs.</summary>
    /// <param name="variant">A variant.</param>
    /// <returns>True when the variant can run here.</returns>
    public static bool IsSupported(GemmVariant variant) => variant switch
    {
        GemmVariant.GemmScalar => true,
        GemmVariant.GemmVector256Packed => Vector256.IsHardwareAccelerated && Avx2.IsSupported && Fma.IsSupported,
        GemmVariant.GemmVector512Packed => Vector512.IsHardwareAccelerated && Avx512F.IsSupported,
        _ => false,
    };

    /// <summary>
    /// C = op(A)·op(B), or C += op(A)·op(B) when <paramref name="accumulate"/>, with the selected variant.
    /// op(A) is m×k (A stored k×m when <paramref name="transA"/>), op(B) is k×n (B stored n×k when
    /// <paramref name="transB"/>), C is m×n; all row-major with the given row strides. With k = 0 and no
    /// accumulation C's window is zeroed; with m or n = 0 nothing happens.
    /// </summary>
    /// <param name="transA">Use Aᵀ.</param>
    /// <param name="transB">Use Bᵀ.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="a">A as stored.</param>
    /// <param name="lda">Row stride of A as stored (≥ k, or ≥ m when transposed).</param>
    /// <param name="b">B as stored.</param>
    /// <param name="ldb">Row stride of B as stored (≥ n, or ≥ k when transposed).</param>
    /// <param name="c">C; only its m×n window is touched.</param>
    /// <param name="ldc">Row stride of C (≥ n).</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    /// <exception cref="ArgumentException">A size is negative, a stride too small or a span too short.</exception>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate) =>
        Multiply(SelectedVariant, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);

    /// <summary>As <see cref="Multiply(bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool)"/>, forcing one variant (for tests and benchmarks).</summary>
    /// <param name="variant">The implementation to run.</param>
    /// <param name="transA">Use Aᵀ.</param>
    /// <param name="transB">Use Bᵀ.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="a">A as stored.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="b">B as stored.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="c">C; only its m×n window is touched.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    /// <exception cref="PlatformNotSupportedException">The variant cannot run on this machine.</exception>
    public static void Multiply(GemmVariant variant, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        Check(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        if (!IsSupported(variant))
        {
            throw new PlatformNotSupportedException($"Gemm: variant {variant} is not accelerated on this machine.");
        }

        MultiplyUnchecked(variant, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel: true);
    }

    /// <summary>Entry for kernels that already checked their arguments; <paramref name="parallel"/> false when the caller already runs on a worker.</summary>
    internal static void MultiplyUnchecked(GemmVariant variant, bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate,
        bool parallel)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                for (int i = 0; i < m; i++)
                {
                    c.Slice(i * ldc, n).Clear();
                }
            }

            return;
        }

        switch (variant)
        {
            case GemmVariant.GemmVector512Packed:
                GemmBlocked.Run<GemmKernel512>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);
                break;
            case GemmVariant.GemmVector256Packed:
                GemmBlocked.Run<GemmKernel256>(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate, parallel);
                break;
            default:
                GemmScalar.Run(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                break;
        }
    }

    /// <summary>
    /// C = op(A)·B, or C += op(A)·B when <paramref name="accumulate"/>, with B (k×n) already in the packed layout
    /// <paramref name="layout"/> of <paramref name="variant"/> (see <see cref="GemmPackedB"/>): the multiply reads its
    /// panels in place instead of copying B into them, and C is bitwise what
    /// <see cref="Multiply(GemmVariant, bool, bool, int, int, int, ReadOnlySpan{float}, int, ReadOnlySpan{float}, int, Span{float}, int, bool)"/>
    /// gives for the unpacked B with the same variant and thread count. The scalar variant unpacks B into a temporary
    /// and runs as the plain call. With k = 0 and no accumulation C's window is zeroed; with m or n = 0 nothing happens.
    /// </summary>
    /// <param name="variant">The implementation to run; must be the layout's.</param>
    /// <param name="transA">Use Aᵀ.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C; must be the layout's.</param>
    /// <param name="k">Inner dimension; must be the layout's.</param>
    /// <param name="a">A as stored.</param>
    /// <param name="lda">Row stride of A as stored (≥ k, or ≥ m when transposed).</param>
    /// <param name="layout">The layout <paramref name="packedB"/> is written in.</param>
    /// <param name="packedB">op(B) in that layout, at least <see cref="GemmPackedB.Length"/> floats.</param>
    /// <param name="c">C; only its m×n window is touched.</param>
    /// <param name="ldc">Row stride of C (≥ n).</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    /// <param name="parallel">False when the caller already runs on a worker (the multiply then stays on this thread).</param>
    /// <exception cref="ArgumentException">A size is negative, a stride too small, a span too short, or the layout is not for this variant and shape.</exception>
    /// <exception cref="PlatformNotSupportedException">The variant cannot run on this machine.</exception>
    internal static void MultiplyPackedB(GemmVariant variant, bool transA, int m, int n, int k, ReadOnlySpan<float> a,
        int lda, in GemmPackedB layout, ReadOnlySpan<float> packedB, Span<float> c, int ldc, bool accumulate,
        bool parallel)
    {
        if (layout.Variant != variant || layout.K != k || layout.N != n)
        {
            throw new ArgumentException(
                $"Gemm: the packed B layout is for {layout.Variant} with k={layout.K}, n={layout.N} but the call is {variant} with k={k}, n={n}.");
        }

        Check(transA, false, m, n, k, a.Length, lda, 0, Math.Max(1, n), c.Length, ldc, checkB: false);
        if (packedB.Length < layout.Length)
        {
            throw new ArgumentException($"Gemm: the packed B needs {layout.Length} floats but the span has {packedB.Length}.");
        }

        if (!IsSupported(variant))
        {
            throw new PlatformNotSupportedException($"Gemm: variant {variant} is not accelerated on this machine.");
        }

        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            MultiplyUnchecked(variant, transA, false, m, n, k, a, lda, packedB, n, c, ldc, accumulate, parallel);
            return;
        }

        switch (variant)
        {
            case GemmVariant.GemmVector512Packed:
                GemmBlocked.RunPackedB<GemmKernel512>(transA, m, n, k, a, lda, packedB, c, ldc, accumulate, parallel);
                break;
            case GemmVariant.GemmVector256Packed:
                GemmBlocked.RunPackedB<GemmKernel256>(transA, m, n, k, a, lda, packedB, c, ldc, accumulate, parallel);
                break;
            default:
                // The reference path: unpack and run the plain scalar loops (same bits as the plain call).
                float[] b = new float[(long)k * n];
                for (int p = 0; p < k; p++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        b[((long)p * n) + j] = packedB[(int)layout.Index(p, j)];
                    }
                }

                GemmScalar.Run(transA, false, m, n, k, a, lda, b, n, c, ldc, accumulate);
                break;
        }
    }

    private static void Check(bool transA, bool transB, int m, int n, int k, int aLength, int lda, int bLength,
        int ldb, int cLength, int ldc, bool checkB = true)
    {
        if (m < 0 || n < 0 || k < 0)
        {
            throw new ArgumentException($"Gemm: sizes must be non-negative but got m={m}, n={n}, k={k}.");
        }

        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        CheckMatrix("A", aRows, aCols, aLength, lda);
        if (checkB)
        {
            CheckMatrix("B", bRows, bCols, bLength, ldb);
        }

        CheckMatrix("C", m, n, cLength, ldc);
    }

    private static void CheckMatrix(string name, int rows, int cols, int length, int ld)
    {
        if (ld < Math.Max(1, cols))
        {
            throw new ArgumentException($"Gemm: ld{name.ToLowerInvariant()}={ld} is smaller than the {cols} columns of {name} as stored.");
        }

        long needed = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;
        if (length < needed)
        {
            throw new ArgumentException($"Gemm: {name} ({rows}×{cols}, stride {ld}) needs {needed} elements but the span has {length}.");
        }
    }

    private static GemmVariant SelectVariant()
    {
        string? forced = Environment.GetEnvironmentVariable("SHARPCNN_KERNEL");
        if (!string.IsNullOrWhiteSpace(forced))
        {
            foreach (string name in forced.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (Enum.TryParse(name, ignoreCase: false, out GemmVariant v) && Enum.IsDefined(v) && !char.IsDigit(name[0]))
                {
                    if (!IsSupported(v))
                    {
                        throw new PlatformNotSupportedException($"SHARPCNN_KERNEL={forced}: {name} is not accelerated on this machine.");
                    }

                    return v;
                }
            }
        }

        return SupportedVariants[^1];
    }
}
