using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Packed-panel GEMM in the GotoBLAS/BLIS shape: for each Nc-wide column block and Kc-deep slice, op(B) is
/// packed into Nc/NR micro-panels (Kc×NR, row by row); for each Mc-tall row block op(A) is packed into Mc/MR
/// micro-panels (Kc×MR, column by column); a register-blocked micro-kernel then computes each MR×NR tile of C
/// with one broadcast-FMA per (row, vector of columns) per k. Packing zero-pads ragged panels, so the
/// micro-kernel never branches; ragged tiles go through a small buffer.
/// </summary>
/// <remarks>
/// Each C element is the sum over each Kc slice in k order, added to C slice by slice, whatever tile or thread
/// computes it: the split across threads (by NR column blocks or MR row blocks) cannot change a result bit.
/// </remarks>
internal static unsafe class GemmPacked
{
    internal enum Kernel
    {
        Vector256,
        Vector512,
    }

    // Kc×NR of B (32 KiB at NR = 32) stays in L1 while A micro-panels stream from L2 (Mc×Kc = 96 KiB).
    private const int Kc = 256;
    private const int Mc = 96;   // multiple of both MR values (12 and 6)
    private const int Nc = 512;  // Kc×Nc of B (512 KiB) fits half a 1 MiB L2; a multiple of both NR values
    private const int AlignFloats = 16; // 64 bytes

    public static void Run(Kernel kernel, bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a,
        int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, bool parallel)
    {
        int mr = kernel == Kernel.Vector512 ? 12 : 6;
        int nr = kernel == Kernel.Vector512 ? 32 : 16;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var job = new Job(kernel, mr, nr, transA, transB, k, pa, lda, pb, ldb, pc, ldc, accumulate);
            bool splitN = n >= m;
            int blocks = splitN ? (n + nr - 1) / nr : (m + mr - 1) / mr;
            if (!parallel || blocks < 2 || KernelParallel.MaxThreads == 1)
            {
                Block(job, 0, m, 0, n);
                return;
            }

            long cost = (long)(splitN ? m * nr : n * mr) * k;
            KernelParallel.For(blocks, cost, (start, end) =>
            {
                if (splitN)
                {
                    Block(job, 0, m, start * nr, Math.Min(end * nr, n));
                }
                else
                {
                    Block(job, start * mr, Math.Min(end * mr, m), 0, n);
                }
            });
        }
    }

    /// <summary>Computes rows [i0, i1) × columns [j0, j1) of C sequentially.</summary>
    private static void Block(in Job job, int i0, int i1, int j0, int j1)
    {
        int mr = job.Mr, nr = job.Nr;
        float[] aBuffer = ArrayPool<float>.Shared.Rent((Mc * Kc) + AlignFloats);
        float[] bBuffer = ArrayPool<float>.Shared.Rent((Kc * Nc) + AlignFloats);
        float* tile = stackalloc float[(12 * 32) + AlignFloats];
        try
        {
            fixed (float* aRaw = aBuffer)
            fixed (float* bRaw = bBuffer)
            {
                float* ap = Align(aRaw), bp = Align(bRaw), tp = Align(tile);
                for (int jc = j0; jc < j1; jc += Nc)
                {
                    int nc = Math.Min(Nc, j1 - jc);
                    for (int pc = 0; pc < job.K; pc += Kc)
                    {
                        int kc = Math.Min(Kc, job.K - pc);
                        PackB(job, pc, kc, jc, nc, bp);
                        bool add = job.Accumulate || pc > 0;
                        for (int ic = i0; ic < i1; ic += Mc)
                        {
                            int mc = Math.Min(Mc, i1 - ic);
                            PackA(job, ic, mc, pc, kc, ap);
                            for (int jr = 0; jr < nc; jr += nr)
                            {
                                int nrr = Math.Min(nr, nc - jr);
                                for (int ir = 0; ir < mc; ir += mr)
                                {
                                    int mrr = Math.Min(mr, mc - ir);
                                    float* cTile = job.C + ((long)(ic + ir) * job.Ldc) + jc + jr;
                                    if (mrr == mr && nrr == nr)
                                    {
                                        Micro(job.Kind, kc, ap + (ir * kc), bp + (jr * kc), cTile, job.Ldc, add);
                                    }
                                    else
                                    {
                                        Micro(job.Kind, kc, ap + (ir * kc), bp + (jr * kc), tp, nr, add: false);
                                        for (int r = 0; r < mrr; r++)
                                        {
                                            float* dst = cTile + ((long)r * job.Ldc);
                                            float* src = tp + (r * nr);
                                            for (int col = 0; col < nrr; col++)
                                            {
                                                dst[col] = add ? dst[col] + src[col] : src[col];
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(aBuffer);
            ArrayPool<float>.Shared.Return(bBuffer);
        }
    }

    private static float* Align(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    /// <summary>ap[panel·kc + p·MR + r] = op(A)[ic + panel·MR + r, pc + p], zero past the last row.</summary>
    private static void PackA(in Job job, int ic, int mc, int pc, int kc, float* ap)
    {
        int mr = job.Mr;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int rows = Math.Min(mr, mc - ir);
            float* dst = ap + (ir * kc);
            if (job.TransA)
            {
                // op(A)[i, p] = A[p, i]: each k step reads `rows` contiguous floats.
                for (int p = 0; p < kc; p++)
                {
                    float* src = job.A + ((long)(pc + p) * job.Lda) + ic + ir;
                    float* d = dst + (p * mr);
                    int r = 0;
                    for (; r < rows; r++)
                    {
                        d[r] = src[r];
                    }

                    for (; r < mr; r++)
                    {
                        d[r] = 0f;
                    }
                }
            }
            else
            {
                TransposeInto(job.A + ((long)(ic + ir) * job.Lda) + pc, job.Lda, rows, kc, dst, mr);
            }
        }
    }

    /// <summary>bp[panel·kc + p·NR + col] = op(B)[pc + p, jc + panel·NR + col], zero past the last column.</summary>
    private static void PackB(in Job job, int pc, int kc, int jc, int nc, float* bp)
    {
        int nr = job.Nr;
        for (int jr = 0; jr < nc; jr += nr)
        {
            int cols = Math.Min(nr, nc - jr);
            float* dst = bp + (jr * kc);
            if (!job.TransB)
            {
                // op(B)[p, j] = B[p, j]: each k step copies `cols` contiguous floats.
                for (int p = 0; p < kc; p++)
                {
                    float* src = job.B + ((long)(pc + p) * job.Ldb) + jc + jr;
                    float* d = dst + (p * nr);
                    if (cols == nr)
                    {
                        new ReadOnlySpan<float>(src, nr).CopyTo(new Span<float>(d, nr));
                    }
                    else
                    {
                        new ReadOnlySpan<float>(src, cols).CopyTo(new Span<float>(d, cols));
                        new Span<float>(d + cols, nr - cols).Clear();
                    }
                }
            }
            else
            {
                TransposeInto(job.B + ((long)(jc + jr) * job.Ldb) + pc, job.Ldb, cols, kc, dst, nr);
            }
        }
    }

    /// <summary>
    /// dst[p·width + line] = src[line·ld + p] for line &lt; lines, p &lt; kc, and 0 for lines..width: packs stored rows
    /// as panel columns. Full 8×8 blocks go through an in-register AVX transpose (8 contiguous loads, 8 contiguous
    /// stores) instead of 64 scalar moves with a strided side.
    /// </summary>
    private static void TransposeInto(float* src, long ld, int lines, int kc, float* dst, int width)
    {
        int line = 0;
        if (Avx.IsSupported)
        {
            int kc8 = kc & ~7;
            for (; line + 8 <= lines; line += 8)
            {
                for (int p = 0; p < kc8; p += 8)
                {
                    Transpose8x8(src + (line * ld) + p, ld, dst + (p * width) + line, width);
                }

                for (int p = kc8; p < kc; p++)
                {
                    for (int t = 0; t < 8; t++)
                    {
                        dst[(p * width) + line + t] = src[((line + t) * ld) + p];
                    }
                }
            }
        }

        for (; line < lines; line++)
        {
            float* s = src + (line * ld);
            for (int p = 0; p < kc; p++)
            {
                dst[(p * width) + line] = s[p];
            }
        }

        for (; line < width; line++)
        {
            for (int p = 0; p < kc; p++)
            {
                dst[(p * width) + line] = 0f;
            }
        }
    }

    /// <summary>Writes the transpose of the 8×8 block at <paramref name="src"/> to <paramref name="dst"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* src, long srcStride, float* dst, long dstStride)
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

    private static void Micro(Kernel kind, int kc, float* a, float* b, float* c, int ldc, bool add)
    {
        if (kind == Kernel.Vector512)
        {
            Micro12x32(kc, a, b, c, ldc, add);
        }
        else
        {
            Micro6x16(kc, a, b, c, ldc, add);
        }
    }

    /// <summary>C[12×32] (+)= Σ_p a[p·12 + r] · b[p·32 + col]: 24 zmm accumulators, 2 loads and 12 broadcasts per k (27 of 32 registers).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro12x32(int kc, float* a, float* b, float* c, int ldc, bool add)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector512<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<float> c60 = default, c61 = default, c70 = default, c71 = default;
        Vector512<float> c80 = default, c81 = default, c90 = default, c91 = default;
        Vector512<float> c100 = default, c101 = default, c110 = default, c111 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> av = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(av, b1, c01);
            av = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(av, b1, c11);
            av = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(av, b1, c21);
            av = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(av, b1, c31);
            av = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(av, b1, c41);
            av = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(av, b1, c51);
            av = Vector512.Create(a[6]);
            c60 = Vector512.FusedMultiplyAdd(av, b0, c60);
            c61 = Vector512.FusedMultiplyAdd(av, b1, c61);
            av = Vector512.Create(a[7]);
            c70 = Vector512.FusedMultiplyAdd(av, b0, c70);
            c71 = Vector512.FusedMultiplyAdd(av, b1, c71);
            av = Vector512.Create(a[8]);
            c80 = Vector512.FusedMultiplyAdd(av, b0, c80);
            c81 = Vector512.FusedMultiplyAdd(av, b1, c81);
            av = Vector512.Create(a[9]);
            c90 = Vector512.FusedMultiplyAdd(av, b0, c90);
            c91 = Vector512.FusedMultiplyAdd(av, b1, c91);
            av = Vector512.Create(a[10]);
            c100 = Vector512.FusedMultiplyAdd(av, b0, c100);
            c101 = Vector512.FusedMultiplyAdd(av, b1, c101);
            av = Vector512.Create(a[11]);
            c110 = Vector512.FusedMultiplyAdd(av, b0, c110);
            c111 = Vector512.FusedMultiplyAdd(av, b1, c111);
            a += 12;
            b += 32;
        }

        Store512(c, add, c00, c01);
        Store512(c + ldc, add, c10, c11);
        Store512(c + (2 * ldc), add, c20, c21);
        Store512(c + (3 * ldc), add, c30, c31);
        Store512(c + (4 * ldc), add, c40, c41);
        Store512(c + (5 * ldc), add, c50, c51);
        Store512(c + (6 * ldc), add, c60, c61);
        Store512(c + (7 * ldc), add, c70, c71);
        Store512(c + (8 * ldc), add, c80, c81);
        Store512(c + (9 * ldc), add, c90, c91);
        Store512(c + (10 * ldc), add, c100, c101);
        Store512(c + (11 * ldc), add, c110, c111);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, bool add, Vector512<float> v0, Vector512<float> v1)
    {
        if (add)
        {
            v0 = Vector512.Load(c) + v0;
            v1 = Vector512.Load(c + 16) + v1;
        }

        v0.Store(c);
        v1.Store(c + 16);
    }

    /// <summary>C[6×16] (+)= Σ_p a[p·6 + r] · b[p·16 + col]: 12 ymm accumulators fit AVX2's 16 registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Micro6x16(int kc, float* a, float* b, float* c, int ldc, bool add)
    {
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector256<float> c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<float> c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> av = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(av, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(av, b1, c01);
            av = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(av, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(av, b1, c11);
            av = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(av, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(av, b1, c21);
            av = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(av, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(av, b1, c31);
            av = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(av, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(av, b1, c41);
            av = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(av, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(av, b1, c51);
            a += 6;
            b += 16;
        }

        Store256(c, add, c00, c01);
        Store256(c + ldc, add, c10, c11);
        Store256(c + (2 * ldc), add, c20, c21);
        Store256(c + (3 * ldc), add, c30, c31);
        Store256(c + (4 * ldc), add, c40, c41);
        Store256(c + (5 * ldc), add, c50, c51);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, bool add, Vector256<float> v0, Vector256<float> v1)
    {
        if (add)
        {
            v0 = Vector256.Load(c) + v0;
            v1 = Vector256.Load(c + 8) + v1;
        }

        v0.Store(c);
        v1.Store(c + 8);
    }

    /// <summary>One multiply's operands as raw pointers (pinned by the caller for the whole call).</summary>
    private readonly struct Job(Kernel kind, int mr, int nr, bool transA, bool transB, int k, float* a, int lda,
        float* b, int ldb, float* c, int ldc, bool accumulate)
    {
        public Kernel Kind { get; } = kind;

        public int Mr { get; } = mr;

        public int Nr { get; } = nr;

        public bool TransA { get; } = transA;

        public bool TransB { get; } = transB;

        public int K { get; } = k;

        public float* A { get; } = a;

        public int Lda { get; } = lda;

        public float* B { get; } = b;

        public int Ldb { get; } = ldb;

        public float* C { get; } = c;

        public int Ldc { get; } = ldc;

        public bool Accumulate { get; } = accumulate;
    }
}
