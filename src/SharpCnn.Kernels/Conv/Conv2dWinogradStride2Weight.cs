using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Backward-weight of 3×3, stride-2, undilated, ungrouped convolutions by polyphase Winograd (variant
/// <c>Conv2dWinogradStride2Weight</c>, AVX-512): the gradient counterpart of <see cref="Conv2dWinogradStride2"/>. The
/// forward computes a 4×4 output tile as A′ᵀ[(G′ g G′ᵀ) ⊙ (B′ᵀ d B′)]A′ from the 9×9 input patch d, so the gradient of
/// a 3×3 kernel is dw = G′ᵀ [Σ_tiles (A′ dy A′ᵀ) ⊙ (B′ᵀ d B′)] G′: per transformed point ξ (81 of them) a GEMM
/// M_ξ (C_out × C_in) = U′_ξ (C_out × tiles) · V_ξᵀ (tiles × C_in) whose inner dimension is the tiles of the batch, then
/// one 9×9 → 3×3 transform per weight. 81/16 = 5.06 multiply-adds per output and channel pair against 9 for the direct
/// sum (1.78× fewer), no gathers.
/// </summary>
/// <remarks>
/// <para>Per axis, tap 1 of a stride-2 output reads the odd patch samples d_2i+1 (one product per output: points 5..8
/// are those samples and the dy values themselves) and taps 0 and 2 the even samples d_2i, d_2i+2, a 2-tap correlation
/// computed as F(4, 2) (points 0..4). Matrices as <see cref="Conv2dWinogradStride2"/>: Bᵀ of F(4, 2) on
/// (d0, d2, d4, d6, d8), A′ (9×4) = [A; I] with A = (Aᵀ)ᵀ, Aᵀ = [1 1 1 1 0; 0 1 −1 2 0; 0 1 1 4 0; 0 1 −1 8 1], and
/// G′ᵀ (3×9) = [½ −½ −⅙ ⅙ 0 0 0 0 0; 0 0 0 0 0 1 1 1 1; 0 −½ ⅙ ⅓ 1 0 0 0 0]. Input patches start at
/// (8·ty − p_t, 8·tx − p_l) (taps outside the input read zero), dy tiles at (4·ty, 4·tx) (outputs past OH or OW read zero),
/// so odd maps and any padding need nothing special.</para>
/// <para>G′ᵀ maps the 4 odd-phase points of an axis to tap 1 with coefficient 1, so their products are summed inside the
/// GEMMs: per axis the accumulator points are F(4, 2)'s 5 and one merged point, 36 planes M_p whose transformed rows
/// hold 1, 4 or 16 sub-rows of tiles laid end to end (one GEMM each, inner dimension 1, 4 or 16 × the block's tiles).</para>
/// <para>Tiles go in blocks of about 1 MiB of transformed data, and the blocks in a fixed number of contiguous
/// partitions (a function of the geometry only), each summed into its own accumulator M_q: one parallel job per call
/// hands whole partitions to the threads, which transform a block (input and dy) into their own buffers and run the 36
/// GEMMs M_q,p (+)= U′_p · V_pᵀ on it, so nothing waits between blocks and the transformed data stay in the thread's L2.
/// The back transform sums the M_q in partition order (in double), so any thread count gives the same bits. Each
/// accumulator (36 × C_out × C_in) is kept to at most 2²⁰ floats by taking the output channels in groups. The back
/// transform runs in double with integer coefficients (36·dw, then one division) and rounds once.</para>
/// </remarks>
internal static unsafe class Conv2dWinogradStride2Weight
{
    /// <summary>Transformed points per tile: 9 per axis.</summary>
    private const int Xi = 81;

    /// <summary>Accumulator planes: per axis the 5 F(4, 2) points and one for the 4 odd-phase points, summed by the GEMMs.</summary>
    private const int Planes = 36;

    /// <summary>
    /// Floats of one block's transformed input and dy aimed at (1 MiB, L2's size, so each thread's share stays in its
    /// L2 on two threads; one thread measured 0.5, 1 and 2 MiB within 3% and 4 MiB 10–25% slower).
    /// </summary>
    private const int BlockFloats = 1 << 18;

    /// <summary>Largest accumulator M (36 × output channels of a group × C_in).</summary>
    private const int MaxAccumulatorFloats = 1 << 20;

    private const int Mr = 8;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 3×3, stride 2, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) => Conv2dWinogradStride2.Supports(g);

    /// <summary>
    /// Worth choosing over the implicit GEMM: at least 32 input and 64 output channels, an accumulator of one output-channel
    /// group (36·C_in·C_out ≤ 2²⁰ floats: up to 128→128 or 64→256), output maps of at least 14×14 and at least 3 136
    /// outputs per channel in the batch. Measured (docs/performance.md, "Stride-2 backward-weight by phases", thread CPU
    /// time, one thread): 1.2–1.35× faster on the bench's N32 64→128 56² layer, ResNet-18's layer2.0.conv1 at batch 4–32,
    /// 28² → 14² and 32→64 layers; even at batch 2 and on 7×7 outputs, 1.3× slower at batch 1; ResNet-18's layer3.0.conv1
    /// (128→256, two groups: the input transform is redone) only 1.05–1.1× faster and layer4.0.conv1 (256→512) 2× slower,
    /// both left to the implicit GEMM.
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 32 && g.OutChannels >= 64
        && (long)Planes * g.InChannels * g.OutChannels <= MaxAccumulatorFloats
        && g.OutHeight * g.OutWidth >= 196
        && (long)g.Batch * g.OutHeight * g.OutWidth >= 3136;

    /// <summary>dw = ∂L/∂w (C_out, C_in, 3, 3), overwritten, from dy (N, C_out, OH, OW) and x (N, C_in, H, W).</summary>
    public static void BackwardWeight(float* dy, float* x, in Conv2dGeometry g, float* dw)
    {
        int c = g.InChannels, k = g.OutChannels;
        int tilesH = (g.OutHeight + 3) / 4, tilesW = (g.OutWidth + 3) / 4;
        int tiles = g.Batch * tilesH * tilesW;

        // Output channels per group: as many as keep M within MaxAccumulatorFloats (a multiple of Mr), balanced.
        int kgMax = Math.Max(Mr, MaxAccumulatorFloats / (Planes * c) / Mr * Mr);
        int groups = (k + kgMax - 1) / kgMax;
        int kg = Math.Min(k, ((k + groups - 1) / groups + Mr - 1) / Mr * Mr);

        // Tiles per block (a function of the geometry only): whole tile rows where a row is shorter than a run (8 tiles),
        // so no run is cut by a block end (on 7-tile rows, 16-tile blocks left runs of 5.3 tiles on average; 14-tile
        // blocks measured ~1% faster), else a multiple of 8. Sub-rows are exactly the block's tiles long, so the GEMMs
        // over merged sub-rows read no padding.
        int target = BlockFloats / (Xi * (c + kg));
        int unit = tilesW < 8 ? tilesW : 8;
        int tb = Math.Min(Math.Max(unit, target / unit * unit), tiles);

        // Plane p holds C (V) or kg (U′) rows of Subs(p) sub-rows of tb floats. Each plane is a whole number of 4 KiB
        // pages plus one cache line: the transforms write the same offset of 81 sub-rows, which then fall into different
        // L1 sets instead of all into one (strides that were multiples of 4 KiB ran the transforms ~3× slower).
        long vFloats = 0, uFloats = 0;
        var vBase = new long[Planes];
        var uBase = new long[Planes];
        for (int p = 0; p < Planes; p++)
        {
            vBase[p] = vFloats;
            uBase[p] = uFloats;
            vFloats += WinogradPartitions.PlaneStride((long)c * Subs(p) * tb);
            uFloats += WinogradPartitions.PlaneStride((long)kg * Subs(p) * tb);
        }

        long mPlane = WinogradPartitions.PlaneStride((long)kg * c), mFloats = Planes * mPlane;
        int blocks = (tiles + tb - 1) / tb;
        int partitions = WinogradPartitions.For(blocks, minBlocks: 4, int.MaxValue, mFloats);
        float[] mArray = ArrayPool<float>.Shared.Rent(checked((int)(partitions * mFloats)));
        try
        {
            fixed (float* m = mArray)
            {
                var job = new Job
                {
                    X = x,
                    Dy = dy,
                    Dw = dw,
                    M = m,
                    C = c,
                    K = k,
                    H = g.Height,
                    W = g.Width,
                    Oh = g.OutHeight,
                    Ow = g.OutWidth,
                    PadTop = g.PadTop,
                    PadLeft = g.PadLeft,
                    TilesH = tilesH,
                    TilesW = tilesW,
                    Tiles = tiles,
                    Tb = tb,
                    Blocks = blocks,
                    Partitions = partitions,
                    VBase = vBase,
                    UBase = uBase,
                    VFloats = vFloats,
                    UFloats = uFloats,
                    MPlane = mPlane,
                    MFloats = mFloats,
                };
                for (int k0 = 0; k0 < k; k0 += kg)
                {
                    job.RunGroup(k0, Math.Min(kg, k - k0));
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(mArray);
        }
    }

    /// <summary>Sub-rows of plane p = 6·py + px (py, px ∈ 0..4 the F(4, 2) points, 5 the merged odd-phase point): 1, 4 or 16.</summary>
    private static int Subs(int p) => (p / 6 == 5 ? 4 : 1) * (p % 6 == 5 ? 4 : 1);

    /// <summary>Plane of each point ξ = 9·py + px: 6·min(py, 5) + min(px, 5).</summary>
    private static readonly int[] s_plane = [.. Enumerable.Range(0, Xi).Select(xi => (6 * Math.Min(xi / 9, 5)) + Math.Min(xi % 9, 5))];

    /// <summary>Sub-row of each point ξ within its plane: (py − 5)·4 + (px − 5) over the merged axes.</summary>
    private static readonly int[] s_sub = [.. Enumerable.Range(0, Xi).Select(xi =>
        ((xi / 9 >= 5 ? (xi / 9) - 5 : 0) * (xi % 9 >= 5 ? 4 : 1)) + (xi % 9 >= 5 ? (xi % 9) - 5 : 0))];

    /// <summary><see cref="Subs"/> of each plane.</summary>
    private static readonly int[] s_subs = [.. Enumerable.Range(0, Planes).Select(Subs)];

    private sealed class Job
    {
        public float* X;
        public float* Dy;
        public float* Dw;
        public float* M;
        public int C;
        public int K;
        public int H;
        public int W;
        public int Oh;
        public int Ow;
        public int PadTop;
        public int PadLeft;
        public int TilesH;
        public int TilesW;
        public int Tiles;
        public int Tb;
        public int Blocks;
        public int Partitions;
        public long[] VBase = [];
        public long[] UBase = [];
        public long VFloats;
        public long UFloats;
        public long MPlane;
        public long MFloats;
        private int _k0;
        private int _kCount;
        private Action<int, int>? _partition;
        private Action<int, int>? _back;

        /// <summary>
        /// Output channels [k0, k0 + kCount): one parallel job over the partitions (each thread transforms and multiplies
        /// whole tile blocks into its partition's accumulator, so V and U′ stay in its own L2 and nothing waits between
        /// blocks), then one over output channels for the back transform, which sums the partitions in order.
        /// </summary>
        public void RunGroup(int k0, int kCount)
        {
            _k0 = k0;
            _kCount = kCount;
            _partition ??= Partition;
            _back ??= BackTransform;
            KernelParallel.For(Partitions, (long)Blocks / Partitions * Tb * 5 * kCount * C, _partition, Partitions);
            KernelParallel.For((kCount + 7) / 8, 8L * 300 * C * Partitions, _back);
        }

        /// <summary>
        /// Partitions [start, end): partition q sums the tile blocks [Blocks·q/P, Blocks·(q+1)/P) in order into its own
        /// M_q, block by block: the input and dy transforms of the block into this thread's V and U′, then the 36 GEMMs
        /// M_q,p (+)= U′_p · V_pᵀ (inner dimension: the block's tiles times the plane's sub-rows).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Partition(int start, int end)
        {
            float[] vArray = ArrayPool<float>.Shared.Rent(checked((int)VFloats));
            float[] uArray = ArrayPool<float>.Shared.Rent(checked((int)UFloats));
            try
            {
                fixed (float* v = vArray)
                fixed (float* u = uArray)
                {
                    // Sub-row starts of the 81 points in this thread's V and U′ for the current channel, and the step to the next in bytes.
                    float** vDst = stackalloc float*[Xi];
                    float** uDst = stackalloc float*[Xi];
                    long* step = stackalloc long[Xi];
                    for (int xi = 0; xi < Xi; xi++)
                    {
                        step[xi] = (long)s_subs[s_plane[xi]] * Tb * sizeof(float);
                    }

                    for (int q = start; q < end; q++)
                    {
                        float* m = M + (q * MFloats);
                        int b0 = (int)((long)Blocks * q / Partitions), b1 = (int)((long)Blocks * (q + 1) / Partitions);
                        for (int block = b0; block < b1; block++)
                        {
                            int t0 = block * Tb, count = Math.Min(Tb, Tiles - t0);
                            for (int xi = 0; xi < Xi; xi++)
                            {
                                int p = s_plane[xi];
                                vDst[xi] = v + VBase[p] + ((long)s_sub[xi] * count);
                                uDst[xi] = u + UBase[p] + ((long)s_sub[xi] * count);
                            }

                            for (int ch = 0; ch < C; ch++)
                            {
                                TransformInput(ch, vDst, t0, count);
                                Advance(vDst, step);
                            }

                            for (int ko = 0; ko < _kCount; ko++)
                            {
                                TransformGradient(ko, uDst, t0, count);
                                Advance(uDst, step);
                            }

                            for (int p = 0; p < Planes; p++)
                            {
                                int subs = s_subs[p], stride = subs * Tb;
                                var gemm = new GemmJob(false, true, _kCount, C, subs * count, u + UBase[p], stride, v + VBase[p], stride,
                                    m + (p * MPlane), C, block > b0);
                                GemmBlocked.Block<GemmKernel512>(gemm, 0, _kCount, 0, C);
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(vArray);
                ArrayPool<float>.Shared.Return(uArray);
            }
        }

        /// <summary>
        /// (B′ᵀ d B′)[ξ] of tile t0 + t into sub-row t of ξ's plane, channel ch, as the forward's input transform: runs of
        /// up to 8 tiles of a tile row, one per 256-bit lane; a tile's patch row is 9 consecutive input elements, so 8
        /// masked loads and an 8×8 transpose give patch columns 0..7, and column 8 is column 0 of the next tile.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int ch, float** dst, int t0, int count)
        {
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector256<float>* h = stackalloc Vector256<float>[Xi];
            Vector256<float>* mk = stackalloc Vector256<float>[8];
            Vector256<int> lanes = Vector256<int>.Indices;
            Vector256<uint> width = Vector256.Create((uint)W);
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(8, count - t), TilesW - tx);
                int iy0 = (8 * ty) - PadTop, ix0 = (8 * tx) - PadLeft;
                for (int l = 0; l < 8; l++)
                {
                    mk[l] = Vector256.LessThan((lanes + Vector256.Create(ix0 + (8 * l))).AsUInt32(), width).AsSingle();
                }

                bool lastValid = (uint)(ix0 + 64) < (uint)W;
                float* src = X + (((long)n * C) + ch) * plane + ((long)iy0 * W) + ix0;
                Conv2dWinogradStride2.PatchRows(src, W, H, iy0, mk, lastValid, h);

                // Whole 8-lane stores (lanes past the run are overwritten by the next run), masked where they would run past
                // the sub-row into the next one.
                if (t + 8 <= count)
                {
                    for (int j = 0; j < 9; j++)
                    {
                        Conv2dWinogradStride2.BT(h[j], h[9 + j], h[18 + j], h[27 + j], h[36 + j], out Vector256<float> v0, out Vector256<float> v1,
                            out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4);
                        v0.Store(dst[j] + t);
                        v1.Store(dst[9 + j] + t);
                        v2.Store(dst[18 + j] + t);
                        v3.Store(dst[27 + j] + t);
                        v4.Store(dst[36 + j] + t);
                        h[45 + j].Store(dst[45 + j] + t);
                        h[54 + j].Store(dst[54 + j] + t);
                        h[63 + j].Store(dst[63 + j] + t);
                        h[72 + j].Store(dst[72 + j] + t);
                    }
                }
                else
                {
                    Vector256<float> keep = Vector256.LessThan(lanes, Vector256.Create(len)).AsSingle();
                    for (int j = 0; j < 9; j++)
                    {
                        Conv2dWinogradStride2.BT(h[j], h[9 + j], h[18 + j], h[27 + j], h[36 + j], out h[j], out h[9 + j], out h[18 + j], out h[27 + j], out h[36 + j]);
                    }

                    for (int xi = 0; xi < Xi; xi++)
                    {
                        Avx512F.VL.MaskStore(dst[xi] + t, keep, h[xi]);
                    }
                }

                t += len;
            }

        }

        /// <summary>Moves the 81 sub-row starts to the next channel's row.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Advance(float** dst, long* step)
        {
            // Byte steps added to the pointers as 64-bit integers, 8 at a time (81 scalar adds per channel were 2–3% of the pass).
            long* d = (long*)dst;
            for (int xi = 0; xi < Xi - 7; xi += 8)
            {
                (Vector512.Load(d + xi) + Vector512.Load(step + xi)).Store(d + xi);
            }

            d[Xi - 1] += step[Xi - 1];
        }

        /// <summary>
        /// u[ξ][o − k0][t] = (A′ dy A′ᵀ)[ξ] of tile t0 + t for output channel o = k0 + <paramref name="ko"/>: runs of up to
        /// 8 tiles of a tile row, one per 256-bit lane; a dy row of the run is 32 consecutive floats (4 per tile), split
        /// into the tiles' columns by two-source permutes (outputs past OH or OW load zero).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformGradient(int ko, float** dst, int t0, int count)
        {
            int perImage = TilesH * TilesW;
            long plane = (long)Oh * Ow;
            Vector256<float>* h = stackalloc Vector256<float>[36];
            Vector256<float>* col = stackalloc Vector256<float>[9];
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<uint> width = Vector512.Create((uint)Ow);
            Vector512<int> col0 = lanes * 4, col1 = col0 + Vector512<int>.One, col2 = col0 + Vector512.Create(2), col3 = col0 + Vector512.Create(3);
            int o = _k0 + ko;
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(8, count - t), TilesW - tx);
                int oy0 = 4 * ty, ox0 = 4 * tx;
                Vector512<float> mA = Vector512.LessThan((lanes + Vector512.Create(ox0)).AsUInt32(), width).AsSingle();
                Vector512<float> mB = Vector512.LessThan((lanes + Vector512.Create(ox0 + 16)).AsUInt32(), width).AsSingle();
                float* src = Dy + (((long)n * K) + o) * plane + ((long)oy0 * Ow) + ox0;

                // Along x: dy row r of the run (4 columns per tile) → 9 points, h[9r + j].
                for (int rr = 0; rr < 4; rr++)
                {
                    Vector256<float>* hr = h + (9 * rr);
                    if (oy0 + rr < Oh)
                    {
                        float* s = src + ((long)rr * Ow);
                        Vector512<float> a = Avx512F.MaskLoad(s, mA, Vector512<float>.Zero), b = Avx512F.MaskLoad(s + 16, mB, Vector512<float>.Zero);
                        AP(Avx512F.PermuteVar16x32x2(a, col0, b).GetLower(), Avx512F.PermuteVar16x32x2(a, col1, b).GetLower(),
                            Avx512F.PermuteVar16x32x2(a, col2, b).GetLower(), Avx512F.PermuteVar16x32x2(a, col3, b).GetLower(), hr);
                    }
                    else
                    {
                        for (int j = 0; j < 9; j++)
                        {
                            hr[j] = Vector256<float>.Zero;
                        }
                    }
                }

                // Along y, column by column, stored at ξ = 9·i + j (masked where a store would run past the sub-row).
                if (t + 8 <= count)
                {
                    for (int j = 0; j < 9; j++)
                    {
                        Vector256<float> y0 = h[j], y1 = h[9 + j], y2 = h[18 + j], y3 = h[27 + j];
                        Vector256<float> s02 = y0 + y2, s13 = y1 + y3;
                        y0.Store(dst[j] + t);
                        (s02 + s13).Store(dst[9 + j] + t);
                        (s02 - s13).Store(dst[18 + j] + t);
                        (Fma.MultiplyAdd(Vector256.Create(2f), y1, y0) + Fma.MultiplyAdd(Vector256.Create(8f), y3, y2 * 4f)).Store(dst[27 + j] + t);
                        y3.Store(dst[36 + j] + t);
                        y0.Store(dst[45 + j] + t);
                        y1.Store(dst[54 + j] + t);
                        y2.Store(dst[63 + j] + t);
                        y3.Store(dst[72 + j] + t);
                    }
                }
                else
                {
                    Vector256<float> keep = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(len)).AsSingle();
                    for (int j = 0; j < 9; j++)
                    {
                        AP(h[j], h[9 + j], h[18 + j], h[27 + j], col);
                        for (int i = 0; i < 9; i++)
                        {
                            Avx512F.VL.MaskStore(dst[(9 * i) + j] + t, keep, col[i]);
                        }
                    }
                }

                t += len;
            }

        }

        /// <summary>
        /// dw[o][c] = G′ᵀ (Σ_q M_q[o][c]) G′ for the output channels k0 + [8·start, 8·end), in double for 8 input channels per
        /// vector: along each axis w0 = ½m0 − ½m1 − ⅙m2 + ⅙m3, w1 = m5 + m6 + m7 + m8, w2 = −½m1 + ⅙m2 + ⅓m3 + m4, computed
        /// as 36·dw with integer coefficients and divided by 36 at the end (exact for integer M), then rounded to float.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void BackTransform(int start, int end)
        {
            long xiStride = MPlane;
            Vector512<double>* t = stackalloc Vector512<double>[18];
            double* tmp = stackalloc double[9 * 8];
            Vector512<double> thirtySix = Vector512.Create(36.0);
            for (int ko = start * 8; ko < Math.Min(end * 8, _kCount); ko++)
            {
                float* dwRow = Dw + ((long)(_k0 + ko) * C * 9);
                for (int c0 = 0; c0 < C; c0 += 8)
                {
                    int lanesUsed = Math.Min(8, C - c0);
                    Vector256<float> mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(lanesUsed)).AsSingle();
                    float* mk = M + ((long)ko * C) + c0;

                    // t[a][j] = Σ_i 6·G′ᵀ[a][i] M[i][j], per column j of the 6×6 planes (i, j = 5: the merged odd points).
                    for (int j = 0; j < 6; j++)
                    {
                        Vector512<double> m0 = Get(mk, xiStride, j, mask), m1 = Get(mk, xiStride, 6 + j, mask), m2 = Get(mk, xiStride, 12 + j, mask);
                        Vector512<double> m3 = Get(mk, xiStride, 18 + j, mask), m4 = Get(mk, xiStride, 24 + j, mask), m5 = Get(mk, xiStride, 30 + j, mask);
                        GT(m0, m1, m2, m3, m4, m5, out t[j], out t[6 + j], out t[12 + j]);
                    }

                    for (int a = 0; a < 3; a++)
                    {
                        Vector512<double>* ta = t + (6 * a);
                        GT(ta[0], ta[1], ta[2], ta[3], ta[4], ta[5], out Vector512<double> w0, out Vector512<double> w1, out Vector512<double> w2);
                        (w0 / thirtySix).Store(tmp + ((3 * a) * 8));
                        (w1 / thirtySix).Store(tmp + (((3 * a) + 1) * 8));
                        (w2 / thirtySix).Store(tmp + (((3 * a) + 2) * 8));
                    }

                    float* dst = dwRow + ((long)c0 * 9);
                    for (int l = 0; l < lanesUsed; l++)
                    {
                        for (int e = 0; e < 9; e++)
                        {
                            dst[(l * 9) + e] = (float)tmp[(e * 8) + l];
                        }
                    }
                }
            }
        }

        /// <summary>Σ_q M_q[ξ] over the partitions in order, in double (one rounding far below float's per addition).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<double> Get(float* mk, long xiStride, int xi, Vector256<float> mask)
        {
            float* at = mk + (xi * xiStride);
            Vector512<double> sum = Avx512F.ConvertToVector512Double(Avx512F.VL.MaskLoad(at, mask, Vector256<float>.Zero));
            for (int q = 1; q < Partitions; q++)
            {
                sum += Avx512F.ConvertToVector512Double(Avx512F.VL.MaskLoad(at + (q * MFloats), mask, Vector256<float>.Zero));
            }

            return sum;
        }
    }

    /// <summary>
    /// 6·G′ᵀ on one axis in double, integer coefficients, with mE the merged odd-phase points (m5 + m6 + m7 + m8, summed
    /// by the GEMMs): 6w0 = 3(m0 − m1) + (m3 − m2), 6w1 = 6mE, 6w2 = (m2 − 3m1) + 2m3 + 6m4 (the caller divides the 2-D
    /// result by 36 once, so integer data stay exact).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GT(Vector512<double> m0, Vector512<double> m1, Vector512<double> m2, Vector512<double> m3, Vector512<double> m4,
        Vector512<double> mE, out Vector512<double> w0, out Vector512<double> w1, out Vector512<double> w2)
    {
        Vector512<double> three = Vector512.Create(3.0), six = Vector512.Create(6.0);
        w0 = (three * (m0 - m1)) + (m3 - m2);
        w1 = six * mE;
        w2 = (m2 - (three * m1)) + (m3 + m3) + (six * m4);
    }

    /// <summary>
    /// A′·(y0..y3) (9 points) at dst[0..8]: y0, (y0 + y1) + (y2 + y3), (y0 + y2) − (y1 + y3), (y0 + 2y1) + (4y2 + 8y3), y3,
    /// then y0..y3 (at most two roundings on every path; absolute coefficients those of |A′|).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AP(Vector256<float> y0, Vector256<float> y1, Vector256<float> y2, Vector256<float> y3, Vector256<float>* dst)
    {
        Vector256<float> s02 = y0 + y2, s13 = y1 + y3;
        dst[0] = y0;
        dst[1] = s02 + s13;
        dst[2] = s02 - s13;
        dst[3] = Fma.MultiplyAdd(Vector256.Create(2f), y1, y0) + Fma.MultiplyAdd(Vector256.Create(8f), y3, y2 * 4f);
        dst[4] = y3;
        dst[5] = y0;
        dst[6] = y1;
        dst[7] = y2;
        dst[8] = y3;
    }
}
