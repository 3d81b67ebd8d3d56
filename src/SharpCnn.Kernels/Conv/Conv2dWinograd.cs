using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Winograd F(2×2, 3×3) convolution for 3×3, stride-1, undilated, ungrouped layers (variant
/// <c>Conv2dWinograd2x2</c>, AVX-512; Lavin and Gray, arXiv:1509.09308). Each 2×2 output tile is
/// Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A over its 4×4 input patch d, summed over input channels: per element ξ of the
/// 4×4 transformed tile that sum is a GEMM, M_ξ (C_out × tiles) = U_ξ (C_out × C_in) · V_ξ (C_in × tiles),
/// 16 GEMMs of 2.25× fewer multiply-adds than the direct convolution.
/// </summary>
/// <remarks>
/// <para>Matrices: Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1], G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1],
/// Aᵀ = [1 1 1 0; 0 1 −1 −1]. Input patches start at (2·ty − p_t, 2·tx − p_l); taps outside the input read zero,
/// outputs outside (odd OH or OW) are dropped.</para>
/// <para>Blocking: the weights are transformed and packed once per call (16 A blocks in micro-panel layout); tiles
/// are processed in blocks of 32 or more, each block transformed into B panels (16 × C_in × tiles), multiplied with
/// the <see cref="GemmKernel512"/> micro-kernel into a dense M block and transformed back into the output with the
/// bias. Blocks are independent and each element is computed by the same operations for any split, so results
/// are bitwise identical for any thread count. Rounding differs from the direct sum (the transforms add and halve),
/// well inside the kernel tolerance for F(2×2, 3×3); F(4×4, 3×3) is not offered (markedly larger error).</para>
/// </remarks>
internal static unsafe class Conv2dWinograd
{
    private const int Kc = 256;
    private const int Nr = 32;
    private const int Mr = 8;

    /// <summary>
    /// Floats of a block's transformed input and output (16 × (C_in + C_out) × tiles) aimed at: 8 MiB, a share of
    /// L3. More tiles per block means more reuse of each transformed weight panel, which is read once per block per ξ
    /// (16 × C_out × C_in floats in all: 16 MiB for 512 channels); 32 tiles per block left layer4 bound by that stream.
    /// </summary>
    private const int BlockFloats = 1 << 21;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 3×3, stride 1, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && g.KernelH == 3 && g.KernelW == 3
        && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1;

    /// <summary>
    /// Worth choosing over implicit GEMM: at least 64 output and 32 input channels, where the 16 GEMMs dominate the
    /// transforms (which cost O(C_in + C_out) per tile against O(C_in·C_out) for the GEMMs). Measured on this
    /// project's ResNet and MNIST-sized layers (docs/performance.md): 1.2–1.6× the implicit GEMM from 32→64 channels
    /// up; 64→32 was 5% slower.
    /// </summary>
    /// <remarks>
    /// It also needs enough tiles (N·⌈OH/2⌉·⌈OW/2⌉ ≥ 256): the weights are transformed and packed on every call
    /// (16·C_out·C_in floats; kernels keep no state between calls), which a batch-1 7×7 or 14×14 layer does not earn
    /// back (ResNet-18 layer4 at batch 1 has 16 tiles).
    /// </remarks>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 32 && g.OutChannels >= 64
        && (long)g.Batch * ((g.OutHeight + 1) / 2) * ((g.OutWidth + 1) / 2) >= 256;

    /// <summary>
    /// Worth choosing over implicit GEMM when the weights are already transformed (<see cref="Conv2dPreparedWeights"/>):
    /// <see cref="Prefers"/>, or below its tile count (which only pays for the per-call weight transform) while the
    /// transformed weights stay at most 2 M floats (8 MiB). In a whole batch-1 pass every layer's weights stream from
    /// memory, and Winograd's are 16/9 the size of the plain ones: ResNet-18's 28×28/128 and 14×14/256 layers gain
    /// (1.44 against 2.49 ms and 2.26 against 2.93 ms, one thread), but its 7×7/512 layer (16.8 MB transformed) ran
    /// at 12.8 ms against the implicit GEMM's 7.5 ms inside the network although it won alone (2.35 against 3.48 ms).
    /// </summary>
    public static bool PrefersPrepared(in Conv2dGeometry g) =>
        Prefers(g) || (Supports(g) && g.InChannels >= 32 && g.OutChannels >= 64 && 16L * g.InChannels * g.OutChannels <= 1 << 21);

    /// <summary>y = conv(x, w) + b; <paramref name="bias"/> may be null.</summary>
    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y) =>
        Forward(x, w, new ConvEpilogue(bias, null, false), g, y);

    /// <summary>Floats of the transformed, packed weights of <paramref name="g"/> (<see cref="PackWeights"/>).</summary>
    public static long PackedWeightLength(in Conv2dGeometry g) => 16L * g.OutChannels * g.InChannels;

    /// <summary>
    /// Transforms (G g Gᵀ) and packs the weights as <see cref="Forward(float*, float*, in ConvEpilogue, in Conv2dGeometry, float*, float*)"/>
    /// does on each call, for reuse across calls (the layout depends on C_out and C_in only).
    /// </summary>
    public static void PackWeights(float* w, in Conv2dGeometry g, float* packed)
    {
        int c = g.InChannels, k = g.OutChannels;
        int slices = (c + Kc - 1) / Kc, kcMax = (c + slices - 1) / slices;
        float[] transformed = ArrayPool<float>.Shared.Rent(16 * k * c);
        try
        {
            fixed (float* pu = transformed)
            {
                TransformWeights(w, k, c, pu);
                nint us = (nint)pu, ps = (nint)packed;
                KernelParallel.For(16 * slices, (long)k * kcMax, (start, end) =>
                {
                    for (int item = start; item < end; item++)
                    {
                        int xi = item / slices, p0 = item % slices * kcMax, kc = Math.Min(kcMax, c - p0);
                        var job = new GemmJob(false, false, k, 0, c, (float*)us + ((long)xi * k * c), c, null, 0, null, 0, false);
                        GemmPacking.PackA(job, 0, k, p0, kc, Mr, (float*)ps + ((long)xi * k * c) + ((long)k * p0));
                    }
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(transformed);
        }
    }

    /// <summary>
    /// y = act(conv(x, w) + b + r), the epilogue applied in the output transform as each tile is stored.
    /// <paramref name="prepacked"/>, when not null, holds the weights from <see cref="PackWeights"/> (<paramref name="w"/> is then not read).
    /// </summary>
    public static void Forward(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked = null)
    {
        int c = g.InChannels, k = g.OutChannels;
        int slices = (c + Kc - 1) / Kc, kcMax = (c + slices - 1) / slices;
        float[]? packed = prepacked != null ? null : ArrayPool<float>.Shared.Rent(16 * k * c);
        try
        {
            fixed (float* pOwn = packed)
            {
                float* pa = prepacked;
                if (pa == null)
                {
                    pa = pOwn;
                    PackWeights(w, g, pa);
                }

                int tilesH = (g.OutHeight + 1) / 2, tilesW = (g.OutWidth + 1) / 2;
                var job = new Job
                {
                    X = x,
                    Y = y,
                    Epilogue = epilogue,
                    PackedU = pa,
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
                    Tiles = g.Batch * tilesH * tilesW,
                    KcMax = kcMax,
                    Slices = slices,
                };
                job.Run();
            }
        }
        finally
        {
            if (packed is not null)
            {
                ArrayPool<float>.Shared.Return(packed);
            }
        }
    }

    /// <summary>u[ξ, o, c] = (G g Gᵀ)[ξ] for each 3×3 kernel g = w[o, c] (split over threads by output channel).</summary>
    private static void TransformWeights(float* w, int k, int c, float* u)
    {
        nint ws = (nint)w, us = (nint)u;
        KernelParallel.For(k, (long)c * 16, (start, end) => TransformWeights((float*)ws, (float*)us, (long)k * c, (long)start * c, (long)end * c));
    }

    private static void TransformWeights(float* w, float* u, long plane, long from, long to)
    {
        Span<float> t = stackalloc float[12];
        for (long oc = from; oc < to; oc++)
        {
            float* g = w + (oc * 9);

            // t = G·g (4×3), then u = t·Gᵀ (4×4).
            for (int j = 0; j < 3; j++)
            {
                float g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
                t[j] = g0;
                t[3 + j] = 0.5f * (g0 + g1 + g2);
                t[6 + j] = 0.5f * (g0 - g1 + g2);
                t[9 + j] = g2;
            }

            for (int i = 0; i < 4; i++)
            {
                float t0 = t[3 * i], t1 = t[(3 * i) + 1], t2 = t[(3 * i) + 2];
                u[(((4 * i) + 0) * plane) + oc] = t0;
                u[(((4 * i) + 1) * plane) + oc] = 0.5f * (t0 + t1 + t2);
                u[(((4 * i) + 2) * plane) + oc] = 0.5f * (t0 - t1 + t2);
                u[(((4 * i) + 3) * plane) + oc] = t2;
            }
        }
    }

    /// <summary>
    /// Patch columns 0..3 of 16 neighbouring F(2×2) tiles from one input row (zeros for a row outside the input); also
    /// the input-row load of <see cref="Conv2dWinogradWeight"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void TileRow(float* src, bool valid, Vector512<float> mA, Vector512<float> mB, Vector512<float> mC,
        Vector512<float> mD, Vector512<int> even, Vector512<int> odd, out Vector512<float> c0, out Vector512<float> c1,
        out Vector512<float> c2, out Vector512<float> c3)
    {
        if (!valid)
        {
            c0 = c1 = c2 = c3 = Vector512<float>.Zero;
            return;
        }

        Vector512<float> a = Avx512F.MaskLoad(src, mA, Vector512<float>.Zero), b = Avx512F.MaskLoad(src + 16, mB, Vector512<float>.Zero);
        Vector512<float> c = Avx512F.MaskLoad(src + 2, mC, Vector512<float>.Zero), d = Avx512F.MaskLoad(src + 18, mD, Vector512<float>.Zero);
        c0 = Avx512F.PermuteVar16x32x2(a, even, b);
        c1 = Avx512F.PermuteVar16x32x2(a, odd, b);
        c2 = Avx512F.PermuteVar16x32x2(c, even, d);
        c3 = Avx512F.PermuteVar16x32x2(c, odd, d);
    }

    private sealed class Job
    {
        public float* X;
        public float* Y;
        public ConvEpilogue Epilogue;
        public float* PackedU;
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
        public int KcMax;
        public int Slices;
        private int _tb;
        private int _kSplits;

        public void Run()
        {
            // Tiles per block: a multiple of 32 with the transformed input block near BlockFloats; the split
            // depends on the geometry only.
            _tb = Math.Clamp(BlockFloats / (16 * (C + K)) / Nr * Nr, Nr, 16 * Nr);
            // At least 8 blocks where there are tiles for them, so two threads stay balanced (batch 1 at 56×56 has
            // 784 tiles: one 512-tile block and a 272-tile one would leave a thread idle a third of the time).
            _tb = Math.Min(_tb, Math.Max(Nr, ((Tiles + 7) / 8 + Nr - 1) / Nr * Nr));
            int blocks = (Tiles + _tb - 1) / _tb;

            // Few blocks (batch 1 at 14×14 has 49 tiles, at 7×7 16: one or two blocks) also split the output channels
            // at multiples of Mr, so both threads get work; each such item transforms its block's input itself (cost
            // O(C·tiles), against O(K·C·tiles) for its GEMMs). Every output is still computed by the same operations.
            int kPanels = (K + Mr - 1) / Mr;
            _kSplits = blocks >= 4 ? 1 : Math.Min(kPanels, (4 + blocks - 1) / blocks);
            int items = blocks * _kSplits;
            KernelParallel.For(items, 4L * K * C * _tb / _kSplits, Body, items);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Body(int start, int end)
        {
            GemmWorkspace workspace = GemmWorkspace.Current;
            float* v = workspace.B(16 * C * _tb);
            float* m = workspace.A(16 * K * _tb);
            int kPanels = (K + Mr - 1) / Mr;
            for (int item = start; item < end; item++)
            {
                int block = item / _kSplits, split = item % _kSplits;
                int k0 = kPanels * split / _kSplits * Mr, k1 = Math.Min(K, kPanels * (split + 1) / _kSplits * Mr);
                int t0 = block * _tb, count = Math.Min(_tb, Tiles - t0);
                TransformInput(t0, count, v);
                int panels = (count + Nr - 1) / Nr;
                for (int xi = 0; xi < 16; xi++)
                {
                    float* vXi = v + ((long)xi * C * _tb);
                    float* mXi = m + ((long)xi * K * _tb);
                    float* uXi = PackedU + ((long)xi * K * C);
                    for (int s = 0; s < Slices; s++)
                    {
                        int p0 = s * KcMax, kc = Math.Min(KcMax, C - p0);
                        float* aSlice = uXi + ((long)K * p0);
                        for (int ir = k0; ir < k1; ir += Mr)
                        {
                            int rows = Math.Min(Mr, K - ir);
                            float* aPanel = aSlice + ((nint)ir * kc);
                            for (int tp = 0; tp < panels; tp++)
                            {
                                float* bPanel = vXi + (((nint)tp * C) + p0) * Nr;
                                GemmKernel512.Tile(rows, Math.Min(Nr, count - (tp * Nr)), kc, aPanel, bPanel, Nr,
                                    mXi + ((nint)ir * _tb) + (tp * Nr), _tb, s > 0);
                            }
                        }
                    }
                }

                TransformOutput(t0, count, m, k0, k1);
            }
        }

        /// <summary>
        /// v[ξ][panel][c][lane] = (Bᵀ d B)[ξ] for tile t0 + panel·32 + lane and channel c. Tiles are taken in runs
        /// of up to 16 along a tile row: the 4×4 patches of 16 neighbouring tiles start 2 columns apart, so each patch
        /// column is the even or odd lanes of two masked loads of an input row (padding lanes load zero), and the
        /// transform runs on vectors of 16 tiles. Lanes past the block's tiles are zero.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int t0, int count, float* v)
        {
            long xiStride = (long)C * _tb;
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            Vector512<int> odd = even + Vector512<int>.One;
            Vector512<int> lanes = Vector512<int>.Indices;

            // Zero the lanes past the last tile (the GEMM reads whole panels).
            int padded = (count + Nr - 1) / Nr * Nr;
            for (int t = count; t < padded; t++)
            {
                float* dst = v + ((long)(t / Nr) * C * Nr) + (t % Nr);
                for (int ch = 0; ch < C; ch++)
                {
                    for (int xi = 0; xi < 16; xi++)
                    {
                        dst[(xi * xiStride) + ((long)ch * Nr)] = 0f;
                    }
                }
            }

            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(16, count - t), TilesW - tx);
                int iy0 = (2 * ty) - PadTop, ix0 = (2 * tx) - PadLeft;

                // Loads at columns ix0 + [0, 32) and ix0 + 2 + [0, 32): lane l is valid when 0 ≤ ix < W.
                Vector512<int> ixA = lanes + Vector512.Create(ix0), ixB = ixA + Vector512.Create(16);
                Vector512<int> ixC = ixA + Vector512.Create(2), ixD = ixB + Vector512.Create(2);
                Vector512<uint> width = Vector512.Create((uint)W);
                Vector512<float> mA = Vector512.LessThan(ixA.AsUInt32(), width).AsSingle(), mB = Vector512.LessThan(ixB.AsUInt32(), width).AsSingle();
                Vector512<float> mC = Vector512.LessThan(ixC.AsUInt32(), width).AsSingle(), mD = Vector512.LessThan(ixD.AsUInt32(), width).AsSingle();
                bool r0 = (uint)iy0 < (uint)H, r1 = (uint)(iy0 + 1) < (uint)H, r2 = (uint)(iy0 + 2) < (uint)H, r3 = (uint)(iy0 + 3) < (uint)H;

                // Destination lanes t .. t + len − 1 of the block: panel t / 32, possibly running into the next panel.
                int lane0 = t % Nr, first = Math.Min(len, Nr - lane0);
                Vector512<float> store0 = Vector512.LessThan(lanes, Vector512.Create(first)).AsSingle();
                Vector512<float> store1 = (Vector512.GreaterThanOrEqual(lanes, Vector512.Create(first))
                    & Vector512.LessThan(lanes, Vector512.Create(len))).AsSingle();
                float* dst0 = v + ((long)(t / Nr) * C * Nr) + lane0;
                float* dst1 = v + ((long)((t / Nr) + 1) * C * Nr) - first;
                float* src = X + ((long)n * C * plane) + ((long)iy0 * W) + ix0;
                for (int ch = 0; ch < C; ch++, src += plane)
                {
                    TileRow(src, r0, mA, mB, mC, mD, even, odd, out Vector512<float> d00, out Vector512<float> d01, out Vector512<float> d02, out Vector512<float> d03);
                    TileRow(src + W, r1, mA, mB, mC, mD, even, odd, out Vector512<float> d10, out Vector512<float> d11, out Vector512<float> d12, out Vector512<float> d13);
                    TileRow(src + (2 * W), r2, mA, mB, mC, mD, even, odd, out Vector512<float> d20, out Vector512<float> d21, out Vector512<float> d22, out Vector512<float> d23);
                    TileRow(src + (3 * W), r3, mA, mB, mC, mD, even, odd, out Vector512<float> d30, out Vector512<float> d31, out Vector512<float> d32, out Vector512<float> d33);

                    // Bᵀ d (rows), then · B (columns): u_i = row i of Bᵀ d.
                    Vector512<float> u00 = d00 - d20, u01 = d01 - d21, u02 = d02 - d22, u03 = d03 - d23;
                    Vector512<float> u10 = d10 + d20, u11 = d11 + d21, u12 = d12 + d22, u13 = d13 + d23;
                    Vector512<float> u20 = d20 - d10, u21 = d21 - d11, u22 = d22 - d12, u23 = d23 - d13;
                    Vector512<float> u30 = d10 - d30, u31 = d11 - d31, u32 = d12 - d32, u33 = d13 - d33;
                    long c0 = (long)ch * Nr;
                    Put(dst0 + c0, dst1 + c0, store0, store1, first, xiStride, 0, u00, u01, u02, u03);
                    Put(dst0 + c0, dst1 + c0, store0, store1, first, xiStride, 4, u10, u11, u12, u13);
                    Put(dst0 + c0, dst1 + c0, store0, store1, first, xiStride, 8, u20, u21, u22, u23);
                    Put(dst0 + c0, dst1 + c0, store0, store1, first, xiStride, 12, u30, u31, u32, u33);
                }

                t += len;
            }
        }

        /// <summary>Stores row i of Bᵀ d · B (ξ = row + 0..3) for up to 16 tiles, split across a panel boundary when needed.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Put(float* dst0, float* dst1, Vector512<float> store0, Vector512<float> store1, int first,
            long xiStride, int row, Vector512<float> u0, Vector512<float> u1, Vector512<float> u2, Vector512<float> u3)
        {
            Store(dst0, dst1, store0, store1, first, (row + 0) * xiStride, u0 - u2);
            Store(dst0, dst1, store0, store1, first, (row + 1) * xiStride, u1 + u2);
            Store(dst0, dst1, store0, store1, first, (row + 2) * xiStride, u2 - u1);
            Store(dst0, dst1, store0, store1, first, (row + 3) * xiStride, u1 - u3);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Store(float* dst0, float* dst1, Vector512<float> store0, Vector512<float> store1, int first, long offset, Vector512<float> value)
        {
            Avx512F.MaskStore(dst0 + offset, store0, value);
            if (first < 16)
            {
                // Lanes first.. continue at lane 0 of the next panel: dst1 + first = that panel's lane 0.
                Avx512F.MaskStore(dst1 + offset, store1, value);
            }
        }

        /// <summary>y tile = act(Aᵀ M A + bias + residual), 16 tiles at a time in vectors (M rows hold consecutive tiles), stored per output.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutput(int t0, int count, float* m, int k0, int k1)
        {
            int perImage = TilesH * TilesW;
            float* out00 = stackalloc float[16];
            float* out01 = stackalloc float[16];
            float* out10 = stackalloc float[16];
            float* out11 = stackalloc float[16];

            // Per tile: offset of its top-left output in channel 0, and whether its right column / bottom row exist.
            long[] offsetArray = ArrayPool<long>.Shared.Rent(count);
            int[] flagArray = ArrayPool<int>.Shared.Rent(count);
            fixed (long* offsets = offsetArray)
            fixed (int* flags = flagArray)
            {
                for (int t = 0; t < count; t++)
                {
                    int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                    int oy = 2 * ty, ox = 2 * tx;
                    offsets[t] = ((long)n * K * Oh * Ow) + ((long)oy * Ow) + ox;
                    flags[t] = (ox + 1 < Ow ? 1 : 0) | (oy + 1 < Oh ? 2 : 0);
                }

                TransformOutputTiles(count, m, k0, k1, offsets, flags, out00, out01, out10, out11);
            }

            ArrayPool<long>.Shared.Return(offsetArray);
            ArrayPool<int>.Shared.Return(flagArray);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutputTiles(int count, float* m, int k0, int k1, long* offsets, int* flags, float* out00, float* out01, float* out10, float* out11)
        {
            long xiStride = (long)K * _tb;
            for (int o = k0; o < k1; o++)
            {
                Vector512<float> bias = Vector512.Create(Epilogue.BiasOf(o));
                float* ro = Epilogue.Residual == null ? null : Epilogue.Residual + ((long)o * Oh * Ow);
                bool relu = Epilogue.Relu;
                for (int t = 0; t < count; t += 16)
                {
                    float* mt = m + ((long)o * _tb) + t;
                    // Aᵀ M: s_j = m0j + m1j + m2j, r_j = m1j − m2j − m3j for each column j; then columns likewise.
                    Vector512<float> s0, s1, s2, s3, r0, r1, r2, r3;
                    {
                        Vector512<float> a0 = Vector512.Load(mt), a1 = Vector512.Load(mt + (4 * xiStride));
                        Vector512<float> a2 = Vector512.Load(mt + (8 * xiStride)), a3 = Vector512.Load(mt + (12 * xiStride));
                        s0 = a0 + a1 + a2;
                        r0 = a1 - a2 - a3;
                    }

                    {
                        Vector512<float> a0 = Vector512.Load(mt + xiStride), a1 = Vector512.Load(mt + (5 * xiStride));
                        Vector512<float> a2 = Vector512.Load(mt + (9 * xiStride)), a3 = Vector512.Load(mt + (13 * xiStride));
                        s1 = a0 + a1 + a2;
                        r1 = a1 - a2 - a3;
                    }

                    {
                        Vector512<float> a0 = Vector512.Load(mt + (2 * xiStride)), a1 = Vector512.Load(mt + (6 * xiStride));
                        Vector512<float> a2 = Vector512.Load(mt + (10 * xiStride)), a3 = Vector512.Load(mt + (14 * xiStride));
                        s2 = a0 + a1 + a2;
                        r2 = a1 - a2 - a3;
                    }

                    {
                        Vector512<float> a0 = Vector512.Load(mt + (3 * xiStride)), a1 = Vector512.Load(mt + (7 * xiStride));
                        Vector512<float> a2 = Vector512.Load(mt + (11 * xiStride)), a3 = Vector512.Load(mt + (15 * xiStride));
                        s3 = a0 + a1 + a2;
                        r3 = a1 - a2 - a3;
                    }

                    Vector512<float> y00 = s0 + s1 + s2 + bias, y01 = s1 - s2 - s3 + bias;
                    Vector512<float> y10 = r0 + r1 + r2 + bias, y11 = r1 - r2 - r3 + bias;
                    if (relu && ro == null)
                    {
                        // No residual: the ReLU runs on the vectors; with one it needs the scattered residual values.
                        (y00, y01, y10, y11) = (Epilogue.Apply(y00, null), Epilogue.Apply(y01, null), Epilogue.Apply(y10, null), Epilogue.Apply(y11, null));
                    }

                    y00.Store(out00);
                    y01.Store(out01);
                    y10.Store(out10);
                    y11.Store(out11);
                    int lanes = Math.Min(16, count - t);
                    float* yo = Y + ((long)o * Oh * Ow);
                    if (ro == null)
                    {
                        for (int l = 0; l < lanes; l++)
                        {
                            long at = offsets[t + l];
                            int edges = flags[t + l];
                            yo[at] = out00[l];
                            if ((edges & 1) != 0)
                            {
                                yo[at + 1] = out01[l];
                            }

                            if ((edges & 2) != 0)
                            {
                                yo[at + Ow] = out10[l];
                                if ((edges & 1) != 0)
                                {
                                    yo[at + Ow + 1] = out11[l];
                                }
                            }
                        }
                    }
                    else
                    {
                        for (int l = 0; l < lanes; l++)
                        {
                            long at = offsets[t + l];
                            int edges = flags[t + l];
                            yo[at] = Epilogue.Apply(out00[l], ro[at], true);
                            if ((edges & 1) != 0)
                            {
                                yo[at + 1] = Epilogue.Apply(out01[l], ro[at + 1], true);
                            }

                            if ((edges & 2) != 0)
                            {
                                yo[at + Ow] = Epilogue.Apply(out10[l], ro[at + Ow], true);
                                if ((edges & 1) != 0)
                                {
                                    yo[at + Ow + 1] = Epilogue.Apply(out11[l], ro[at + Ow + 1], true);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
