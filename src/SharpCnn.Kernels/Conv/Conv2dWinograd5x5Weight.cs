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

    private const int Mr = 8;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 5×5, stride 1, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) => Conv2dWinograd5x5.Supports(g);

    /// <summary>
    /// Worth choosing over the channel-blocked direct backward-weight and the implicit GEMM: at least 16 input and 32
    /// output channels (as the forward's <see cref="Conv2dWinograd5x5.Prefers"/>), an accumulator of one output-channel
    /// group (36·C_in·C_out ≤ 2²⁰ floats), output rows at least 7 wide and at least 392 output positions over the batch
    /// (2 images of 14×14). MNIST's conv2, one thread, CPU time with the bias gradient: 1.6× the blocked direct kernel at
    /// batch 64 and 16, 1.7–2.5× the implicit GEMM at batch 2–8; at batch 1 (196 outputs) even (0.17–0.28 against
    /// 0.26–0.27 ms), left to the implicit GEMM. Measured in docs/performance.md ("MNIST conv2 on two threads").
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 16 && g.OutChannels >= 32
        && (long)Xi * g.InChannels * g.OutChannels <= MaxAccumulatorFloats
        && g.OutWidth >= 7
        && (long)g.Batch * g.OutHeight * g.OutWidth >= 392;

    /// <summary>
    /// dw = ∂L/∂w (C_out, C_in, 5, 5), overwritten, from dy (N, C_out, OH, OW) and x (N, C_in, H, W); with
    /// <paramref name="db"/> not null also db = Σ dy per output channel (overwritten), as <c>Conv2d.BiasGrad</c> computes it
    /// (the same bits), inside the back-transform job instead of a job of its own.
    /// </summary>
    public static void BackwardWeight(float* dy, float* x, in Conv2dGeometry g, float* dw, float* db = null)
    {
        int c = g.InChannels, k = g.OutChannels;
        int tilesH = (g.OutHeight + 1) / 2, tilesW = (g.OutWidth + 1) / 2;
        int tiles = g.Batch * tilesH * tilesW;

        // Output channels per group: as many as keep M within MaxAccumulatorFloats (a multiple of Mr, so groups start on
        // the bias gradient's 8-channel blocks), balanced.
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
        // V_ξ is tile-major ([t][C rounded up to 16], zero past C) so the multiply loads whole channel vectors; U′_ξ is
        // channel-major ([k][t], rows rounded up to 8 and zero past the group) so it broadcasts one value per row and tile.
        int cPad = (c + 15) / 16 * 16, kgPad = (kg + 7) / 8 * 8;
        long vPlane = WinogradPartitions.PlaneStride((long)tb * cPad), uPlane = WinogradPartitions.PlaneStride((long)kgPad * tb);
        long mPlane = WinogradPartitions.PlaneStride((long)kgPad * cPad), mFloats = Xi * mPlane;
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
                    Db = db,
                    N = g.Batch,
                    M = m,
                    C = c,
                    CPad = cPad,
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

    private sealed class Job
    {
        public float* X;
        public float* Dy;
        public float* Dw;
        public float* Db;
        public int N;
        public float* M;
        public int C;
        public int CPad;
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
        private int _kPad;
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
            _kPad = (kCount + 7) / 8 * 8;
            _partition ??= Partition;
            _back ??= BackTransform;
            KernelParallel.For(Partitions, (long)Blocks / Partitions * Tb * Xi * kCount * C, _partition, Partitions);
            KernelParallel.For((kCount + 7) / 8, (8L * 400 * C * Partitions) + (Db == null ? 0 : 8L * N * Oh * Ow), _back);
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
                    // U′ rows past the group's channels are never written: zero them once for the 8-row multiplies.
                    for (int xi = 0; xi < Xi; xi++)
                    {
                        new Span<float>(u + (xi * UPlane) + ((long)_kCount * Tb), (_kPad - _kCount) * Tb).Clear();
                    }

                    for (int q = start; q < end; q++)
                    {
                        float* m = M + (q * MFloats);
                        int b0 = (int)((long)Blocks * q / Partitions), b1 = (int)((long)Blocks * (q + 1) / Partitions);
                        for (int block = b0; block < b1; block++)
                        {
                            int t0 = block * Tb, count = Math.Min(Tb, Tiles - t0);
                            for (int c0 = 0; c0 < CPad; c0 += 8)
                            {
                                TransformInput(c0, v, t0, count);
                            }

                            for (int ko = 0; ko < _kCount; ko++)
                            {
                                TransformGradient(ko, u + ((long)ko * Tb), t0, count);
                            }

                            bool accumulate = block > b0;
                            for (int xi = 0; xi < Xi; xi++)
                            {
                                float* ux = u + (xi * UPlane), vx = v + (xi * VPlane), mx = m + (xi * MPlane);
                                for (int k0 = 0; k0 < _kPad; k0 += 8)
                                {
                                    int cc = 0;
                                    for (; cc + 32 <= CPad; cc += 32)
                                    {
                                        Multiply8x32(ux + ((long)k0 * Tb), Tb, vx + cc, CPad, count, mx + ((long)k0 * CPad) + cc, CPad, accumulate);
                                    }

                                    if (cc < CPad)
                                    {
                                        Multiply8x16(ux + ((long)k0 * Tb), Tb, vx + cc, CPad, count, mx + ((long)k0 * CPad) + cc, CPad, accumulate);
                                    }
                                }
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
        /// v[ξ·VPlane + t·CPad + c] = (Bᵀ d B)[ξ] of tile t0 + t for the channels c = c0 .. c0 + 7 (0 past C): runs of up to
        /// 8 tiles of a tile row, one per 256-bit lane; the run's patch row is up to 20 consecutive input elements (two masked
        /// 16-float loads), tile l's column j element 2l + j (a two-source permute per column). The 8 channels' values of
        /// each point are then transposed (8 channels × 8 tiles) so each tile's 8 channels are one store.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int c0, float* v, int t0, int count)
        {
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            long vp = VPlane;
            int cp = CPad;
            Vector256<float>* h = stackalloc Vector256<float>[Xi];
            Vector256<float>* hv = stackalloc Vector256<float>[Xi * 8];
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<uint> width = Vector512.Create((uint)W);
            Vector512<int> even = lanes * 2;
            int channels = Math.Clamp(C - c0, 0, 8);
            for (int i = channels * Xi; i < 8 * Xi; i++)
            {
                hv[i] = Vector256<float>.Zero;
            }

            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(8, count - t), TilesW - tx);
                int iy0 = (2 * ty) - PadTop, ix0 = (2 * tx) - PadLeft;
                Vector512<float> mA = Vector512.LessThan((lanes + Vector512.Create(ix0)).AsUInt32(), width).AsSingle();
                Vector512<float> mB = Vector512.LessThan((lanes + Vector512.Create(ix0 + 16)).AsUInt32(), width).AsSingle();
                for (int j8 = 0; j8 < channels; j8++)
                {
                    float* src = X + ((((long)n * C) + c0 + j8) * plane) + ((long)iy0 * W) + ix0;

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

                    // Along y, column by column: point ξ = 6·a + j of channel j8 at hv[36·j8 + ξ].
                    Vector256<float>* o = hv + (Xi * j8);
                    for (int j = 0; j < 6; j++)
                    {
                        BT(h[j], h[6 + j], h[12 + j], h[18 + j], h[24 + j], h[30 + j], out o[j], out o[6 + j], out o[12 + j], out o[18 + j],
                            out o[24 + j], out o[30 + j]);
                    }
                }

                // Per point, 8 channels × 8 tiles → 8 tiles × 8 channels; tile l's 8 channels are one store.
                for (int xi = 0; xi < Xi; xi++)
                {
                    Transpose8(hv[xi], hv[Xi + xi], hv[(2 * Xi) + xi], hv[(3 * Xi) + xi], hv[(4 * Xi) + xi], hv[(5 * Xi) + xi],
                        hv[(6 * Xi) + xi], hv[(7 * Xi) + xi], h);
                    float* d = v + (xi * vp) + ((long)t * cp) + c0;
                    for (int l = 0; l < len; l++)
                    {
                        h[l].Store(d + ((long)l * cp));
                    }
                }

                t += len;
            }
        }

        /// <summary>The 8×8 transpose of rows r0..r7 into dst[0..7] (dst[l] lane j = r_j lane l).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Transpose8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
            Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7, Vector256<float>* dst)
        {
            Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
            Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
            Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
            Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
            dst[0] = Avx.Permute2x128(s0, s4, 0x20);
            dst[1] = Avx.Permute2x128(s1, s5, 0x20);
            dst[2] = Avx.Permute2x128(s2, s6, 0x20);
            dst[3] = Avx.Permute2x128(s3, s7, 0x20);
            dst[4] = Avx.Permute2x128(s0, s4, 0x31);
            dst[5] = Avx.Permute2x128(s1, s5, 0x31);
            dst[6] = Avx.Permute2x128(s2, s6, 0x31);
            dst[7] = Avx.Permute2x128(s3, s7, 0x31);
        }

        /// <summary>
        /// m[r·ldm + j] (+)= Σ_t u[r·ldu + t]·v[t·ldv + j] for 8 rows r and 32 columns j: 16 accumulators over the tiles (one
        /// fused multiply-add chain per element, tiles in order), then one store or one addition into m.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Multiply8x32(float* u, long ldu, float* v, long ldv, int count, float* m, long ldm, bool accumulate)
        {
            Vector512<float> a00 = default, a01 = default, a10 = default, a11 = default, a20 = default, a21 = default, a30 = default, a31 = default;
            Vector512<float> a40 = default, a41 = default, a50 = default, a51 = default, a60 = default, a61 = default, a70 = default, a71 = default;
            float* u0 = u, u1 = u + ldu, u2 = u + (2 * ldu), u3 = u + (3 * ldu), u4 = u + (4 * ldu), u5 = u + (5 * ldu), u6 = u + (6 * ldu), u7 = u + (7 * ldu);
            for (int t = 0; t < count; t++)
            {
                float* vt = v + (t * ldv);
                Vector512<float> v0 = Vector512.Load(vt), v1 = Vector512.Load(vt + 16);
                Vector512<float> b = Vector512.Create(u0[t]);
                a00 = Avx512F.FusedMultiplyAdd(b, v0, a00);
                a01 = Avx512F.FusedMultiplyAdd(b, v1, a01);
                b = Vector512.Create(u1[t]);
                a10 = Avx512F.FusedMultiplyAdd(b, v0, a10);
                a11 = Avx512F.FusedMultiplyAdd(b, v1, a11);
                b = Vector512.Create(u2[t]);
                a20 = Avx512F.FusedMultiplyAdd(b, v0, a20);
                a21 = Avx512F.FusedMultiplyAdd(b, v1, a21);
                b = Vector512.Create(u3[t]);
                a30 = Avx512F.FusedMultiplyAdd(b, v0, a30);
                a31 = Avx512F.FusedMultiplyAdd(b, v1, a31);
                b = Vector512.Create(u4[t]);
                a40 = Avx512F.FusedMultiplyAdd(b, v0, a40);
                a41 = Avx512F.FusedMultiplyAdd(b, v1, a41);
                b = Vector512.Create(u5[t]);
                a50 = Avx512F.FusedMultiplyAdd(b, v0, a50);
                a51 = Avx512F.FusedMultiplyAdd(b, v1, a51);
                b = Vector512.Create(u6[t]);
                a60 = Avx512F.FusedMultiplyAdd(b, v0, a60);
                a61 = Avx512F.FusedMultiplyAdd(b, v1, a61);
                b = Vector512.Create(u7[t]);
                a70 = Avx512F.FusedMultiplyAdd(b, v0, a70);
                a71 = Avx512F.FusedMultiplyAdd(b, v1, a71);
            }

            Put(m, a00, accumulate);
            Put(m + 16, a01, accumulate);
            Put(m + ldm, a10, accumulate);
            Put(m + ldm + 16, a11, accumulate);
            Put(m + (2 * ldm), a20, accumulate);
            Put(m + (2 * ldm) + 16, a21, accumulate);
            Put(m + (3 * ldm), a30, accumulate);
            Put(m + (3 * ldm) + 16, a31, accumulate);
            Put(m + (4 * ldm), a40, accumulate);
            Put(m + (4 * ldm) + 16, a41, accumulate);
            Put(m + (5 * ldm), a50, accumulate);
            Put(m + (5 * ldm) + 16, a51, accumulate);
            Put(m + (6 * ldm), a60, accumulate);
            Put(m + (6 * ldm) + 16, a61, accumulate);
            Put(m + (7 * ldm), a70, accumulate);
            Put(m + (7 * ldm) + 16, a71, accumulate);
        }

        /// <summary><see cref="Multiply8x32"/> for 16 columns (the last 16 of a padded channel count that is not a multiple of 32).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void Multiply8x16(float* u, long ldu, float* v, long ldv, int count, float* m, long ldm, bool accumulate)
        {
            Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
            float* u0 = u, u1 = u + ldu, u2 = u + (2 * ldu), u3 = u + (3 * ldu), u4 = u + (4 * ldu), u5 = u + (5 * ldu), u6 = u + (6 * ldu), u7 = u + (7 * ldu);
            for (int t = 0; t < count; t++)
            {
                Vector512<float> v0 = Vector512.Load(v + (t * ldv));
                a0 = Avx512F.FusedMultiplyAdd(Vector512.Create(u0[t]), v0, a0);
                a1 = Avx512F.FusedMultiplyAdd(Vector512.Create(u1[t]), v0, a1);
                a2 = Avx512F.FusedMultiplyAdd(Vector512.Create(u2[t]), v0, a2);
                a3 = Avx512F.FusedMultiplyAdd(Vector512.Create(u3[t]), v0, a3);
                a4 = Avx512F.FusedMultiplyAdd(Vector512.Create(u4[t]), v0, a4);
                a5 = Avx512F.FusedMultiplyAdd(Vector512.Create(u5[t]), v0, a5);
                a6 = Avx512F.FusedMultiplyAdd(Vector512.Create(u6[t]), v0, a6);
                a7 = Avx512F.FusedMultiplyAdd(Vector512.Create(u7[t]), v0, a7);
            }

            Put(m, a0, accumulate);
            Put(m + ldm, a1, accumulate);
            Put(m + (2 * ldm), a2, accumulate);
            Put(m + (3 * ldm), a3, accumulate);
            Put(m + (4 * ldm), a4, accumulate);
            Put(m + (5 * ldm), a5, accumulate);
            Put(m + (6 * ldm), a6, accumulate);
            Put(m + (7 * ldm), a7, accumulate);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Put(float* m, Vector512<float> value, bool accumulate) =>
            (accumulate ? Vector512.Load(m) + value : value).Store(m);

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
        /// vector: 576·dw = (24G)ᵀ M (24G) with integer coefficients, divided by 576 at the end, rounded to float once; and
        /// the bias gradient of those channels (k0 is a multiple of 8, so these are <c>Conv2d.BiasGrad</c>'s blocks).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void BackTransform(int start, int end)
        {
            if (Db != null)
            {
                for (int b = start; b < end; b++)
                {
                    Conv2d.BiasGradRange(Dy, N, K, Oh * Ow, (_k0 / Conv2d.BiasGradChannels) + b, Db);
                }
            }

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
                    float* mk = M + ((long)ko * CPad) + c0;

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
