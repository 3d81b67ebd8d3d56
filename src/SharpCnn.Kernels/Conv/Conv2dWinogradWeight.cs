using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Backward-weight of 3×3, stride-1, undilated, ungrouped convolutions by Winograd F(2×2, 3×3) (variant
/// <c>Conv2dWinogradWeight2x2</c>, AVX-512). The forward computes each 2×2 output tile as
/// Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A, so the gradient of a 3×3 kernel is dw = Gᵀ [Σ_tiles (A dy Aᵀ) ⊙ (Bᵀ d B)] G: per element
/// ξ of the 4×4 transformed tile a GEMM M_ξ (C_out × C_in) = U'_ξ (C_out × tiles) · V_ξᵀ (tiles × C_in), whose inner
/// dimension is the tiles of the whole batch, then one 4×4 → 3×3 transform per weight. 16 multiply-adds per tile and
/// channel pair against 36 for the direct sum (2.25× fewer), with no gathers: the transforms read whole rows.
/// </summary>
/// <remarks>
/// <para>Matrices (as <see cref="Conv2dWinograd"/>): Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1],
/// G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1], Aᵀ = [1 1 1 0; 0 1 −1 −1]. Input patches start at (2·ty − p_t, 2·tx − p_l)
/// (taps outside the input read zero), dy tiles at (2·ty, 2·tx) (outputs past OH or OW read zero, so odd maps and
/// the partial tiles they leave cost nothing in correctness).</para>
/// <para>Blocking: the tiles go in blocks whose transformed input and dy (16 × (C_in + C_out) × tiles) fill about
/// 2 MiB, and the blocks in a fixed number of contiguous partitions (a function of the geometry only), each summed
/// into its own accumulator M_q: one parallel job per call hands whole partitions to the threads, which transform a
/// block (input and dy) into their own buffers and run the 16 GEMMs M_q,ξ (+)= U'_ξ · V_ξᵀ on it, so nothing waits
/// between blocks. The back transform adds the M_q in partition order, so 1, 2 or 3 threads give the same bits. Each
/// accumulator (16 × C_out × C_in) is kept to at most 2²⁰ floats by taking the output channels in groups (the input
/// transform is then redone per group). The bias gradient, when asked for, is summed in the dy transform.</para>
/// </remarks>
internal static unsafe class Conv2dWinogradWeight
{
    /// <summary>
    /// Floats of one block's transformed input and dy aimed at (2 MiB): measured against 8 MiB (1.08× on layer1) and
    /// 1 and 0.5 MiB (no better on layer1; 1 MiB 5–10% slower on the 14×14 32→64 layer at batch 64).
    /// </summary>
    private const int BlockFloats = 1 << 19;

    /// <summary>Largest accumulator M (16 × output channels of a group × C_in), as the chunked partial sums of the implicit GEMM.</summary>
    private const int MaxAccumulatorFloats = 1 << 20;

    /// <summary>
    /// Fewest tiles per partition: each partition's accumulator is read once more by the back transform, which cost
    /// about 14 / tiles of the pass per partition in one-thread CPU time (7% on 256×256 14×14 at batch 16 with 4
    /// partitions of 196 tiles).
    /// </summary>
    private const int MinPartitionTiles = 512;

    private const int Mr = 8;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 3×3, stride 1, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) => Conv2dWinograd.Supports(g);

    /// <summary>
    /// Worth choosing over the implicit GEMM and the channel-blocked direct backward-weight: at least 32 input and 32
    /// output channels, at most 16·C_out·C_in = 2²⁰ floats of accumulator (up to 256×256 channels, so one output-channel
    /// group) and output maps of at least 196 pixels (14×14). Measured (docs/performance.md, "Winograd backward-weight",
    /// thread CPU time, one thread): 1.3–1.9× faster than the previous choice on ResNet layer1–layer3 at batch 16/32 and
    /// on batch-1 56×56, 28×28 and 14×14 layers, 1.4× on the 14×14 32→64 layer at batch 64; at 7×7 (8×8 outputs are
    /// computed for 49, and two 4-tile rows fill half a transform vector) the blocked direct kernel, which skips the
    /// padding taps, stays ahead (32→64 at batch 16: 0.25 against 0.34 ms; 256→256 at batch 32: 15.2 against 18.1 ms;
    /// 512→512: 64 against 76).
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 32 && g.OutChannels >= 32
        && 16L * g.InChannels * g.OutChannels <= MaxAccumulatorFloats
        && g.OutHeight * g.OutWidth >= 196;

    /// <summary>
    /// dw = ∂L/∂w (C_out, C_in, 3, 3), overwritten, from dy (N, C_out, OH, OW) and x (N, C_in, H, W); and, when
    /// <paramref name="db"/> is not null, the bias gradient db (C_out) = Σ dy, overwritten, summed in the dy transform
    /// (which reads every dy value once): per partition in double over its tiles' 2×2 sums (the transform's point ξ = 5),
    /// then over the partitions in order, rounded once.
    /// </summary>
    public static void BackwardWeight(float* dy, float* x, in Conv2dGeometry g, float* dw, float* db = null)
    {
        int c = g.InChannels, k = g.OutChannels;
        int tilesH = (g.OutHeight + 1) / 2, tilesW = (g.OutWidth + 1) / 2;
        int tiles = g.Batch * tilesH * tilesW;

        // Output channels per group: as many as keep M within MaxAccumulatorFloats (a multiple of Mr), balanced.
        int kgMax = Math.Max(Mr, MaxAccumulatorFloats / (16 * c) / Mr * Mr);
        int groups = (k + kgMax - 1) / kgMax;
        int kg = Math.Min(k, ((k + groups - 1) / groups + Mr - 1) / Mr * Mr);
        groups = (k + kg - 1) / kg;

        // Tiles per block (all functions of the geometry only), and the row stride of the transformed planes, kept off
        // multiples of 1 KiB floats so the GEMM's 8-row transposes do not fall into one L1 set.
        int tb = Math.Clamp(BlockFloats / (16 * (c + kg)) / 16 * 16, 16, (tiles + 15) / 16 * 16);
        int ld = tb % 256 == 0 ? tb + 16 : tb;
        int blocks = (tiles + tb - 1) / tb;

        // One accumulator per partition; each starts one cache line past a multiple of 1 KiB floats.
        long mFloats = (((16L * kg * c) + 1023) & ~1023L) + 16;
        int partitions = Partitions(blocks, tiles, 16L * kg * c);
        float[] mArray = ArrayPool<float>.Shared.Rent(checked((int)(partitions * mFloats)));
        double[] biasArray = ArrayPool<double>.Shared.Rent(db == null ? 0 : partitions * kg * 16);
        try
        {
            fixed (float* m = mArray)
            fixed (double* biasSums = biasArray)
            {
                var job = new Job
                {
                    X = x,
                    Dy = dy,
                    Dw = dw,
                    M = m,
                    Db = db,
                    BiasSums = db == null ? null : biasSums,
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
                    Ld = ld,
                    Kg = kg,
                    Blocks = blocks,
                    Partitions = partitions,
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
            ArrayPool<double>.Shared.Return(biasArray);
        }
    }

    /// <summary>
    /// Tile-block partitions (<see cref="WinogradPartitions.For"/>): at least 2 blocks and <see cref="MinPartitionTiles"/>
    /// tiles each; one only for a single block.
    /// </summary>
    internal static int Partitions(int blocks, int tiles, long accumulatorFloats) =>
        WinogradPartitions.For(blocks, minBlocks: 2, tiles / MinPartitionTiles, accumulatorFloats);

    private sealed class Job
    {
        public float* X;
        public float* Dy;
        public float* Dw;
        public float* M;
        public float* Db;
        public double* BiasSums;
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
        public int Ld;
        public int Kg;
        public int Blocks;
        public int Partitions;
        public long MFloats;
        private int _k0;
        private int _kCount;
        private float* _v;
        private float* _u;
        private Action<int, int>? _partition;
        private Action<int, int>? _transform;
        private Action<int, int>? _multiply;
        private Action<int, int>? _back;

        /// <summary>
        /// Output channels [k0, k0 + kCount): one parallel job over the partitions (each thread transforms and multiplies
        /// whole tile blocks into its partition's accumulator in its own V and U', so nothing waits between blocks and no
        /// transformed data cross cores), then one over output channels for the back transform, which adds the
        /// partitions in order.
        /// </summary>
        public void RunGroup(int k0, int kCount)
        {
            _k0 = k0;
            _kCount = kCount;
            _partition ??= Partition;
            _back ??= BackTransform;
            if (Blocks == 1)
            {
                SingleBlock();
            }
            else
            {
                KernelParallel.For(Partitions, (long)Blocks / Partitions * Tb * 24 * kCount * C / 16, _partition, Partitions);
            }

            if (BiasSums != null)
            {
                // Each partition's 16 lane sums, lanes and partitions in order.
                for (int ko = 0; ko < kCount; ko++)
                {
                    double sum = 0;
                    for (int q = 0; q < Partitions; q++)
                    {
                        double* lanes = BiasSums + ((((long)q * Kg) + ko) * 16);
                        for (int l = 0; l < 16; l++)
                        {
                            sum += lanes[l];
                        }
                    }

                    Db[k0 + ko] = (float)sum;
                }
            }

            KernelParallel.For(kCount, (16L * Partitions + 32) * C, _back);
        }

        /// <summary>
        /// One block (small batches and maps: one partition could not be split): the transforms in parallel over
        /// channels into shared V and U', then the 16 GEMMs in parallel over ξ into M. The same operations as
        /// <see cref="Partition"/> on one block, so the bits do not depend on which path a thread count takes.
        /// </summary>
        private void SingleBlock()
        {
            float[] vArray = ArrayPool<float>.Shared.Rent(16 * C * Ld);
            float[] uArray = ArrayPool<float>.Shared.Rent(16 * Kg * Ld);
            try
            {
                fixed (float* v = vArray)
                fixed (float* u = uArray)
                {
                    _v = v;
                    _u = u;
                    if (BiasSums != null)
                    {
                        new Span<double>(BiasSums, _kCount * 16).Clear();
                    }

                    _transform ??= TransformItems;
                    _multiply ??= MultiplyItems;
                    KernelParallel.For(C + _kCount, 64L * Tiles, _transform);
                    KernelParallel.For(16, (long)_kCount * C * Tiles, _multiply);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(vArray);
                ArrayPool<float>.Shared.Return(uArray);
            }
        }

        /// <summary>Items below C transform input channel item into V; the others dy channel k0 + item − C into U' (one block).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformItems(int start, int end)
        {
            for (int item = start; item < end; item++)
            {
                if (item < C)
                {
                    TransformInput(item, _v, 0, Tiles);
                }
                else
                {
                    TransformGradient(item - C, _u, 0, Tiles, BiasSums == null ? null : BiasSums + ((item - C) * 16));
                }
            }
        }

        /// <summary>M_ξ = U'_ξ · V_ξᵀ for ξ in [start, end) (one block).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void MultiplyItems(int start, int end)
        {
            for (int xi = start; xi < end; xi++)
            {
                Multiply(xi, _u, _v, M, Tiles, false);
            }
        }

        /// <summary>M_ξ (+)= U'_ξ · V_ξᵀ over <paramref name="count"/> tiles, one single-threaded GEMM.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Multiply(int xi, float* u, float* v, float* m, int count, bool accumulate)
        {
            var gemm = new GemmJob(false, true, _kCount, C, count, u + ((long)xi * _kCount * Ld), Ld,
                v + ((long)xi * C * Ld), Ld, m + ((long)xi * _kCount * C), C, accumulate);
            GemmBlocked.Block<GemmKernel512>(gemm, 0, _kCount, 0, C);
        }

        /// <summary>
        /// Partitions [start, end): partition q sums the tile blocks [Blocks·q/P, Blocks·(q+1)/P) in order into its own
        /// M_q, block by block: the input and dy transforms of the block into this thread's V and U', then the 16 GEMMs
        /// M_q,ξ (+)= U'_ξ · V_ξᵀ (inner dimension: the block's tiles), each a single-threaded GEMM.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Partition(int start, int end)
        {
            float[] vArray = ArrayPool<float>.Shared.Rent(16 * C * Ld);
            float[] uArray = ArrayPool<float>.Shared.Rent(16 * Kg * Ld);
            try
            {
                fixed (float* v = vArray)
                fixed (float* u = uArray)
                {
                    for (int q = start; q < end; q++)
                    {
                        float* m = M + (q * MFloats);
                        int b0 = (int)((long)Blocks * q / Partitions), b1 = (int)((long)Blocks * (q + 1) / Partitions);
                        double* biasSums = BiasSums == null ? null : BiasSums + ((long)q * Kg * 16);
                        if (biasSums != null)
                        {
                            new Span<double>(biasSums, _kCount * 16).Clear();
                        }

                        for (int block = b0; block < b1; block++)
                        {
                            int t0 = block * Tb, count = Math.Min(Tb, Tiles - t0);
                            for (int ch = 0; ch < C; ch++)
                            {
                                TransformInput(ch, v, t0, count);
                            }

                            for (int ko = 0; ko < _kCount; ko++)
                            {
                                TransformGradient(ko, u, t0, count, biasSums == null ? null : biasSums + (ko * 16));
                            }

                            for (int xi = 0; xi < 16; xi++)
                            {
                                Multiply(xi, u, v, m, count, block > b0);
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
        /// v[ξ][ch][t] = (Bᵀ d B)[ξ] of tile t0 + t. Tiles are taken in runs of up to 16 along a tile row: their 4×4
        /// patches start 2 columns apart, so each patch column is the even or odd lanes of two masked loads of an input
        /// row (padding lanes load zero). Narrow maps (≤ 7 tiles per row) continue a run into the next tile row.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int ch, float* v, int t0, int count)
        {
            long xiStride = (long)C * Ld;
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            Vector512<int> odd = even + Vector512<int>.One;
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<uint> width = Vector512.Create((uint)W);
            float* dstBase = v + ((long)ch * Ld);
            bool pairs = TilesW <= 7;
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(16, count - t), TilesW - tx);
                int iy0 = (2 * ty) - PadTop, ix0 = (2 * tx) - PadLeft;
                Vector512<float> d00, d01, d02, d03, d10, d11, d12, d13, d20, d21, d22, d23, d30, d31, d32, d33;
                if (pairs)
                {
                    // Narrow maps (≤ 7 tiles per row: 14×14 and smaller): the run goes on into the next tile row, so a
                    // vector holds up to 14 tiles. Each segment's patches span ≤ 16 columns: one masked load per
                    // segment and patch row, lanes picked from the two by one two-source permute per patch column.
                    int len2 = Math.Min(Math.Min(TilesW, 16 - len), count - t - len);
                    int tile2 = tile + len, n2 = tile2 / perImage, ty2 = (tile2 - (n2 * perImage)) / TilesW;
                    int iy2 = (2 * ty2) - PadTop, ix2 = -PadLeft;
                    Vector512<float> m1 = Vector512.LessThan((lanes + Vector512.Create(ix0)).AsUInt32(), width).AsSingle();
                    Vector512<float> m2 = Vector512.LessThan((lanes + Vector512.Create(ix2)).AsUInt32(), width).AsSingle();
                    Vector512<int> index = Vector512.ConditionalSelect(Vector512.LessThan(lanes, Vector512.Create(len)),
                        lanes + lanes, Vector512.Create(16) + ((lanes - Vector512.Create(len)) * 2));
                    float* src1 = X + (((long)n * C) + ch) * plane + ((long)iy0 * W) + ix0;
                    float* src2 = X + (((long)n2 * C) + ch) * plane + ((long)iy2 * W) + ix2;
                    PairRow(src1, src2, (uint)iy0 < (uint)H, len2 > 0 && (uint)iy2 < (uint)H, m1, m2, index, out d00, out d01, out d02, out d03);
                    PairRow(src1 + W, src2 + W, (uint)(iy0 + 1) < (uint)H, len2 > 0 && (uint)(iy2 + 1) < (uint)H, m1, m2, index, out d10, out d11, out d12, out d13);
                    PairRow(src1 + (2 * W), src2 + (2 * W), (uint)(iy0 + 2) < (uint)H, len2 > 0 && (uint)(iy2 + 2) < (uint)H, m1, m2, index, out d20, out d21, out d22, out d23);
                    PairRow(src1 + (3 * W), src2 + (3 * W), (uint)(iy0 + 3) < (uint)H, len2 > 0 && (uint)(iy2 + 3) < (uint)H, m1, m2, index, out d30, out d31, out d32, out d33);
                    len += len2;
                }
                else
                {
                    // Loads at columns ix0 + [0, 32) and ix0 + 2 + [0, 32): lane l is valid when 0 ≤ ix < W.
                    Vector512<int> ixA = lanes + Vector512.Create(ix0), ixB = ixA + Vector512.Create(16);
                    Vector512<int> ixC = ixA + Vector512.Create(2), ixD = ixB + Vector512.Create(2);
                    Vector512<float> mA = Vector512.LessThan(ixA.AsUInt32(), width).AsSingle(), mB = Vector512.LessThan(ixB.AsUInt32(), width).AsSingle();
                    Vector512<float> mC = Vector512.LessThan(ixC.AsUInt32(), width).AsSingle(), mD = Vector512.LessThan(ixD.AsUInt32(), width).AsSingle();
                    float* src = X + (((long)n * C) + ch) * plane + ((long)iy0 * W) + ix0;
                    Conv2dWinograd.TileRow(src, (uint)iy0 < (uint)H, mA, mB, mC, mD, even, odd, out d00, out d01, out d02, out d03);
                    Conv2dWinograd.TileRow(src + W, (uint)(iy0 + 1) < (uint)H, mA, mB, mC, mD, even, odd, out d10, out d11, out d12, out d13);
                    Conv2dWinograd.TileRow(src + (2 * W), (uint)(iy0 + 2) < (uint)H, mA, mB, mC, mD, even, odd, out d20, out d21, out d22, out d23);
                    Conv2dWinograd.TileRow(src + (3 * W), (uint)(iy0 + 3) < (uint)H, mA, mB, mC, mD, even, odd, out d30, out d31, out d32, out d33);
                }

                Vector512<float> store = Vector512.LessThan(lanes, Vector512.Create(len)).AsSingle();

                // Bᵀ d (rows), then · B (columns): u_i = row i of Bᵀ d.
                Vector512<float> u00 = d00 - d20, u01 = d01 - d21, u02 = d02 - d22, u03 = d03 - d23;
                Vector512<float> u10 = d10 + d20, u11 = d11 + d21, u12 = d12 + d22, u13 = d13 + d23;
                Vector512<float> u20 = d20 - d10, u21 = d21 - d11, u22 = d22 - d12, u23 = d23 - d13;
                Vector512<float> u30 = d10 - d30, u31 = d11 - d31, u32 = d12 - d32, u33 = d13 - d33;
                float* dst = dstBase + t;
                PutInputRow(dst, store, xiStride, 0, u00, u01, u02, u03);
                PutInputRow(dst, store, xiStride, 4, u10, u11, u12, u13);
                PutInputRow(dst, store, xiStride, 8, u20, u21, u22, u23);
                PutInputRow(dst, store, xiStride, 12, u30, u31, u32, u33);
                t += len;
            }
        }

        /// <summary>
        /// Patch columns 0..3 of a run that spans two tile rows: lanes below the first segment's length from
        /// <paramref name="src1"/>'s row, the rest from <paramref name="src2"/>'s (zeros for a row outside the input).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void PairRow(float* src1, float* src2, bool valid1, bool valid2, Vector512<float> m1, Vector512<float> m2,
            Vector512<int> index, out Vector512<float> c0, out Vector512<float> c1, out Vector512<float> c2, out Vector512<float> c3)
        {
            Vector512<float> a = valid1 ? Avx512F.MaskLoad(src1, m1, Vector512<float>.Zero) : Vector512<float>.Zero;
            Vector512<float> b = valid2 ? Avx512F.MaskLoad(src2, m2, Vector512<float>.Zero) : Vector512<float>.Zero;
            c0 = Avx512F.PermuteVar16x32x2(a, index, b);
            c1 = Avx512F.PermuteVar16x32x2(a, index + Vector512<int>.One, b);
            c2 = Avx512F.PermuteVar16x32x2(a, index + Vector512.Create(2), b);
            c3 = Avx512F.PermuteVar16x32x2(a, index + Vector512.Create(3), b);
        }

        /// <summary>Stores row i of Bᵀ d · B (ξ = row + 0..3) for up to 16 tiles.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void PutInputRow(float* dst, Vector512<float> store, long xiStride, int row, Vector512<float> u0,
            Vector512<float> u1, Vector512<float> u2, Vector512<float> u3)
        {
            Avx512F.MaskStore(dst + ((row + 0) * xiStride), store, u0 - u2);
            Avx512F.MaskStore(dst + ((row + 1) * xiStride), store, u1 + u2);
            Avx512F.MaskStore(dst + ((row + 2) * xiStride), store, u2 - u1);
            Avx512F.MaskStore(dst + ((row + 3) * xiStride), store, u1 - u3);
        }

        /// <summary>
        /// u[ξ][o − k0][t] = (A dy Aᵀ)[ξ] of tile t0 + t for output channel o = k0 + <paramref name="ko"/>, A = (Aᵀ)ᵀ
        /// (4×2): a 2-vector (a, b) becomes (a, a + b, a − b, −b) along each axis. The 2×2 dy tiles of 16 neighbouring
        /// tiles are the even and odd lanes of two masked loads of each of two dy rows (outputs past OH or OW load zero).
        /// With <paramref name="biasSums"/> not null, adds each tile's dy sum (point ξ = 5, (e0 + o0) + (e1 + o1)) to the
        /// 16 double lane sums there, lane by lane (lanes past the run add zero).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformGradient(int ko, float* u, int t0, int count, double* biasSums)
        {
            Vector512<double> sumLow = Vector512<double>.Zero, sumHigh = Vector512<double>.Zero;
            long xiStride = (long)_kCount * Ld;
            int perImage = TilesH * TilesW;
            long plane = (long)Oh * Ow;
            Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            Vector512<int> odd = even + Vector512<int>.One;
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<uint> width = Vector512.Create((uint)Ow);
            float* dstBase = u + ((long)ko * Ld);
            int o = _k0 + ko;
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(16, count - t), TilesW - tx);
                int oy0 = 2 * ty, ox0 = 2 * tx;
                Vector512<float> e0, o0, e1, o1;
                if (TilesW <= 7)
                {
                    // Narrow maps: the run goes on into the next tile row (as in the input transform); each segment's
                    // dy tiles span ≤ 14 columns, one masked load per segment and dy row.
                    int len2 = Math.Min(Math.Min(TilesW, 16 - len), count - t - len);
                    int tile2 = tile + len, n2 = tile2 / perImage, oy2 = 2 * ((tile2 - (n2 * perImage)) / TilesW);
                    Vector512<float> m1 = Vector512.LessThan((lanes + Vector512.Create(ox0)).AsUInt32(), width).AsSingle();
                    Vector512<float> m2 = Vector512.LessThan(lanes.AsUInt32(), width).AsSingle();
                    Vector512<int> index = Vector512.ConditionalSelect(Vector512.LessThan(lanes, Vector512.Create(len)),
                        lanes + lanes, Vector512.Create(16) + ((lanes - Vector512.Create(len)) * 2));
                    Vector512<int> indexOdd = index + Vector512<int>.One;
                    float* src1 = Dy + (((long)n * K) + o) * plane + ((long)oy0 * Ow) + ox0;
                    float* src2 = Dy + (((long)n2 * K) + o) * plane + ((long)oy2 * Ow);
                    Vector512<float> a = Avx512F.MaskLoad(src1, m1, Vector512<float>.Zero);
                    Vector512<float> b = len2 > 0 ? Avx512F.MaskLoad(src2, m2, Vector512<float>.Zero) : Vector512<float>.Zero;
                    e0 = Avx512F.PermuteVar16x32x2(a, index, b);
                    o0 = Avx512F.PermuteVar16x32x2(a, indexOdd, b);
                    a = oy0 + 1 < Oh ? Avx512F.MaskLoad(src1 + Ow, m1, Vector512<float>.Zero) : Vector512<float>.Zero;
                    b = len2 > 0 && oy2 + 1 < Oh ? Avx512F.MaskLoad(src2 + Ow, m2, Vector512<float>.Zero) : Vector512<float>.Zero;
                    e1 = Avx512F.PermuteVar16x32x2(a, index, b);
                    o1 = Avx512F.PermuteVar16x32x2(a, indexOdd, b);
                    len += len2;
                }
                else
                {
                    Vector512<int> oxA = lanes + Vector512.Create(ox0), oxB = oxA + Vector512.Create(16);
                    Vector512<float> mA = Vector512.LessThan(oxA.AsUInt32(), width).AsSingle(), mB = Vector512.LessThan(oxB.AsUInt32(), width).AsSingle();
                    float* src = Dy + (((long)n * K) + o) * plane + ((long)oy0 * Ow) + ox0;

                    // Row 0 always exists (oy0 < OH); row 1 does unless OH is odd and this is the last tile row.
                    Vector512<float> a = Avx512F.MaskLoad(src, mA, Vector512<float>.Zero), b = Avx512F.MaskLoad(src + 16, mB, Vector512<float>.Zero);
                    e0 = Avx512F.PermuteVar16x32x2(a, even, b);
                    o0 = Avx512F.PermuteVar16x32x2(a, odd, b);
                    e1 = Vector512<float>.Zero;
                    o1 = Vector512<float>.Zero;
                    if (oy0 + 1 < Oh)
                    {
                        a = Avx512F.MaskLoad(src + Ow, mA, Vector512<float>.Zero);
                        b = Avx512F.MaskLoad(src + Ow + 16, mB, Vector512<float>.Zero);
                        e1 = Avx512F.PermuteVar16x32x2(a, even, b);
                        o1 = Avx512F.PermuteVar16x32x2(a, odd, b);
                    }
                }

                Vector512<float> store = Vector512.LessThan(lanes, Vector512.Create(len)).AsSingle();

                // Along x: row i becomes (e_i, e_i + o_i, e_i − o_i, −o_i); along y likewise with the rows.
                Vector512<float> r00 = e0, r01 = e0 + o0, r02 = e0 - o0, r03 = -o0;
                Vector512<float> r10 = e1, r11 = e1 + o1, r12 = e1 - o1, r13 = -o1;
                float* dst = dstBase + t;
                PutGradientRow(dst, store, xiStride, 0, r00, r01, r02, r03);
                Vector512<float> tileSum = r01 + r11;
                PutGradientRow(dst, store, xiStride, 4, r00 + r10, tileSum, r02 + r12, r03 + r13);
                PutGradientRow(dst, store, xiStride, 8, r00 - r10, r01 - r11, r02 - r12, r03 - r13);
                PutGradientRow(dst, store, xiStride, 12, -r10, -r11, -r12, -r13);
                if (biasSums != null)
                {
                    Vector512<float> kept = Vector512.ConditionalSelect(store, tileSum, Vector512<float>.Zero);
                    sumLow += Avx512F.ConvertToVector512Double(kept.GetLower());
                    sumHigh += Avx512F.ConvertToVector512Double(kept.GetUpper());
                }

                t += len;
            }

            if (biasSums != null)
            {
                (Vector512.Load(biasSums) + sumLow).Store(biasSums);
                (Vector512.Load(biasSums + 8) + sumHigh).Store(biasSums + 8);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void PutGradientRow(float* dst, Vector512<float> store, long xiStride, int row, Vector512<float> u0,
            Vector512<float> u1, Vector512<float> u2, Vector512<float> u3)
        {
            Avx512F.MaskStore(dst + ((row + 0) * xiStride), store, u0);
            Avx512F.MaskStore(dst + ((row + 1) * xiStride), store, u1);
            Avx512F.MaskStore(dst + ((row + 2) * xiStride), store, u2);
            Avx512F.MaskStore(dst + ((row + 3) * xiStride), store, u3);
        }

        /// <summary>
        /// dw[o][c] = Gᵀ (Σ_q M_q[o][c]) G for output channels k0 + [start, end), 16 input channels per vector: the
        /// partitions' accumulators added in partition order, then with Gᵀ = [1 ½ ½ 0; 0 ½ −½ 0; 0 ½ ½ 1],
        /// t0 = m0 + ½(m1 + m2), t1 = ½(m1 − m2), t2 = ½(m1 + m2) + m3 down each column, then along each row.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void BackTransform(int start, int end)
        {
            long xiStride = (long)_kCount * C;
            float* tmp = stackalloc float[9 * 16];
            Vector512<float> half = Vector512.Create(0.5f);
            for (int ko = start; ko < end; ko++)
            {
                float* dwRow = Dw + ((long)(_k0 + ko) * C * 9);
                for (int c0 = 0; c0 < C; c0 += 16)
                {
                    int lanesUsed = Math.Min(16, C - c0);
                    Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(lanesUsed)).AsSingle();
                    float* mk = M + ((long)ko * C) + c0;

                    // t[a][j] = Σ_i Gᵀ[a][i] M[i][j], per column j.
                    Vector512<float> t00, t01, t02, t03, t10, t11, t12, t13, t20, t21, t22, t23;
                    Column(mk, xiStride, 0, mask, half, out t00, out t10, out t20);
                    Column(mk, xiStride, 1, mask, half, out t01, out t11, out t21);
                    Column(mk, xiStride, 2, mask, half, out t02, out t12, out t22);
                    Column(mk, xiStride, 3, mask, half, out t03, out t13, out t23);

                    // dw[a][b] = Σ_j t[a][j] Gᵀ[b][j].
                    RowOut(tmp, 0, half, t00, t01, t02, t03);
                    RowOut(tmp, 3, half, t10, t11, t12, t13);
                    RowOut(tmp, 6, half, t20, t21, t22, t23);
                    float* dst = dwRow + ((long)c0 * 9);
                    for (int l = 0; l < lanesUsed; l++)
                    {
                        for (int e = 0; e < 9; e++)
                        {
                            dst[(l * 9) + e] = tmp[(e * 16) + l];
                        }
                    }
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Column(float* mk, long xiStride, int j, Vector512<float> mask, Vector512<float> half,
            out Vector512<float> t0, out Vector512<float> t1, out Vector512<float> t2)
        {
            Vector512<float> m0 = Sum(mk + (j * xiStride), mask);
            Vector512<float> m1 = Sum(mk + ((4 + j) * xiStride), mask);
            Vector512<float> m2 = Sum(mk + ((8 + j) * xiStride), mask);
            Vector512<float> m3 = Sum(mk + ((12 + j) * xiStride), mask);
            Vector512<float> s = half * (m1 + m2);
            t0 = m0 + s;
            t1 = half * (m1 - m2);
            t2 = s + m3;
        }

        /// <summary>Σ_q M_q at <paramref name="at"/> over the partitions in order (16 input channels).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<float> Sum(float* at, Vector512<float> mask)
        {
            Vector512<float> sum = Avx512F.MaskLoad(at, mask, Vector512<float>.Zero);
            for (int q = 1; q < Partitions; q++)
            {
                sum += Avx512F.MaskLoad(at + (q * MFloats), mask, Vector512<float>.Zero);
            }

            return sum;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void RowOut(float* tmp, int a, Vector512<float> half, Vector512<float> t0, Vector512<float> t1,
            Vector512<float> t2, Vector512<float> t3)
        {
            Vector512<float> s = half * (t1 + t2);
            (t0 + s).Store(tmp + ((a + 0) * 16));
            (half * (t1 - t2)).Store(tmp + ((a + 1) * 16));
            (s + t3).Store(tmp + ((a + 2) * 16));
        }
    }
}
