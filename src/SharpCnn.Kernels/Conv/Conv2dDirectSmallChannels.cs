using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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

    /// <summary>Backward-weight reduces over sub-batches of at most this many buffered floats (1 MiB, L2-sized).</summary>
    private const long MaxChunkFloats = 1L << 18;

    /// <summary>Can run <paramref name="g"/>: AVX-512 and stride 1 (any padding, dilation, groups).</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && g.StrideH == 1 && g.StrideW == 1;

    /// <summary>
    /// Worth choosing over im2col + GEMM (measured on LeNet-5 and two CIFAR-sized layers, docs/performance.md):
    /// 4 to 16 output channels per group (below 4 the 8-channel register block would be mostly padding; depthwise
    /// layers are not measured and stay on the GEMM path), not 1×1, and at most half the computed columns dropped
    /// ((kw − 1)·dw ≤ OW).
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.OutChannelsPerGroup is >= 4 and <= 16 && g.KernelH * g.KernelW > 1
        && (g.KernelW - 1) * g.DilationW <= g.OutWidth;

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

                            Correlate(xp, cg, lay.S, off, taps, wp, bp, og, outp, lay.L);
                            float* yg = (float*)ys + ((((long)n * geo.OutChannels) + (grp * og)) * p);
                            Gather(outp, og, lay.L, lay.Wp, oh, ow, yg);
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

                            Correlate(dyp, og, lay.S, off, taps, wp, null, cg, outp, lay.L);
                            float* dxg = (float*)dxs + ((((long)n * geo.InChannels) + (grp * cg)) * hw);
                            Gather(outp, cg, lay.L, lay.Wp, h, wd, dxg);
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
    /// dw = Σ_n Σ_q dy_n[o, q]·x_n[c, q + offset(ki, kj)] over samples [n0, n1) in order, written to
    /// <paramref name="dw"/> (overwritten). The caller splits the batch into fixed chunks and adds them in order.
    /// </summary>
    /// <remarks>
    /// The lane accumulators run over up to <see cref="MaxChunkFloats"/> worth of samples before the one
    /// horizontal sum per weight (summing after each small sample cost as much as the FMAs for LeNet's conv2); the
    /// sub-batch size depends on the geometry only, so the result does not depend on the thread count.
    /// </remarks>
    public static void BackwardWeightChunk(float* dy, float* x, in Conv2dGeometry g, int n0, int n1, float* dw)
    {
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, taps = g.KernelH * g.KernelW;
        int kk = cg * taps, hw = g.Height * g.Width, oh = g.OutHeight, ow = g.OutWidth, p = oh * ow;
        var lay = new Layout(oh, ow, g);
        const int RowBlock = 4;
        int opad = RoundUp(og, RowBlock), rpad = RoundUp(kk, RowBlock);
        int xStride = cg * lay.S, dyStride = opad * lay.L;
        int sub = (int)Math.Clamp(MaxChunkFloats / (xStride + dyStride), 1, Math.Max(1, n1 - n0));
        float[] xpArray = ArrayPool<float>.Shared.Rent(sub * xStride);
        float[] dyfArray = ArrayPool<float>.Shared.Rent(sub * dyStride);
        float[] accArray = ArrayPool<float>.Shared.Rent(opad * rpad);
        int[] offArray = ArrayPool<int>.Shared.Rent(taps);
        int[] rowOffArray = ArrayPool<int>.Shared.Rent(rpad);
        try
        {
            fixed (float* xp = xpArray)
            fixed (float* dyf = dyfArray)
            fixed (float* acc = accArray)
            fixed (int* off = offArray)
            fixed (int* rowOff = rowOffArray)
            {
                new Span<float>(xp, sub * xStride).Clear();
                new Span<float>(dyf, sub * dyStride).Clear();
                TapOffsets(g, lay.Wp, off);
                for (int r = 0; r < rpad; r++)
                {
                    // Padding rows read the first tap; their sums are dropped.
                    rowOff[r] = r < kk ? ((r / taps) * lay.S) + off[r % taps] : 0;
                }

                for (int grp = 0; grp < g.Groups; grp++)
                {
                    for (int s0 = n0; s0 < n1; s0 += sub)
                    {
                        int count = Math.Min(sub, n1 - s0);
                        for (int i = 0; i < count; i++)
                        {
                            int n = s0 + i;
                            float* xg = x + ((((long)n * g.InChannels) + (grp * cg)) * hw);
                            float* dyg = dy + ((((long)n * g.OutChannels) + (grp * og)) * p);
                            float* xpi = xp + ((long)i * xStride);
                            float* dyi = dyf + ((long)i * dyStride);
                            for (int c = 0; c < cg; c++)
                            {
                                Place(xg + ((long)c * hw), g.Height, g.Width, g.PadTop, g.PadLeft, xpi + ((long)c * lay.S), lay.Hp, lay.Wp);
                            }

                            // dy rows laid out with stride Wp; the Wp − OW dropped columns stay zero.
                            for (int o = 0; o < og; o++)
                            {
                                for (int oy = 0; oy < oh; oy++)
                                {
                                    Unsafe.CopyBlockUnaligned(dyi + ((long)o * lay.L) + (oy * lay.Wp), dyg + ((long)o * p) + (oy * ow), (uint)ow * sizeof(float));
                                }
                            }
                        }

                        ReduceBlocks(dyf, dyStride, opad, lay.L, xp, xStride, count, rowOff, rpad, acc);
                        float* dwg = dw + ((long)grp * og * kk);
                        for (int o = 0; o < og; o++)
                        {
                            float* src = acc + ((long)o * rpad);
                            float* dst = dwg + ((long)o * kk);
                            if (s0 == n0)
                            {
                                Unsafe.CopyBlockUnaligned(dst, src, (uint)kk * sizeof(float));
                            }
                            else
                            {
                                for (int r = 0; r < kk; r++)
                                {
                                    dst[r] += src[r];
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
            ArrayPool<int>.Shared.Return(offArray);
            ArrayPool<int>.Shared.Return(rowOffArray);
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
                Unsafe.CopyBlockUnaligned(dst + ((long)dr * wp) + left + c0, src + ((long)r * cols) + c0, (uint)(c1 - c0) * sizeof(float));
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
                Unsafe.CopyBlockUnaligned(dst, src + ((long)r * wp), (uint)cols * sizeof(float));
                dst += cols;
            }
        }
    }

    /// <summary>
    /// out[o, q] = bias[o] + Σ_ci Σ_t wpk[o, ci, t]·xp[ci·S + q + off[t]] for q in [0, L), o in [0, outs), in blocks
    /// of 8 channels × 32 q (16 accumulators; per tap 2 loads, 8 broadcasts, 16 FMAs). The last block computes only
    /// the channels that exist (LeNet's 6 would otherwise pay for 8); weights stay packed 8 per tap.
    /// </summary>
    private static void Correlate(float* xp, int ins, int s, int* off, int taps, float* wpk, float* bias, int outs,
        float* output, int l)
    {
        for (int block = 0; block < outs; block += Ob)
        {
            float* wb = wpk + ((long)block * ins * taps);
            float* bb = bias is null ? null : bias + block;
            float* ob = output + ((long)block * l);
            switch (Math.Min(Ob, outs - block))
            {
                case 1:
                    CorrelateBlock<Channels1>(xp, ins, s, off, taps, wb, bb, ob, l);
                    break;
                case 2:
                    CorrelateBlock<Channels2>(xp, ins, s, off, taps, wb, bb, ob, l);
                    break;
                case 3:
                    CorrelateBlock<Channels3>(xp, ins, s, off, taps, wb, bb, ob, l);
                    break;
                case 4:
                    CorrelateBlock<Channels4>(xp, ins, s, off, taps, wb, bb, ob, l);
                    break;
                case 5:
                    CorrelateBlock<Channels5>(xp, ins, s, off, taps, wb, bb, ob, l);
                    break;
                case 6:
                    CorrelateBlock<Channels6>(xp, ins, s, off, taps, wb, bb, ob, l);
                    break;
                case 7:
                    CorrelateBlock<Channels7>(xp, ins, s, off, taps, wb, bb, ob, l);
                    break;
                default:
                    CorrelateBlock<Channels8>(xp, ins, s, off, taps, wb, bb, ob, l);
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
        float* output, int l)
        where TCount : struct, IChannelCount
    {
        int n = TCount.Value;
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

            float* dst = output + q;
            a0.Store(dst);
            c0.Store(dst + 16);
            if (n > 1)
            {
                a1.Store(dst + l);
                c1.Store(dst + l + 16);
            }

            if (n > 2)
            {
                a2.Store(dst + (2 * l));
                c2.Store(dst + (2 * l) + 16);
            }

            if (n > 3)
            {
                a3.Store(dst + (3 * l));
                c3.Store(dst + (3 * l) + 16);
            }

            if (n > 4)
            {
                a4.Store(dst + (4 * l));
                c4.Store(dst + (4 * l) + 16);
            }

            if (n > 5)
            {
                a5.Store(dst + (5 * l));
                c5.Store(dst + (5 * l) + 16);
            }

            if (n > 6)
            {
                a6.Store(dst + (6 * l));
                c6.Store(dst + (6 * l) + 16);
            }

            if (n > 7)
            {
                a7.Store(dst + (7 * l));
                c7.Store(dst + (7 * l) + 16);
            }
        }
    }

    /// <summary>
    /// acc[o, r] = Σ_i Σ_q dyf[i·dyStride + o·L + q]·xp[i·xStride + rowOff[r] + q] over the buffered samples i, in
    /// blocks of 4 channels × 4 rows (16 accumulators, each summed across lanes once at the end);
    /// <paramref name="outPad"/> and <paramref name="rows"/> are multiples of 4.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ReduceBlocks(float* dyf, int dyStride, int outPad, int l, float* xp, int xStride, int samples,
        int* rowOff, int rows, float* acc)
    {
        for (int o = 0; o < outPad; o += 4)
        {
            for (int r = 0; r < rows; r += 4)
            {
                Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default;
                Vector512<float> s10 = default, s11 = default, s12 = default, s13 = default;
                Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default;
                Vector512<float> s30 = default, s31 = default, s32 = default, s33 = default;
                for (int i = 0; i < samples; i++)
                {
                    float* d = dyf + ((long)i * dyStride) + ((long)o * l);
                    float* xi = xp + ((long)i * xStride);
                    float* x0p = xi + rowOff[r], x1p = xi + rowOff[r + 1], x2p = xi + rowOff[r + 2], x3p = xi + rowOff[r + 3];
                    for (int q = 0; q < l; q += 16)
                    {
                        Vector512<float> x0 = Vector512.Load(x0p + q), x1 = Vector512.Load(x1p + q);
                        Vector512<float> x2 = Vector512.Load(x2p + q), x3 = Vector512.Load(x3p + q);
                        Vector512<float> d0 = Vector512.Load(d + q);
                        s00 = Vector512.FusedMultiplyAdd(d0, x0, s00);
                        s01 = Vector512.FusedMultiplyAdd(d0, x1, s01);
                        s02 = Vector512.FusedMultiplyAdd(d0, x2, s02);
                        s03 = Vector512.FusedMultiplyAdd(d0, x3, s03);
                        Vector512<float> d1 = Vector512.Load(d + l + q);
                        s10 = Vector512.FusedMultiplyAdd(d1, x0, s10);
                        s11 = Vector512.FusedMultiplyAdd(d1, x1, s11);
                        s12 = Vector512.FusedMultiplyAdd(d1, x2, s12);
                        s13 = Vector512.FusedMultiplyAdd(d1, x3, s13);
                        Vector512<float> d2 = Vector512.Load(d + (2 * l) + q);
                        s20 = Vector512.FusedMultiplyAdd(d2, x0, s20);
                        s21 = Vector512.FusedMultiplyAdd(d2, x1, s21);
                        s22 = Vector512.FusedMultiplyAdd(d2, x2, s22);
                        s23 = Vector512.FusedMultiplyAdd(d2, x3, s23);
                        Vector512<float> d3 = Vector512.Load(d + (3 * l) + q);
                        s30 = Vector512.FusedMultiplyAdd(d3, x0, s30);
                        s31 = Vector512.FusedMultiplyAdd(d3, x1, s31);
                        s32 = Vector512.FusedMultiplyAdd(d3, x2, s32);
                        s33 = Vector512.FusedMultiplyAdd(d3, x3, s33);
                    }
                }

                float* a = acc + ((long)o * rows) + r;
                a[0] = Vector512.Sum(s00);
                a[1] = Vector512.Sum(s01);
                a[2] = Vector512.Sum(s02);
                a[3] = Vector512.Sum(s03);
                a[rows] = Vector512.Sum(s10);
                a[rows + 1] = Vector512.Sum(s11);
                a[rows + 2] = Vector512.Sum(s12);
                a[rows + 3] = Vector512.Sum(s13);
                a[2 * rows] = Vector512.Sum(s20);
                a[(2 * rows) + 1] = Vector512.Sum(s21);
                a[(2 * rows) + 2] = Vector512.Sum(s22);
                a[(2 * rows) + 3] = Vector512.Sum(s23);
                a[3 * rows] = Vector512.Sum(s30);
                a[(3 * rows) + 1] = Vector512.Sum(s31);
                a[(3 * rows) + 2] = Vector512.Sum(s32);
                a[(3 * rows) + 3] = Vector512.Sum(s33);
            }
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
