using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Direct convolution for stride 1 and few output channels (variant <c>Conv2dDirectSmallChannels</c>), e.g. LeNet's
/// 1→6 and 6→16 5×5 layers where im2col + GEMM wastes most of a 12×32 tile on M = C_out ≤ 16 and pays packing for
/// K = 25. Each input plane is copied once into a zero-bordered plane of width Wp = W + pl + pr; output pixel
/// (oy, ox) then sits at flat index q = oy·Wp + ox and tap (ki, kj) reads flat index q + ki·dh·Wp + kj·dw, so the
/// whole plane is one 1-D correlation vectorised along q with full Vector512 lanes (the Wp − OW columns per row
/// that fall past the output are computed and dropped). Backward-data is the same correlation of the
/// zero-bordered dy with the flipped, transposed kernel; backward-weight reduces over q with dy laid out the same
/// way (zero in the dropped columns).
/// </summary>
/// <remarks>
/// Legend as in <see cref="Conv2d"/>; T = kh·kw taps, S the stride between padded planes, L = rows·Wp flat
/// outputs rounded up to <see cref="Block"/>. Every output element is one FMA chain in (c, ki, kj) order starting at
/// the bias, computed by one thread, so results do not depend on the thread count.
/// </remarks>
internal static unsafe class Conv2dDirectSmallChannels
{
    /// <summary>Output channels per register block (8 channels × 2 vectors = 16 zmm accumulators).</summary>
    private const int Ob = 8;

    /// <summary>Flat outputs per register block (two Vector512).</summary>
    private const int Block = 32;

    /// <summary>Largest flat output of one sample (C_out·OH·Wp floats, 512 KiB) for which a layer with more than 16 output channels is run here.</summary>
    private const long MaxWideFlatFloats = 1L << 17;

    /// <summary>Backward-weight: output channels per reduction block at most (6 channels × 4 rows = 24 accumulators).</summary>
    private const int ReduceChannels = 6;

    /// <summary>Backward-weight: weight rows (c, ki, kj) per reduction block.</summary>
    private const int ReduceRows = 4;

    /// <summary>
    /// Backward-weight splits the batch into at most this many chunks (a function of the batch only), each summed on
    /// its own and the partials added in chunk order, so the result is the same for any thread count.
    /// </summary>
    private const int MaxWeightChunks = 8;

    /// <summary>
    /// Backward-weight: a sub-batch's buffers stay under this (1 MiB, the L2). The accumulators stay in registers over
    /// all samples of a sub-batch, so larger sub-batches load and store them less often: with LeNet's conv2 (L = 144)
    /// sub-batches of 1, 2, 4 and 8 samples took 0.75, 0.66, 0.59 and 0.58 ms (one thread, batch 64).
    /// </summary>
    private const int L2Floats = 1 << 18;

    /// <summary>Can run <paramref name="g"/>: AVX-512 and stride 1 (any padding, dilation, groups).</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && g.StrideH == 1 && g.StrideW == 1;

    /// <summary>
    /// Worth choosing over the GEMM paths (measured on LeNet-5, CIFAR- and MNIST-sized layers, docs/performance.md):
    /// not 1×1, at most half the computed columns dropped ((kw − 1)·dw ≤ OW), and either 4 to 16 output channels per
    /// group (below 4 the 8-channel register block would be mostly padding; depthwise layers are not measured and stay
    /// on the GEMM path), or up to 64 output channels when each sees at most 3 input channels (first layers such as
    /// MNIST's 1→32 5×5 or CIFAR's 3→64 3×3, where the GEMM's K = C_in·kh·kw is 25–27) and one sample's flat output
    /// (C_out·OH·Wp floats) fits in 512 KiB of L2.
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g)
    {
        if (!Supports(g) || g.KernelH * g.KernelW == 1 || (g.KernelW - 1) * g.DilationW > g.OutWidth)
        {
            return false;
        }

        int og = g.OutChannelsPerGroup;
        if (og is >= 4 and <= 16)
        {
            return true;
        }

        long flat = (long)og * g.OutHeight * (g.OutWidth + ((g.KernelW - 1) * g.DilationW));
        return og is > 16 and <= 64 && g.InChannelsPerGroup <= 3 && flat <= MaxWideFlatFloats;
    }

    /// <summary>Plane layout for a correlation producing rows × cols outputs.</summary>
    private readonly struct Layout
    {
        public Layout(int rows, int cols, in Conv2dGeometry g)
        {
            int spanH = (g.KernelH - 1) * g.DilationH, spanW = (g.KernelW - 1) * g.DilationW;
            Hp = rows + spanH;
            Wp = cols + spanW;
            L = RoundUp(rows * Wp, Block);
            MaxOffset = (spanH * Wp) + spanW;
            S = RoundUp(Math.Max(Hp * Wp, L + MaxOffset), 16);
        }

        public int Hp { get; }

        public int Wp { get; }

        public int L { get; }

        public int MaxOffset { get; }

        public int S { get; }
    }

    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y)
    {
        Conv2dGeometry geo = g;
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, taps = g.KernelH * g.KernelW;
        int kk = cg * taps, hw = g.Height * g.Width, oh = g.OutHeight, ow = g.OutWidth, p = oh * ow;
        var lay = new Layout(oh, ow, g);
        int opad = RoundUp(og, Ob);
        nint xs = (nint)x, ws = (nint)w, bs = (nint)bias, ys = (nint)y;
        void Body(int start, int end)
        {
            float[] xpArray = ArrayPool<float>.Shared.Rent(cg * lay.S);
            float[] outArray = ArrayPool<float>.Shared.Rent(opad * lay.L);
            float[] wArray = ArrayPool<float>.Shared.Rent((opad * kk) + opad);
            int[] offArray = ArrayPool<int>.Shared.Rent(taps);
            try
            {
                fixed (float* xp = xpArray)
                fixed (float* outp = outArray)
                fixed (float* wp = wArray)
                fixed (int* off = offArray)
                {
                    new Span<float>(xp, cg * lay.S).Clear();
                    TapOffsets(geo, lay.Wp, off);
                    float* bp = wp + (opad * kk);
                    for (int grp = 0; grp < geo.Groups; grp++)
                    {
                        float* wg = (float*)ws + ((long)grp * og * kk);
                        PackWeights(wg, og, cg, taps, flip: false, opad, wp);
                        for (int o = 0; o < opad; o++)
                        {
                            bp[o] = bs != 0 && o < og ? ((float*)bs)[(grp * og) + o] : 0f;
                        }

                        for (int n = start; n < end; n++)
                        {
                            float* xg = (float*)xs + ((((long)n * geo.InChannels) + (grp * cg)) * hw);
                            for (int c = 0; c < cg; c++)
                            {
                                Place(xg + ((long)c * hw), geo.Height, geo.Width, geo.PadTop, geo.PadLeft, xp + ((long)c * lay.S), lay.Hp, lay.Wp);
                            }

                            float* yg = (float*)ys + ((((long)n * geo.OutChannels) + (grp * og)) * p);
                            if (lay.Wp == Block)
                            {
                                // Each 32-position block is one output row: stored straight into y.
                                Correlate(xp, cg, lay.S, off, taps, wp, bp, og, yg, lay.L, p, ow);
                            }
                            else
                            {
                                Correlate(xp, cg, lay.S, off, taps, wp, bp, og, outp, lay.L, lay.L, 0);
                                Gather(outp, og, lay.L, lay.Wp, oh, ow, yg);
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(xpArray);
                ArrayPool<float>.Shared.Return(outArray);
                ArrayPool<float>.Shared.Return(wArray);
                ArrayPool<int>.Shared.Return(offArray);
            }
        }

        KernelParallel.For(g.Batch, (long)g.OutChannels * kk * p, Body, 8 * KernelParallel.MaxThreads);
    }

    public static void BackwardData(float* dy, float* w, in Conv2dGeometry g, float* dx)
    {
        Conv2dGeometry geo = g;
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, taps = g.KernelH * g.KernelW;
        int kk = cg * taps, h = g.Height, wd = g.Width, hw = h * wd, oh = g.OutHeight, ow = g.OutWidth, p = oh * ow;

        // dx[c, iy, ix] = Σ_o Σ_(ki,kj) dy[o, iy + pt − ki·dh, ix + pl − kj·dw]·w[o, c, ki, kj]: a correlation over
        // dy placed at offset ((kh−1)·dh − pt, (kw−1)·dw − pl) with the kernel flipped in both axes.
        var lay = new Layout(h, wd, g);
        int top = ((g.KernelH - 1) * g.DilationH) - g.PadTop, left = ((g.KernelW - 1) * g.DilationW) - g.PadLeft;
        int cpad = RoundUp(cg, Ob);
        nint dys = (nint)dy, ws = (nint)w, dxs = (nint)dx;
        void Body(int start, int end)
        {
            float[] dypArray = ArrayPool<float>.Shared.Rent(og * lay.S);
            float[] outArray = ArrayPool<float>.Shared.Rent(cpad * lay.L);
            float[] wArray = ArrayPool<float>.Shared.Rent(cpad * og * taps);
            int[] offArray = ArrayPool<int>.Shared.Rent(taps);
            try
            {
                fixed (float* dyp = dypArray)
                fixed (float* outp = outArray)
                fixed (float* wp = wArray)
                fixed (int* off = offArray)
                {
                    new Span<float>(dyp, og * lay.S).Clear();
                    TapOffsets(geo, lay.Wp, off);
                    for (int grp = 0; grp < geo.Groups; grp++)
                    {
                        float* wg = (float*)ws + ((long)grp * og * kk);
                        PackWeights(wg, og, cg, taps, flip: true, cpad, wp);
                        for (int n = start; n < end; n++)
                        {
                            float* dyg = (float*)dys + ((((long)n * geo.OutChannels) + (grp * og)) * p);
                            for (int o = 0; o < og; o++)
                            {
                                Place(dyg + ((long)o * p), oh, ow, top, left, dyp + ((long)o * lay.S), lay.Hp, lay.Wp);
                            }

                            float* dxg = (float*)dxs + ((((long)n * geo.InChannels) + (grp * cg)) * hw);
                            if (lay.Wp == Block)
                            {
                                Correlate(dyp, og, lay.S, off, taps, wp, null, cg, dxg, lay.L, hw, wd);
                            }
                            else
                            {
                                Correlate(dyp, og, lay.S, off, taps, wp, null, cg, outp, lay.L, lay.L, 0);
                                Gather(outp, cg, lay.L, lay.Wp, h, wd, dxg);
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(dypArray);
                ArrayPool<float>.Shared.Return(outArray);
                ArrayPool<float>.Shared.Return(wArray);
                ArrayPool<int>.Shared.Return(offArray);
            }
        }

        KernelParallel.For(g.Batch, (long)g.OutChannels * kk * p, Body, 8 * KernelParallel.MaxThreads);
    }

    /// <summary>
    /// dw = Σ_n Σ_q dy_n[o, q]·x_n[c, q + offset(ki, kj)] and, when <paramref name="db"/> is not null,
    /// db[o] = Σ_n Σ_q dy_n[o, q] (both overwritten). The batch is cut into min(N, 8) fixed chunks, spread over the
    /// threads, each reduced on its own; the chunk partials are then added in chunk order, so the result does not
    /// depend on the thread count.
    /// </summary>
    /// <remarks>
    /// The bias gradient rides along as one more weight row whose "input" is a plane of ones (dy is zero in the dropped
    /// columns), so it costs no extra pass over dy: usually it fills a row the 4-row blocking computes anyway.
    /// </remarks>
    public static void BackwardWeight(float* dy, float* x, in Conv2dGeometry g, float* dw, float* db)
    {
        Conv2dGeometry geo = g;
        int weightLength = (int)g.WeightLength;
        int partLength = weightLength + (db is null ? 0 : g.OutChannels);
        int batch = g.Batch, chunks = Math.Min(batch, MaxWeightChunks);
        float[] partArray = ArrayPool<float>.Shared.Rent(chunks * partLength);
        try
        {
            fixed (float* parts = partArray)
            {
                nint dys = (nint)dy, xs = (nint)x, ps = (nint)parts;
                bool bias = db is not null;
                void Body(int start, int end)
                {
                    for (int chunk = start; chunk < end; chunk++)
                    {
                        int n0 = (int)((long)batch * chunk / chunks), n1 = (int)((long)batch * (chunk + 1) / chunks);
                        float* dst = (float*)ps + ((long)chunk * partLength);
                        ReduceChunk((float*)dys, (float*)xs, geo, n0, n1, bias, dst, bias ? dst + weightLength : null);
                    }
                }

                long costPerChunk = (long)g.OutChannels * g.InChannelsPerGroup * g.KernelH * g.KernelW * g.OutHeight * g.OutWidth
                    * Math.Max(1, batch / chunks);
                KernelParallel.For(chunks, costPerChunk, Body, chunks);

                // Chunk partials in chunk order: ((p0 + p1) + p2) + ..., element by element.
                AddChunks(parts, chunks, partLength, 0, weightLength, dw);
                if (bias)
                {
                    AddChunks(parts, chunks, partLength, weightLength, g.OutChannels, db);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(partArray);
        }
    }

    /// <summary>dst[i] = ((p_0[offset + i] + p_1[offset + i]) + …) over the chunks' partials, in chunk order.</summary>
    private static void AddChunks(float* parts, int chunks, int partLength, int offset, int count, float* dst)
    {
        Unsafe.CopyBlockUnaligned(dst, parts + offset, (uint)count * sizeof(float));
        for (int chunk = 1; chunk < chunks; chunk++)
        {
            float* part = parts + ((long)chunk * partLength) + offset;
            int i = 0;
            for (; i + 16 <= count; i += 16)
            {
                Vector512.Store(Vector512.Load(dst + i) + Vector512.Load(part + i), dst + i);
            }

            for (; i < count; i++)
            {
                dst[i] += part[i];
            }
        }
    }

    /// <summary>
    /// The weight (and bias) gradient of samples [n0, n1) into <paramref name="dw"/> [G·og·kk] and <paramref name="db"/>
    /// [G·og] (or null), overwritten.
    /// </summary>
    /// <remarks>
    /// Per group, the samples go through in sub-batches whose buffers fit L2: their input planes are laid out
    /// zero-bordered (stride S), their dy rows with the row stride Wp (zero in the dropped columns). Then for each
    /// block of ≤ 6 output channels × 4 weight rows, 24 lane accumulators (in memory between sub-batches) run
    /// over every sample and flat position q; one horizontal sum per weight at the end of the chunk. Output channels are
    /// split into ⌈og / 6⌉ blocks of near-equal size (LeNet's 6 → one block of 6; 16 → 6, 5, 5; 32 → 6, 6, 5, 5, 5, 5).
    /// </remarks>
    private static void ReduceChunk(float* dy, float* x, in Conv2dGeometry g, int n0, int n1, bool bias, float* dw, float* db)
    {
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, taps = g.KernelH * g.KernelW;
        int kk = cg * taps, hw = g.Height * g.Width, oh = g.OutHeight, ow = g.OutWidth, p = oh * ow;
        var lay = new Layout(oh, ow, g);
        int rows = kk + (bias ? 1 : 0);
        int rBlocks = (rows + ReduceRows - 1) / ReduceRows;
        int oBlocks = (og + ReduceChannels - 1) / ReduceChannels;
        int accBlock = ReduceChannels * ReduceRows * 16; // floats per (channel block, row block)
        int xStride = cg * lay.S, dyStride = og * lay.L;
        int sub = Math.Clamp(L2Floats / (xStride + dyStride), 1, Math.Max(1, n1 - n0));
        float[] xpArray = ArrayPool<float>.Shared.Rent(sub * xStride);
        float[] dyfArray = ArrayPool<float>.Shared.Rent(sub * dyStride);
        float[] accArray = ArrayPool<float>.Shared.Rent((oBlocks * rBlocks * accBlock) + 16);
        float[] onesArray = ArrayPool<float>.Shared.Rent(bias ? lay.L : 1);
        int[] offArray = ArrayPool<int>.Shared.Rent(taps);
        try
        {
            fixed (float* xp = xpArray)
            fixed (float* dyf = dyfArray)
            fixed (float* accRaw = accArray)
            fixed (float* ones = onesArray)
            fixed (int* off = offArray)
            {
                float* acc = (float*)(((nint)accRaw + 63) & ~(nint)63);
                new Span<float>(xp, sub * xStride).Clear();
                if (bias)
                {
                    new Span<float>(ones, lay.L).Fill(1f);
                }

                TapOffsets(g, lay.Wp, off);
                float** rowPtr = stackalloc float*[ReduceRows];
                nint* rowStep = stackalloc nint[ReduceRows];
                for (int grp = 0; grp < g.Groups; grp++)
                {
                    new Span<float>(acc, oBlocks * rBlocks * accBlock).Clear();
                    for (int s0 = n0; s0 < n1; s0 += sub)
                    {
                        int count = Math.Min(sub, n1 - s0);
                        for (int i = 0; i < count; i++)
                        {
                            int n = s0 + i;
                            float* xg = x + ((((long)n * g.InChannels) + (grp * cg)) * hw);
                            float* dyg = dy + ((((long)n * g.OutChannels) + (grp * og)) * p);
                            float* xpi = xp + ((long)i * xStride);
                            for (int c = 0; c < cg; c++)
                            {
                                Place(xg + ((long)c * hw), g.Height, g.Width, g.PadTop, g.PadLeft, xpi + ((long)c * lay.S), lay.Hp, lay.Wp);
                            }

                            // dy rows at stride Wp, zeros in the Wp − OW dropped columns and after the last row up to L.
                            float* dyi = dyf + ((long)i * dyStride);
                            for (int o = 0; o < og; o++)
                            {
                                float* dst = dyi + ((long)o * lay.L);
                                float* src = dyg + ((long)o * p);
                                for (int oy = 0; oy < oh; oy++)
                                {
                                    CopyFloats(src + (oy * ow), dst + (oy * lay.Wp), ow);
                                    ZeroFloats(dst + (oy * lay.Wp) + ow, lay.Wp - ow);
                                }

                                ZeroFloats(dst + (oh * lay.Wp), lay.L - (oh * lay.Wp));
                            }
                        }

                        for (int ob = 0; ob < oBlocks; ob++)
                        {
                            int o0 = og * ob / oBlocks, tch = (og * (ob + 1) / oBlocks) - o0;
                            for (int rb = 0; rb < rBlocks; rb++)
                            {
                                for (int j = 0; j < ReduceRows; j++)
                                {
                                    // Rows past the last weight read the first tap; their sums are dropped.
                                    int r = (rb * ReduceRows) + j;
                                    bool onesRow = bias && r == kk;
                                    rowPtr[j] = onesRow ? ones : xp + (r < kk ? ((r / taps) * lay.S) + off[r % taps] : 0);
                                    rowStep[j] = onesRow ? 0 : xStride;
                                }

                                float* a = acc + ((long)((ob * rBlocks) + rb) * accBlock);
                                float* d = dyf + ((long)o0 * lay.L);
                                switch (tch)
                                {
                                    case 1:
                                        ReduceBlock<Channels1>(d, dyStride, lay.L, rowPtr, rowStep, count, a);
                                        break;
                                    case 2:
                                        ReduceBlock<Channels2>(d, dyStride, lay.L, rowPtr, rowStep, count, a);
                                        break;
                                    case 3:
                                        ReduceBlock<Channels3>(d, dyStride, lay.L, rowPtr, rowStep, count, a);
                                        break;
                                    case 4:
                                        ReduceBlock<Channels4>(d, dyStride, lay.L, rowPtr, rowStep, count, a);
                                        break;
                                    case 5:
                                        ReduceBlock<Channels5>(d, dyStride, lay.L, rowPtr, rowStep, count, a);
                                        break;
                                    default:
                                        ReduceBlock<Channels6>(d, dyStride, lay.L, rowPtr, rowStep, count, a);
                                        break;
                                }
                            }
                        }
                    }

                    // One horizontal sum per weight (and bias) of this group.
                    for (int ob = 0; ob < oBlocks; ob++)
                    {
                        int o0 = og * ob / oBlocks, tch = (og * (ob + 1) / oBlocks) - o0;
                        for (int rb = 0; rb < rBlocks; rb++)
                        {
                            float* a = acc + ((long)((ob * rBlocks) + rb) * accBlock);
                            for (int c = 0; c < tch; c++)
                            {
                                int o = o0 + c;
                                for (int j = 0; j < ReduceRows; j++)
                                {
                                    int r = (rb * ReduceRows) + j;
                                    float sum = Vector512.Sum(Vector512.Load(a + (((c * ReduceRows) + j) * 16)));
                                    if (r < kk)
                                    {
                                        dw[((long)((grp * og) + o) * kk) + r] = sum;
                                    }
                                    else if (bias && r == kk)
                                    {
                                        db[(grp * og) + o] = sum;
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
            ArrayPool<float>.Shared.Return(xpArray);
            ArrayPool<float>.Shared.Return(dyfArray);
            ArrayPool<float>.Shared.Return(accArray);
            ArrayPool<float>.Shared.Return(onesArray);
            ArrayPool<int>.Shared.Return(offArray);
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    private static void TapOffsets(in Conv2dGeometry g, int wp, int* off)
    {
        for (int ki = 0; ki < g.KernelH; ki++)
        {
            for (int kj = 0; kj < g.KernelW; kj++)
            {
                off[(ki * g.KernelW) + kj] = (ki * g.DilationH * wp) + (kj * g.DilationW);
            }
        }
    }

    /// <summary>
    /// Packs weights for <see cref="Correlate"/>: dst[block][ci][t][j] = w[o = block·8 + j, ci, t] (forward: o over
    /// output channels, ci over input channels), or with <paramref name="flip"/> w[ci, o, T − 1 − t] with o over
    /// input channels and ci over output channels (backward-data). Padding channels get 0.
    /// </summary>
    private static void PackWeights(float* w, int og, int cg, int taps, bool flip, int outPad, float* dst)
    {
        int outs = flip ? cg : og, ins = flip ? og : cg, kk = cg * taps;
        for (int block = 0; block < outPad; block += Ob)
        {
            for (int ci = 0; ci < ins; ci++)
            {
                for (int t = 0; t < taps; t++)
                {
                    for (int j = 0; j < Ob; j++)
                    {
                        int o = block + j;
                        float v = 0f;
                        if (o < outs)
                        {
                            v = flip ? w[((long)ci * kk) + (o * taps) + (taps - 1 - t)] : w[((long)o * kk) + (ci * taps) + t];
                        }

                        *dst++ = v;
                    }
                }
            }
        }
    }

    /// <summary>
    /// dst[0..n) = src[0..n) (not overlapping): whole vectors, then one masked vector. A row here is 5–60 floats, where
    /// a call to memmove per row cost more than the copy (8% of a LeNet-5 step).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyFloats(float* src, float* dst, int n)
    {
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector512.Store(Vector512.Load(src + i), dst + i);
        }

        if (i < n)
        {
            Vector512<float> mask = TailMask(n - i);
            Avx512F.MaskStore(dst + i, mask, Avx512F.MaskLoad(src + i, mask, Vector512<float>.Zero));
        }
    }

    /// <summary>dst[0..n) = 0 (n ≥ 0): whole vectors, then one masked vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ZeroFloats(float* dst, int n)
    {
        int i = 0;
        for (; i + 16 <= n; i += 16)
        {
            Vector512.Store(Vector512<float>.Zero, dst + i);
        }

        if (i < n)
        {
            Avx512F.MaskStore(dst + i, TailMask(n - i), Vector512<float>.Zero);
        }
    }

    /// <summary>All bits set in lanes [0, n) (1 ≤ n ≤ 16), the mask of the masked loads and stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> TailMask(int n) =>
        Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(n)).AsSingle();

    /// <summary>Copies a rows × cols plane into a zeroed hp × wp plane at (top, left), clipping what falls outside.</summary>
    private static void Place(float* src, int rows, int cols, int top, int left, float* dst, int hp, int wp)
    {
        int c0 = Math.Max(0, -left), c1 = Math.Min(cols, wp - left);
        if (c1 <= c0)
        {
            return;
        }

        for (int r = 0; r < rows; r++)
        {
            int dr = r + top;
            if ((uint)dr < (uint)hp)
            {
                CopyFloats(src + ((long)r * cols) + c0, dst + ((long)dr * wp) + left + c0, c1 - c0);
            }
        }
    }

    /// <summary>dst[o, r, c] = flat[o·L + r·wp + c] for o &lt; <paramref name="channels"/>.</summary>
    private static void Gather(float* flat, int channels, int l, int wp, int rows, int cols, float* dst)
    {
        for (int o = 0; o < channels; o++)
        {
            float* src = flat + ((long)o * l);
            for (int r = 0; r < rows; r++)
            {
                CopyFloats(src + ((long)r * wp), dst, cols);
                dst += cols;
            }
        }
    }

    /// <summary>
    /// out[o, q] = bias[o] + Σ_ci Σ_t wpk[o, ci, t]·xp[ci·S + q + off[t]] for q in [0, L), o in [0, outs), in blocks
    /// of 8 channels × 32 q (16 accumulators; per tap 2 loads, 8 broadcasts, 16 FMAs). The last block computes only
    /// the channels that exist (LeNet's 6 would otherwise pay for 8); weights stay packed 8 per tap. Channel o goes to
    /// output + o·<paramref name="chanStride"/>: the flat layout (<paramref name="rowWidth"/> 0, stride L), or, when
    /// Wp = 32 so that block q/32 is output row q/32 (LeNet's and MNIST's 28×28 first layer with padding 2), straight
    /// into the destination plane, the first <paramref name="rowWidth"/> lanes of each block being that row.
    /// </summary>
    private static void Correlate(float* xp, int ins, int s, int* off, int taps, float* wpk, float* bias, int outs,
        float* output, int l, int chanStride, int rowWidth)
    {
        for (int block = 0; block < outs; block += Ob)
        {
            float* wb = wpk + ((long)block * ins * taps);
            float* bb = bias is null ? null : bias + block;
            float* ob = output + ((long)block * chanStride);
            switch (Math.Min(Ob, outs - block))
            {
                case 1:
                    CorrelateBlock<Channels1>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
                case 2:
                    CorrelateBlock<Channels2>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
                case 3:
                    CorrelateBlock<Channels3>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
                case 4:
                    CorrelateBlock<Channels4>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
                case 5:
                    CorrelateBlock<Channels5>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
                case 6:
                    CorrelateBlock<Channels6>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
                case 7:
                    CorrelateBlock<Channels7>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
                default:
                    CorrelateBlock<Channels8>(xp, ins, s, off, taps, wb, bb, ob, l, chanStride, rowWidth);
                    break;
            }
        }
    }

    /// <summary>
    /// One block of <typeparamref name="TCount"/> (1–8) channels. The JIT compiles one copy per count with the
    /// constant folded, so the tests on <c>TCount.Value</c> cost nothing and unused accumulators do not exist.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CorrelateBlock<TCount>(float* xp, int ins, int s, int* off, int taps, float* wb, float* bias,
        float* output, int l, int chanStride, int rowWidth)
        where TCount : struct, IChannelCount
    {
        int n = TCount.Value;
        bool rows = rowWidth > 0;
        Vector512<float> m0 = rows ? TailMask(Math.Min(rowWidth, 16)) : default;
        Vector512<float> m1 = rowWidth > 16 ? TailMask(rowWidth - 16) : default;
        Vector512<float> b0 = Vector512.Create(bias is null ? 0f : bias[0]);
        Vector512<float> b1 = n > 1 ? Vector512.Create(bias is null ? 0f : bias[1]) : default;
        Vector512<float> b2 = n > 2 ? Vector512.Create(bias is null ? 0f : bias[2]) : default;
        Vector512<float> b3 = n > 3 ? Vector512.Create(bias is null ? 0f : bias[3]) : default;
        Vector512<float> b4 = n > 4 ? Vector512.Create(bias is null ? 0f : bias[4]) : default;
        Vector512<float> b5 = n > 5 ? Vector512.Create(bias is null ? 0f : bias[5]) : default;
        Vector512<float> b6 = n > 6 ? Vector512.Create(bias is null ? 0f : bias[6]) : default;
        Vector512<float> b7 = n > 7 ? Vector512.Create(bias is null ? 0f : bias[7]) : default;
        for (int q = 0; q < l; q += Block)
        {
            Vector512<float> a0 = b0, a1 = b1, a2 = b2, a3 = b3, a4 = b4, a5 = b5, a6 = b6, a7 = b7;
            Vector512<float> c0 = b0, c1 = b1, c2 = b2, c3 = b3, c4 = b4, c5 = b5, c6 = b6, c7 = b7;
            float* wt = wb;
            for (int ci = 0; ci < ins; ci++)
            {
                float* xc = xp + ((long)ci * s) + q;
                for (int t = 0; t < taps; t++)
                {
                    float* xt = xc + off[t];
                    Vector512<float> x0 = Vector512.Load(xt);
                    Vector512<float> x1 = Vector512.Load(xt + 16);
                    Vector512<float> w0 = Vector512.Create(wt[0]);
                    a0 = Vector512.FusedMultiplyAdd(x0, w0, a0);
                    c0 = Vector512.FusedMultiplyAdd(x1, w0, c0);
                    if (n > 1)
                    {
                        Vector512<float> w1 = Vector512.Create(wt[1]);
                        a1 = Vector512.FusedMultiplyAdd(x0, w1, a1);
                        c1 = Vector512.FusedMultiplyAdd(x1, w1, c1);
                    }

                    if (n > 2)
                    {
                        Vector512<float> w2 = Vector512.Create(wt[2]);
                        a2 = Vector512.FusedMultiplyAdd(x0, w2, a2);
                        c2 = Vector512.FusedMultiplyAdd(x1, w2, c2);
                    }

                    if (n > 3)
                    {
                        Vector512<float> w3 = Vector512.Create(wt[3]);
                        a3 = Vector512.FusedMultiplyAdd(x0, w3, a3);
                        c3 = Vector512.FusedMultiplyAdd(x1, w3, c3);
                    }

                    if (n > 4)
                    {
                        Vector512<float> w4 = Vector512.Create(wt[4]);
                        a4 = Vector512.FusedMultiplyAdd(x0, w4, a4);
                        c4 = Vector512.FusedMultiplyAdd(x1, w4, c4);
                    }

                    if (n > 5)
                    {
                        Vector512<float> w5 = Vector512.Create(wt[5]);
                        a5 = Vector512.FusedMultiplyAdd(x0, w5, a5);
                        c5 = Vector512.FusedMultiplyAdd(x1, w5, c5);
                    }

                    if (n > 6)
                    {
                        Vector512<float> w6 = Vector512.Create(wt[6]);
                        a6 = Vector512.FusedMultiplyAdd(x0, w6, a6);
                        c6 = Vector512.FusedMultiplyAdd(x1, w6, c6);
                    }

                    if (n > 7)
                    {
                        Vector512<float> w7 = Vector512.Create(wt[7]);
                        a7 = Vector512.FusedMultiplyAdd(x0, w7, a7);
                        c7 = Vector512.FusedMultiplyAdd(x1, w7, c7);
                    }

                    wt += Ob;
                }
            }

            float* dst = rows ? output + ((q / Block) * rowWidth) : output + q;
            Put(a0, c0, dst, rows, m0, m1);
            if (n > 1)
            {
                Put(a1, c1, dst + chanStride, rows, m0, m1);
            }

            if (n > 2)
            {
                Put(a2, c2, dst + (2 * chanStride), rows, m0, m1);
            }

            if (n > 3)
            {
                Put(a3, c3, dst + (3 * chanStride), rows, m0, m1);
            }

            if (n > 4)
            {
                Put(a4, c4, dst + (4 * chanStride), rows, m0, m1);
            }

            if (n > 5)
            {
                Put(a5, c5, dst + (5 * chanStride), rows, m0, m1);
            }

            if (n > 6)
            {
                Put(a6, c6, dst + (6 * chanStride), rows, m0, m1);
            }

            if (n > 7)
            {
                Put(a7, c7, dst + (7 * chanStride), rows, m0, m1);
            }
        }
    }

    /// <summary>
    /// Stores one 32-position block of a channel: both vectors whole (flat layout), or, when the block is one output
    /// row (Wp = 32), its first OW lanes through masks <paramref name="m0"/>, <paramref name="m1"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<float> lo, Vector512<float> hi, float* dst, bool rows, Vector512<float> m0, Vector512<float> m1)
    {
        if (rows)
        {
            Avx512F.MaskStore(dst, m0, lo);
            Avx512F.MaskStore(dst + 16, m1, hi);
        }
        else
        {
            lo.Store(dst);
            hi.Store(dst + 16);
        }
    }

    /// <summary>
    /// acc[c, j] (lanes) += Σ_i Σ_q d[i·dyStride + c·L + q]·rowPtr[j][i·rowStep[j] + q] for c &lt;
    /// <typeparamref name="TCount"/> (1–6) output channels and 4 rows, over <paramref name="samples"/> samples: 24
    /// accumulators at most, loaded from and stored back to <paramref name="acc"/> (64-byte aligned, [c·4 + j]·16).
    /// Per 16 positions: 4 row loads, one dy load per channel, 4 FMAs per channel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReduceBlock<TCount>(float* d, int dyStride, int l, float** rowPtr, nint* rowStep, int samples, float* acc)
        where TCount : struct, IChannelCount
    {
        int n = TCount.Value;
        Vector512<float> s00 = Vector512.LoadAligned(acc), s01 = Vector512.LoadAligned(acc + 16);
        Vector512<float> s02 = Vector512.LoadAligned(acc + 32), s03 = Vector512.LoadAligned(acc + 48);
        Vector512<float> s10 = n > 1 ? Vector512.LoadAligned(acc + 64) : default, s11 = n > 1 ? Vector512.LoadAligned(acc + 80) : default;
        Vector512<float> s12 = n > 1 ? Vector512.LoadAligned(acc + 96) : default, s13 = n > 1 ? Vector512.LoadAligned(acc + 112) : default;
        Vector512<float> s20 = n > 2 ? Vector512.LoadAligned(acc + 128) : default, s21 = n > 2 ? Vector512.LoadAligned(acc + 144) : default;
        Vector512<float> s22 = n > 2 ? Vector512.LoadAligned(acc + 160) : default, s23 = n > 2 ? Vector512.LoadAligned(acc + 176) : default;
        Vector512<float> s30 = n > 3 ? Vector512.LoadAligned(acc + 192) : default, s31 = n > 3 ? Vector512.LoadAligned(acc + 208) : default;
        Vector512<float> s32 = n > 3 ? Vector512.LoadAligned(acc + 224) : default, s33 = n > 3 ? Vector512.LoadAligned(acc + 240) : default;
        Vector512<float> s40 = n > 4 ? Vector512.LoadAligned(acc + 256) : default, s41 = n > 4 ? Vector512.LoadAligned(acc + 272) : default;
        Vector512<float> s42 = n > 4 ? Vector512.LoadAligned(acc + 288) : default, s43 = n > 4 ? Vector512.LoadAligned(acc + 304) : default;
        Vector512<float> s50 = n > 5 ? Vector512.LoadAligned(acc + 320) : default, s51 = n > 5 ? Vector512.LoadAligned(acc + 336) : default;
        Vector512<float> s52 = n > 5 ? Vector512.LoadAligned(acc + 352) : default, s53 = n > 5 ? Vector512.LoadAligned(acc + 368) : default;
        for (int i = 0; i < samples; i++)
        {
            float* d0 = d + ((long)i * dyStride);
            float* x0p = rowPtr[0] + (i * rowStep[0]), x1p = rowPtr[1] + (i * rowStep[1]);
            float* x2p = rowPtr[2] + (i * rowStep[2]), x3p = rowPtr[3] + (i * rowStep[3]);
            for (int q = 0; q < l; q += 16)
            {
                Vector512<float> x0 = Vector512.Load(x0p + q), x1 = Vector512.Load(x1p + q);
                Vector512<float> x2 = Vector512.Load(x2p + q), x3 = Vector512.Load(x3p + q);
                Vector512<float> dv = Vector512.Load(d0 + q);
                s00 = Vector512.FusedMultiplyAdd(dv, x0, s00);
                s01 = Vector512.FusedMultiplyAdd(dv, x1, s01);
                s02 = Vector512.FusedMultiplyAdd(dv, x2, s02);
                s03 = Vector512.FusedMultiplyAdd(dv, x3, s03);
                if (n > 1)
                {
                    dv = Vector512.Load(d0 + l + q);
                    s10 = Vector512.FusedMultiplyAdd(dv, x0, s10);
                    s11 = Vector512.FusedMultiplyAdd(dv, x1, s11);
                    s12 = Vector512.FusedMultiplyAdd(dv, x2, s12);
                    s13 = Vector512.FusedMultiplyAdd(dv, x3, s13);
                }

                if (n > 2)
                {
                    dv = Vector512.Load(d0 + (2 * l) + q);
                    s20 = Vector512.FusedMultiplyAdd(dv, x0, s20);
                    s21 = Vector512.FusedMultiplyAdd(dv, x1, s21);
                    s22 = Vector512.FusedMultiplyAdd(dv, x2, s22);
                    s23 = Vector512.FusedMultiplyAdd(dv, x3, s23);
                }

                if (n > 3)
                {
                    dv = Vector512.Load(d0 + (3 * l) + q);
                    s30 = Vector512.FusedMultiplyAdd(dv, x0, s30);
                    s31 = Vector512.FusedMultiplyAdd(dv, x1, s31);
                    s32 = Vector512.FusedMultiplyAdd(dv, x2, s32);
                    s33 = Vector512.FusedMultiplyAdd(dv, x3, s33);
                }

                if (n > 4)
                {
                    dv = Vector512.Load(d0 + (4 * l) + q);
                    s40 = Vector512.FusedMultiplyAdd(dv, x0, s40);
                    s41 = Vector512.FusedMultiplyAdd(dv, x1, s41);
                    s42 = Vector512.FusedMultiplyAdd(dv, x2, s42);
                    s43 = Vector512.FusedMultiplyAdd(dv, x3, s43);
                }

                if (n > 5)
                {
                    dv = Vector512.Load(d0 + (5 * l) + q);
                    s50 = Vector512.FusedMultiplyAdd(dv, x0, s50);
                    s51 = Vector512.FusedMultiplyAdd(dv, x1, s51);
                    s52 = Vector512.FusedMultiplyAdd(dv, x2, s52);
                    s53 = Vector512.FusedMultiplyAdd(dv, x3, s53);
                }
            }
        }

        s00.StoreAligned(acc);
        s01.StoreAligned(acc + 16);
        s02.StoreAligned(acc + 32);
        s03.StoreAligned(acc + 48);
        if (n > 1)
        {
            s10.StoreAligned(acc + 64);
            s11.StoreAligned(acc + 80);
            s12.StoreAligned(acc + 96);
            s13.StoreAligned(acc + 112);
        }

        if (n > 2)
        {
            s20.StoreAligned(acc + 128);
            s21.StoreAligned(acc + 144);
            s22.StoreAligned(acc + 160);
            s23.StoreAligned(acc + 176);
        }

        if (n > 3)
        {
            s30.StoreAligned(acc + 192);
            s31.StoreAligned(acc + 208);
            s32.StoreAligned(acc + 224);
            s33.StoreAligned(acc + 240);
        }

        if (n > 4)
        {
            s40.StoreAligned(acc + 256);
            s41.StoreAligned(acc + 272);
            s42.StoreAligned(acc + 288);
            s43.StoreAligned(acc + 304);
        }

        if (n > 5)
        {
            s50.StoreAligned(acc + 320);
            s51.StoreAligned(acc + 336);
            s52.StoreAligned(acc + 352);
            s53.StoreAligned(acc + 368);
        }
    }

    /// <summary>A channel count known to the JIT as a constant (one <see cref="CorrelateBlock{TCount}"/> per count).</summary>
    private interface IChannelCount
    {
        static abstract int Value { get; }
    }

    private struct Channels1 : IChannelCount
    {
        public static int Value => 1;
    }

    private struct Channels2 : IChannelCount
    {
        public static int Value => 2;
    }

    private struct Channels3 : IChannelCount
    {
        public static int Value => 3;
    }

    private struct Channels4 : IChannelCount
    {
        public static int Value => 4;
    }

    private struct Channels5 : IChannelCount
    {
        public static int Value => 5;
    }

    private struct Channels6 : IChannelCount
    {
        public static int Value => 6;
    }

    private struct Channels7 : IChannelCount
    {
        public static int Value => 7;
    }

    private struct Channels8 : IChannelCount
    {
        public static int Value => 8;
    }
}
