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
        if (rows == 8 && cols == 32 && ldb == 32)
        {
            MicroDirectA8x32(kc, a, lda, b, c, ldc, add);
        }
        else if (cols > 16)
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

    /// <summary>
    /// A full 8×32 tile on a packed B micro-panel (32 floats per p): as <see cref="MicroDirectA2{TRows}"/> with the B
    /// stride a constant and p unrolled by 4, so the loop carries one counter and no spilled row pointer
    /// (same FMA per element in the same order).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MicroDirectA8x32(nint kc, float* a, nint lda, float* b, float* c, nint ldc, bool add)
    {
        float* a0 = a;
        float* a1 = a + lda;
        float* a2 = a + (2 * lda);
        float* a3 = a + (3 * lda);
        float* a4 = a + (4 * lda);
        float* a5 = a + (5 * lda);
        float* a6 = a + (6 * lda);
        float* a7 = a + (7 * lda);
        Vector512<float> c0_0 = default, c0_1 = default;
        Vector512<float> c1_0 = default, c1_1 = default;
        Vector512<float> c2_0 = default, c2_1 = default;
        Vector512<float> c3_0 = default, c3_1 = default;
        Vector512<float> c4_0 = default, c4_1 = default;
        Vector512<float> c5_0 = default, c5_1 = default;
        Vector512<float> c6_0 = default, c6_1 = default;
        Vector512<float> c7_0 = default, c7_1 = default;
        nint p = 0;
        for (; p + 4 <= kc; p += 4)
        {
            Vector512<float> b00 = Vector512.Load(b + 0);
            Vector512<float> b01 = Vector512.Load(b + 16);
            Vector512<float> x00 = Vector512.Create(a0[p]);
            c0_0 = Vector512.FusedMultiplyAdd(x00, b00, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(x00, b01, c0_1);
            Vector512<float> x01 = Vector512.Create(a1[p]);
            c1_0 = Vector512.FusedMultiplyAdd(x01, b00, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(x01, b01, c1_1);
            Vector512<float> x02 = Vector512.Create(a2[p]);
            c2_0 = Vector512.FusedMultiplyAdd(x02, b00, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(x02, b01, c2_1);
            Vector512<float> x03 = Vector512.Create(a3[p]);
            c3_0 = Vector512.FusedMultiplyAdd(x03, b00, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(x03, b01, c3_1);
            Vector512<float> x04 = Vector512.Create(a4[p]);
            c4_0 = Vector512.FusedMultiplyAdd(x04, b00, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(x04, b01, c4_1);
            Vector512<float> x05 = Vector512.Create(a5[p]);
            c5_0 = Vector512.FusedMultiplyAdd(x05, b00, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(x05, b01, c5_1);
            Vector512<float> x06 = Vector512.Create(a6[p]);
            c6_0 = Vector512.FusedMultiplyAdd(x06, b00, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(x06, b01, c6_1);
            Vector512<float> x07 = Vector512.Create(a7[p]);
            c7_0 = Vector512.FusedMultiplyAdd(x07, b00, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(x07, b01, c7_1);
            Vector512<float> b10 = Vector512.Load(b + 32);
            Vector512<float> b11 = Vector512.Load(b + 48);
            Vector512<float> x10 = Vector512.Create(a0[p + 1]);
            c0_0 = Vector512.FusedMultiplyAdd(x10, b10, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(x10, b11, c0_1);
            Vector512<float> x11 = Vector512.Create(a1[p + 1]);
            c1_0 = Vector512.FusedMultiplyAdd(x11, b10, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(x11, b11, c1_1);
            Vector512<float> x12 = Vector512.Create(a2[p + 1]);
            c2_0 = Vector512.FusedMultiplyAdd(x12, b10, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(x12, b11, c2_1);
            Vector512<float> x13 = Vector512.Create(a3[p + 1]);
            c3_0 = Vector512.FusedMultiplyAdd(x13, b10, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(x13, b11, c3_1);
            Vector512<float> x14 = Vector512.Create(a4[p + 1]);
            c4_0 = Vector512.FusedMultiplyAdd(x14, b10, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(x14, b11, c4_1);
            Vector512<float> x15 = Vector512.Create(a5[p + 1]);
            c5_0 = Vector512.FusedMultiplyAdd(x15, b10, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(x15, b11, c5_1);
            Vector512<float> x16 = Vector512.Create(a6[p + 1]);
            c6_0 = Vector512.FusedMultiplyAdd(x16, b10, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(x16, b11, c6_1);
            Vector512<float> x17 = Vector512.Create(a7[p + 1]);
            c7_0 = Vector512.FusedMultiplyAdd(x17, b10, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(x17, b11, c7_1);
            Vector512<float> b20 = Vector512.Load(b + 64);
            Vector512<float> b21 = Vector512.Load(b + 80);
            Vector512<float> x20 = Vector512.Create(a0[p + 2]);
            c0_0 = Vector512.FusedMultiplyAdd(x20, b20, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(x20, b21, c0_1);
            Vector512<float> x21 = Vector512.Create(a1[p + 2]);
            c1_0 = Vector512.FusedMultiplyAdd(x21, b20, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(x21, b21, c1_1);
            Vector512<float> x22 = Vector512.Create(a2[p + 2]);
            c2_0 = Vector512.FusedMultiplyAdd(x22, b20, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(x22, b21, c2_1);
            Vector512<float> x23 = Vector512.Create(a3[p + 2]);
            c3_0 = Vector512.FusedMultiplyAdd(x23, b20, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(x23, b21, c3_1);
            Vector512<float> x24 = Vector512.Create(a4[p + 2]);
            c4_0 = Vector512.FusedMultiplyAdd(x24, b20, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(x24, b21, c4_1);
            Vector512<float> x25 = Vector512.Create(a5[p + 2]);
            c5_0 = Vector512.FusedMultiplyAdd(x25, b20, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(x25, b21, c5_1);
            Vector512<float> x26 = Vector512.Create(a6[p + 2]);
            c6_0 = Vector512.FusedMultiplyAdd(x26, b20, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(x26, b21, c6_1);
            Vector512<float> x27 = Vector512.Create(a7[p + 2]);
            c7_0 = Vector512.FusedMultiplyAdd(x27, b20, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(x27, b21, c7_1);
            Vector512<float> b30 = Vector512.Load(b + 96);
            Vector512<float> b31 = Vector512.Load(b + 112);
            Vector512<float> x30 = Vector512.Create(a0[p + 3]);
            c0_0 = Vector512.FusedMultiplyAdd(x30, b30, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(x30, b31, c0_1);
            Vector512<float> x31 = Vector512.Create(a1[p + 3]);
            c1_0 = Vector512.FusedMultiplyAdd(x31, b30, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(x31, b31, c1_1);
            Vector512<float> x32 = Vector512.Create(a2[p + 3]);
            c2_0 = Vector512.FusedMultiplyAdd(x32, b30, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(x32, b31, c2_1);
            Vector512<float> x33 = Vector512.Create(a3[p + 3]);
            c3_0 = Vector512.FusedMultiplyAdd(x33, b30, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(x33, b31, c3_1);
            Vector512<float> x34 = Vector512.Create(a4[p + 3]);
            c4_0 = Vector512.FusedMultiplyAdd(x34, b30, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(x34, b31, c4_1);
            Vector512<float> x35 = Vector512.Create(a5[p + 3]);
            c5_0 = Vector512.FusedMultiplyAdd(x35, b30, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(x35, b31, c5_1);
            Vector512<float> x36 = Vector512.Create(a6[p + 3]);
            c6_0 = Vector512.FusedMultiplyAdd(x36, b30, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(x36, b31, c6_1);
            Vector512<float> x37 = Vector512.Create(a7[p + 3]);
            c7_0 = Vector512.FusedMultiplyAdd(x37, b30, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(x37, b31, c7_1);
            b += 128;
        }

        for (; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> x0 = Vector512.Create(a0[p]);
            c0_0 = Vector512.FusedMultiplyAdd(x0, b0, c0_0);
            c0_1 = Vector512.FusedMultiplyAdd(x0, b1, c0_1);
            Vector512<float> x1 = Vector512.Create(a1[p]);
            c1_0 = Vector512.FusedMultiplyAdd(x1, b0, c1_0);
            c1_1 = Vector512.FusedMultiplyAdd(x1, b1, c1_1);
            Vector512<float> x2 = Vector512.Create(a2[p]);
            c2_0 = Vector512.FusedMultiplyAdd(x2, b0, c2_0);
            c2_1 = Vector512.FusedMultiplyAdd(x2, b1, c2_1);
            Vector512<float> x3 = Vector512.Create(a3[p]);
            c3_0 = Vector512.FusedMultiplyAdd(x3, b0, c3_0);
            c3_1 = Vector512.FusedMultiplyAdd(x3, b1, c3_1);
            Vector512<float> x4 = Vector512.Create(a4[p]);
            c4_0 = Vector512.FusedMultiplyAdd(x4, b0, c4_0);
            c4_1 = Vector512.FusedMultiplyAdd(x4, b1, c4_1);
            Vector512<float> x5 = Vector512.Create(a5[p]);
            c5_0 = Vector512.FusedMultiplyAdd(x5, b0, c5_0);
            c5_1 = Vector512.FusedMultiplyAdd(x5, b1, c5_1);
            Vector512<float> x6 = Vector512.Create(a6[p]);
            c6_0 = Vector512.FusedMultiplyAdd(x6, b0, c6_0);
            c6_1 = Vector512.FusedMultiplyAdd(x6, b1, c6_1);
            Vector512<float> x7 = Vector512.Create(a7[p]);
            c7_0 = Vector512.FusedMultiplyAdd(x7, b0, c7_0);
            c7_1 = Vector512.FusedMultiplyAdd(x7, b1, c7_1);
            b += 32;
        }

        Vector512<float> mask = Mask(16);
        Put2(c, add, 32, mask, c0_0, c0_1);
        Put2(c + ldc, add, 32, mask, c1_0, c1_1);
        Put2(c + (2 * ldc), add, 32, mask, c2_0, c2_1);
        Put2(c + (3 * ldc), add, 32, mask, c3_0, c3_1);
        Put2(c + (4 * ldc), add, 32, mask, c4_0, c4_1);
        Put2(c + (5 * ldc), add, 32, mask, c5_0, c5_1);
        Put2(c + (6 * ldc), add, 32, mask, c6_0, c6_1);
        Put2(c + (7 * ldc), add, 32, mask, c7_0, c7_1);
    }
}
