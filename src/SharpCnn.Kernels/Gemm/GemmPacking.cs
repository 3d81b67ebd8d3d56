using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous micro-panel layouts of <see cref="IGemmMicroKernel"/>;
/// the four transpose combinations differ only here. Stored rows that become panel columns go through an
/// in-register 8×8 transpose; stored rows that stay rows are plain vector copies.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Packs op(A)[i0 + i, p0 + p] for i &lt; mc, p &lt; kc into row micro-panels of <paramref name="mr"/> rows (the
    /// last one mc mod mr rows, unpadded): the panel starting at row ir holds its element (r, p) at
    /// <c>dst[ir·kc + p·rows + r]</c>.
    /// </summary>
    public static void PackA(in GemmJob job, int i0, int mc, int p0, int kc, int mr, float* dst)
    {
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* d = dst + ((nint)ir * kc);
            if (job.TransA)
            {
                // op(A)[i, p] = A[p, i]: each p is `rows` contiguous floats of a stored row.
                CopyLines(job.A + ((nint)p0 * job.Lda) + i0 + ir, job.Lda, kc, rows, d, rows);
            }
            else
            {
                // op(A)[i, p] = A[i, p]: stored rows become panel columns.
                Transpose(job.A + ((nint)(i0 + ir) * job.Lda) + p0, job.Lda, rows, kc, d, rows);
            }
        }
    }

    /// <summary>
    /// Packs op(B)[p0 + p, j0 + j] for p &lt; kc, j &lt; nc into column micro-panels <paramref name="nr"/> wide (the
    /// last one zero-padded to nr): the panel starting at column jr holds its element (p, col) at
    /// <c>dst[jr·kc + p·nr + col]</c>.
    /// </summary>
    public static void PackB(in GemmJob job, int p0, int kc, int j0, int nc, int nr, float* dst)
    {
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* d = dst + ((nint)jr * kc);
            if (job.TransB)
            {
                // op(B)[p, j] = B[j, p]: stored rows become panel columns.
                Transpose(job.B + ((nint)(j0 + jr) * job.Ldb) + p0, job.Ldb, cols, kc, d, nr);
            }
            else
            {
                // op(B)[p, j] = B[p, j]: each p is `cols` contiguous floats of a stored row.
                CopyLines(job.B + ((nint)p0 * job.Ldb) + j0 + jr, job.Ldb, kc, cols, d, nr);
            }
        }
    }

    /// <summary>dst[line·width + j] = src[line·ld + j] for j &lt; count, 0 for count ≤ j &lt; width.</summary>
    private static void CopyLines(float* src, nint ld, int lines, int count, float* dst, int width)
    {
        for (int line = 0; line < lines; line++)
        {
            float* s = src + (line * ld);
            float* d = dst + ((nint)line * width);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                for (; j + 8 <= count; j += 8)
                {
                    Vector256.Store(Vector256.Load(s + j), d + j);
                }
            }

            for (; j < count; j++)
            {
                d[j] = s[j];
            }

            for (; j < width; j++)
            {
                d[j] = 0f;
            }
        }
    }

    /// <summary>
    /// dst[p·width + line] = src[line·ld + p] for line &lt; lines, p &lt; kc, and 0 for lines ≤ line &lt; width: packs
    /// stored rows as panel columns. Groups of 8 lines go through 8×8 in-register transposes (8 contiguous loads,
    /// 8 contiguous stores) instead of 64 scalar moves with a strided side.
    /// </summary>
    private static void Transpose(float* src, nint ld, int lines, int kc, float* dst, int width)
    {
        int line = 0;
        if (Avx.IsSupported)
        {
            int kc8 = kc & ~7;
            for (; line + 8 <= lines; line += 8)
            {
                float* s = src + (line * ld);
                float* d = dst + line;
                for (int p = 0; p < kc8; p += 8)
                {
                    Transpose8x8(s + p, ld, d + ((nint)p * width), width);
                }

                for (int p = kc8; p < kc; p++)
                {
                    for (int t = 0; t < 8; t++)
                    {
                        d[((nint)p * width) + t] = s[(t * ld) + p];
                    }
                }
            }
        }

        for (; line < lines; line++)
        {
            float* s = src + (line * ld);
            for (int p = 0; p < kc; p++)
            {
                dst[((nint)p * width) + line] = s[p];
            }
        }

        for (; line < width; line++)
        {
            for (int p = 0; p < kc; p++)
            {
                dst[((nint)p * width) + line] = 0f;
            }
        }
    }

    /// <summary>Writes the transpose of the 8×8 block at <paramref name="src"/> to <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, nint srcStride, float* dst, nint dstStride)
    {
        Vector256<float> r0 = Avx.LoadVector256(src), r1 = Avx.LoadVector256(src + srcStride);
        Vector256<float> r2 = Avx.LoadVector256(src + (2 * srcStride)), r3 = Avx.LoadVector256(src + (3 * srcStride));
        Vector256<float> r4 = Avx.LoadVector256(src + (4 * srcStride)), r5 = Avx.LoadVector256(src + (5 * srcStride));
        Vector256<float> r6 = Avx.LoadVector256(src + (6 * srcStride)), r7 = Avx.LoadVector256(src + (7 * srcStride));

        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: row i of the result is column i.
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(dst, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(dst + dstStride, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(dst + (2 * dstStride), Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(dst + (3 * dstStride), Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(dst + (4 * dstStride), Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(dst + (5 * dstStride), Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(dst + (6 * dstStride), Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(dst + (7 * dstStride), Avx.Permute2x128(u3, u7, 0x31));
    }
}
