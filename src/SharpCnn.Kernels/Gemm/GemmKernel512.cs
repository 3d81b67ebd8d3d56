using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Vector512 broadcast-FMA micro-kernel, up to 14 rows × 32 columns (2 zmm per row). Per p it loads one 32-wide
/// row of the B panel into two registers and, for each row r, broadcasts a[r] and issues two FMAs: the 8×32 tile
/// keeps 16 accumulators, 2 B vectors and 1 broadcast in registers (19 of 32 zmm), 14×32 uses 31.
/// </summary>
/// <remarks>
/// Tiles narrower than 17 columns run a one-vector kernel; the last, partial vector of a row is loaded and stored
/// with an AVX-512 mask, so ragged tiles never go through scalar code or a temporary.
/// </remarks>
internal readonly unsafe partial struct GemmKernel512 : IGemmMicroKernel
{
    /// <summary>Rows of a full tile: 8 (16 accumulators) measured best; see docs/performance.md.</summary>
    public static int Mr => 8;

    public static int Nr => 32;

    public static void Tile(int rows, int cols, int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool add)
    {
        if (cols > 16)
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
                case 6:
                    Micro2<GemmRows6>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 7:
                    Micro2<GemmRows7>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 8:
                    Micro2<GemmRows8>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 9:
                    Micro2<GemmRows9>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 10:
                    Micro2<GemmRows10>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 11:
                    Micro2<GemmRows11>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 12:
                    Micro2<GemmRows12>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 13:
                    Micro2<GemmRows13>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                default:
                    Micro2<GemmRows14>(kc, a, b, ldb, c, ldc, cols, add);
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
                case 6:
                    Micro1<GemmRows6>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 7:
                    Micro1<GemmRows7>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 8:
                    Micro1<GemmRows8>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 9:
                    Micro1<GemmRows9>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 10:
                    Micro1<GemmRows10>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 11:
                    Micro1<GemmRows11>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 12:
                    Micro1<GemmRows12>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                case 13:
                    Micro1<GemmRows13>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
                default:
                    Micro1<GemmRows14>(kc, a, b, ldb, c, ldc, cols, add);
                    break;
            }
        }
    }

    /// <summary>C[rows × cols] (+)= Σ_p a[p·rows + r]·b[p·ldb + j] for a tile at most 32 columns wide (2 vectors per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro2<TRows>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int cols, bool add)
        where TRows : struct, IGemmRows
    {
        int rows = TRows.Value;
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        Vector512<float> c8_0 = default, c8_1 = default;
        Vector512<float> c9_0 = default, c9_1 = default;
        Vector512<float> c10_0 = default, c10_1 = default;
        Vector512<float> c11_0 = default, c11_1 = default;
        Vector512<float> c12_0 = default, c12_1 = default;
        Vector512<float> c13_0 = default, c13_1 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(a0, b1, c0_1);

            if (rows > 1)
            {
                Vector512<float> a1 = Vector512.Create(a[1]);
                c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
                c1_1 = Vector512.FusedMultiplyAdd(a1, b1, c1_1);
            }

            if (rows > 2)
            {
                Vector512<float> a2 = Vector512.Create(a[2]);
                c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
                c2_1 = Vector512.FusedMultiplyAdd(a2, b1, c2_1);
            }

            if (rows > 3)
            {
                Vector512<float> a3 = Vector512.Create(a[3]);
                c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
                c3_1 = Vector512.FusedMultiplyAdd(a3, b1, c3_1);
            }

            if (rows > 4)
            {
                Vector512<float> a4 = Vector512.Create(a[4]);
                c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
                c4_1 = Vector512.FusedMultiplyAdd(a4, b1, c4_1);
            }

            if (rows > 5)
            {
                Vector512<float> a5 = Vector512.Create(a[5]);
                c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
                c5_1 = Vector512.FusedMultiplyAdd(a5, b1, c5_1);
            }

            if (rows > 6)
            {
                Vector512<float> a6 = Vector512.Create(a[6]);
                c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
                c6_1 = Vector512.FusedMultiplyAdd(a6, b1, c6_1);
            }

            if (rows > 7)
            {
                Vector512<float> a7 = Vector512.Create(a[7]);
                c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
                c7_1 = Vector512.FusedMultiplyAdd(a7, b1, c7_1);
            }

            if (rows > 8)
            {
                Vector512<float> a8 = Vector512.Create(a[8]);
                c8_0 = Vector512.FusedMultiplyAdd(a8, b0, c8_0);
                c8_1 = Vector512.FusedMultiplyAdd(a8, b1, c8_1);
            }

            if (rows > 9)
            {
                Vector512<float> a9 = Vector512.Create(a[9]);
                c9_0 = Vector512.FusedMultiplyAdd(a9, b0, c9_0);
                c9_1 = Vector512.FusedMultiplyAdd(a9, b1, c9_1);
            }

            if (rows > 10)
            {
                Vector512<float> a10 = Vector512.Create(a[10]);
                c10_0 = Vector512.FusedMultiplyAdd(a10, b0, c10_0);
                c10_1 = Vector512.FusedMultiplyAdd(a10, b1, c10_1);
            }

            if (rows > 11)
            {
                Vector512<float> a11 = Vector512.Create(a[11]);
                c11_0 = Vector512.FusedMultiplyAdd(a11, b0, c11_0);
                c11_1 = Vector512.FusedMultiplyAdd(a11, b1, c11_1);
            }

            if (rows > 12)
            {
                Vector512<float> a12 = Vector512.Create(a[12]);
                c12_0 = Vector512.FusedMultiplyAdd(a12, b0, c12_0);
                c12_1 = Vector512.FusedMultiplyAdd(a12, b1, c12_1);
            }

            if (rows > 13)
            {
                Vector512<float> a13 = Vector512.Create(a[13]);
                c13_0 = Vector512.FusedMultiplyAdd(a13, b0, c13_0);
                c13_1 = Vector512.FusedMultiplyAdd(a13, b1, c13_1);
            }

            a += rows;
            b += ldb;
        }

        Vector512<float> mask = Mask(cols - 16);
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

        if (rows > 6)
        {
            Put2(c + (6 * ldc), add, cols, mask, c6_0, c6_1);
        }

        if (rows > 7)
        {
            Put2(c + (7 * ldc), add, cols, mask, c7_0, c7_1);
        }

        if (rows > 8)
        {
            Put2(c + (8 * ldc), add, cols, mask, c8_0, c8_1);
        }

        if (rows > 9)
        {
            Put2(c + (9 * ldc), add, cols, mask, c9_0, c9_1);
        }

        if (rows > 10)
        {
            Put2(c + (10 * ldc), add, cols, mask, c10_0, c10_1);
        }

        if (rows > 11)
        {
            Put2(c + (11 * ldc), add, cols, mask, c11_0, c11_1);
        }

        if (rows > 12)
        {
            Put2(c + (12 * ldc), add, cols, mask, c12_0, c12_1);
        }

        if (rows > 13)
        {
            Put2(c + (13 * ldc), add, cols, mask, c13_0, c13_1);
        }
    }


    /// <summary>C[rows × cols] (+)= Σ_p a[p·rows + r]·b[p·ldb + j] for a tile at most 16 columns wide (1 vector per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro1<TRows>(int kc, float* a, float* b, nint ldb, float* c, nint ldc, int cols, bool add)
        where TRows : struct, IGemmRows
    {
        int rows = TRows.Value;
        Vector512<float> c0_0 = default;
        Vector512<float> c1_0 = default;
        Vector512<float> c2_0 = default;
        Vector512<float> c3_0 = default;
        Vector512<float> c4_0 = default;
        Vector512<float> c5_0 = default;
        Vector512<float> c6_0 = default;
        Vector512<float> c7_0 = default;
        Vector512<float> c8_0 = default;
        Vector512<float> c9_0 = default;
        Vector512<float> c10_0 = default;
        Vector512<float> c11_0 = default;
        Vector512<float> c12_0 = default;
        Vector512<float> c13_0 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> a0 = Vector512.Create(a[0]);
            c0_0 = Vector512.FusedMultiplyAdd(a0, b0, c0_0);

            if (rows > 1)
            {
                Vector512<float> a1 = Vector512.Create(a[1]);
                c1_0 = Vector512.FusedMultiplyAdd(a1, b0, c1_0);
            }

            if (rows > 2)
            {
                Vector512<float> a2 = Vector512.Create(a[2]);
                c2_0 = Vector512.FusedMultiplyAdd(a2, b0, c2_0);
            }

            if (rows > 3)
            {
                Vector512<float> a3 = Vector512.Create(a[3]);
                c3_0 = Vector512.FusedMultiplyAdd(a3, b0, c3_0);
            }

            if (rows > 4)
            {
                Vector512<float> a4 = Vector512.Create(a[4]);
                c4_0 = Vector512.FusedMultiplyAdd(a4, b0, c4_0);
            }

            if (rows > 5)
            {
                Vector512<float> a5 = Vector512.Create(a[5]);
                c5_0 = Vector512.FusedMultiplyAdd(a5, b0, c5_0);
            }

            if (rows > 6)
            {
                Vector512<float> a6 = Vector512.Create(a[6]);
                c6_0 = Vector512.FusedMultiplyAdd(a6, b0, c6_0);
            }

            if (rows > 7)
            {
                Vector512<float> a7 = Vector512.Create(a[7]);
                c7_0 = Vector512.FusedMultiplyAdd(a7, b0, c7_0);
            }

            if (rows > 8)
            {
                Vector512<float> a8 = Vector512.Create(a[8]);
                c8_0 = Vector512.FusedMultiplyAdd(a8, b0, c8_0);
            }

            if (rows > 9)
            {
                Vector512<float> a9 = Vector512.Create(a[9]);
                c9_0 = Vector512.FusedMultiplyAdd(a9, b0, c9_0);
            }

            if (rows > 10)
            {
                Vector512<float> a10 = Vector512.Create(a[10]);
                c10_0 = Vector512.FusedMultiplyAdd(a10, b0, c10_0);
            }

            if (rows > 11)
            {
                Vector512<float> a11 = Vector512.Create(a[11]);
                c11_0 = Vector512.FusedMultiplyAdd(a11, b0, c11_0);
            }

            if (rows > 12)
            {
                Vector512<float> a12 = Vector512.Create(a[12]);
                c12_0 = Vector512.FusedMultiplyAdd(a12, b0, c12_0);
            }

            if (rows > 13)
            {
                Vector512<float> a13 = Vector512.Create(a[13]);
                c13_0 = Vector512.FusedMultiplyAdd(a13, b0, c13_0);
            }

            a += rows;
            b += ldb;
        }

        Vector512<float> mask = Mask(cols);
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

        if (rows > 6)
        {
            Put1(c + (6 * ldc), add, cols, mask, c6_0);
        }

        if (rows > 7)
        {
            Put1(c + (7 * ldc), add, cols, mask, c7_0);
        }

        if (rows > 8)
        {
            Put1(c + (8 * ldc), add, cols, mask, c8_0);
        }

        if (rows > 9)
        {
            Put1(c + (9 * ldc), add, cols, mask, c9_0);
        }

        if (rows > 10)
        {
            Put1(c + (10 * ldc), add, cols, mask, c10_0);
        }

        if (rows > 11)
        {
            Put1(c + (11 * ldc), add, cols, mask, c11_0);
        }

        if (rows > 12)
        {
            Put1(c + (12 * ldc), add, cols, mask, c12_0);
        }

        if (rows > 13)
        {
            Put1(c + (13 * ldc), add, cols, mask, c13_0);
        }
    }


    /// <summary>All-ones in the first <paramref name="count"/> lanes (none when count ≤ 0, all when ≥ 16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Mask(int count) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();

    /// <summary>Stores (or adds) a 32-wide row: the second vector holds <c>cols − 16</c> valid lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put2(float* c, bool add, int cols, Vector512<float> mask, Vector512<float> v0, Vector512<float> v1)
    {
        if (add)
        {
            v0 += Vector512.Load(c);
        }

        v0.Store(c);
        if (cols == 32)
        {
            if (add)
            {
                v1 += Vector512.Load(c + 16);
            }

            v1.Store(c + 16);
        }
        else
        {
            if (add)
            {
                v1 += Avx512F.MaskLoad(c + 16, mask, Vector512<float>.Zero);
            }

            Avx512F.MaskStore(c + 16, mask, v1);
        }
    }

    /// <summary>Stores (or adds) a row of at most 16 columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put1(float* c, bool add, int cols, Vector512<float> mask, Vector512<float> v0)
    {
        if (cols == 16)
        {
            if (add)
            {
                v0 += Vector512.Load(c);
            }

            v0.Store(c);
        }
        else
        {
            if (add)
            {
                v0 += Avx512F.MaskLoad(c, mask, Vector512<float>.Zero);
            }

            Avx512F.MaskStore(c, mask, v0);
        }
    }
}
