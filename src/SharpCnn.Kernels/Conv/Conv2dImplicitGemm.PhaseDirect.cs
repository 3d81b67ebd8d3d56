using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// The implicit GEMM's path for layers with few input channels and wide outputs (ResNet's stem, 7×7/2 from 3
/// channels): no B panels are packed. The input is copied once into zero-padded phase planes, and the micro-kernel
/// loads each 16-position B vector straight from them.
/// </summary>
/// <remarks>
/// <para><b>Padded phase planes.</b> With x̄ the input padded by (p_t, p_l) with zeros, plane (c, a, b) holds
/// Q[i, j] = x̄[c, i·s_h + a, j·s_w + b]. Tap (ki, kj) of output (oy, ox) reads x̄[oy·s_h + ki·d_h, ox·s_w + kj·d_w] =
/// Q_(c, (ki·d_h) mod s_h, (kj·d_w) mod s_w)[oy + ⌊ki·d_h/s_h⌋, ox + ⌊kj·d_w/s_w⌋], so 16 consecutive outputs of one
/// row read 16 consecutive floats of one plane, at a fixed offset per tap: B row p of a vector is one unaligned load
/// at (vector base + tap offset p). The planes are as wide as the output rounded up to 16 plus the largest column
/// shift, so lanes past the row's end read padding or the next columns (computed, never stored). For the stem at
/// batch 1 the planes take 3 × 4 × 115 × 115 floats (0.6 MB); the implicit GEMM packed 147 × 12,544 floats of B
/// panels (7.4 MB) per call and copied every C block out once more.</para>
/// <para><b>Tiles.</b> 8 output channels (the packed A micro-panel, as the implicit GEMM's) × 2 vectors of 16 outputs
/// (any two vectors of the batch: each has its own base), accumulated in registers over the whole depth and stored
/// through the epilogue straight into NCHW. Items are 14 vector pairs (the stem: 4 output rows); per A panel (in L1)
/// an item runs all its pairs, so each channel's outputs are stored as one run and the B rows come from L1/L2.</para>
/// <para><b>Same bits as the packed path.</b> The path is taken only for one k slice (K ≤ 256): every output is then
/// one FMA chain over k = (c, ki, kj) in order from zero, as in the GEMM tile, and the bias, residual and ReLU are
/// applied as the packed path's copy-out applies them; padding taps read +0 as the packed panels' masked lanes do.
/// So the results are bit for bit those of the packed path (and do not depend on the thread count).</para>
/// </remarks>
internal static unsafe partial class Conv2dImplicitGemm
{
    /// <summary>Outputs per B vector.</summary>
    private const int Lanes = 16;

    /// <summary>Most input channels per group the phase path takes: its planes copy the input (with padding) once per call.</summary>
    private const int PhaseDirectMaxChannels = 4;

    /// <summary>Vector pairs per work item at most (the stem at batch 1: 392 pairs as 28 items of 14).</summary>
    private const int PhaseDirectPairsPerItem = 14;

    /// <summary>Test hook: when set, every call takes the packed path (to compare the two bit for bit).</summary>
    internal static bool PhaseDirectDisabledForTests { get; set; }

    /// <summary>
    /// Tells whether <see cref="Forward(float*, float*, in ConvEpilogue, in Conv2dGeometry, float*, float*)"/> runs
    /// <paramref name="g"/> on the phase path: one group, at most 4 input channels, one k slice (K ≤ 256), outputs at
    /// least 16 wide.
    /// </summary>
    internal static bool UsesPhaseDirect(in Conv2dGeometry g) =>
        !PhaseDirectDisabledForTests && g.Groups == 1 && g.InChannels <= PhaseDirectMaxChannels
        && g.InChannels * g.KernelH * g.KernelW <= Kc && g.OutWidth >= Lanes && g.OutHeight > 0;

    /// <summary>The phase path (<see cref="UsesPhaseDirect"/>); <paramref name="prepacked"/> as in the packed path (one slice).</summary>
    private static void ForwardPhaseDirect(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked)
    {
        int c = g.InChannels, og = g.OutChannels, k = c * g.KernelH * g.KernelW;
        int sh = g.StrideH, sw = g.StrideW, dh = g.DilationH, dw = g.DilationW;
        int oh = g.OutHeight, ow = g.OutWidth, vw = (ow + Lanes - 1) / Lanes;
        int hq = oh + ((g.KernelH - 1) * dh / sh), wq = (vw * Lanes) + ((g.KernelW - 1) * dw / sw);
        long plane = (long)hq * wq, image = c * sh * sw * plane;
        float[]? packedA = prepacked != null ? null : ArrayPool<float>.Shared.Rent(og * k);
        float[] planes = ArrayPool<float>.Shared.Rent(checked((int)(g.Batch * image)));
        nint[] taps = ArrayPool<nint>.Shared.Rent(k);
        bool[] usedPhases = new bool[sh * sw];
        for (int ch = 0, p = 0; ch < c; ch++)
        {
            for (int ki = 0; ki < g.KernelH; ki++)
            {
                int ty = ki * dh;
                for (int kj = 0; kj < g.KernelW; kj++)
                {
                    int tx = kj * dw, phase = (ty % sh * sw) + (tx % sw);
                    usedPhases[phase] = true;
                    taps[p++] = (nint)((((long)ch * sh * sw) + phase) * plane) + ((nint)(ty / sh) * wq) + (tx / sw);
                }
            }
        }

        try
        {
            fixed (float* pOwn = packedA)
            fixed (float* pq = planes)
            fixed (nint* pt = taps)
            {
                float* pa = prepacked;
                if (pa == null)
                {
                    pa = pOwn;
                    PackWeights(w, 1, og, k, 1, k, pa);
                }

                FillPhasePlanes(x, g, hq, wq, usedPhases, pq);
                var job = new PhaseJob
                {
                    Planes = pq,
                    ImageStride = (nint)image,
                    Wq = wq,
                    Taps = pt,
                    K = k,
                    PackedA = pa,
                    Og = og,
                    Oh = oh,
                    Ow = ow,
                    Vw = vw,
                    Vectors = g.Batch * oh * vw,
                    Y = y,
                    Epilogue = epilogue,
                };
                job.Run();
            }
        }
        finally
        {
            ArrayPool<nint>.Shared.Return(taps);
            ArrayPool<float>.Shared.Return(planes);
            if (packedA is not null)
            {
                ArrayPool<float>.Shared.Return(packedA);
            }
        }
    }

    /// <summary>
    /// planes[n, c, a, b, i, j] = x̄[n, c, i·s_h + a, j·s_w + b] (x̄ = x padded by p_t, p_l with zeros) for the phases some
    /// tap reads, i &lt; <paramref name="hq"/>, j &lt; <paramref name="wq"/>; parallel over (image, channel, phase), so that
    /// the stem's 3 channels at batch 1 make 12 items, not 3.
    /// </summary>
    private static void FillPhasePlanes(float* x, in Conv2dGeometry g, int hq, int wq, bool[] usedPhases, float* planes)
    {
        int sh = g.StrideH, sw = g.StrideW, h = g.Height, w = g.Width, pt = g.PadTop, pl = g.PadLeft, phases = sh * sw;
        long plane = (long)hq * wq;
        nint xs = (nint)x, ps = (nint)planes;
        int count = g.Batch * g.InChannels * phases;
        KernelParallel.For(count, plane, (start, end) =>
        {
            for (int item = start; item < end; item++)
            {
                int nc = item / phases, phase = item - (nc * phases), a = phase / sw, b = phase - (a * sw);
                if (!usedPhases[phase])
                {
                    continue;
                }

                float* src = (float*)xs + ((long)nc * h * w);
                float* d = (float*)ps + (item * plane);

                // Column j reads input column j·s_w + b − p_l: inside the input for j in [j0, j1).
                int j0 = Math.Clamp(CeilDiv(pl - b, sw), 0, wq), j1 = Math.Clamp(CeilDiv(w + pl - b, sw), j0, wq);
                for (int i = 0; i < hq; i++, d += wq)
                {
                    int row = (i * sh) + a - pt;
                    if ((uint)row >= (uint)h || j0 == j1)
                    {
                        new Span<float>(d, wq).Clear();
                        continue;
                    }

                    new Span<float>(d, j0).Clear();
                    if (sw == 1)
                    {
                        Buffer.MemoryCopy(src + ((long)row * w) + (j0 + b - pl), d + j0, (j1 - j0) * sizeof(float), (j1 - j0) * sizeof(float));
                    }
                    else
                    {
                        DeinterleaveRow(src + ((long)row * w) + ((j0 * sw) + b - pl), sw, j1 - j0, d + j0);
                    }

                    new Span<float>(d + j1, wq - j1).Clear();
                }
            }
        }, Math.Min(count, 16));
    }

    private static int CeilDiv(int value, int divisor) => -FloorDiv(-value, divisor);

    /// <summary>One phase-path call: items are ranges of B vector pairs (vector v = (n, oy, 16-column block)).</summary>
    private sealed class PhaseJob
    {
        public float* Planes;
        public nint ImageStride;
        public int Wq;
        public nint* Taps;
        public int K;
        public float* PackedA;
        public int Og;
        public int Oh;
        public int Ow;
        public int Vw;
        public int Vectors;
        public float* Y;
        public ConvEpilogue Epilogue;
        private int _pairs;

        public void Run()
        {
            _pairs = (Vectors + 1) / 2;
            int items = (_pairs + PhaseDirectPairsPerItem - 1) / PhaseDirectPairsPerItem;
            KernelParallel.For(items, (long)Og * K * 2 * Lanes * PhaseDirectPairsPerItem, Body, items);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Body(int start, int end)
        {
            float* tile = stackalloc float[Mr * 2 * Lanes];
            for (int item = start; item < end; item++)
            {
                // Per A panel all the item's pairs (4 output rows of the stem): each of the panel's 8 channels is then
                // stored as one run of consecutive outputs, 8 store streams at a time instead of C_out.
                int p0 = item * PhaseDirectPairsPerItem, p1 = Math.Min(_pairs, p0 + PhaseDirectPairsPerItem);
                for (int ir = 0; ir < Og; ir += Mr)
                {
                    int rows = Math.Min(Mr, Og - ir);
                    float* a = PackedA + ((nint)ir * K);
                    for (int pair = p0; pair < p1; pair++)
                    {
                        int v0 = 2 * pair;
                        bool two = v0 + 1 < Vectors;
                        float* x0 = VectorBase(v0);
                        Micro(rows, a, x0, two ? VectorBase(v0 + 1) : x0, tile);
                        Store(tile, ir, rows, v0);
                        if (two)
                        {
                            Store(tile + Lanes, ir, rows, v0 + 1);
                        }
                    }
                }
            }
        }

        /// <summary>Plane address of vector v's first output (image n, row oy, column 16·block).</summary>
        private float* VectorBase(int v)
        {
            int n = v / (Oh * Vw), r = v - (n * Oh * Vw), oy = r / Vw, block = r - (oy * Vw);
            return Planes + (n * ImageStride) + ((nint)oy * Wq) + (block * Lanes);
        }

        /// <summary>Stores tile rows [0, rows) (row stride 32) as channels ir + r of vector v, through the epilogue.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Store(float* tile, int ir, int rows, int v)
        {
            int p = Oh * Ow;
            int n = v / (Oh * Vw), r = v - (n * Oh * Vw), oy = r / Vw, ox = (r - (oy * Vw)) * Lanes;
            int count = Math.Min(Lanes, Ow - ox);
            Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();
            for (int i = 0; i < rows; i++)
            {
                int o = ir + i;
                nint at = ((((nint)n * Og) + o) * p) + ((nint)oy * Ow) + ox;
                Vector512<float> value = Vector512.Load(tile + (i * 2 * Lanes)) + Vector512.Create(Epilogue.BiasOf(o));
                float* residual = Epilogue.Residual == null ? null : Epilogue.Residual + at;
                if (count == Lanes)
                {
                    (Epilogue.BiasOnly ? value : Epilogue.Apply(value, residual)).Store(Y + at);
                }
                else
                {
                    // As the packed path's copy-out of a partial vector: masked residual, then the activation.
                    if (residual != null)
                    {
                        value += Avx512F.MaskLoad(residual, mask, Vector512<float>.Zero);
                    }

                    Avx512F.MaskStore(Y + at, mask, Epilogue.Apply(value, null));
                }
            }
        }

        private void Micro(int rows, float* a, float* x0, float* x1, float* tile)
        {
            switch (rows)
            {
                case 1:
                    Micro2<GemmRows1>(K, a, Taps, x0, x1, tile);
                    break;
                case 2:
                    Micro2<GemmRows2>(K, a, Taps, x0, x1, tile);
                    break;
                case 3:
                    Micro2<GemmRows3>(K, a, Taps, x0, x1, tile);
                    break;
                case 4:
                    Micro2<GemmRows4>(K, a, Taps, x0, x1, tile);
                    break;
                case 5:
                    Micro2<GemmRows5>(K, a, Taps, x0, x1, tile);
                    break;
                case 6:
                    Micro2<GemmRows6>(K, a, Taps, x0, x1, tile);
                    break;
                case 7:
                    Micro2<GemmRows7>(K, a, Taps, x0, x1, tile);
                    break;
                default:
                    Micro2<GemmRows8>(K, a, Taps, x0, x1, tile);
                    break;
            }
        }

        /// <summary>
        /// tile[r, 0..16) = Σ_p a[p·rows + r]·x0[taps[p] + 0..16), tile[r, 16..32) the same over x1: one FMA chain per
        /// output from zero, in p order (the GEMM tile's).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Micro2<TRows>(int kc, float* a, nint* taps, float* x0, float* x1, float* tile)
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
            for (int p = 0; p < kc; p++)
            {
                nint off = taps[p];
                Vector512<float> b0 = Vector512.Load(x0 + off);
                Vector512<float> b1 = Vector512.Load(x1 + off);
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

                a += rows;
            }

            c0_0.Store(tile);
            c0_1.Store(tile + Lanes);
            if (rows > 1)
            {
                c1_0.Store(tile + (2 * Lanes));
                c1_1.Store(tile + (3 * Lanes));
            }

            if (rows > 2)
            {
                c2_0.Store(tile + (4 * Lanes));
                c2_1.Store(tile + (5 * Lanes));
            }

            if (rows > 3)
            {
                c3_0.Store(tile + (6 * Lanes));
                c3_1.Store(tile + (7 * Lanes));
            }

            if (rows > 4)
            {
                c4_0.Store(tile + (8 * Lanes));
                c4_1.Store(tile + (9 * Lanes));
            }

            if (rows > 5)
            {
                c5_0.Store(tile + (10 * Lanes));
                c5_1.Store(tile + (11 * Lanes));
            }

            if (rows > 6)
            {
                c6_0.Store(tile + (12 * Lanes));
                c6_1.Store(tile + (13 * Lanes));
            }

            if (rows > 7)
            {
                c7_0.Store(tile + (14 * Lanes));
                c7_1.Store(tile + (15 * Lanes));
            }
        }
    }
}
