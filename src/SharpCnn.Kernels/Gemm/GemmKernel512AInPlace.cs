using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// The Vector512 micro-kernel reading op(A) in place: the tile's rows are the stored rows of a non-transposed A,
/// <c>lda</c> floats apart, so a blocked GEMM need not pack A at all (see <see cref="GemmBlocked"/>).
/// </summary>
/// <remarks>
/// Per p it broadcasts a[r·lda + p] for each row where the packed kernels broadcast a[p·rows + r]: the same FMA per
/// element in the same order, so the result bits are those of <see cref="Tile"/> on the packed panel. The 8 row
/// streams advance 4 bytes per p; each of their 64-byte lines serves 16 steps from L1, and the rows come from L2
/// (or L3 on the first tile of a panel) through the hardware prefetchers.
/// </remarks>
internal readonly unsafe partial struct GemmKernel512
{
    public static bool ReadsAInPlace => true;

    public static void TileAInPlace(int rows, int cols, int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add)
    {
        if (cols > 16)
        {
            switch (rows)
            {
                case 1:
                    MicroDirectA2<GemmRows1>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 2:
                    MicroDirectA2<GemmRows2>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 3:
                    MicroDirectA2<GemmRows3>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 4:
                    MicroDirectA2<GemmRows4>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 5:
                    MicroDirectA2<GemmRows5>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 6:
                    MicroDirectA2<GemmRows6>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 7:
                    MicroDirectA2<GemmRows7>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 8:
                    MicroDirectA2<GemmRows8>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(rows), rows, $"GemmKernel512: an in-place A tile has 1 to {Mr} rows.");
            }
        }
        else
        {
            switch (rows)
            {
                case 1:
                    MicroDirectA1<GemmRows1>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 2:
                    MicroDirectA1<GemmRows2>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 3:
                    MicroDirectA1<GemmRows3>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 4:
                    MicroDirectA1<GemmRows4>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 5:
                    MicroDirectA1<GemmRows5>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 6:
                    MicroDirectA1<GemmRows6>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 7:
                    MicroDirectA1<GemmRows7>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                case 8:
                    MicroDirectA1<GemmRows8>(kc, a, lda, b, ldb, c, ldc, cols, add);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(rows), rows, $"GemmKernel512: an in-place A tile has 1 to {Mr} rows.");
            }
        }
    }

    /// <summary>C[rows × cols] (+)= Σ_p a[r·lda + p]·b[p·ldb + j] for a tile at most 32 columns wide (2 vectors per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroDirectA2<TRows>(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int cols, bool add)
        where TRows : struct, IGemmRows
    {
        int rows = TRows.Value;
        float* a0 = a;
        float* a1 = rows > 1 ? a + lda : a;
        float* a2 = rows > 2 ? a + (2 * lda) : a;
        float* a3 = rows > 3 ? a + (3 * lda) : a;
        float* a4 = rows > 4 ? a + (4 * lda) : a;
        float* a5 = rows > 5 ? a + (5 * lda) : a;
        float* a6 = rows > 6 ? a + (6 * lda) : a;
        float* a7 = rows > 7 ? a + (7 * lda) : a;
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> x0 = Vector512.Create(a0[p]);
            c0_0 = Vector512.FusedMultiplyAdd(x0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(x0, b1, c0_1);

            if (rows > 1)
            {
                Vector512<float> x1 = Vector512.Create(a1[p]);
                c1_0 = Vector512.FusedMultiplyAdd(x1, b0, c1_0);
                c1_1 = Vector512.FusedMultiplyAdd(x1, b1, c1_1);
            }

            if (rows > 2)
            {
                Vector512<float> x2 = Vector512.Create(a2[p]);
                c2_0 = Vector512.FusedMultiplyAdd(x2, b0, c2_0);
                c2_1 = Vector512.FusedMultiplyAdd(x2, b1, c2_1);
            }

            if (rows > 3)
            {
                Vector512<float> x3 = Vector512.Create(a3[p]);
                c3_0 = Vector512.FusedMultiplyAdd(x3, b0, c3_0);
                c3_1 = Vector512.FusedMultiplyAdd(x3, b1, c3_1);
            }

            if (rows > 4)
            {
                Vector512<float> x4 = Vector512.Create(a4[p]);
                c4_0 = Vector512.FusedMultiplyAdd(x4, b0, c4_0);
                c4_1 = Vector512.FusedMultiplyAdd(x4, b1, c4_1);
            }

            if (rows > 5)
            {
                Vector512<float> x5 = Vector512.Create(a5[p]);
                c5_0 = Vector512.FusedMultiplyAdd(x5, b0, c5_0);
                c5_1 = Vector512.FusedMultiplyAdd(x5, b1, c5_1);
            }

            if (rows > 6)
            {
                Vector512<float> x6 = Vector512.Create(a6[p]);
                c6_0 = Vector512.FusedMultiplyAdd(x6, b0, c6_0);
                c6_1 = Vector512.FusedMultiplyAdd(x6, b1, c6_1);
            }

            if (rows > 7)
            {
                Vector512<float> x7 = Vector512.Create(a7[p]);
                c7_0 = Vector512.FusedMultiplyAdd(x7, b0, c7_0);
                c7_1 = Vector512.FusedMultiplyAdd(x7, b1, c7_1);
            }

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
    }

    /// <summary>C[rows × cols] (+)= Σ_p a[r·lda + p]·b[p·ldb + j] for a tile at most 16 columns wide (1 vector per row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroDirectA1<TRows>(int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, int cols, bool add)
        where TRows : struct, IGemmRows
    {
        int rows = TRows.Value;
        float* a0 = a;
        float* a1 = rows > 1 ? a + lda : a;
        float* a2 = rows > 2 ? a + (2 * lda) : a;
        float* a3 = rows > 3 ? a + (3 * lda) : a;
        float* a4 = rows > 4 ? a + (4 * lda) : a;
        float* a5 = rows > 5 ? a + (5 * lda) : a;
        float* a6 = rows > 6 ? a + (6 * lda) : a;
        float* a7 = rows > 7 ? a + (7 * lda) : a;
        Vector512<float> c0_0 = default;
        Vector512<float> c1_0 = default;
        Vector512<float> c2_0 = default;
        Vector512<float> c3_0 = default;
        Vector512<float> c4_0 = default;
        Vector512<float> c5_0 = default;
        Vector512<float> c6_0 = default;
        Vector512<float> c7_0 = default;
        for (nint p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            c0_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a0[p]), b0, c0_0);

            if (rows > 1)
            {
                c1_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a1[p]), b0, c1_0);
            }

            if (rows > 2)
            {
                c2_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a2[p]), b0, c2_0);
            }

            if (rows > 3)
            {
                c3_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a3[p]), b0, c3_0);
            }

            if (rows > 4)
            {
                c4_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a4[p]), b0, c4_0);
            }

            if (rows > 5)
            {
                c5_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a5[p]), b0, c5_0);
            }

            if (rows > 6)
            {
                c6_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a6[p]), b0, c6_0);
            }

            if (rows > 7)
            {
                c7_0 = Vector512.FusedMultiplyAdd(Vector512.Create(a7[p]), b0, c7_0);
            }

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
    }
}
