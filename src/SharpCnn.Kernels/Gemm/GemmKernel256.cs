using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Vector256 broadcast-FMA micro-kernel, up to 6 rows × 16 columns (2 ymm per row): 12 accumulators, 2 B vectors
/// and 1 broadcast fit the 16 ymm registers of AVX2.
/// </summary>
/// <remarks>
/// Tiles narrower than 9 columns run a one-vector kernel; the last, partial vector of a row is loaded and stored
/// with <c>vmaskmovps</c>, which does not touch masked-off memory.
/// </remarks>
internal readonly unsafe struct GemmKernel256 : IGemmMicroKernel
{
    public static int Mr => 6;

    public static int Nr => 16;

    /// <summary>Gets false: the blocked GEMM always packs A for this kernel (the in-place reading was measured for Vector512 only).</summary>
    public static bool ReadsAInPlace => false;

    public static void TileAInPlace(int rows, int cols, int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add) =>
        throw new NotSupportedException("GemmKernel256 reads A from packed panels only.");

    public static void Tile(int rows, int cols, int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool add)
    {
        if (cols > 8)
        {
            switch (rows)
            {
                case 1:
                    Micro2<GemmRows1>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 2:
                    Micro2<GemmRows2>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 3:
                    Micro2<GemmRows3>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 4:
                    Micro2<GemmRows4>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 5:
                    Micro2<GemmRows5>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                default:
                    Micro2<GemmRows6>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
            }
        }
        else
        {
            switch (rows)
            {
                case 1:
                    Micro1<GemmRows1>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 2:
                    Micro1<GemmRows2>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 3:
                    Micro1<GemmRows3>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 4:
                    Micro1<GemmRows4>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 5:
                    Micro1<GemmRows5>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                default:
                    Micro1<GemmRows6>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
            }
        }
    }

    /// <summary>C[rows × cols] (+)= Σ_p a[p·rows + r]·b[p·ldb + j] for a tile at most 16 columns wide (2 vectors per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro2<TRows>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int cols, bool add)
        where TRows : struct, IGemmRows
    {
        int rows = TRows.Value;
        Vector256<float> c0_0 = default, c0_1 = default;
        Vector256<float> c1_0 = default, c1_1 = default;
        Vector256<float> c2_0 = default, c2_1 = default;
        Vector256<float> c3_0 = default, c3_1 = default;
        Vector256<float> c4_0 = default, c4_1 = default;
        Vector256<float> c5_0 = default, c5_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> a0 = Vector256.Create(a[0]);
            c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector256.FusedMultiplyAdd(a0, b1, c0_1);

            if (rows > 1)
            {
                Vector256<float> a1 = Vector256.Create(a[1]);
                c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0);
                c1_1 = Vector256.FusedMultiplyAdd(a1, b1, c1_1);
            }

            if (rows > 2)
            {
                Vector256<float> a2 = Vector256.Create(a[2]);
                c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0);
                c2_1 = Vector256.FusedMultiplyAdd(a2, b1, c2_1);
            }

            if (rows > 3)
            {
                Vector256<float> a3 = Vector256.Create(a[3]);
                c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0);
                c3_1 = Vector256.FusedMultiplyAdd(a3, b1, c3_1);
            }

            if (rows > 4)
            {
                Vector256<float> a4 = Vector256.Create(a[4]);
                c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0);
                c4_1 = Vector256.FusedMultiplyAdd(a4, b1, c4_1);
            }

            if (rows > 5)
            {
                Vector256<float> a5 = Vector256.Create(a[5]);
                c5_0 = Vector256.FusedMultiplyAdd(a5, b0, c5_0);
                c5_1 = Vector256.FusedMultiplyAdd(a5, b1, c5_1);
            }

            a += rows;
            b += ldb;
        }

        Vector256<float> mask = Mask(cols - 8);
        Put2(c, add, cols, mask, c0_0, c0_1);

        if (rows > 1)
        {
            Put2(c + ldc, add, cols, mask, c1_0, c1_1);
        }

        if (rows > 2)
        {
            Put2(c + (2 * ldc), add, cols, mask, c2_0, c2_1);
        }

        if (rows > 3)
        {
            Put2(c + (3 * ldc), add, cols, mask, c3_0, c3_1);
        }

        if (rows > 4)
        {
            Put2(c + (4 * ldc), add, cols, mask, c4_0, c4_1);
        }

        if (rows > 5)
        {
            Put2(c + (5 * ldc), add, cols, mask, c5_0, c5_1);
        }
    }


    /// <summary>C[rows × cols] (+)= Σ_p a[p·rows + r]·b[p·ldb + j] for a tile at most 8 columns wide (1 vector per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro1<TRows>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int cols, bool add)
        where TRows : struct, IGemmRows
    {
        int rows = TRows.Value;
        Vector256<float> c0_0 = default;
        Vector256<float> c1_0 = default;
        Vector256<float> c2_0 = default;
        Vector256<float> c3_0 = default;
        Vector256<float> c4_0 = default;
        Vector256<float> c5_0 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> a0 = Vector256.Create(a[0]);
            c0_0 = Vector256.FusedMultiplyAdd(a0, b0, c0_0);

            if (rows > 1)
            {
                Vector256<float> a1 = Vector256.Create(a[1]);
                c1_0 = Vector256.FusedMultiplyAdd(a1, b0, c1_0);
            }

            if (rows > 2)
            {
                Vector256<float> a2 = Vector256.Create(a[2]);
                c2_0 = Vector256.FusedMultiplyAdd(a2, b0, c2_0);
            }

            if (rows > 3)
            {
                Vector256<float> a3 = Vector256.Create(a[3]);
                c3_0 = Vector256.FusedMultiplyAdd(a3, b0, c3_0);
            }

            if (rows > 4)
            {
                Vector256<float> a4 = Vector256.Create(a[4]);
                c4_0 = Vector256.FusedMultiplyAdd(a4, b0, c4_0);
            }

            if (rows > 5)
            {
                Vector256<float> a5 = Vector256.Create(a[5]);
                c5_0 = Vector256.FusedMultiplyAdd(a5, b0, c5_0);
            }

            a += rows;
            b += ldb;
        }

        Vector256<float> mask = Mask(cols);
        Put1(c, add, cols, mask, c0_0);

        if (rows > 1)
        {
            Put1(c + ldc, add, cols, mask, c1_0);
        }

        if (rows > 2)
        {
            Put1(c + (2 * ldc), add, cols, mask, c2_0);
        }

        if (rows > 3)
        {
            Put1(c + (3 * ldc), add, cols, mask, c3_0);
        }

        if (rows > 4)
        {
            Put1(c + (4 * ldc), add, cols, mask, c4_0);
        }

        if (rows > 5)
        {
            Put1(c + (5 * ldc), add, cols, mask, c5_0);
        }
    }


    /// <summary>All-ones in the first <paramref name="count"/> lanes (none when count ≤ 0, all when ≥ 8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Mask(int count) =>
        Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

    /// <summary>Stores (or adds) a 16-wide row: the second vector holds <c>cols − 8</c> valid lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put2(float* c, bool add, int cols, Vector256<float> mask, Vector256<float> v0, Vector256<float> v1)
    {
        if (add)
        {
            v0 += Vector256.Load(c);
        }

        v0.Store(c);
        if (cols == 16)
        {
            if (add)
            {
                v1 += Vector256.Load(c + 8);
            }

            v1.Store(c + 8);
        }
        else
        {
            if (add)
            {
                v1 += Avx.MaskLoad(c + 8, mask);
            }

            Avx.MaskStore(c + 8, mask, v1);
        }
    }

    /// <summary>Stores (or adds) a row of at most 8 columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put1(float* c, bool add, int cols, Vector256<float> mask, Vector256<float> v0)
    {
        if (cols == 8)
        {
            if (add)
            {
                v0 += Vector256.Load(c);
            }

            v0.Store(c);
        }
        else
        {
            if (add)
            {
                v0 += Avx.MaskLoad(c, mask);
            }

            Avx.MaskStore(c, mask, v0);
        }
    }
}
