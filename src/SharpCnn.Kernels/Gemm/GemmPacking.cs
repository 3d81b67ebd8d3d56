using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Copies blocks of op(A) and op(B) into the contiguous micro-panel layouts of <see cref="IGemmMicroKernel"/>;
/// the four transpose combinations differ only here. Stored rows that stay panel rows are vector copies (a ragged
/// last panel is read with a masked load, which zero-fills the padding); stored rows that become panel columns go
/// through in-register 8×8 transposes, with a row of zeros standing in for the padding lines of a ragged B panel.
/// </summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Stored rows <see cref="CopyToPanels"/> copies as one tile. Rows a multiple of 4 KiB apart map to the same L1
    /// sets, and Zen 4's L1 has 8 ways: 16 rows (with the next 16 prefetched into L1, as until the `gemm90c` branch)
    /// evicted each other before their lines were used; 8 rows without software prefetch pack B 1.6× faster, from L3
    /// and from DRAM alike (docs/performance.md, "SGEMM, round four").
    /// </summary>
    private const int LineBlock = 8;

    /// <summary>The longest k slice a transpose may be asked for (the zero row covers it).</summary>
    private const int MaxKc = 1024;

    /// <summary>Stands in for the missing stored rows of a ragged B panel; never written.</summary>
    private static readonly float[] s_zeroRow = GC.AllocateArray<float>(MaxKc + 8, pinned: true);

    /// <summary>
    /// Packs op(A)[i0 + i, p0 + p] for i &lt; mc, p &lt; kc into row micro-panels of <paramref name="mr"/> rows (the
    /// last one mc mod mr rows, unpadded): the panel starting at row ir holds its element (r, p) at
    /// <c>dst[ir·kc + p·rows + r]</c>. Rows of op(A) up to i0 + <paramref name="available"/> may be prefetched (the
    /// transposes prefetch the next panel's rows; a caller packing one panel at a time lets them run into the next).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(in GemmJob job, int i0, int mc, int p0, int kc, int mr, float* dst, int available = 0)
    {
        if (job.TransA)
        {
            // op(A)[i, p] = A[p, i]: stored rows stay panel rows.
            CopyToPanels(job.A + ((nint)p0 * job.Lda) + i0, job.Lda, kc, mc, mr, pad: false, dst);
            return;
        }

        // op(A)[i, p] = A[i, p]: stored rows become panel columns. Each panel prefetches the next one's rows.
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            Transpose(job.A + ((nint)(i0 + ir) * job.Lda) + p0, job.Lda, rows, kc, dst + ((nint)ir * kc), rows, Math.Max(mc, available) - ir);
        }
    }

    /// <summary>
    /// Packs op(B)[p0 + p, j0 + j] for p &lt; kc, j &lt; nc into column micro-panels <paramref name="nr"/> wide (the
    /// last one zero-padded to nr; nr a multiple of 8): the panel starting at column jr holds its element (p, col) at
    /// <c>dst[jr·kc + p·nr + col]</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(in GemmJob job, int p0, int kc, int j0, int nc, int nr, float* dst)
    {
        if (!job.TransB)
        {
            // op(B)[p, j] = B[p, j]: stored rows stay panel rows.
            CopyToPanels(job.B + ((nint)p0 * job.Ldb) + j0, job.Ldb, kc, nc, nr, pad: true, dst);
            return;
        }

        // op(B)[p, j] = B[j, p]: stored rows become panel columns.
        for (int jr = 0; jr < nc; jr += nr)
        {
            Transpose(job.B + ((nint)(j0 + jr) * job.Ldb) + p0, job.Ldb, Math.Min(nr, nc - jr), kc, dst + ((nint)jr * kc), nr, nc - jr);
        }
    }

    /// <summary>
    /// Cuts <paramref name="lines"/> stored rows of <paramref name="count"/> floats into panels <paramref name="width"/>
    /// wide: the panel starting at column j holds src[line·ld + j + col] at <c>dst[j·lines + line·w + col]</c>, where w
    /// is <paramref name="width"/> for full panels and for the last one when <paramref name="pad"/> (its missing
    /// columns zeroed; width then a multiple of 8), else the last panel's own width.
    /// </summary>
    /// <remarks>
    /// Works on tiles of <see cref="LineBlock"/> rows: within a tile each panel receives one contiguous run, so the
    /// writes stay local even for 8-wide A panels (a row-at-a-time copy scatters them 8 KiB apart: 4× slower for
    /// a 1024×1024 Aᵀ). No software prefetch: the hardware prefetchers follow the 8 row streams, and prefetching the
    /// next tile's rows into L1 or L2 measured slower, from L3 and from DRAM alike.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CopyToPanels(float* src, nint ld, int lines, int count, int width, bool pad, float* dst)
    {
        int full = count / width * width, rest = count - full, lastWidth = pad ? width : rest;
        bool vector = Avx.IsSupported;
        for (int l0 = 0; l0 < lines; l0 += LineBlock)
        {
            int l1 = Math.Min(l0 + LineBlock, lines);
            for (int j = 0; j < full; j += width)
            {
                float* s = src + (l0 * ld) + j;
                float* d = dst + ((nint)j * lines) + ((nint)l0 * width);
                if (vector && width == 32)
                {
                    for (int line = l0; line < l1; line++, s += ld, d += 32)
                    {
                        Vector256.Store(Vector256.Load(s), d);
                        Vector256.Store(Vector256.Load(s + 8), d + 8);
                        Vector256.Store(Vector256.Load(s + 16), d + 16);
                        Vector256.Store(Vector256.Load(s + 24), d + 24);
                    }
                }
                else if (vector && width == 16)
                {
                    for (int line = l0; line < l1; line++, s += ld, d += 16)
                    {
                        Vector256.Store(Vector256.Load(s), d);
                        Vector256.Store(Vector256.Load(s + 8), d + 8);
                    }
                }
                else if (vector && width == 8)
                {
                    for (int line = l0; line < l1; line++, s += ld, d += 8)
                    {
                        Vector256.Store(Vector256.Load(s), d);
                    }
                }
                else
                {
                    for (int line = l0; line < l1; line++, s += ld, d += width)
                    {
                        Copy(s, d, width);
                    }
                }
            }

            if (rest > 0)
            {
                float* s = src + (l0 * ld) + full;
                float* d = dst + ((nint)full * lines) + ((nint)l0 * lastWidth);
                for (int line = l0; line < l1; line++, s += ld, d += lastWidth)
                {
                    if (pad && vector)
                    {
                        // Masked-off lanes read as zero and never touch memory past the row.
                        for (int j = 0; j < width; j += 8)
                        {
                            Vector256<float> mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(rest - j)).AsSingle();
                            Vector256.Store(Avx.MaskLoad(s + j, mask), d + j);
                        }
                    }
                    else
                    {
                        Copy(s, d, rest);
                        for (int j = rest; j < lastWidth; j++)
                        {
                            d[j] = 0f;
                        }
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Copy(float* s, float* d, int count)
    {
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
    }

    /// <summary>
    /// dst[p·width + line] = src[line·ld + p] for line &lt; lines, p &lt; kc, and 0 for lines ≤ line &lt; width: packs
    /// stored rows as panel columns, 8 lines at a time through 8×8 in-register transposes (8 contiguous loads, 8
    /// contiguous stores). When width is a multiple of 8 the lines past <paramref name="lines"/> read a row of zeros,
    /// so a ragged panel costs the same as a full one; otherwise (an A panel of fewer than 8 rows) they are copied one by one.
    /// </summary>
    /// <remarks>
    /// While a group of 8 lines is transposed, the next 8 stored rows are prefetched into L2 (those below
    /// <paramref name="available"/>, which may run past <paramref name="lines"/> into the caller's next panel): rows
    /// a whole stride apart are short streams the hardware prefetchers barely start on, and packing a
    /// 1024×256 slice of a 1024-wide A was otherwise bound by its L3 latency.
    /// </remarks>
    /// <param name="src">First stored row.</param>
    /// <param name="ld">Stride of the stored rows.</param>
    /// <param name="lines">Stored rows to pack.</param>
    /// <param name="kc">Floats per stored row (the panel depth).</param>
    /// <param name="dst">Panel.</param>
    /// <param name="width">Panel width (≥ lines).</param>
    /// <param name="available">Stored rows from <paramref name="src"/> on that may be read (prefetched); at least lines.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Transpose(float* src, nint ld, int lines, int kc, float* dst, int width, int available = 0)
    {
        int line = 0;
        if (Avx.IsSupported && kc <= MaxKc)
        {
            float* zeros = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(s_zeroRow));
            int kc8 = kc & ~7;
            int groupEnd = width % 8 == 0 ? width : lines & ~7;
            for (; line < groupEnd; line += 8)
            {
                float* r0 = Row(src, ld, line, lines, zeros), r1 = Row(src, ld, line + 1, lines, zeros);
                float* r2 = Row(src, ld, line + 2, lines, zeros), r3 = Row(src, ld, line + 3, lines, zeros);
                float* r4 = Row(src, ld, line + 4, lines, zeros), r5 = Row(src, ld, line + 5, lines, zeros);
                float* r6 = Row(src, ld, line + 6, lines, zeros), r7 = Row(src, ld, line + 7, lines, zeros);
                float* d = dst + line;
                int ahead = Math.Min(8, Math.Max(lines, available) - line - 8);
                float* next = src + ((line + 8) * ld);
                int q = 0;
                if (ahead > 0 && Sse.IsSupported)
                {
                    // One 64-byte line of each of the next rows per two 8×8 blocks, into L2 only: the current and the
                    // next 8 rows share the same L1 sets when the stride is a multiple of 4 KiB, so prefetching into
                    // L1 evicted the rows being transposed (2.3× slower from L3 than L2 prefetches).
                    for (; q + 16 <= kc8; q += 16)
                    {
                        for (int r = 0; r < ahead; r++)
                        {
                            Sse.Prefetch1(next + (r * ld) + q);
                        }

                        Transpose8x8(r0 + q, r1 + q, r2 + q, r3 + q, r4 + q, r5 + q, r6 + q, r7 + q, d + ((nint)q * width), width);
                        Transpose8x8(r0 + q + 8, r1 + q + 8, r2 + q + 8, r3 + q + 8, r4 + q + 8, r5 + q + 8, r6 + q + 8,
                            r7 + q + 8, d + ((nint)(q + 8) * width), width);
                    }
                }

                for (; q < kc8; q += 8)
                {
                    Transpose8x8(r0 + q, r1 + q, r2 + q, r3 + q, r4 + q, r5 + q, r6 + q, r7 + q, d + ((nint)q * width), width);
                }

                for (int p = kc8; p < kc; p++)
                {
                    float* dp = d + ((nint)p * width);
                    dp[0] = r0[p];
                    dp[1] = r1[p];
                    dp[2] = r2[p];
                    dp[3] = r3[p];
                    dp[4] = r4[p];
                    dp[5] = r5[p];
                    dp[6] = r6[p];
                    dp[7] = r7[p];
                }
            }
        }

        for (; line < width; line++)
        {
            float* s = line < lines ? src + (line * ld) : null;
            for (int p = 0; p < kc; p++)
            {
                dst[((nint)p * width) + line] = s == null ? 0f : s[p];
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Row(float* src, nint ld, int line, int lines, float* zeros) =>
        line < lines ? src + (line * ld) : zeros;

    /// <summary>Writes the transpose of the 8×8 block whose rows start at r0..r7 to <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* r0, float* r1, float* r2, float* r3, float* r4, float* r5, float* r6,
        float* r7, float* dst, nint dstStride)
    {
        Vector256<float> v0 = Avx.LoadVector256(r0), v1 = Avx.LoadVector256(r1);
        Vector256<float> v2 = Avx.LoadVector256(r2), v3 = Avx.LoadVector256(r3);
        Vector256<float> v4 = Avx.LoadVector256(r4), v5 = Avx.LoadVector256(r5);
        Vector256<float> v6 = Avx.LoadVector256(r6), v7 = Avx.LoadVector256(r7);

        // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: row i of the result is column i.
        Vector256<float> t0 = Avx.UnpackLow(v0, v1), t1 = Avx.UnpackHigh(v0, v1);
        Vector256<float> t2 = Avx.UnpackLow(v2, v3), t3 = Avx.UnpackHigh(v2, v3);
        Vector256<float> t4 = Avx.UnpackLow(v4, v5), t5 = Avx.UnpackHigh(v4, v5);
        Vector256<float> t6 = Avx.UnpackLow(v6, v7), t7 = Avx.UnpackHigh(v6, v7);
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
