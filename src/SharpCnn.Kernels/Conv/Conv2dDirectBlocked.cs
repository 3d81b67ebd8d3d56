using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Direct convolution over a channel-blocked, batch-interleaved layout (variant <c>Conv2dDirectBlocked</c>, AVX-512),
/// for layers whose maps are small enough that the implicit GEMM's padding taps cost a noticeable share of its work
/// (ResNet's 7×7 and 14×14 stages, 5×5 on 14×14, batch 1). Padding taps are never computed.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> Per call the input is repacked into X'[cb][phase][row][col][n][16]: blocks of 16 input
/// channels (the last zero-filled), the stride phases of the implicit GEMM (one phase for stride 1), zero columns left
/// and right, and the batch innermost. An output "item" is (ox, n); the items of one output row, in (ox, n) order,
/// are consecutive 16-float vectors in X', so for every tap a run of items reads consecutive vectors. The weights are
/// repacked into W'[ob][cb][tap][16 input channels][32 output channels].</para>
/// <para><b>Micro-kernel.</b> A block of up to <see cref="MaxItems"/> consecutive items of one output row × 32 output
/// channels lives in 2·items Vector512 accumulators; per input channel it loads two weight vectors and broadcasts one
/// input value per item (2·items FMAs). The reduction over (input channel block, ki, kj, channel) runs with the
/// accumulators in registers; the kh taps are clipped per output row and the kw taps per block, so taps that would
/// read padding are skipped. A block holds items whose output column has the same valid kw taps (for batch ≥ 4 the
/// border columns are blocks of their own); a column run shorter than <see cref="MinRunItems"/> items (batch 1 to 3)
/// joins its neighbour and reads the zero columns instead.</para>
/// <para><b>Work split.</b> Units are (32 output channels, output row, part of the row); each computes its items into
/// a small tile (the input-channel blocks in chunks whose weights, ≤ 128 KiB, stay in L2, the accumulators saved in
/// the tile between chunks) and then copies the finished row to NCHW: the place where a fused epilogue per output row
/// would go. Every output element is one FMA chain in (cb, ki, kj, channel) order starting at the bias, computed by
/// one unit, so results do not depend on the blocking or the thread count.</para>
/// <para><b>Backward-data</b> (stride 1) is this forward on dy with the kernel flipped and its channels swapped.</para>
/// </remarks>
internal static unsafe class Conv2dDirectBlocked
{
    /// <summary>Input channels per block (one Vector512 of lanes).</summary>
    private const int Lanes = 16;

    /// <summary>Output channels per block (two Vector512 accumulators per item).</summary>
    private const int Obw = 32;

    /// <summary>Items (output pixels × samples) per register block: 2·12 accumulators + 2 weights + 1 broadcast.</summary>
    private const int MaxItems = 12;

    /// <summary>A run of output columns with the same valid taps is kept as its own blocks from this many items up.</summary>
    private const int MinRunItems = 4;

    /// <summary>Input-channel blocks are processed in chunks whose packed weights are at most this many floats (128 KiB).</summary>
    private const int WeightChunkFloats = 1 << 15;

    /// <summary>Tells whether this machine runs the variant (AVX-512 and AVX2 gathers).</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx2.IsSupported;

    /// <summary>Can run the forward pass and backward-weight of <paramref name="g"/>: one group and repacked buffers that fit an array.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        IsSupported && g.Groups == 1 && Spec.Forward(g).Fits() && Spec.BackwardWeight(g).Fits();

    /// <summary>
    /// Can run backward-data as a forward of dy with the flipped kernel: stride 1 and padding at most d·(k − 1) on
    /// every side.
    /// </summary>
    public static bool SupportsBackwardData(in Conv2dGeometry g) =>
        Supports(g) && g.StrideH == 1 && g.StrideW == 1
        && Math.Max(g.PadTop, g.PadBottom) <= g.DilationH * (g.KernelH - 1)
        && Math.Max(g.PadLeft, g.PadRight) <= g.DilationW * (g.KernelW - 1)
        && Spec.BackwardData(g).Fits();

    /// <summary>
    /// Worth choosing for the forward pass and backward-data where Winograd is not preferred (measured on one thread
    /// against the implicit GEMM, docs/performance.md): stride 1, one group, a kernel of at least 3×3 taps, at least 16
    /// input and 64 output channels, maps of at most 14×14 (= 196 outputs, where padding taps are a noticeable share)
    /// and at least 64 output pixels over the batch (batch 1 at 7×7 is weight-bound and stays on the GEMM).
    /// MNIST's conv2 (5×5, 14×14): forward 1.25×, backward-data 1.4×.
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g)
    {
        long p = (long)g.OutHeight * g.OutWidth;
        return Supports(g) && g.StrideH == 1 && g.StrideW == 1 && g.KernelH * g.KernelW >= 9
            && g.InChannels >= 16 && g.OutChannels >= 64 && p <= 196 && p * g.Batch >= 64;
    }

    /// <summary>
    /// Worth choosing for backward-weight whatever runs the other passes (measured against the implicit GEMM): stride
    /// 1, one group, batch ≥ 16 (the samples are the reduction's channel blocks), at least 16 input and 64 output
    /// channels, maps of at most 14×14. ResNet's layer4 1.2×, MNIST's conv2 1.35×, the 3×3 layer on 14×14 1.1×.
    /// </summary>
    public static bool PrefersBackwardWeight(in Conv2dGeometry g)
    {
        long p = (long)g.OutHeight * g.OutWidth;
        return Supports(g) && g.StrideH == 1 && g.StrideW == 1 && g.Batch >= 16
            && g.InChannels >= 16 && g.OutChannels >= 64 && p <= 196;
    }

    /// <summary>y = conv(x, w) + b over the whole batch; <paramref name="bias"/> may be null.</summary>
    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y) => Run(x, w, bias, Spec.Forward(g), y, default);

    /// <summary>
    /// y = epilogue(conv(x, w)): the bias starts each FMA chain as in the plain forward, then the residual and ReLU of
    /// <paramref name="epilogue"/> are applied to each finished output row while it is still in L1
    /// (<see cref="ConvEpilogue.ApplyRow"/>), bit for bit the plain forward followed by the separate pass.
    /// </summary>
    public static void Forward(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y) =>
        Run(x, w, epilogue.Bias, Spec.Forward(g), y, new ConvEpilogue(null, epilogue.Residual, epilogue.Relu));

    /// <summary>dx = ∂L/∂x for <see cref="SupportsBackwardData"/> geometries: the forward of dy with the flipped kernel.</summary>
    public static void BackwardData(float* dy, float* w, in Conv2dGeometry g, float* dx) => Run(dy, w, null, Spec.BackwardData(g), dx, default);

    /// <summary>
    /// dw = ∂L/∂w (overwritten) as one convolution: x with samples and channels swapped, (C, N, H, W), correlated with
    /// dy as the kernel, (K, N, OH, OW), at stride d and dilation s, gives (C, K, kh, kw) = dwᵀ. Every element is one
    /// FMA chain over (sample block, oy, ox, sample), so the result does not depend on the thread count.
    /// </summary>
    public static void BackwardWeight(float* dy, float* x, in Conv2dGeometry g, float* dw) => Run(x, dy, null, Spec.BackwardWeight(g), dw, default);

    /// <summary>
    /// y = conv(x, w) + b for the convolution <paramref name="s"/> describes, reading x, w and writing y through its
    /// strides (so the three passes share the kernel). <paramref name="after"/> (forward only; default: nothing) is
    /// applied to each finished row; its bias is null (the bias is already in the sums).
    /// </summary>
    private static void Run(float* x, float* w, float* bias, in Spec s, float* y, ConvEpilogue after)
    {
        var plan = new Plan(s, KernelParallel.MaxThreads);
        float[] xbArray = ArrayPool<float>.Shared.Rent(checked((int)plan.XLength));
        float[] biasArray = ArrayPool<float>.Shared.Rent(plan.KBlocks * Obw);
        try
        {
            fixed (float* xb = xbArray)
            fixed (float* bp = biasArray)
            fixed (int* taps = plan.TapX)
            {
                for (int k = 0; k < plan.KBlocks * Obw; k++)
                {
                    bp[k] = bias != null && k < plan.K ? bias[k] : 0f;
                }

                PackInput(x, plan, xb);
                var job = new Job(plan, xb, w, bias == null ? null : bp, taps, y, after);
                KernelParallel.For(plan.Units, plan.UnitCost, job.Body, plan.Units);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(xbArray);
            ArrayPool<float>.Shared.Return(biasArray);
        }
    }

    /// <summary>
    /// X'[cb][a·sw + b][i][zl + j][n][c] = x[n, cb·16 + c, i·sh + a, j·sw + b] inside the input, 0 elsewhere (zero
    /// columns, rows and columns past the input, channels past C). Stride 1 moves 16 channels × 16 columns per
    /// register transpose; strided layers gather (one masked 8-lane gather per half vector).
    /// </summary>
    private static void PackInput(float* x, Plan p, float* xb)
    {
        nint xs = (nint)x, xbs = (nint)xb;
        KernelParallel.For(p.N * p.CBlocks, (long)p.Hs * p.Wq * p.Phases * Lanes, (start, end) =>
        {
            int xsC = checked((int)p.XsC);
            Vector256<int> lanes = Vector256<int>.Indices;
            Vector256<int> idxLo = lanes * xsC, idxHi = (lanes + Vector256.Create(8)) * xsC;
            for (int item = start; item < end; item++)
            {
                int n = item / p.CBlocks, cb = item - (n * p.CBlocks);
                int cv = Math.Min(Lanes, p.C - (cb * Lanes));
                Vector256<float> maskLo = Vector256.LessThan(lanes, Vector256.Create(cv)).AsSingle();
                Vector256<float> maskHi = Vector256.LessThan(lanes + Vector256.Create(8), Vector256.Create(cv)).AsSingle();
                float* xn = (float*)xs + ((long)n * p.XsN) + ((long)cb * Lanes * p.XsC);
                for (int ph = 0; ph < p.Phases; ph++)
                {
                    int a = ph / p.Sw, b = ph - (a * p.Sw);
                    int cols = (p.W - b + p.Sw - 1) / p.Sw; // phase columns inside the input
                    for (int i = 0; i < p.Hs; i++)
                    {
                        int iy = (i * p.Sh) + a;
                        float* dst = (float*)xbs + (cb * p.CbStride) + (ph * p.PhaseStride) + (i * p.RowStride) + ((nint)n * Lanes);
                        int c0 = iy < p.H ? p.Zl : p.Wq, c1 = iy < p.H ? p.Zl + cols : p.Wq;
                        for (int q = 0; q < c0; q++)
                        {
                            Vector512<float>.Zero.Store(dst + (q * p.ColStride));
                        }

                        for (int q = c1; q < p.Wq; q++)
                        {
                            Vector512<float>.Zero.Store(dst + (q * p.ColStride));
                        }

                        if (c0 >= c1)
                        {
                            continue;
                        }

                        float* srcRow = xn + ((long)iy * p.W);
                        if (p.Sw == 1)
                        {
                            for (int j = 0; j < cols; j += Lanes)
                            {
                                int count = Math.Min(Lanes, cols - j);
                                Transpose16(srcRow + j, (nint)p.XsC, cv, count, dst + ((p.Zl + j) * p.ColStride), p.ColStride, count, Lanes);
                            }

                            continue;
                        }

                        for (int j = 0; j < cols; j++)
                        {
                            float* src = srcRow + (j * p.Sw) + b;
                            float* d = dst + ((p.Zl + j) * p.ColStride);
                            Avx2.GatherMaskVector256(Vector256<float>.Zero, src, idxLo, maskLo, 4).Store(d);
                            Avx2.GatherMaskVector256(Vector256<float>.Zero, src, idxHi, maskHi, 4).Store(d + 8);
                        }
                    }
                }
            }
        });
    }

    /// <summary>
    /// dst[j·dstStride + i] = src[i·srcStride + j] for j &lt; <paramref name="storeRows"/> and i &lt;
    /// <paramref name="storeCols"/>, with src rows i ≥ <paramref name="rows"/> and columns j ≥ <paramref name="cols"/>
    /// read as 0 (never touched). A 16 × 16 register transpose: pairs interleaved, then 64-bit, 128-bit and 256-bit
    /// lane shuffles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose16(float* src, nint srcStride, int rows, int cols, float* dst, nint dstStride, int storeRows, int storeCols)
    {
        Vector512<float>* r = stackalloc Vector512<float>[Lanes];
        Vector512<float>* u = stackalloc Vector512<float>[Lanes];
        Vector512<float> colMask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(cols)).AsSingle();
        for (int i = 0; i < Lanes; i++)
        {
            r[i] = i < rows ? Avx512F.MaskLoad(src + (i * srcStride), colMask, Vector512<float>.Zero) : Vector512<float>.Zero;
        }

        // u[4q + k], 128-bit lane L: rows 4q..4q+3 of column 4L + k.
        for (int q = 0; q < 4; q++)
        {
            Vector512<float> t0 = Avx512F.UnpackLow(r[4 * q], r[(4 * q) + 1]), t1 = Avx512F.UnpackHigh(r[4 * q], r[(4 * q) + 1]);
            Vector512<float> t2 = Avx512F.UnpackLow(r[(4 * q) + 2], r[(4 * q) + 3]), t3 = Avx512F.UnpackHigh(r[(4 * q) + 2], r[(4 * q) + 3]);
            u[4 * q] = Avx512F.Shuffle(t0, t2, 0x44);
            u[(4 * q) + 1] = Avx512F.Shuffle(t0, t2, 0xEE);
            u[(4 * q) + 2] = Avx512F.Shuffle(t1, t3, 0x44);
            u[(4 * q) + 3] = Avx512F.Shuffle(t1, t3, 0xEE);
        }

        Vector512<float> storeMask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(storeCols)).AsSingle();
        bool full = storeCols >= Lanes;
        for (int k = 0; k < 4; k++)
        {
            Vector512<float> v = Avx512F.Shuffle4x128(u[k], u[4 + k], 0x88), v1 = Avx512F.Shuffle4x128(u[k], u[4 + k], 0xDD);
            Vector512<float> w = Avx512F.Shuffle4x128(u[8 + k], u[12 + k], 0x88), w1 = Avx512F.Shuffle4x128(u[8 + k], u[12 + k], 0xDD);
            StoreColumn(Avx512F.Shuffle4x128(v, w, 0x88), k);
            StoreColumn(Avx512F.Shuffle4x128(v1, w1, 0x88), 4 + k);
            StoreColumn(Avx512F.Shuffle4x128(v, w, 0xDD), 8 + k);
            StoreColumn(Avx512F.Shuffle4x128(v1, w1, 0xDD), 12 + k);
        }

        void StoreColumn(Vector512<float> column, int j)
        {
            if (j < storeRows)
            {
                if (full)
                {
                    column.Store(dst + (j * dstStride));
                }
                else
                {
                    Avx512F.MaskStore(dst + (j * dstStride), storeMask, column);
                }
            }
        }
    }

    /// <summary>
    /// W'[cb][t][c][k] = w[ob·32 + k, cb·16 + c, t] of one block of 32 output channels, read through the spec's strides
    /// (taps reversed for the flipped kernel of backward-data), 0 past K or C.
    /// </summary>
    private static void PackWeights(float* w, Plan p, int ob, float* dst)
    {
        int t = p.T, k = p.K, c = p.C;
        bool flip = p.Flip;
        int kv = Math.Min(Obw, k - (ob * Obw));
        for (int cb = 0; cb < p.CBlocks; cb++, dst += t * Lanes * Obw)
        {
            int cv = Math.Min(Lanes, c - (cb * Lanes));
            if (kv < Obw || cv < Lanes)
            {
                new Span<float>(dst, t * Lanes * Obw).Clear();
            }

            // Per input channel, 16 output channels × up to 16 taps per register transpose (rows past K read as 0);
            // the flipped kernel's taps go in reverse order (a negative destination stride).
            for (int ic = 0; ic < cv; ic++)
            {
                long ci = ((long)cb * Lanes) + ic;
                for (int v0 = 0; v0 < kv; v0 += Lanes)
                {
                    long ko = ((long)ob * Obw) + v0;
                    for (int m0 = 0; m0 < t; m0 += Lanes)
                    {
                        int taps = Math.Min(Lanes, t - m0);
                        float* src = w + (ko * p.WsK) + (ci * p.WsC) + m0;
                        if (flip)
                        {
                            Transpose16(src, (nint)p.WsK, Math.Min(Lanes, kv - v0), taps,
                                dst + ((((t - 1 - m0) * Lanes) + ic) * Obw) + v0, -Lanes * Obw, taps, Lanes);
                        }
                        else
                        {
                            Transpose16(src, (nint)p.WsK, Math.Min(Lanes, kv - v0), taps,
                                dst + ((((long)m0 * Lanes) + ic) * Obw) + v0, Lanes * Obw, taps, Lanes);
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// One convolution as the kernel sees it: sizes, taps, and the element strides through which x (sample, channel),
    /// w (output channel, input channel; taps contiguous) and y (sample, output channel; OH·OW contiguous) are read
    /// and written.
    /// </summary>
    private readonly record struct Spec(
        int N, int C, int H, int W, int K, int Kh, int Kw, int Sh, int Sw, int Pt, int Pl, int Dh, int Dw, int Oh, int Ow,
        long XsN, long XsC, long WsK, long WsC, bool Flip, long YsN, long YsK)
    {
        public static Spec Forward(in Conv2dGeometry g)
        {
            long hw = (long)g.Height * g.Width, p = (long)g.OutHeight * g.OutWidth, t = g.KernelH * g.KernelW;
            return new(g.Batch, g.InChannels, g.Height, g.Width, g.OutChannels, g.KernelH, g.KernelW, g.StrideH, g.StrideW,
                g.PadTop, g.PadLeft, g.DilationH, g.DilationW, g.OutHeight, g.OutWidth,
                g.InChannels * hw, hw, g.InChannels * t, t, false, g.OutChannels * p, p);
        }

        /// <summary>dx: dy padded by d·(k − 1) − p, the kernel flipped with its channels swapped (stride 1).</summary>
        public static Spec BackwardData(in Conv2dGeometry g)
        {
            long hw = (long)g.Height * g.Width, p = (long)g.OutHeight * g.OutWidth, t = g.KernelH * g.KernelW;
            int eh = g.DilationH * (g.KernelH - 1), ew = g.DilationW * (g.KernelW - 1);
            return new(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.KernelH, g.KernelW, 1, 1,
                eh - g.PadTop, ew - g.PadLeft, g.DilationH, g.DilationW, g.Height, g.Width,
                g.OutChannels * p, p, t, g.InChannels * t, true, g.InChannels * hw, hw);
        }

        /// <summary>dwᵀ (C, K, kh, kw): x as (C, N, H, W) correlated with dy as a (K, N, OH, OW) kernel, stride d, dilation s.</summary>
        public static Spec BackwardWeight(in Conv2dGeometry g)
        {
            long hw = (long)g.Height * g.Width, p = (long)g.OutHeight * g.OutWidth, t = g.KernelH * g.KernelW;
            return new(g.InChannels, g.Batch, g.Height, g.Width, g.OutChannels, g.OutHeight, g.OutWidth, g.DilationH, g.DilationW,
                g.PadTop, g.PadLeft, g.StrideH, g.StrideW, g.KernelH, g.KernelW,
                hw, g.InChannels * hw, p, g.OutChannels * p, false, t, g.InChannels * t);
        }

        /// <summary>Tells whether the repacked input and weights fit .NET arrays and the offsets fit int.</summary>
        public bool Fits()
        {
            long cb = (C + Lanes - 1) / Lanes, kb = (K + Obw - 1) / Obw;
            long hs = (H + Sh - 1) / Sh, ws = (W + Sw - 1) / Sw;
            long wq = ws + Ow + ((((Kw - 1) * (long)Dw) + Pl) / Sw) + 2;
            long x = cb * Sh * Sw * hs * wq * N * Lanes;
            long w = kb * cb * Kh * Kw * Lanes * Obw;
            return N > 0 && x < Array.MaxLength / 2 && w < Array.MaxLength / 2 && XsC < int.MaxValue;
        }
    }

    /// <summary>Geometry of one call in the blocked layout: strides, tap offsets, clipped tap ranges, register blocks, units.</summary>
    private sealed class Plan
    {
        public Plan(in Spec g, int threads)
        {
            N = g.N;
            C = g.C;
            H = g.H;
            W = g.W;
            K = g.K;
            Kh = g.Kh;
            Kw = g.Kw;
            Sh = g.Sh;
            Sw = g.Sw;
            Oh = g.Oh;
            Ow = g.Ow;
            XsN = g.XsN;
            XsC = g.XsC;
            WsK = g.WsK;
            WsC = g.WsC;
            Flip = g.Flip;
            YsN = g.YsN;
            YsK = g.YsK;
            T = Kh * Kw;
            CBlocks = (C + Lanes - 1) / Lanes;
            CLast = C - ((CBlocks - 1) * Lanes);
            KBlocks = (K + Obw - 1) / Obw;
            Hs = (H + Sh - 1) / Sh;
            int ws = (W + Sw - 1) / Sw;
            Phases = Sh * Sw;

            // Zero columns, only where blocks were merged (they read every kw tap of their columns, some outside the input).
            Blocks = BuildBlocks(g, out bool merged);
            NBlocks = Blocks.Length / 4;
            int dxFirst = FloorDiv(-g.Pl, Sw), dxLast = FloorDiv(((Kw - 1) * g.Dw) - g.Pl, Sw);
            Zl = merged ? Math.Max(0, -dxFirst) : 0;
            int zr = merged ? Math.Max(0, Ow - 1 + dxLast - (ws - 1)) : 0;
            Wq = ws + Zl + zr;
            ColStride = (nint)N * Lanes;
            RowStride = Wq * ColStride;
            PhaseStride = Hs * RowStride;
            CbStride = Phases * PhaseStride;
            XLength = (long)CBlocks * CbStride;
            WLength = (long)CBlocks * T * Lanes * Obw;
            // Weight chunks of at most WeightChunkFloats: several channel blocks, or one; when one block's weights pass
            // 512 KiB (backward-weight's "kernel" is dy, OH × OW taps), a range of kernel rows of one block.
            ChunkCb = Math.Max(1, WeightChunkFloats / (T * Lanes * Obw));
            ChunkKi = (long)T * Lanes * Obw <= 4 * WeightChunkFloats ? Kh : Math.Clamp(WeightChunkFloats / (Kw * Lanes * Obw), 1, Kh);

            TapX = new int[T];
            for (int ki = 0; ki < Kh; ki++)
            {
                int ty = (ki * g.Dh) - g.Pt, dy = FloorDiv(ty, Sh), a = ty - (dy * Sh);
                for (int kj = 0; kj < Kw; kj++)
                {
                    int tx = (kj * g.Dw) - g.Pl, dx = FloorDiv(tx, Sw), b = tx - (dx * Sw);
                    TapX[(ki * Kw) + kj] = checked((int)((((a * Sw) + b) * PhaseStride) + (dy * RowStride) + (dx * ColStride)));
                }
            }

            RowKi = new int[2 * Oh];
            for (int oy = 0; oy < Oh; oy++)
            {
                (RowKi[2 * oy], RowKi[(2 * oy) + 1]) = ValidTaps(oy * Sh, g.Pt, g.Dh, Kh, H);
            }

            Groups = Math.Clamp(((8 * threads) + KBlocks - 1) / KBlocks, 1, Oh);
            Units = KBlocks * Groups;
            UnitCost = (long)Math.Max(1, Oh / Groups) * Ow * N * Obw * C * T;
        }

        public int N { get; }

        public int C { get; }

        public int H { get; }

        public int W { get; }

        public int K { get; }

        public int Kh { get; }

        public int Kw { get; }

        public int Sh { get; }

        public int Sw { get; }

        public int Oh { get; }

        public long XsN { get; }

        public long XsC { get; }

        public long WsK { get; }

        public long WsC { get; }

        public bool Flip { get; }

        public long YsN { get; }

        public long YsK { get; }

        public int Ow { get; }

        public int T { get; }

        public int CBlocks { get; }

        /// <summary>Gets the channels in the last input-channel block (1–16).</summary>
        public int CLast { get; }

        public int KBlocks { get; }

        public int Hs { get; }

        public int Zl { get; }

        public int Wq { get; }

        public int Phases { get; }

        public nint ColStride { get; }

        public nint RowStride { get; }

        public nint PhaseStride { get; }

        public nint CbStride { get; }

        public long XLength { get; }

        /// <summary>Gets the packed weights of one block of 32 output channels, in floats.</summary>
        public long WLength { get; }

        public int ChunkCb { get; }

        /// <summary>Gets the kernel rows per weight chunk (all of them unless one channel block's weights exceed the chunk).</summary>
        public int ChunkKi { get; }

        /// <summary>Gets the offset of tap (ki, kj) in X' relative to an item's (row, column) at cb 0.</summary>
        public int[] TapX { get; }

        /// <summary>Gets [ki0, ki1) per output row.</summary>
        public int[] RowKi { get; }

        /// <summary>Gets the register blocks of one output row: (first item, items, kj0, kj1) each.</summary>
        public int[] Blocks { get; }

        public int NBlocks { get; }

        /// <summary>Gets the groups of output rows per block of output channels (units = blocks × groups).</summary>
        public int Groups { get; }

        public int Units { get; }

        public long UnitCost { get; }

        /// <summary>
        /// The kernel taps [k0, k1) whose input position start − pad + k·dilation lies in [0, size) (empty as k0 = k1).
        /// </summary>
        private static (int K0, int K1) ValidTaps(int start, int pad, int dilation, int kernel, int size)
        {
            int k0 = 0;
            while (k0 < kernel && start - pad + (k0 * dilation) < 0)
            {
                k0++;
            }

            int k1 = k0;
            while (k1 < kernel && start - pad + (k1 * dilation) < size)
            {
                k1++;
            }

            return (k0, k1);
        }

        /// <summary>
        /// Runs of output columns with equal valid kw taps, runs of fewer than <see cref="MinRunItems"/> items joined
        /// to a neighbour (taking the union of the taps), each cut into near-equal blocks of at most
        /// <see cref="MaxItems"/> items.
        /// </summary>
        private int[] BuildBlocks(in Spec g, out bool merged)
        {
            var runs = new List<(int Ox0, int Ox1, int Kj0, int Kj1)>();
            for (int ox = 0; ox < Ow; ox++)
            {
                (int k0, int k1) = ValidTaps(ox * Sw, g.Pl, g.Dw, Kw, W);
                if (runs.Count > 0 && runs[^1].Kj0 == k0 && runs[^1].Kj1 == k1)
                {
                    runs[^1] = runs[^1] with { Ox1 = ox + 1 };
                }
                else
                {
                    runs.Add((ox, ox + 1, k0, k1));
                }
            }

            merged = false;
            for (int i = 0; i < runs.Count && runs.Count > 1;)
            {
                if ((runs[i].Ox1 - runs[i].Ox0) * N >= MinRunItems)
                {
                    i++;
                    continue;
                }

                int j = i + 1 < runs.Count ? i + 1 : i - 1;
                (int lo, int hi) = (Math.Min(i, j), Math.Max(i, j));
                (int a0, int a1) = (runs[lo].Kj0, runs[lo].Kj1);
                (int b0, int b1) = (runs[hi].Kj0, runs[hi].Kj1);
                (int u0, int u1) = a0 >= a1 ? (b0, b1) : b0 >= b1 ? (a0, a1) : (Math.Min(a0, b0), Math.Max(a1, b1));
                runs[lo] = (runs[lo].Ox0, runs[hi].Ox1, u0, u1);
                runs.RemoveAt(hi);
                merged = true;
                i = lo;
            }

            var blocks = new List<int>();
            foreach ((int ox0, int ox1, int kj0, int kj1) in runs)
            {
                int first = ox0 * N, items = (ox1 - ox0) * N, count = (items + MaxItems - 1) / MaxItems;
                for (int b = 0; b < count; b++)
                {
                    int s = first + (items * b / count), e = first + (items * (b + 1) / count);
                    blocks.Add(s);
                    blocks.Add(e - s);
                    blocks.Add(kj0);
                    blocks.Add(Math.Max(kj0, kj1));
                }
            }

            return [.. blocks];
        }

        private static int FloorDiv(int value, int divisor) =>
            value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor);
    }

    /// <summary>One call's units: (32 output channels, output row, part of the row's blocks).</summary>
    private sealed class Job
    {
        private readonly Plan _p;
        private readonly float* _xb;
        private readonly float* _w;
        private readonly float* _bias;
        private readonly int* _taps;
        private readonly float* _y;
        private readonly ConvEpilogue _after;

        public Job(Plan p, float* xb, float* w, float* bias, int* taps, float* y, ConvEpilogue after)
        {
            _after = after;
            _p = p;
            _xb = xb;
            _w = w;
            _bias = bias;
            _taps = taps;
            _y = y;
        }

        public void Body(int start, int end)
        {
            Plan p = _p;
            float[] tileArray = ArrayPool<float>.Shared.Rent(p.Ow * p.N * Obw);
            float[] weightArray = ArrayPool<float>.Shared.Rent(checked((int)p.WLength));
            try
            {
                fixed (float* tile = tileArray)
                fixed (float* weights = weightArray)
                fixed (int* blocks = p.Blocks)
                {
                    int packed = -1;
                    for (int u = start; u < end; u++)
                    {
                        // The block's weights are packed by the thread that uses them, into a buffer that stays in its L2.
                        int ob = u / p.Groups, group = u - (ob * p.Groups);
                        if (ob != packed)
                        {
                            PackWeights(_w, p, ob, weights);
                            packed = ob;
                        }

                        for (int oy = p.Oh * group / p.Groups; oy < p.Oh * (group + 1) / p.Groups; oy++)
                        {
                            Unit(ob, oy, 0, p.NBlocks, blocks, tile, weights);
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(tileArray);
                ArrayPool<float>.Shared.Return(weightArray);
            }
        }

        private void Unit(int ob, int oy, int b0, int b1, int* blocks, float* tile, float* weights)
        {
            Plan p = _p;
            int i0 = blocks[4 * b0], i1 = blocks[4 * (b1 - 1)] + blocks[(4 * (b1 - 1)) + 1];
            int ki0 = p.RowKi[2 * oy], ki1 = p.RowKi[(2 * oy) + 1];
            bool two = p.K - (ob * Obw) > Lanes;
            float* xRow = _xb + (oy * p.RowStride) + (p.Zl * p.ColStride);
            float* bias = _bias == null ? null : _bias + (ob * Obw);
            for (int cb0 = 0; cb0 < p.CBlocks; cb0 += p.ChunkCb)
            {
                var args = new Args(p.CbStride, cb0, Math.Min(p.CBlocks, cb0 + p.ChunkCb), p.CBlocks, p.CLast, _taps, p.Kw,
                    weights, (nint)p.T * Lanes * Obw);
                for (int k0 = 0; k0 < p.Kh; k0 += p.ChunkKi)
                {
                    // The chunk's kernel rows that this output row reads; the first chunk always runs (it starts at the bias).
                    int a0 = Math.Max(ki0, k0), a1 = Math.Max(a0, Math.Min(ki1, k0 + p.ChunkKi));
                    bool start = cb0 == 0 && k0 == 0;
                    if (a0 == a1 && !start)
                    {
                        continue;
                    }

                    for (int b = b0; b < b1; b++)
                    {
                        int first = blocks[4 * b], count = blocks[(4 * b) + 1], kj0 = blocks[(4 * b) + 2], kj1 = blocks[(4 * b) + 3];
                        float* x = xRow + ((nint)first * Lanes);
                        float* t = tile + ((nint)(first - i0) * Obw);
                        if (two)
                        {
                            Dispatch<Two>(count, args, x, t, bias, start, a0, a1, kj0, kj1);
                        }
                        else
                        {
                            Dispatch<One>(count, args, x, t, bias, start, a0, a1, kj0, kj1);
                        }
                    }
                }
            }

            // The finished row: items (ox, n) → y[n, ob·32 + v, oy, ox] through y's strides, 16 columns × 16 channels per
            // transpose (rows of fewer than 4 columns, backward-weight's kw, element by element); then the fused
            // epilogue (residual, ReLU) on these rows while they are in L1.
            int kv = Math.Min(Obw, p.K - (ob * Obw)), n = p.N;
            float* yRow = _y + ((long)ob * Obw * p.YsK) + ((long)oy * p.Ow);
            if (p.Ow < 4)
            {
                for (int i = i0; i < i1; i++)
                {
                    int ox = i / n, s = i - (ox * n);
                    float* src = tile + ((nint)(i - i0) * Obw);
                    float* dst = yRow + (s * p.YsN) + ox;
                    for (int v = 0; v < kv; v++)
                    {
                        dst[v * p.YsK] = src[v];
                    }
                }
            }
            else
            {
                for (int s = 0; s < n; s++)
                {
                    // Items of sample s in [i0, i1): columns ox with i0 ≤ ox·N + s < i1.
                    int ox0 = Math.Max(0, (i0 - s + n - 1) / n), ox1 = Math.Min(p.Ow, ((i1 - 1 - s) / n) + 1);
                    for (int ox = ox0; ox < ox1; ox += Lanes)
                    {
                        int count = Math.Min(Lanes, ox1 - ox);
                        float* src = tile + ((nint)((ox * n) + s - i0) * Obw);
                        float* dst = yRow + (s * p.YsN) + ox;
                        for (int half = 0; half * Lanes < kv; half++)
                        {
                            Transpose16(src + (half * Lanes), (nint)n * Obw, count, Lanes, dst + (half * Lanes * p.YsK), (nint)p.YsK,
                                Math.Min(Lanes, kv - (half * Lanes)), count);
                        }
                    }
                }
            }

            if (_after.Residual != null || _after.Relu)
            {
                // Forward only: y has the output's dense layout, so dst − y is the residual's index too.
                for (int s = 0; s < n; s++)
                {
                    int ox0 = Math.Max(0, (i0 - s + n - 1) / n), ox1 = Math.Min(p.Ow, ((i1 - 1 - s) / n) + 1);
                    for (int v = 0; v < kv && ox1 > ox0; v++)
                    {
                        float* dst = yRow + (s * p.YsN) + (v * p.YsK) + ox0;
                        _after.ApplyRow(dst, dst, ox1 - ox0, (ob * Obw) + v, dst - _y);
                    }
                }
            }

        }
    }

    /// <summary>The loop-invariant arguments of <see cref="Kernel{TR, TV}"/>.</summary>
    private readonly struct Args
    {
        public Args(nint cbStride, int cb0, int cb1, int cBlocks, int cLast, int* tapX, int kw, float* w, nint wCbStride)
        {
            CbStride = cbStride;
            Cb0 = cb0;
            Cb1 = cb1;
            CBlocks = cBlocks;
            CLast = cLast;
            TapX = tapX;
            Kw = kw;
            W = w;
            WCbStride = wCbStride;
        }

        public nint CbStride { get; }

        public int Cb0 { get; }

        public int Cb1 { get; }

        public int CBlocks { get; }

        public int CLast { get; }

        public int* TapX { get; }

        public int Kw { get; }

        public float* W { get; }

        public nint WCbStride { get; }
    }

    private static void Dispatch<TV>(int items, in Args a, float* x, float* tile, float* bias, bool first, int ki0, int ki1, int kj0, int kj1)
        where TV : struct, ICount
    {
        switch (items)
        {
            case 1:
                Kernel<Items1, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 2:
                Kernel<Items2, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 3:
                Kernel<Items3, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 4:
                Kernel<Items4, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 5:
                Kernel<Items5, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 6:
                Kernel<Items6, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 7:
                Kernel<Items7, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 8:
                Kernel<Items8, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 9:
                Kernel<Items9, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 10:
                Kernel<Items10, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 11:
                Kernel<Items11, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 12:
                Kernel<Items12, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 13:
                Kernel<Items13, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            case 14:
                Kernel<Items14, TV>(in a, x, tile, bias, first, ki0, ki1, kj0, kj1);
                break;
            default:
                throw new InvalidOperationException($"Conv2dDirectBlocked: a register block of {items} items.");
        }
    }

    /// <summary>
    /// tile[r, 0..16·TV) = (first ? bias : tile) + Σ over input-channel blocks [Cb0, Cb1), ki in [ki0, ki1), kj in
    /// [kj0, kj1) and the block's channels c of X'[item r at the tap, c]·W'[tap, c, 0..16·TV), for the
    /// <typeparamref name="TR"/> items at <paramref name="x"/> (consecutive 16-float vectors). The JIT compiles one copy
    /// per (items, vectors) with the counts folded, so unused accumulators do not exist.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TR, TV>(in Args args, float* x, float* tile, float* bias, bool first, int ki0, int ki1, int kj0, int kj1)
        where TR : struct, ICount
        where TV : struct, ICount
    {
        int r = TR.Value;
        bool two = TV.Value == 2;
        nint cbStride = args.CbStride, wCbStride = args.WCbStride;
        int cb1 = args.Cb1, lastCb = args.CBlocks - 1, cLast = args.CLast, kw = args.Kw;
        int* tapX = args.TapX;
        float* w = args.W;
        Vector512<float> a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13;
        Vector512<float> c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13;
        if (first)
        {
            Vector512<float> b0 = bias is null ? Vector512<float>.Zero : Vector512.Load(bias);
            Vector512<float> b1 = bias is null || !two ? Vector512<float>.Zero : Vector512.Load(bias + 16);
            a0 = b0;
            a1 = b0;
            a2 = b0;
            a3 = b0;
            a4 = b0;
            a5 = b0;
            a6 = b0;
            a7 = b0;
            a8 = b0;
            a9 = b0;
            a10 = b0;
            a11 = b0;
            a12 = b0;
            a13 = b0;
            c0 = b1;
            c1 = b1;
            c2 = b1;
            c3 = b1;
            c4 = b1;
            c5 = b1;
            c6 = b1;
            c7 = b1;
            c8 = b1;
            c9 = b1;
            c10 = b1;
            c11 = b1;
            c12 = b1;
            c13 = b1;
        }
        else
        {
            a0 = r > 0 ? Vector512.Load(tile + 0) : default;
            c0 = r > 0 && two ? Vector512.Load(tile + 16) : default;
            a1 = r > 1 ? Vector512.Load(tile + 32) : default;
            c1 = r > 1 && two ? Vector512.Load(tile + 48) : default;
            a2 = r > 2 ? Vector512.Load(tile + 64) : default;
            c2 = r > 2 && two ? Vector512.Load(tile + 80) : default;
            a3 = r > 3 ? Vector512.Load(tile + 96) : default;
            c3 = r > 3 && two ? Vector512.Load(tile + 112) : default;
            a4 = r > 4 ? Vector512.Load(tile + 128) : default;
            c4 = r > 4 && two ? Vector512.Load(tile + 144) : default;
            a5 = r > 5 ? Vector512.Load(tile + 160) : default;
            c5 = r > 5 && two ? Vector512.Load(tile + 176) : default;
            a6 = r > 6 ? Vector512.Load(tile + 192) : default;
            c6 = r > 6 && two ? Vector512.Load(tile + 208) : default;
            a7 = r > 7 ? Vector512.Load(tile + 224) : default;
            c7 = r > 7 && two ? Vector512.Load(tile + 240) : default;
            a8 = r > 8 ? Vector512.Load(tile + 256) : default;
            c8 = r > 8 && two ? Vector512.Load(tile + 272) : default;
            a9 = r > 9 ? Vector512.Load(tile + 288) : default;
            c9 = r > 9 && two ? Vector512.Load(tile + 304) : default;
            a10 = r > 10 ? Vector512.Load(tile + 320) : default;
            c10 = r > 10 && two ? Vector512.Load(tile + 336) : default;
            a11 = r > 11 ? Vector512.Load(tile + 352) : default;
            c11 = r > 11 && two ? Vector512.Load(tile + 368) : default;
            a12 = r > 12 ? Vector512.Load(tile + 384) : default;
            c12 = r > 12 && two ? Vector512.Load(tile + 400) : default;
            a13 = r > 13 ? Vector512.Load(tile + 416) : default;
            c13 = r > 13 && two ? Vector512.Load(tile + 432) : default;
        }
        for (int cb = args.Cb0; cb < cb1; cb++)
        {
            int icn = cb == lastCb ? cLast : Lanes;
            float* xc = x + (cb * cbStride);
            float* wc = w + (cb * wCbStride);
            for (int ki = ki0; ki < ki1; ki++)
            {
                for (int kj = kj0; kj < kj1; kj++)
                {
                    int t = (ki * kw) + kj;
                    float* xp = xc + tapX[t];
                    float* wp = wc + ((nint)t * Lanes * Obw);

                    // The items' lines of this tap in the next channel block (9 taps ahead for 3×3): X' comes from L3 once
                    // per output-channel block, and the loads of a new tap would otherwise stall the FMAs.
                    for (int q = 0; q <= r; q++)
                    {
                        Sse.Prefetch0(xp + cbStride + (q * Lanes));
                    }

                    for (int ic = 0; ic < icn; ic++, xp++, wp += Obw)
                    {
                        Vector512<float> w0 = Vector512.Load(wp);
                        Vector512<float> w1 = two ? Vector512.Load(wp + 16) : default;
                        if (r > 0)
                        {
                            Vector512<float> s0 = Vector512.Create(xp[0]);
                            a0 = Vector512.FusedMultiplyAdd(s0, w0, a0);
                            if (two)
                            {
                                c0 = Vector512.FusedMultiplyAdd(s0, w1, c0);
                            }
                        }

                        if (r > 1)
                        {
                            Vector512<float> s1 = Vector512.Create(xp[16]);
                            a1 = Vector512.FusedMultiplyAdd(s1, w0, a1);
                            if (two)
                            {
                                c1 = Vector512.FusedMultiplyAdd(s1, w1, c1);
                            }
                        }

                        if (r > 2)
                        {
                            Vector512<float> s2 = Vector512.Create(xp[32]);
                            a2 = Vector512.FusedMultiplyAdd(s2, w0, a2);
                            if (two)
                            {
                                c2 = Vector512.FusedMultiplyAdd(s2, w1, c2);
                            }
                        }

                        if (r > 3)
                        {
                            Vector512<float> s3 = Vector512.Create(xp[48]);
                            a3 = Vector512.FusedMultiplyAdd(s3, w0, a3);
                            if (two)
                            {
                                c3 = Vector512.FusedMultiplyAdd(s3, w1, c3);
                            }
                        }

                        if (r > 4)
                        {
                            Vector512<float> s4 = Vector512.Create(xp[64]);
                            a4 = Vector512.FusedMultiplyAdd(s4, w0, a4);
                            if (two)
                            {
                                c4 = Vector512.FusedMultiplyAdd(s4, w1, c4);
                            }
                        }

                        if (r > 5)
                        {
                            Vector512<float> s5 = Vector512.Create(xp[80]);
                            a5 = Vector512.FusedMultiplyAdd(s5, w0, a5);
                            if (two)
                            {
                                c5 = Vector512.FusedMultiplyAdd(s5, w1, c5);
                            }
                        }

                        if (r > 6)
                        {
                            Vector512<float> s6 = Vector512.Create(xp[96]);
                            a6 = Vector512.FusedMultiplyAdd(s6, w0, a6);
                            if (two)
                            {
                                c6 = Vector512.FusedMultiplyAdd(s6, w1, c6);
                            }
                        }

                        if (r > 7)
                        {
                            Vector512<float> s7 = Vector512.Create(xp[112]);
                            a7 = Vector512.FusedMultiplyAdd(s7, w0, a7);
                            if (two)
                            {
                                c7 = Vector512.FusedMultiplyAdd(s7, w1, c7);
                            }
                        }

                        if (r > 8)
                        {
                            Vector512<float> s8 = Vector512.Create(xp[128]);
                            a8 = Vector512.FusedMultiplyAdd(s8, w0, a8);
                            if (two)
                            {
                                c8 = Vector512.FusedMultiplyAdd(s8, w1, c8);
                            }
                        }

                        if (r > 9)
                        {
                            Vector512<float> s9 = Vector512.Create(xp[144]);
                            a9 = Vector512.FusedMultiplyAdd(s9, w0, a9);
                            if (two)
                            {
                                c9 = Vector512.FusedMultiplyAdd(s9, w1, c9);
                            }
                        }

                        if (r > 10)
                        {
                            Vector512<float> s10 = Vector512.Create(xp[160]);
                            a10 = Vector512.FusedMultiplyAdd(s10, w0, a10);
                            if (two)
                            {
                                c10 = Vector512.FusedMultiplyAdd(s10, w1, c10);
                            }
                        }

                        if (r > 11)
                        {
                            Vector512<float> s11 = Vector512.Create(xp[176]);
                            a11 = Vector512.FusedMultiplyAdd(s11, w0, a11);
                            if (two)
                            {
                                c11 = Vector512.FusedMultiplyAdd(s11, w1, c11);
                            }
                        }

                        if (r > 12)
                        {
                            Vector512<float> s12 = Vector512.Create(xp[192]);
                            a12 = Vector512.FusedMultiplyAdd(s12, w0, a12);
                            if (two)
                            {
                                c12 = Vector512.FusedMultiplyAdd(s12, w1, c12);
                            }
                        }

                        if (r > 13)
                        {
                            Vector512<float> s13 = Vector512.Create(xp[208]);
                            a13 = Vector512.FusedMultiplyAdd(s13, w0, a13);
                            if (two)
                            {
                                c13 = Vector512.FusedMultiplyAdd(s13, w1, c13);
                            }
                        }
                    }
                }
            }
        }

        if (r > 0)
        {
            a0.Store(tile + 0);
            if (two)
            {
                c0.Store(tile + 16);
            }
        }

        if (r > 1)
        {
            a1.Store(tile + 32);
            if (two)
            {
                c1.Store(tile + 48);
            }
        }

        if (r > 2)
        {
            a2.Store(tile + 64);
            if (two)
            {
                c2.Store(tile + 80);
            }
        }

        if (r > 3)
        {
            a3.Store(tile + 96);
            if (two)
            {
                c3.Store(tile + 112);
            }
        }

        if (r > 4)
        {
            a4.Store(tile + 128);
            if (two)
            {
                c4.Store(tile + 144);
            }
        }

        if (r > 5)
        {
            a5.Store(tile + 160);
            if (two)
            {
                c5.Store(tile + 176);
            }
        }

        if (r > 6)
        {
            a6.Store(tile + 192);
            if (two)
            {
                c6.Store(tile + 208);
            }
        }

        if (r > 7)
        {
            a7.Store(tile + 224);
            if (two)
            {
                c7.Store(tile + 240);
            }
        }

        if (r > 8)
        {
            a8.Store(tile + 256);
            if (two)
            {
                c8.Store(tile + 272);
            }
        }

        if (r > 9)
        {
            a9.Store(tile + 288);
            if (two)
            {
                c9.Store(tile + 304);
            }
        }

        if (r > 10)
        {
            a10.Store(tile + 320);
            if (two)
            {
                c10.Store(tile + 336);
            }
        }

        if (r > 11)
        {
            a11.Store(tile + 352);
            if (two)
            {
                c11.Store(tile + 368);
            }
        }

        if (r > 12)
        {
            a12.Store(tile + 384);
            if (two)
            {
                c12.Store(tile + 400);
            }
        }

        if (r > 13)
        {
            a13.Store(tile + 416);
            if (two)
            {
                c13.Store(tile + 432);
            }
        }
    }

    /// <summary>A count known to the JIT as a constant.</summary>
    private interface ICount
    {
        static abstract int Value { get; }
    }

    private struct One : ICount
    {
        public static int Value => 1;
    }

    private struct Two : ICount
    {
        public static int Value => 2;
    }

    private struct Items1 : ICount
    {
        public static int Value => 1;
    }

    private struct Items2 : ICount
    {
        public static int Value => 2;
    }

    private struct Items3 : ICount
    {
        public static int Value => 3;
    }

    private struct Items4 : ICount
    {
        public static int Value => 4;
    }

    private struct Items5 : ICount
    {
        public static int Value => 5;
    }

    private struct Items6 : ICount
    {
        public static int Value => 6;
    }

    private struct Items7 : ICount
    {
        public static int Value => 7;
    }

    private struct Items8 : ICount
    {
        public static int Value => 8;
    }

    private struct Items9 : ICount
    {
        public static int Value => 9;
    }

    private struct Items10 : ICount
    {
        public static int Value => 10;
    }

    private struct Items11 : ICount
    {
        public static int Value => 11;
    }

    private struct Items12 : ICount
    {
        public static int Value => 12;
    }

    private struct Items13 : ICount
    {
        public static int Value => 13;
    }

    private struct Items14 : ICount
    {
        public static int Value => 14;
    }
}
