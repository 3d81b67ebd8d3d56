using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Backward-weight of 5×5, stride-1, undilated, ungrouped convolutions by Winograd F(2×2, 5×5) (variant
/// <c>Conv2dWinograd5x5Weight</c>, AVX-512): the gradient counterpart of <see cref="Conv2dWinograd5x5"/>. The forward
/// computes a 2×2 output tile as Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A from its 6×6 input patch d, so the gradient of a 5×5 kernel is
/// dw = Gᵀ [Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)] G: per transformed point ξ (36) a GEMM M_ξ (C_out × C_in) = U′_ξ (C_out ×
/// tiles) · V_ξᵀ (tiles × C_in) whose inner dimension is the tiles of the batch, then one 6×6 → 5×5 transform per
/// weight. 36/4 = 9 multiply-adds per output and channel pair against 25 for the direct sum (2.78× fewer).
/// </summary>
/// <remarks>
/// <para>Matrices (as <see cref="Conv2dWinograd5x5"/>): Bᵀ is F(4×4, 3×3)'s, Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1] and
/// 24·G = [6 0 0 0 0; −4 −4 −4 −4 −4; −4 4 −4 4 −4; 1 2 4 8 16; 1 −2 4 −8 16; 0 0 0 0 24]. Input patches start at
/// (2·ty − p_t, 2·tx − p_l) (taps outside the input read zero), dy tiles at (2·ty, 2·tx) (outputs past OH or OW read
/// zero), so odd maps and any padding need nothing special.</para>
/// <para>Threads as <see cref="Conv2dWinogradStride2Weight"/>: tiles go in blocks of about 1 MiB of transformed data
/// (whole tile rows where a row is shorter than a transform run), the blocks in a fixed number of contiguous partitions
/// (a function of the geometry only), each summed into its own accumulator M_q. One parallel job per call hands whole
/// partitions to the threads, which transform a block (input and dy) into their own buffers and run the 36 GEMMs
/// M_q,ξ (+)= U′_ξ · V_ξᵀ on it, so nothing waits between blocks and the transformed data stay in the thread's L2. The
/// back transform sums the M_q in partition order in double and applies the integer 24·G (576·dw, then one division),
/// rounding once, so any thread count gives the same bits.</para>
/// </remarks>
internal static unsafe class Conv2dWinograd5x5Weight
{
    /// <summary>Transformed points per tile: 6 per axis.</summary>
    private const int Xi = 36;

    /// <summary>Floats of one block's transformed input and dy aimed at (1 MiB, L2's size, as the stride-2 backward-weight).</summary>
    private const int BlockFloats = 1 << 18;

    /// <summary>Largest accumulator M (36 × output channels of a group × C_in).</summary>
    private const int MaxAccumulatorFloats = 1 << 20;

    /// <summary>Most tile-block partitions (each with its own accumulator M, summed at the end).</summary>
    private const int MaxPartitions = 8;

    /// <summary>Most floats of the partitions' accumulators together (16 MB).</summary>
    private const long MaxPartialFloats = 1 << 22;

    private const int Mr = 8;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 5×5, stride 1, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) => Conv2dWinograd5x5.Supports(g);

    /// <summary>
    /// Worth choosing over the channel-blocked direct backward-weight and the implicit GEMM: at least 16 input and 32
    /// output channels (as the forward's <see cref="Conv2dWinograd5x5.Prefers"/>), an accumulator of one output-channel
    /// group (36·C_in·C_out ≤ 2²⁰ floats), output rows at least 7 wide and at least 784 output positions over the batch
    /// (4 images of 14×14). Measured in docs/performance.md ("MNIST conv2 on two threads").
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 16 && g.OutChannels >= 32
        && (long)Xi * g.InChannels * g.OutChannels <= MaxAccumulatorFloats
        && g.OutWidth >= 7
        && (long)g.Batch * g.OutHeight * g.OutWidth >= 784;

    /// <summary>dw = ∂L/∂w (C_out, C_in, 5, 5), overwritten, from dy (N, C_out, OH, OW) and x (N, C_in, H, W).</summary>
    public static void BackwardWeight(float* dy, float* x, in Conv2dGeometry g, float* dw)
    {
        int c = g.InChannels, k = g.OutChannels;
        int tilesH = (g.OutHeight + 1) / 2, tilesW = (g.OutWidth + 1) / 2;
        int tiles = g.Batch * tilesH * tilesW;

        // Output channels per group: as many as keep M within MaxAccumulatorFloats (a multiple of Mr), balanced.
        int kgMax = Math.Max(Mr, MaxAccumulatorFloats / (Xi * c) / Mr * Mr);
        int groups = (k + kgMax - 1) / kgMax;
        int kg = Math.Min(k, ((k + groups - 1) / groups + Mr - 1) / Mr * Mr);

        // Tiles per block (a function of the geometry only): whole tile rows where a row is shorter than a run (8 tiles),
        // so no run is cut by a block end, else a multiple of 8.
        int target = BlockFloats / (Xi * (c + kg));
        int unit = tilesW < 8 ? tilesW : 8;
        int tb = Math.Min(Math.Max(unit, target / unit * unit), tiles);

        // Each plane is a whole number of 4 KiB pages plus one cache line: the transforms write the same offset of 36
        // rows, which then fall into different L1 sets.
        long vPlane = PlaneStride((long)c * tb), uPlane = PlaneStride((long)kg * tb);
        long mPlane = PlaneStride((long)kg * c), mFloats = Xi * mPlane;
        int blocks = (tiles + tb - 1) / tb;
        int partitions = Partitions(blocks, mFloats);
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
                    VPlane = vPlane,
                    UPlane = uPlane,
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

    /// <summary>
    /// Tile-block partitions, each summed into its own accumulator M: a function of the geometry alone (never of the
    /// thread count). An even number of about 4 or more blocks each, at most <see cref="MaxPartitions"/> and at most
    /// <see cref="MaxPartialFloats"/> floats of accumulators in all.
    /// </summary>
    private static int Partitions(int blocks, long mFloats)
    {
        int parts = Math.Min(MaxPartitions, blocks / 4) & ~1;
        parts = Math.Max(parts, Math.Min(blocks, 2));
        int cap = (int)Math.Clamp(MaxPartialFloats / mFloats, 1, MaxPartitions);
        return Math.Min(parts, cap >= 2 ? cap & ~1 : 1);
    }

    /// <summary>Floats between two planes holding <paramref name="floats"/>: whole 4 KiB pages plus one cache line.</summary>
    private static long PlaneStride(long floats) => ((floats + 1023) & ~1023L) + 16;

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
        public long VPlane;
        public long UPlane;
        public long MPlane;
        public long MFloats;
        private int _k0;
        private int _kCount;
        private Action<int, int>? _partition;
        private Action<int, int>? _back;

        /// <summary>
        /// Output channels [k0, k0 + kCount): one parallel job over the partitions, then one over output channels for the
        /// back transform, which sums the partitions in order.
        /// </summary>
        public void RunGroup(int k0, int kCount)
        {
            _k0 = k0;
            _kCount = kCount;
            _partition ??= Partition;
            _back ??= BackTransform;
            KernelParallel.For(Partitions, (long)Blocks / Partitions * Tb * Xi * kCount * C, _partition, Partitions);
            KernelParallel.For((kCount + 7) / 8, 8L * 400 * C * Partitions, _back);
        }

        /// <summary>
        /// Partitions [start, end): partition q sums the tile blocks [Blocks·q/P, Blocks·(q+1)/P) in order into its own
        /// M_q, block by block: the input and dy transforms of the block into this thread's V and U′, then the 36 GEMMs
        /// M_q,ξ (+)= U′_ξ · V_ξᵀ (inner dimension: the block's tiles).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Partition(int start, int end)
        {
            float[] vArray = ArrayPool<float>.Shared.Rent(checked((int)(Xi * VPlane)));
            float[] uArray = ArrayPool<float>.Shared.Rent(checked((int)(Xi * UPlane)));
            try
            {
                fixed (float* v = vArray)
                fixed (float* u = uArray)
                {
                    for (int q = start; q < end; q++)
                    {
                        float* m = M + (q * MFloats);
                        int b0 = (int)((long)Blocks * q / Partitions), b1 = (int)((long)Blocks * (q + 1) / Partitions);
                        for (int block = b0; block < b1; block++)
                        {
                            int t0 = block * Tb, count = Math.Min(Tb, Tiles - t0);
                            for (int ch = 0; ch < C; ch++)
                            {
                                TransformInput(ch, v + ((long)ch * count), t0, count);
                            }

                            for (int ko = 0; ko < _kCount; ko++)
                            {
                                TransformGradient(ko, u + ((long)ko * count), t0, count);
                            }

                            for (int xi = 0; xi < Xi; xi++)
                            {
                                var gemm = new GemmJob(false, true, _kCount, C, count, u + (xi * UPlane), count, v + (xi * VPlane), count,
                                    m + (xi * MPlane), C, block > b0);
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
        /// v[ξ·VPlane + t] = (Bᵀ d B)[ξ] of tile t0 + t for channel <paramref name="ch"/> (v already offset to the channel's
        /// row): runs of up to 8 tiles of a tile row, one per 256-bit lane; the run's patch row is up to 20 consecutive input
        /// elements (two masked 16-float loads), tile l's column j element 2l + j (a two-source permute per column).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int ch, float* v, int t0, int count)
        {
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            long vp = VPlane;
            Vector256<float>* h = stackalloc Vector256<float>[Xi];
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<uint> width = Vector512.Create((uint)W);
            Vector512<int> even = lanes * 2;
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(8, count - t), TilesW - tx);
                int iy0 = (2 * ty) - PadTop, ix0 = (2 * tx) - PadLeft;
                Vector512<float> mA = Vector512.LessThan((lanes + Vector512.Create(ix0)).AsUInt32(), width).AsSingle();
                Vector512<float> mB = Vector512.LessThan((lanes + Vector512.Create(ix0 + 16)).AsUInt32(), width).AsSingle();
                float* src = X + ((((long)n * C) + ch) * plane) + ((long)iy0 * W) + ix0;

                // Along x: patch row i of the run → 6 points, h[6i + j].
                for (int i = 0; i < 6; i++)
                {
                    Vector256<float>* hi = h + (6 * i);
                    if ((uint)(iy0 + i) < (uint)H)
                    {
                        float* s = src + ((long)i * W);
                        Vector512<float> a = Avx512F.MaskLoad(s, mA, Vector512<float>.Zero), b = Avx512F.MaskLoad(s + 16, mB, Vector512<float>.Zero);
                        BT(Avx512F.PermuteVar16x32x2(a, even, b).GetLower(),
                            Avx512F.PermuteVar16x32x2(a, even + Vector512.Create(1), b).GetLower(),
                            Avx512F.PermuteVar16x32x2(a, even + Vector512.Create(2), b).GetLower(),
                            Avx512F.PermuteVar16x32x2(a, even + Vector512.Create(3), b).GetLower(),
                            Avx512F.PermuteVar16x32x2(a, even + Vector512.Create(4), b).GetLower(),
                            Avx512F.PermuteVar16x32x2(a, even + Vector512.Create(5), b).GetLower(),
                            out hi[0], out hi[1], out hi[2], out hi[3], out hi[4], out hi[5]);
                    }
                    else
                    {
                        for (int j = 0; j < 6; j++)
                        {
                            hi[j] = Vector256<float>.Zero;
                        }
                    }
                }

                // Along y, column by column, stored at ξ = 6·a + j (masked where a store would run past the row).
                Vector256<float> keep = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(len)).AsSingle();
                bool whole = t + 8 <= count;
                for (int j = 0; j < 6; j++)
                {
                    BT(h[j], h[6 + j], h[12 + j], h[18 + j], h[24 + j], h[30 + j], out Vector256<float> v0, out Vector256<float> v1,
                        out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4, out Vector256<float> v5);
                    float* d = v + (j * vp) + t;
                    if (whole)
                    {
                        // Lanes past the run are overwritten by the next run.
                        v0.Store(d);
                        v1.Store(d + (6 * vp));
                        v2.Store(d + (12 * vp));
                        v3.Store(d + (18 * vp));
                        v4.Store(d + (24 * vp));
                        v5.Store(d + (30 * vp));
                    }
                    else
                    {
                        Avx512F.VL.MaskStore(d, keep, v0);
                        Avx512F.VL.MaskStore(d + (6 * vp), keep, v1);
                        Avx512F.VL.MaskStore(d + (12 * vp), keep, v2);
                        Avx512F.VL.MaskStore(d + (18 * vp), keep, v3);
                        Avx512F.VL.MaskStore(d + (24 * vp), keep, v4);
                        Avx512F.VL.MaskStore(d + (30 * vp), keep, v5);
                    }
                }

                t += len;
            }
        }

        /// <summary>
        /// u[ξ·UPlane + t] = (A dy Aᵀ)[ξ] of tile t0 + t for output channel k0 + <paramref name="ko"/> (u already offset to
        /// the channel's row): runs of up to 8 tiles of a tile row, one per 256-bit lane; a dy row of the run is 16
        /// consecutive floats (2 per tile), split into the tiles' two columns by permutes (outputs past OH or OW load zero).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformGradient(int ko, float* u, int t0, int count)
        {
            int perImage = TilesH * TilesW;
            long plane = (long)Oh * Ow;
            long up = UPlane;
            Vector256<float>* h = stackalloc Vector256<float>[12];
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<uint> width = Vector512.Create((uint)Ow);
            Vector512<int> col0 = lanes * 2, col1 = col0 + Vector512<int>.One;
            int o = _k0 + ko;
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(8, count - t), TilesW - tx);
                int oy0 = 2 * ty, ox0 = 2 * tx;
                Vector512<float> mA = Vector512.LessThan((lanes + Vector512.Create(ox0)).AsUInt32(), width).AsSingle();
                float* src = Dy + ((((long)n * K) + o) * plane) + ((long)oy0 * Ow) + ox0;

                // Along x: dy row rr of the run (2 columns per tile) → 6 points, h[6·rr + j].
                for (int rr = 0; rr < 2; rr++)
                {
                    Vector256<float>* hr = h + (6 * rr);
                    if (oy0 + rr < Oh)
                    {
                        Vector512<float> a = Avx512F.MaskLoad(src + ((long)rr * Ow), mA, Vector512<float>.Zero);
                        A(Avx512F.PermuteVar16x32(a, col0).GetLower(), Avx512F.PermuteVar16x32(a, col1).GetLower(),
                            out hr[0], out hr[1], out hr[2], out hr[3], out hr[4], out hr[5]);
                    }
                    else
                    {
                        for (int j = 0; j < 6; j++)
                        {
                            hr[j] = Vector256<float>.Zero;
                        }
                    }
                }

                // Along y, column by column, stored at ξ = 6·a + j.
                Vector256<float> keep = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(len)).AsSingle();
                bool whole = t + 8 <= count;
                for (int j = 0; j < 6; j++)
                {
                    A(h[j], h[6 + j], out Vector256<float> v0, out Vector256<float> v1, out Vector256<float> v2, out Vector256<float> v3,
                        out Vector256<float> v4, out Vector256<float> v5);
                    float* d = u + (j * up) + t;
                    if (whole)
                    {
                        v0.Store(d);
                        v1.Store(d + (6 * up));
                        v2.Store(d + (12 * up));
                        v3.Store(d + (18 * up));
                        v4.Store(d + (24 * up));
                        v5.Store(d + (30 * up));
                    }
                    else
                    {
                        Avx512F.VL.MaskStore(d, keep, v0);
                        Avx512F.VL.MaskStore(d + (6 * up), keep, v1);
                        Avx512F.VL.MaskStore(d + (12 * up), keep, v2);
                        Avx512F.VL.MaskStore(d + (18 * up), keep, v3);
                        Avx512F.VL.MaskStore(d + (24 * up), keep, v4);
                        Avx512F.VL.MaskStore(d + (30 * up), keep, v5);
                    }
                }

                t += len;
            }
        }

        /// <summary>
        /// dw[o][c] = Gᵀ (Σ_q M_q[o][c]) G for the output channels k0 + [8·start, 8·end), in double for 8 input channels per
        /// vector: 576·dw = (24G)ᵀ M (24G) with integer coefficients, divided by 576 at the end, rounded to float once.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void BackTransform(int start, int end)
        {
            Vector512<double>* t = stackalloc Vector512<double>[30];
            double* tmp = stackalloc double[25 * 8];
            Vector512<double> scale = Vector512.Create(576.0);
            for (int ko = start * 8; ko < Math.Min(end * 8, _kCount); ko++)
            {
                float* dwRow = Dw + ((long)(_k0 + ko) * C * 25);
                for (int c0 = 0; c0 < C; c0 += 8)
                {
                    int lanesUsed = Math.Min(8, C - c0);
                    Vector256<float> mask = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(lanesUsed)).AsSingle();
                    float* mk = M + ((long)ko * C) + c0;

                    // t[a][j] = Σ_i 24·G[i][a] M[i][j], per column j of the 6×6 points.
                    for (int j = 0; j < 6; j++)
                    {
                        GT(Get(mk, j, mask), Get(mk, 6 + j, mask), Get(mk, 12 + j, mask), Get(mk, 18 + j, mask), Get(mk, 24 + j, mask),
                            Get(mk, 30 + j, mask), out t[j], out t[6 + j], out t[12 + j], out t[18 + j], out t[24 + j]);
                    }

                    for (int a = 0; a < 5; a++)
                    {
                        Vector512<double>* ta = t + (6 * a);
                        GT(ta[0], ta[1], ta[2], ta[3], ta[4], ta[5], out Vector512<double> w0, out Vector512<double> w1,
                            out Vector512<double> w2, out Vector512<double> w3, out Vector512<double> w4);
                        (w0 / scale).Store(tmp + ((5 * a) * 8));
                        (w1 / scale).Store(tmp + (((5 * a) + 1) * 8));
                        (w2 / scale).Store(tmp + (((5 * a) + 2) * 8));
                        (w3 / scale).Store(tmp + (((5 * a) + 3) * 8));
                        (w4 / scale).Store(tmp + (((5 * a) + 4) * 8));
                    }

                    float* dst = dwRow + ((long)c0 * 25);
                    for (int l = 0; l < lanesUsed; l++)
                    {
                        for (int e = 0; e < 25; e++)
                        {
                            dst[(l * 25) + e] = (float)tmp[(e * 8) + l];
                        }
                    }
                }
            }
        }

        /// <summary>Σ_q M_q[ξ] over the partitions in order, in double (one rounding far below float's per addition).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<double> Get(float* mk, int xi, Vector256<float> mask)
        {
            float* at = mk + (xi * MPlane);
            Vector512<double> sum = Avx512F.ConvertToVector512Double(Avx512F.VL.MaskLoad(at, mask, Vector256<float>.Zero));
            for (int q = 1; q < Partitions; q++)
            {
                sum += Avx512F.ConvertToVector512Double(Avx512F.VL.MaskLoad(at + (q * MFloats), mask, Vector256<float>.Zero));
            }

            return sum;
        }
    }

    /// <summary>
    /// (24·G)ᵀ on one axis in double, integer coefficients: w0 = 6m0 − 4(m1 + m2) + (m3 + m4), w1 = −4(m1 − m2) + 2(m3 − m4),
    /// w2 = −4(m1 + m2) + 4(m3 + m4), w3 = −4(m1 − m2) + 8(m3 − m4), w4 = −4(m1 + m2) + 16(m3 + m4) + 24m5 (exact for integers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void GT(Vector512<double> m0, Vector512<double> m1, Vector512<double> m2, Vector512<double> m3, Vector512<double> m4,
        Vector512<double> m5, out Vector512<double> w0, out Vector512<double> w1, out Vector512<double> w2, out Vector512<double> w3,
        out Vector512<double> w4)
    {
        Vector512<double> s12 = m1 + m2, d12 = m1 - m2, s34 = m3 + m4, d34 = m3 - m4;
        Vector512<double> four = Vector512.Create(4.0);
        Vector512<double> e = -four * s12, o = -four * d12;
        w0 = (Vector512.Create(6.0) * m0) + e + s34;
        w1 = o + (Vector512.Create(2.0) * d34);
        w2 = e + (four * s34);
        w3 = o + (Vector512.Create(8.0) * d34);
        w4 = e + (Vector512.Create(16.0) * s34) + (Vector512.Create(24.0) * m5);
    }

    /// <summary>
    /// Bᵀ·(d0..d5) of F(4×4, 3×3) / F(2×2, 5×5): v0 = 4d0 − 5d2 + d4, v1,2 = (d4 − 4d2) ± (d3 − 4d1),
    /// v3,4 = (d4 − d2) ± 2(d3 − d1), v5 = 4d1 − 5d3 + d5 (two roundings on every path).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void BT(Vector256<float> d0, Vector256<float> d1, Vector256<float> d2, Vector256<float> d3,
        Vector256<float> d4, Vector256<float> d5, out Vector256<float> v0, out Vector256<float> v1, out Vector256<float> v2,
        out Vector256<float> v3, out Vector256<float> v4, out Vector256<float> v5)
    {
        Vector256<float> four = Vector256.Create(4f), minusFour = Vector256.Create(-4f), minusFive = Vector256.Create(-5f);
        v0 = Fma.MultiplyAdd(four, d0, Fma.MultiplyAdd(minusFive, d2, d4));
        Vector256<float> t0 = Fma.MultiplyAdd(minusFour, d2, d4), t1 = Fma.MultiplyAdd(minusFour, d1, d3);
        v1 = t0 + t1;
        v2 = t0 - t1;
        Vector256<float> t2 = d4 - d2, t3 = d3 - d1;
        t3 += t3;
        v3 = t2 + t3;
        v4 = t2 - t3;
        v5 = Fma.MultiplyAdd(four, d1, Fma.MultiplyAdd(minusFive, d3, d5));
    }

    /// <summary>A·(y0, y1) (6 points): y0, y0 + y1, y0 − y1, y0 + 2y1, y0 − 2y1, y1 (one rounding on every path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void A(Vector256<float> y0, Vector256<float> y1, out Vector256<float> v0, out Vector256<float> v1,
        out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4, out Vector256<float> v5)
    {
        Vector256<float> two = Vector256.Create(2f);
        v0 = y0;
        v1 = y0 + y1;
        v2 = y0 - y1;
        v3 = Fma.MultiplyAdd(two, y1, y0);
        v4 = Fma.MultiplyAddNegated(two, y1, y0);
        v5 = y1;
    }
}
