using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Winograd convolution for 3×3, stride-2, undilated, ungrouped layers (variant <c>Conv2dWinogradStride2</c>,
/// AVX-512) by polyphase decomposition. Along one axis a stride-2 output y_i = w0·d_2i + w1·d_2i+1 + w2·d_2i+2 is a
/// 2-tap correlation of the even input samples with (w0, w2) plus a 1-tap product of the odd samples with w1; the
/// even part runs as Winograd F(4, 2) (5 multiplies for 4 outputs), the odd part directly (4 for 4). A 4×4 output tile
/// reads a 9×9 input patch at stride 8, and per axis the transforms are 9-point ones:
/// Y = A′ᵀ [ (G′ g G′ᵀ) ⊙ (B′ᵀ d B′) ] A′, i.e. 81 GEMMs M_ξ (C_out × tiles) = U_ξ (C_out × C_in) · V_ξ (C_in × tiles):
/// 81/16 = 5.06 multiply-adds per output and channel pair against 9 for the direct convolution. Backward-data
/// (<see cref="BackwardData"/>) runs the decomposition backwards with the same GEMMs.
/// </summary>
/// <remarks>
/// <para>Per axis the 9 transformed points are the 5 of F(4, 2) on the even samples (interpolation points 0, 1, −1, 2,
/// ∞) followed by the 4 odd samples unchanged:
/// Bᵀ = [2 −1 −2 1 0; 0 −2 −1 1 0; 0 2 −3 1 0; 0 −1 0 1 0; 0 2 −1 −2 1] on (d0, d2, d4, d6, d8),
/// G = [½ 0; −½ −½; −⅙ ⅙; ⅙ ⅓; 0 1] on (w0, w2), the odd rows of G′ pick w1,
/// Aᵀ = [1 1 1 1 0; 0 1 −1 2 0; 0 1 1 4 0; 0 1 −1 8 1] on the even points, plus the odd point i for output i.
/// Input patches start at (8·ty − p_t, 8·tx − p_l); taps outside the input read zero (any padding), outputs past OH or
/// OW are dropped.</para>
/// <para>Organisation as <see cref="Conv2dWinograd4x4"/>: weights transformed in double (rounded once) straight into
/// the <see cref="GemmKernel512"/> A micro-panel layout; tiles go in blocks, each block's input transform writes B panels
/// (81 × C_in × tiles), the 81 GEMMs fill a dense M block and the output transform adds the bias, applies the fused
/// epilogue and stores. The input transform works on runs of up to 8 neighbouring tiles of a tile row, one per 256-bit
/// lane: a tile's patch row is 9 consecutive input elements, so 8 unit-stride loads and an 8×8 transpose give the patch
/// columns (no gathers); the forward output transform on 8 consecutive tiles of the block, whatever tile rows they lie
/// in, each output row being 4 consecutive floats per tile (a 4×8 transpose). While a block's GEMMs run (compute-bound),
/// the output rows it will store and the next block's input rows are prefetched. Blocks depend on the geometry only and
/// every output is computed by the same operations whatever the split, so results are bitwise identical for any thread
/// count.</para>
/// </remarks>
internal static unsafe class Conv2dWinogradStride2
{
    private const int Kc = 256;

    private const int Nr = 32;
    private const int Mr = 8;

    /// <summary>Transformed points per tile: 9 per axis.</summary>
    private const int Xi = 81;

    /// <summary>Floats of V per block aimed at when the weights are streamed (large layers, as F(4×4)): 8 MiB.</summary>
    private const int BlockFloats = 1 << 21;

    /// <summary>Floats added to the stride between ξ planes (one cache line), as in <see cref="Conv2dWinograd4x4"/>.</summary>
    private const int XiPad = 16;

    /// <summary>Floats of transformed weights (81·C_out·C_in) past which they are streamed and split by output channel: 16 MiB.</summary>
    private const long LargeWeightFloats = 4L << 20;

    /// <summary>The calling thread's transformed-weight buffer (81·C_out·C_in floats of the largest layer seen).</summary>
    [ThreadStatic]
    private static float[]? s_packed;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 3×3, stride 2, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512F.VL.IsSupported && Avx2.IsSupported
        && g.KernelH == 3 && g.KernelW == 3 && g.StrideH == 2 && g.StrideW == 2 && g.DilationH == 1 && g.DilationW == 1
        && g.Groups == 1;

    /// <summary>Direct-minus-Winograd multiply-adds per (input, output) channel pair, 9·N·OH·OW − 81·tiles, from which the variant is chosen.</summary>
    private const long MinSavedPerChannelPair = 16384;

    /// <summary>
    /// Worth choosing over the implicit GEMM: at least 32 input and 64 output channels, transformed weights within
    /// <see cref="LargeWeightFloats"/>, and per pair of channels at least <see cref="MinSavedPerChannelPair"/> fewer
    /// multiply-adds than the direct convolution (the weight transform, 81·C_out·C_in, is redone on every call and ragged
    /// maps waste part of their last tiles). Measured, thread CPU time on one thread (docs/performance.md): the bench's
    /// N32 64→128 56² layer and ResNet-18's layer2.0.conv1 at batch 16 (98 784 and 49 392 saved) ran 1.2–1.35× faster
    /// than the implicit GEMM; layer3.0.conv1 at batch 16 (128→256, 14² output, 7 488 saved) about even; batch 1
    /// (3 087 and 468 saved) 1.2× and 3.5× slower; layer4.0.conv1 (256→512: 42 MB of transformed weights) 1.5× slower.
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 32 && g.OutChannels >= 64
        && (long)Xi * g.InChannels * g.OutChannels <= LargeWeightFloats
        && (9L * g.Batch * g.OutHeight * g.OutWidth) - ((long)Xi * g.Batch * ((g.OutHeight + 3) / 4) * ((g.OutWidth + 3) / 4)) >= MinSavedPerChannelPair;

    /// <summary>y = conv(x, w) + b; <paramref name="bias"/> may be null.</summary>
    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y) =>
        Forward(x, w, new ConvEpilogue(bias, null, false), g, y);

    /// <summary>Floats of the transformed, packed weights of <paramref name="g"/> (<see cref="PackWeights"/>), alignment slack included.</summary>
    public static long PackedWeightLength(in Conv2dGeometry g) => (Xi * UStrideOf(g.OutChannels, g.InChannels)) + 16;

    /// <summary>
    /// Transforms (G′ g G′ᵀ) and packs the weights as <see cref="Forward(float*, float*, in ConvEpilogue, in Conv2dGeometry, float*, float*)"/>
    /// does on each call, for reuse across calls. <paramref name="packed"/> holds <see cref="PackedWeightLength"/>
    /// floats and must not move between this call and its uses (pinned): the panels start at its first 64-byte boundary.
    /// </summary>
    public static void PackWeights(float* w, in Conv2dGeometry g, float* packed)
    {
        int c = g.InChannels, k = g.OutChannels;
        int slices = (c + Kc - 1) / Kc, kcMax = (c + slices - 1) / slices;
        TransformWeights(w, k, c, slices, kcMax, Align64(packed), UStrideOf(k, c));
    }

    /// <summary>
    /// y = epilogue(conv(x, w)): bias, then residual and ReLU applied to each finished output run before it is stored,
    /// bit for bit the plain convolution followed by <see cref="ConvEpilogue.ApplyRow"/>. <paramref name="prepacked"/>,
    /// when not null, is <see cref="PackWeights"/>'s output for these weights (pinned), and <paramref name="w"/> is then
    /// not read.
    /// </summary>
    public static void Forward(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked = null)
    {
        int c = g.InChannels, k = g.OutChannels;
        int slices = (c + Kc - 1) / Kc, kcMax = (c + slices - 1) / slices;
        long uStride = UStrideOf(k, c);
        if (prepacked != null)
        {
            Run(x, y, epilogue, g, Align64(prepacked), uStride, kcMax, slices);
            return;
        }

        int need = checked((int)PackedWeightLength(g));
        if (s_packed is null || s_packed.Length < need)
        {
            s_packed = null; // let the old buffer go before the new one is allocated
            s_packed = GC.AllocateUninitializedArray<float>(need, pinned: true);
        }

        fixed (float* pp = s_packed)
        {
            float* pa = Align64(pp);
            TransformWeights(w, k, c, slices, kcMax, pa, uStride);
            Run(x, y, epilogue, g, pa, uStride, kcMax, slices);
        }
    }

    private static long UStrideOf(int k, int c) => ((((long)k * c) + 15) & ~15L) + XiPad;

    private static float* Align64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    private static void Run(float* x, float* y, in ConvEpilogue epilogue, in Conv2dGeometry g, float* pa, long uStride, int kcMax, int slices)
    {
        int tilesH = (g.OutHeight + 3) / 4, tilesW = (g.OutWidth + 3) / 4;
        var job = new Job
        {
            X = x,
            Y = y,
            Bias = epilogue.Bias,
            Residual = epilogue.Residual,
            Relu = epilogue.Relu,
            PackedU = pa,
            UStride = uStride,
            C = g.InChannels,
            K = g.OutChannels,
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

    /// <summary>
    /// dx = ∂L/∂x from dy (overwritten), by the same polyphase decomposition read backwards. Along one axis, with
    /// Y = y + p the padded coordinate, dx at Y = 2m is w0·dy[m] + w2·dy[m − 1] and at Y = 2m + 1 it is w1·dy[m]; so a
    /// tile of 8 consecutive dx (Y = 8t .. 8t + 7) reads the 5 dy values d_j = dy[4t − 1 + j]: its even outputs are
    /// F(4, 2) of d with the taps (w2, w0), its odd outputs d_1..d_4 times w1. The 9 transformed points per axis are
    /// F(4, 2)'s Bᵀ on d and d_1..d_4 unchanged; the weights are those of the forward transform applied to w flipped in
    /// both axes with its channels swapped; an 8×8 dx tile is Aᵀ of the even points interleaved with the odd points.
    /// Tiles do not overlap, so every dx element is written once, by the same operations for any thread count.
    /// </summary>
    public static void BackwardData(float* dy, float* w, in Conv2dGeometry g, float* dx)
    {
        int c = g.InChannels, k = g.OutChannels;
        float[] flipped = System.Buffers.ArrayPool<float>.Shared.Rent(9 * c * k);
        int kSlices = (k + Kc - 1) / Kc, kcMax = (k + kSlices - 1) / kSlices;
        long uStride = UStrideOf(c, k);
        int need = checked((int)((Xi * uStride) + 16));
        if (s_packed is null || s_packed.Length < need)
        {
            s_packed = null;
            s_packed = GC.AllocateUninitializedArray<float>(need, pinned: true);
        }

        try
        {
            fixed (float* wt = flipped)
            fixed (float* pp = s_packed)
            {
                // wt[c, o, 2 − a, 2 − b] = w[o, c, a, b]
                ConvWeightFlip.Run(w, 1, k, c, 9, wt);

                float* pa = Align64(pp);
                TransformWeights(wt, c, k, kSlices, kcMax, pa, uStride);
                int tilesH = (g.Height + g.PadTop + 7) / 8, tilesW = (g.Width + g.PadLeft + 7) / 8;
                var job = new Job
                {
                    X = dy,
                    Y = dx,
                    PackedU = pa,
                    UStride = uStride,
                    C = k,
                    K = c,
                    H = g.OutHeight,
                    W = g.OutWidth,
                    Oh = g.Height,
                    Ow = g.Width,
                    PadTop = g.PadTop,
                    PadLeft = g.PadLeft,
                    TilesH = tilesH,
                    TilesW = tilesW,
                    Tiles = g.Batch * tilesH * tilesW,
                    KcMax = kcMax,
                    Slices = kSlices,
                    Transposed = true,
                };
                job.Run();
            }
        }
        finally
        {
            System.Buffers.ArrayPool<float>.Shared.Return(flipped);
        }
    }

    /// <summary>
    /// U_ξ = G′ g G′ᵀ for every kernel g = w[o, c], in double for 8 output channels at a time, written in
    /// <see cref="Mr"/>-row micro-panel layout (the layout <c>GemmPacking.PackA</c> writes), as <see cref="Conv2dWinograd4x4"/>.
    /// </summary>
    private static void TransformWeights(float* w, int k, int c, int slices, int kcMax, float* packed, long uStride)
    {
        nint ws = (nint)w, ps = (nint)packed;
        int panels = (k + Mr - 1) / Mr;
        bool stream = (long)Xi * k * c > LargeWeightFloats;
        KernelParallel.For(panels, (long)Mr * c * 200, (start, end) =>
        {
            for (int panel = start; panel < end; panel++)
            {
                TransformWeightPanel((float*)ws, k, c, slices, kcMax, panel * Mr, (float*)ps, uStride, stream);
            }

            if (stream)
            {
                Sse.StoreFence();
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeightPanel(float* w, int k, int c, int slices, int kcMax, int ir, float* packed, long uStride, bool stream)
    {
        int rows = Math.Min(Mr, k - ir);
        Vector512<double>* t = stackalloc Vector512<double>[27];
        Vector512<double>* u = stackalloc Vector512<double>[2 * Xi];

        // Lanes past the last output channel repeat it; they are never stored.
        Vector256<int> rowOffsets = Vector256.Min(Vector256<int>.Indices, Vector256.Create(rows - 1)) * Vector256.Create(c * 9);
        for (int s = 0; s < slices; s++)
        {
            int p0 = s * kcMax, kc = Math.Min(kcMax, c - p0);
            for (int p = 0; p < kc; p += 2)
            {
                int pair = Math.Min(2, kc - p);
                for (int h = 0; h < pair; h++)
                {
                    // t = G′·g (9×3) by kernel columns, u = t·G′ᵀ by rows.
                    float* g = w + ((((long)ir * c) + p0 + p + h) * 9);
                    for (int b = 0; b < 3; b++)
                    {
                        Transform1D(Tap(g, b, rowOffsets), Tap(g, 3 + b, rowOffsets), Tap(g, 6 + b, rowOffsets), t + b, 3);
                    }

                    for (int i = 0; i < 9; i++)
                    {
                        Transform1D(t[3 * i], t[(3 * i) + 1], t[(3 * i) + 2], u + (Xi * h) + (9 * i), 1);
                    }
                }

                for (int xi = 0; xi < Xi; xi++)
                {
                    float* dst = packed + (xi * uStride) + ((long)k * p0) + ((long)ir * kc) + ((long)p * rows);
                    Vector256<float> first = Avx512F.ConvertToVector256Single(u[xi]);
                    if (rows < Mr)
                    {
                        for (int h = 0; h < pair; h++)
                        {
                            Vector256<float> values = h == 0 ? first : Avx512F.ConvertToVector256Single(u[Xi + xi]);
                            for (int r = 0; r < rows; r++)
                            {
                                dst[(h * rows) + r] = values.GetElement(r);
                            }
                        }
                    }
                    else if (pair == 2)
                    {
                        Vector512<float> both = Vector512.Create(first, Avx512F.ConvertToVector256Single(u[Xi + xi]));
                        if (stream && ((nint)dst & 63) == 0)
                        {
                            both.StoreAlignedNonTemporal(dst);
                        }
                        else
                        {
                            both.Store(dst);
                        }
                    }
                    else
                    {
                        first.Store(dst);
                    }
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Tap(float* g, int tap, Vector256<int> rowOffsets) =>
        Avx512F.ConvertToVector512Double(Avx2.GatherVector256(g + tap, rowOffsets, 4));

    /// <summary>G′·(g0, g1, g2) at dst[i·stride], i = 0..8: G·(g0, g2) for the even points, then g1 four times.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform1D(Vector512<double> g0, Vector512<double> g1, Vector512<double> g2, Vector512<double>* dst, int stride)
    {
        Vector512<double> sixth = Vector512.Create(1.0 / 6), third = Vector512.Create(1.0 / 3);
        dst[0] = g0 * 0.5;
        dst[stride] = -(g0 + g2) * 0.5;
        dst[2 * stride] = (g2 - g0) * sixth;
        dst[3 * stride] = (g0 * sixth) + (g2 * third);
        dst[4 * stride] = g2;
        dst[5 * stride] = g1;
        dst[6 * stride] = g1;
        dst[7 * stride] = g1;
        dst[8 * stride] = g1;
    }

    /// <summary>
    /// Bᵀ·(e0..e4) of F(4, 2) with p = e3 − e1, q = e3 − e2: v0 = 2(e0 − e2) + p, v1 = q − 2e1, v2 = q + 2(e1 − e2),
    /// v3 = p, v4 = (e4 − e2) − 2p (two roundings on every path; absolute coefficients those of |Bᵀ|).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void BT(Vector256<float> e0, Vector256<float> e1, Vector256<float> e2, Vector256<float> e3, Vector256<float> e4,
        out Vector256<float> v0, out Vector256<float> v1, out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4)
    {
        Vector256<float> two = Vector256.Create(2f), minusTwo = Vector256.Create(-2f);
        Vector256<float> p = e3 - e1, q = e3 - e2;
        v0 = Fma.MultiplyAdd(two, e0 - e2, p);
        v1 = Fma.MultiplyAdd(minusTwo, e1, q);
        v2 = Fma.MultiplyAdd(two, e1 - e2, q);
        v3 = p;
        v4 = Fma.MultiplyAdd(minusTwo, p, e4 - e2);
    }

    /// <summary>
    /// 8 floats at <paramref name="src"/> where <paramref name="mask"/> is set, zero elsewhere: an AVX-512 masked load
    /// (the AVX <c>vmaskmovps</c> form made the input transform ~20% slower on Zen 4).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> Load(float* src, Vector256<float> mask) => Avx512F.VL.MaskLoad(src, mask, Vector256<float>.Zero);

    /// <summary>8×8 transpose: c_j[l] = r_l[j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8(Vector256<float> r0, Vector256<float> r1, Vector256<float> r2, Vector256<float> r3,
        Vector256<float> r4, Vector256<float> r5, Vector256<float> r6, Vector256<float> r7,
        out Vector256<float> c0, out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3,
        out Vector256<float> c4, out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7)
    {
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        c0 = Avx.Permute2x128(s0, s4, 0x20);
        c1 = Avx.Permute2x128(s1, s5, 0x20);
        c2 = Avx.Permute2x128(s2, s6, 0x20);
        c3 = Avx.Permute2x128(s3, s7, 0x20);
        c4 = Avx.Permute2x128(s0, s4, 0x31);
        c5 = Avx.Permute2x128(s1, s5, 0x31);
        c6 = Avx.Permute2x128(s2, s6, 0x31);
        c7 = Avx.Permute2x128(s3, s7, 0x31);
    }

    /// <summary>
    /// The row pass of the polyphase input transform for a run of up to 8 tiles of a tile row (one per 256-bit lane): each
    /// of the 9 patch rows at <paramref name="src"/> (rows iy0..iy0+8 of a W-wide plane of H rows, zero outside) is loaded
    /// by 8 masked loads and an 8×8 transpose (column 8 is column 0 of the next tile, or the element at src + 64 when
    /// <paramref name="lastValid"/>), its even columns go through Bᵀ of F(4, 2) and its odd ones are kept, into
    /// h[9·row + j] with even patch rows at rows 0..4 and odd ones at 5..8. Shared by the forward and backward-weight.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PatchRows(float* src, int W, int H, int iy0, Vector256<float>* mk, bool lastValid, Vector256<float>* h)
    {
        for (int i = 0; i < 9; i++)
        {
            // Even patch rows go to transformed rows 0..4, odd ones to 5..8.
            int row = (i & 1) == 0 ? i / 2 : 5 + (i / 2);
            Vector256<float>* hr = h + (9 * row);
            if ((uint)(iy0 + i) < (uint)H)
            {
                float* s = src + ((long)i * W);
                Transpose8(Load(s, mk[0]), Load(s + 8, mk[1]), Load(s + 16, mk[2]), Load(s + 24, mk[3]),
                    Load(s + 32, mk[4]), Load(s + 40, mk[5]), Load(s + 48, mk[6]), Load(s + 56, mk[7]), out Vector256<float> c0,
                    out Vector256<float> c1, out Vector256<float> c2, out Vector256<float> c3, out Vector256<float> c4,
                    out Vector256<float> c5, out Vector256<float> c6, out Vector256<float> c7);

                // Column 8 of tile l is column 0 of tile l + 1.
                Vector256<float> last = Vector256.CreateScalar(lastValid ? s[64] : 0f);
                Vector256<float> c8 = Avx512F.VL.AlignRight32(last.AsInt32(), c0.AsInt32(), 1).AsSingle();
                BT(c0, c2, c4, c6, c8, out hr[0], out hr[1], out hr[2], out hr[3], out hr[4]);
                hr[5] = c1;
                hr[6] = c3;
                hr[7] = c5;
                hr[8] = c7;
            }
            else
            {
                for (int j = 0; j < 9; j++)
                {
                    hr[j] = Vector256<float>.Zero;
                }
            }
        }
    }

    /// <summary>
    /// A′ᵀ·(m0..m8): Aᵀ of F(4, 2) on m0..m4 plus the odd points m5..m8, with a = m1 + m2, b = m1 − m2:
    /// y0 = ((m0 + a) + m3) + m5, y1 = (b + 2m3) + m6, y2 = (a + 4m3) + m7, y3 = ((b + 8m3) + m4) + m8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AT(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2, Vector256<float> m3, Vector256<float> m4,
        Vector256<float> m5, Vector256<float> m6, Vector256<float> m7, Vector256<float> m8,
        out Vector256<float> y0, out Vector256<float> y1, out Vector256<float> y2, out Vector256<float> y3)
    {
        Vector256<float> a = m1 + m2, b = m1 - m2;
        y0 = m0 + a + m3 + m5;
        y1 = Fma.MultiplyAdd(Vector256.Create(2f), m3, b) + m6;
        y2 = Fma.MultiplyAdd(Vector256.Create(4f), m3, a) + m7;
        y3 = Fma.MultiplyAdd(Vector256.Create(8f), m3, b) + m4 + m8;
    }

    /// <summary>Aᵀ of F(4, 2) on m0..m4, with a = m1 + m2, b = m1 − m2: y0 = (m0 + a) + m3, y1 = b + 2m3, y2 = a + 4m3, y3 = (b + 8m3) + m4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AT5(Vector256<float> m0, Vector256<float> m1, Vector256<float> m2, Vector256<float> m3, Vector256<float> m4,
        out Vector256<float> y0, out Vector256<float> y1, out Vector256<float> y2, out Vector256<float> y3)
    {
        Vector256<float> a = m1 + m2, b = m1 - m2;
        y0 = m0 + a + m3;
        y1 = Fma.MultiplyAdd(Vector256.Create(2f), m3, b);
        y2 = Fma.MultiplyAdd(Vector256.Create(4f), m3, a);
        y3 = Fma.MultiplyAdd(Vector256.Create(8f), m3, b) + m4;
    }

    /// <summary>
    /// Walks the cache lines of the rows [rowStart, rowEnd) that a block of tiles touches in a [N, channels, rows, width]
    /// tensor (rows clipped per image: from rowStart in the first image to rowEnd in the last, whole planes between),
    /// channel planes [ch0, ch0 + channels) of each image, and prefetches them a few lines per <see cref="Step"/>: spread
    /// over the block's GEMMs, which are compute-bound, the misses of the transforms that follow are taken off their path.
    /// </summary>
    private struct PrefetchCursor
    {
        /// <summary>Cache lines (1 MiB, a core's L2) past which a range is not prefetched.</summary>
        private const long MaxPrefetchLines = 1 << 14;

        private float* _base;
        private long _imageStride;
        private long _plane;
        private int _width;
        private int _rows;
        private int _ch0;
        private int _channels;
        private int _n0;
        private int _n1;
        private int _rowStart;
        private int _rowEnd;
        private int _n;
        private int _ch;
        private nint _p;
        private nint _end;
        private int _perStep;

        /// <summary>Sets the range; <paramref name="steps"/> calls of <see cref="Step"/> then cover it.</summary>
        public void Init(float* tensor, int channelsTotal, int rows, int width, int ch0, int channels, int n0, int rowStart, int n1, int rowEnd, int steps)
        {
            _base = tensor;
            _plane = (long)rows * width;
            _imageStride = channelsTotal * _plane;
            _width = width;
            _rows = rows;
            _ch0 = ch0;
            _channels = channels;
            _n0 = n0;
            _n1 = n1;
            _rowStart = Math.Clamp(rowStart, 0, rows);
            _rowEnd = Math.Clamp(rowEnd, 0, rows);
            _n = n0;
            _ch = -1;
            _p = 0;
            _end = 0;
            long rowsTotal = n1 == n0 ? Math.Max(0, _rowEnd - _rowStart) : (rows - _rowStart) + _rowEnd + ((long)(n1 - n0 - 1) * rows);
            long lines = (rowsTotal * width * channels / 16) + (2L * channels * (n1 - n0 + 1));
            _perStep = (int)Math.Min(int.MaxValue, (lines + steps - 1) / Math.Max(1, steps));
            if (lines > MaxPrefetchLines)
            {
                // More than L2 holds (large blocks of streamed-weight layers): it would only evict the block's own data.
                Clear();
            }
        }

        /// <summary>Clears the range: <see cref="Step"/> then does nothing.</summary>
        public void Clear()
        {
            _n = 1;
            _n1 = 0;
            _p = 0;
            _end = 0;
        }

        /// <summary>Prefetches the next lines of the range.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Step()
        {
            for (int left = _perStep; left > 0; left--)
            {
                if (_p >= _end && !Next())
                {
                    return;
                }

                Sse.Prefetch0((void*)_p);
                _p += 64;
            }
        }

        private bool Next()
        {
            while (_n <= _n1)
            {
                if (++_ch >= _channels)
                {
                    _ch = 0;
                    if (++_n > _n1)
                    {
                        return false;
                    }
                }

                int r0 = _n == _n0 ? _rowStart : 0, r1 = _n == _n1 ? _rowEnd : _rows;
                if (r1 <= r0)
                {
                    continue;
                }

                float* start = _base + (_n * _imageStride) + ((_ch0 + _ch) * _plane) + ((long)r0 * _width);
                _p = (nint)start & ~(nint)63;
                _end = (nint)(start + ((long)(r1 - r0) * _width));
                return true;
            }

            return false;
        }
    }

    private sealed class Job
    {
        public float* X;
        public float* Y;
        public float* Bias;
        public float* Residual;
        public bool Relu;
        public float* PackedU;
        public long UStride;
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

        /// <summary>Backward-data: X is dy (C = C_out channels, H × W = OH × OW), Y is dx (K = C_in, Oh × Ow = H × W).</summary>
        public bool Transposed;
        private int _tb;
        private int _kRange;
        private int _kSplits;
        private int _kGroup;

        public void Run()
        {
            // One 32-tile panel per block: with 81 planes a block's V is 81·C_in·32 floats (663 KB at 64 channels), which
            // then stays in L2 for the GEMMs and the whole-line stores of the input transform; larger blocks (128 tiles,
            // V 2.6 MB, M 5.3 MB) went through L3 and ran the downsample layer 47 ms against 33 (one thread).
            _tb = Nr;
            _kRange = K;
            if (UStride * Xi > LargeWeightFloats)
            {
                // As F(4×4): U does not stay in cache; larger tile blocks and output-channel ranges as the parallelism.
                _tb = Math.Clamp(2 * BlockFloats / (Xi * C) / Nr * Nr, Nr, Math.Max(Nr, (Tiles + Nr - 1) / Nr * Nr));
                _kRange = Math.Max(8 * Mr, (K / 4) + Mr - 1) / Mr * Mr;
            }

            // The GEMMs of 16 output channels, then their output transform: M (81·16·32 floats, 166 KB) is read back from
            // L2, and V (81·C·32) stays there for the next group. With 64 (M 663 KB, as large as V) the 81 GEMMs of a
            // group touched ~2.6 MB with U, so M and V went out to L3 between uses: −4–8% thread CPU on the downsample
            // layer with 16. Streamed weights (large tile blocks) keep 64, as U is then read once per group.
            _kGroup = Math.Min(_kRange, UStride * Xi > LargeWeightFloats ? 8 * Mr : 2 * Mr);
            _kSplits = (K + _kRange - 1) / _kRange;
            int blocks = (Tiles + _tb - 1) / _tb, items = blocks * _kSplits;
            KernelParallel.For(items, 20L * _kRange * C * _tb, Body, items);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Body(int start, int end)
        {
            GemmWorkspace workspace = GemmWorkspace.Current;
            long mStride = ((long)_kGroup * _tb) + XiPad;
            long vStride = ((long)C * _tb) + XiPad;
            float* v = workspace.B((int)(Xi * vStride));
            float* m = workspace.A((int)(Xi * mStride) + 16); // + 16: the output transform loads whole vectors past the last tile
            int transformed = -1;
            PrefetchCursor nextInput = default, output = default, residual = default;
            nextInput.Clear();
            output.Clear();
            residual.Clear();
            for (int item = start; item < end; item++)
            {
                int block = item / _kSplits, k0 = item % _kSplits * _kRange, kCount = Math.Min(_kRange, K - k0);
                int t0 = block * _tb, count = Math.Min(_tb, Tiles - t0);
                if (block != transformed)
                {
                    if (Transposed)
                    {
                        TransformInputTransposed(t0, count, v, vStride);
                    }
                    else
                    {
                        TransformInput(t0, count, v, vStride);
                    }

                    transformed = block;
                }

                int panels = (count + Nr - 1) / Nr;
                int groups = (kCount + _kGroup - 1) / _kGroup;
                int nextBlock = (item + 1) / _kSplits;
                if (nextBlock != block && nextBlock * _tb < Tiles)
                {
                    int nt0 = nextBlock * _tb;
                    InputRows(nt0, Math.Min(_tb, Tiles - nt0), out int n0, out int r0, out int n1, out int r1);
                    nextInput.Init(X, C, H, W, 0, C, n0, r0, n1, r1, groups * Xi);
                }
                else
                {
                    nextInput.Clear();
                }

                OutputRows(t0, count, out int on0, out int or0, out int on1, out int or1);
                for (int kg = k0; kg < k0 + kCount; kg += _kGroup)
                {
                    // While the group's GEMMs run: its output rows (and residual rows) and, spread over all the item's
                    // groups, the next block's input rows are prefetched.
                    int gCount = Math.Min(_kGroup, k0 + kCount - kg);
                    output.Init(Y, K, Oh, Ow, kg, gCount, on0, or0, on1, or1, Xi);
                    if (Residual != null)
                    {
                        residual.Init(Residual, K, Oh, Ow, kg, gCount, on0, or0, on1, or1, Xi);
                    }

                    for (int xi = 0; xi < Xi; xi++)
                    {
                        nextInput.Step();
                        output.Step();
                        residual.Step();

                        float* vXi = v + (xi * vStride);
                        float* mXi = m + (xi * mStride);
                        float* uXi = PackedU + (xi * UStride);
                        for (int s = 0; s < Slices; s++)
                        {
                            int p0 = s * KcMax, kc = Math.Min(KcMax, C - p0);
                            float* aSlice = uXi + ((long)K * p0);
                            for (int ir = kg; ir < kg + gCount; ir += Mr)
                            {
                                int rows = Math.Min(Mr, K - ir);
                                float* aPanel = aSlice + ((nint)ir * kc);
                                for (int tp = 0; tp < panels; tp++)
                                {
                                    float* bPanel = vXi + (((nint)tp * C) + p0) * Nr;
                                    GemmKernel512.Tile(rows, Math.Min(Nr, count - (tp * Nr)), kc, aPanel, bPanel, Nr,
                                        mXi + ((nint)(ir - kg) * _tb) + (tp * Nr), _tb, s > 0);
                                }
                            }
                        }
                    }

                    if (Transposed)
                    {
                        TransformOutputTransposed(t0, count, kg, gCount, m, mStride);
                    }
                    else
                    {
                        TransformOutput(t0, count, kg, gCount, m, mStride);
                    }
                }
            }
        }

        /// <summary>Input rows read by tiles [t0, t0 + count): from row <paramref name="r0"/> of image <paramref name="n0"/> to row <paramref name="r1"/> (exclusive) of image <paramref name="n1"/>.</summary>
        private void InputRows(int t0, int count, out int n0, out int r0, out int n1, out int r1)
        {
            TileRow(t0, out n0, out int ty0);
            TileRow(t0 + count - 1, out n1, out int ty1);
            (r0, r1) = Transposed ? ((4 * ty0) - 1, (4 * ty1) + 4) : ((8 * ty0) - PadTop, (8 * ty1) - PadTop + 9);
        }

        /// <summary>Output rows written by tiles [t0, t0 + count), as <see cref="InputRows"/>.</summary>
        private void OutputRows(int t0, int count, out int n0, out int r0, out int n1, out int r1)
        {
            TileRow(t0, out n0, out int ty0);
            TileRow(t0 + count - 1, out n1, out int ty1);
            (r0, r1) = Transposed ? ((8 * ty0) - PadTop, (8 * ty1) - PadTop + 8) : (4 * ty0, (4 * ty1) + 4);
        }

        private void TileRow(int tile, out int n, out int ty)
        {
            int perImage = TilesH * TilesW;
            n = tile / perImage;
            ty = (tile - (n * perImage)) / TilesW;
        }

        /// <summary>
        /// v[ξ][panel][c][lane] = (B′ᵀ d B′)[ξ] for tile t0 + panel·32 + lane and channel c; lanes past the block's tiles
        /// are zero. Runs of up to 8 tiles along a tile row, one tile per 256-bit lane.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int t0, int count, float* v, long xiStride)
        {
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector256<float>* h = stackalloc Vector256<float>[Xi];
            Vector256<int> lanes = Vector256<int>.Indices;
            Vector256<uint> width = Vector256.Create((uint)W);

            // Runs of up to 8 tiles within one tile row and one 32-tile panel: a run's vectors are stored whole (lanes
            // past it hold later tiles of the panel, stored after, or padding, zeroed after).
            int maxRuns = count + 8;
            int* runT = stackalloc int[maxRuns];
            int* runIy0 = stackalloc int[maxRuns];
            long* runSrc = stackalloc long[maxRuns];
            int* runLast = stackalloc int[maxRuns];
            Vector256<float>* masks = stackalloc Vector256<float>[8 * maxRuns];
            int runs = 0;
            for (int t = 0; t < count; runs++)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(Math.Min(8, count - t), TilesW - tx), Nr - (t % Nr));
                int iy0 = (8 * ty) - PadTop, ix0 = (8 * tx) - PadLeft;

                // Tile l's patch row is input columns ix0 + 8l + [0, 9): loads of 8 at ix0 + 8l (valid columns only) and
                // the element at ix0 + 64 for tile 7's last column.
                for (int l = 0; l < 8; l++)
                {
                    masks[(8 * runs) + l] = Vector256.LessThan((lanes + Vector256.Create(ix0 + (8 * l))).AsUInt32(), width).AsSingle();
                }

                runT[runs] = t;
                runIy0[runs] = iy0;
                runSrc[runs] = ((long)n * C * plane) + ((long)iy0 * W) + ix0;
                runLast[runs] = (uint)(ix0 + 64) < (uint)W ? 1 : 0;
                t += len;
            }

            // Panel by panel, channel by channel: the 81 destination rows of a (panel, channel) are filled while in L1.
            for (int first = 0; first < runs;)
            {
                int panel = runT[first] / Nr, end = first;
                while (end < runs && runT[end] / Nr == panel)
                {
                    end++;
                }

                for (int ch = 0; ch < C; ch++)
                {
                    for (int run = first; run < end; run++)
                    {
                        Vector256<float>* mk = masks + (8 * run);
                        float* src = X + runSrc[run] + ((long)ch * plane);
                        int iy0 = runIy0[run];
                        bool lastValid = runLast[run] != 0;
                        PatchRows(src, W, H, iy0, mk, lastValid, h);

                        int t = runT[run];
                        float* dst = v + ((long)panel * C * Nr) + ((long)ch * Nr) + (t % Nr);
                        for (int j = 0; j < 9; j++)
                        {
                            BT(h[j], h[9 + j], h[18 + j], h[27 + j], h[36 + j], out Vector256<float> v0, out Vector256<float> v1,
                                out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4);
                            float* dj = dst + (j * xiStride);
                            v0.Store(dj);
                            v1.Store(dj + (9 * xiStride));
                            v2.Store(dj + (18 * xiStride));
                            v3.Store(dj + (27 * xiStride));
                            v4.Store(dj + (36 * xiStride));
                            h[45 + j].Store(dj + (45 * xiStride));
                            h[54 + j].Store(dj + (54 * xiStride));
                            h[63 + j].Store(dj + (63 * xiStride));
                            h[72 + j].Store(dj + (72 * xiStride));
                        }
                    }
                }

                first = end;
            }

            ZeroPastLastTile(count, v, xiStride);
        }

        /// <summary>
        /// Zeroes the lanes of V past the block's last tile (the GEMM reads whole panels); called after the runs, whose
        /// whole-vector stores may have written there.
        /// </summary>
        private void ZeroPastLastTile(int count, float* v, long xiStride)
        {
            int padded = (count + Nr - 1) / Nr * Nr;
            for (int t = count; t < padded; t++)
            {
                float* dst = v + ((long)(t / Nr) * C * Nr) + (t % Nr);
                for (int ch = 0; ch < C; ch++)
                {
                    for (int xi = 0; xi < Xi; xi++)
                    {
                        dst[(xi * xiStride) + ((long)ch * Nr)] = 0f;
                    }
                }
            }
        }

        /// <summary>
        /// y = A′ᵀ M A′ + bias for the block's tiles, 8 consecutive tiles per 256-bit vector whatever tile rows they lie in
        /// (the transform is lane-wise; only the stores depend on where a tile lies): a 4×8 transpose puts each tile's 4
        /// outputs of a row together, two neighbouring tiles of one tile row are stored as one vector, others 4 floats at
        /// a time, with the epilogue (outputs past OH or OW dropped).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutput(int t0, int count, int k0, int kCount, float* m, long xiStride)
        {
            int perImage = TilesH * TilesW;
            long planeOut = (long)Oh * Ow;
            Vector256<float>* z = stackalloc Vector256<float>[36];

            // Per tile: the offset of its top-left output in channel 0, its valid rows and columns; per pair (2s, 2s + 1)
            // whether the two are neighbours of one tile row with all 4 columns valid (one 8-float store per row).
            int padded = (count + 7) & ~7;
            long* offsets = stackalloc long[padded];
            int* rows = stackalloc int[padded];
            int* cols = stackalloc int[padded];
            bool* pairs = stackalloc bool[padded / 2];
            for (int t = 0; t < padded; t++)
            {
                if (t >= count)
                {
                    offsets[t] = 0;
                    rows[t] = 0;
                    cols[t] = 0;
                    continue;
                }

                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                offsets[t] = ((long)n * K * planeOut) + ((long)4 * ty * Ow) + (4 * tx);
                rows[t] = Math.Min(4, Oh - (4 * ty));
                cols[t] = Math.Min(4, Ow - (4 * tx));
            }

            for (int s = 0; s < padded / 2; s++)
            {
                int a = 2 * s;
                pairs[s] = a + 1 < count && cols[a] == 4 && cols[a + 1] == 4 && offsets[a + 1] == offsets[a] + 4;
            }

            for (int o = k0; o < k0 + kCount; o++)
            {
                long channel = (long)o * planeOut;
                Vector256<float> bias = Bias != null ? Vector256.Create(Bias[o]) : Vector256<float>.Zero;
                for (int t = 0; t < count; t += 8)
                {
                    float* mt = m + ((long)(o - k0) * _tb) + t;

                    // A′ᵀ down each column j of M: z[9r + j].
                    for (int j = 0; j < 9; j++)
                    {
                        float* mj = mt + (j * xiStride);
                        AT(Vector256.Load(mj), Vector256.Load(mj + (9 * xiStride)), Vector256.Load(mj + (18 * xiStride)),
                            Vector256.Load(mj + (27 * xiStride)), Vector256.Load(mj + (36 * xiStride)), Vector256.Load(mj + (45 * xiStride)),
                            Vector256.Load(mj + (54 * xiStride)), Vector256.Load(mj + (63 * xiStride)), Vector256.Load(mj + (72 * xiStride)),
                            out z[j], out z[9 + j], out z[18 + j], out z[27 + j]);
                    }

                    for (int rr = 0; rr < 4; rr++)
                    {
                        Vector256<float>* zr = z + (9 * rr);
                        AT(zr[0], zr[1], zr[2], zr[3], zr[4], zr[5], zr[6], zr[7], zr[8], out Vector256<float> y0, out Vector256<float> y1,
                            out Vector256<float> y2, out Vector256<float> y3);
                        if (Bias != null)
                        {
                            y0 += bias;
                            y1 += bias;
                            y2 += bias;
                            y3 += bias;
                        }

                        // 4×8 transpose: q_s holds tiles 2s and 2s + 1, 4 consecutive outputs each.
                        Vector256<float> u0 = Avx.UnpackLow(y0, y1), u1 = Avx.UnpackHigh(y0, y1);
                        Vector256<float> u2 = Avx.UnpackLow(y2, y3), u3 = Avx.UnpackHigh(y2, y3);
                        Vector256<float> p0 = Avx.UnpackLow(u0.AsDouble(), u2.AsDouble()).AsSingle();
                        Vector256<float> p1 = Avx.UnpackHigh(u0.AsDouble(), u2.AsDouble()).AsSingle();
                        Vector256<float> p2 = Avx.UnpackLow(u1.AsDouble(), u3.AsDouble()).AsSingle();
                        Vector256<float> p3 = Avx.UnpackHigh(u1.AsDouble(), u3.AsDouble()).AsSingle();
                        long rowOffset = channel + ((long)rr * Ow);
                        StorePair(Avx.Permute2x128(p0, p1, 0x20), t, rr, rowOffset, offsets, rows, cols, pairs);
                        StorePair(Avx.Permute2x128(p2, p3, 0x20), t + 2, rr, rowOffset, offsets, rows, cols, pairs);
                        StorePair(Avx.Permute2x128(p0, p1, 0x31), t + 4, rr, rowOffset, offsets, rows, cols, pairs);
                        StorePair(Avx.Permute2x128(p2, p3, 0x31), t + 6, rr, rowOffset, offsets, rows, cols, pairs);
                    }
                }
            }
        }

        /// <summary>Row <paramref name="rr"/> of tiles a and a + 1 (4 outputs each in <paramref name="value"/>'s halves), with the epilogue.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StorePair(Vector256<float> value, int a, int rr, long rowOffset, long* offsets, int* rows, int* cols, bool* pairs)
        {
            if (pairs[a / 2] && rr < rows[a])
            {
                long at = rowOffset + offsets[a];
                StoreRun(Y + at, Residual == null ? null : Residual + at, value, 0, 8);
                return;
            }

            for (int h = 0; h < 2; h++)
            {
                int t = a + h;
                if (rr < rows[t])
                {
                    long at = rowOffset + offsets[t];
                    ConvEpilogue.StoreQuad(Y + at, Residual == null ? null : Residual + at, Relu, h == 0 ? value.GetLower() : value.GetUpper(), cols[t]);
                }
            }
        }

        /// <summary>Stores outputs at..at + 7 of a run's row that lie within <paramref name="cols"/>, with residual and ReLU.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreRun(float* dst, float* residual, Vector256<float> value, int at, int cols)
        {
            // The same operations as ConvEpilogue.ApplyRow: + residual, then x < 0 → 0 (NaN and −0 kept).
            if (at + 8 <= cols)
            {
                if (residual != null)
                {
                    value += Vector256.Load(residual + at);
                }

                if (Relu)
                {
                    value = Vector256.ConditionalSelect(Vector256.LessThan(value, Vector256<float>.Zero), Vector256<float>.Zero, value);
                }

                value.Store(dst + at);
                return;
            }

            for (int c = at; c < cols; c++)
            {
                float e = value.GetElement(c - at);
                if (residual != null)
                {
                    e += residual[c];
                }

                dst[c] = Relu && e < 0f ? 0f : e;
            }
        }

        /// <summary>
        /// Backward-data input transform: v[ξ][panel][c][lane] from the 5×5 dy patch at (4·ty − 1, 4·tx − 1) of each tile
        /// (zeros outside dy), runs of up to 8 tiles per vector as <see cref="TransformInput"/>. Tile l's patch row is dy
        /// columns 4(tx + l) − 1 + [0, 5): four loads of 8 and a transpose give columns 0..3, column 4 is column 0 of the
        /// next tile.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInputTransposed(int t0, int count, float* v, long xiStride)
        {
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector256<float>* h = stackalloc Vector256<float>[45];
            Vector256<int> lanes = Vector256<int>.Indices;
            Vector256<uint> width = Vector256.Create((uint)W);
            int maxRuns = count + 8;
            int* runT = stackalloc int[maxRuns];
            int* runIy0 = stackalloc int[maxRuns];
            long* runSrc = stackalloc long[maxRuns];
            int* runLast = stackalloc int[maxRuns];
            Vector256<float>* masks = stackalloc Vector256<float>[4 * maxRuns];
            int runs = 0;
            for (int t = 0; t < count; runs++)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(Math.Min(8, count - t), TilesW - tx), Nr - (t % Nr));
                int iy0 = (4 * ty) - 1, ix0 = (4 * tx) - 1;
                for (int q = 0; q < 4; q++)
                {
                    masks[(4 * runs) + q] = Vector256.LessThan((lanes + Vector256.Create(ix0 + (8 * q))).AsUInt32(), width).AsSingle();
                }

                runT[runs] = t;
                runIy0[runs] = iy0;
                runSrc[runs] = ((long)n * C * plane) + ((long)iy0 * W) + ix0;
                runLast[runs] = (uint)(ix0 + 32) < (uint)W ? 1 : 0;
                t += len;
            }

            for (int first = 0; first < runs;)
            {
                int panel = runT[first] / Nr, end = first;
                while (end < runs && runT[end] / Nr == panel)
                {
                    end++;
                }

                for (int ch = 0; ch < C; ch++)
                {
                    for (int run = first; run < end; run++)
                    {
                        Vector256<float>* mk = masks + (4 * run);
                        float* src = X + runSrc[run] + ((long)ch * plane);
                        int iy0 = runIy0[run];
                        bool lastValid = runLast[run] != 0;
                        for (int i = 0; i < 5; i++)
                        {
                            Vector256<float>* hr = h + (9 * i);
                            if ((uint)(iy0 + i) < (uint)H)
                            {
                                float* s = src + ((long)i * W);

                                // 8 tiles × 4 columns, two tiles per load: bring tile l to 128-bit lane (l / 4) of
                                // vector l % 4, then a 4×4 transpose within the lanes.
                                Vector256<float> r0 = Load(s, mk[0]), r1 = Load(s + 8, mk[1]), r2 = Load(s + 16, mk[2]), r3 = Load(s + 24, mk[3]);
                                Vector256<float> a0 = Avx.Permute2x128(r0, r2, 0x20), a1 = Avx.Permute2x128(r0, r2, 0x31);
                                Vector256<float> a2 = Avx.Permute2x128(r1, r3, 0x20), a3 = Avx.Permute2x128(r1, r3, 0x31);
                                Vector256<float> u0 = Avx.UnpackLow(a0, a1), u1 = Avx.UnpackHigh(a0, a1);
                                Vector256<float> u2 = Avx.UnpackLow(a2, a3), u3 = Avx.UnpackHigh(a2, a3);
                                Vector256<float> c0 = Avx.UnpackLow(u0.AsDouble(), u2.AsDouble()).AsSingle();
                                Vector256<float> c1 = Avx.UnpackHigh(u0.AsDouble(), u2.AsDouble()).AsSingle();
                                Vector256<float> c2 = Avx.UnpackLow(u1.AsDouble(), u3.AsDouble()).AsSingle();
                                Vector256<float> c3 = Avx.UnpackHigh(u1.AsDouble(), u3.AsDouble()).AsSingle();
                                Vector256<float> last = Vector256.CreateScalar(lastValid ? s[32] : 0f);
                                Vector256<float> c4 = Avx512F.VL.AlignRight32(last.AsInt32(), c0.AsInt32(), 1).AsSingle();
                                BT(c0, c1, c2, c3, c4, out hr[0], out hr[1], out hr[2], out hr[3], out hr[4]);
                                hr[5] = c1;
                                hr[6] = c2;
                                hr[7] = c3;
                                hr[8] = c4;
                            }
                            else
                            {
                                for (int j = 0; j < 9; j++)
                                {
                                    hr[j] = Vector256<float>.Zero;
                                }
                            }
                        }

                        int t = runT[run];
                        float* dst = v + ((long)panel * C * Nr) + ((long)ch * Nr) + (t % Nr);
                        for (int j = 0; j < 9; j++)
                        {
                            BT(h[j], h[9 + j], h[18 + j], h[27 + j], h[36 + j], out Vector256<float> v0, out Vector256<float> v1,
                                out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4);
                            float* dj = dst + (j * xiStride);
                            v0.Store(dj);
                            v1.Store(dj + (9 * xiStride));
                            v2.Store(dj + (18 * xiStride));
                            v3.Store(dj + (27 * xiStride));
                            v4.Store(dj + (36 * xiStride));
                            h[9 + j].Store(dj + (45 * xiStride));
                            h[18 + j].Store(dj + (54 * xiStride));
                            h[27 + j].Store(dj + (63 * xiStride));
                            h[36 + j].Store(dj + (72 * xiStride));
                        }
                    }
                }

                first = end;
            }

            ZeroPastLastTile(count, v, xiStride);
        }

        /// <summary>
        /// Backward-data output transform: the 8×8 dx tile at (8·ty − p_t, 8·tx − p_l), rows and columns in the order
        /// even 0, odd 0, even 1, … (Aᵀ of F(4, 2) on points 0..4, points 5..8 as they are); an 8×8 transpose puts each
        /// tile's 8 outputs of a row together; outputs outside dx are dropped.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutputTransposed(int t0, int count, int k0, int kCount, float* m, long xiStride)
        {
            int perImage = TilesH * TilesW;
            long planeOut = (long)Oh * Ow;
            Vector256<float>* z = stackalloc Vector256<float>[72];
            Vector256<float>* rowOut = stackalloc Vector256<float>[8];
            for (int o = k0; o < k0 + kCount; o++)
            {
                for (int t = 0; t < count;)
                {
                    int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                    int len = Math.Min(Math.Min(8, count - t), TilesW - tx);
                    int y0 = (8 * ty) - PadTop, x0 = (8 * tx) - PadLeft;
                    float* mt = m + ((long)(o - k0) * _tb) + t;

                    // Down each column j of M: z[9r + j] for dx rows r = 0..7 of the tile.
                    for (int j = 0; j < 9; j++)
                    {
                        float* mj = mt + (j * xiStride);
                        AT5(Vector256.Load(mj), Vector256.Load(mj + (9 * xiStride)), Vector256.Load(mj + (18 * xiStride)),
                            Vector256.Load(mj + (27 * xiStride)), Vector256.Load(mj + (36 * xiStride)),
                            out z[j], out z[18 + j], out z[36 + j], out z[54 + j]);
                        z[9 + j] = Vector256.Load(mj + (45 * xiStride));
                        z[27 + j] = Vector256.Load(mj + (54 * xiStride));
                        z[45 + j] = Vector256.Load(mj + (63 * xiStride));
                        z[63 + j] = Vector256.Load(mj + (72 * xiStride));
                    }

                    float* plane = Y + (((long)n * K) + o) * planeOut;
                    for (int rr = 0; rr < 8; rr++)
                    {
                        int y = y0 + rr;
                        if ((uint)y >= (uint)Oh)
                        {
                            continue;
                        }

                        Vector256<float>* zr = z + (9 * rr);
                        AT5(zr[0], zr[1], zr[2], zr[3], zr[4], out Vector256<float> e0, out Vector256<float> e1,
                            out Vector256<float> e2, out Vector256<float> e3);
                        Transpose8(e0, zr[5], e1, zr[6], e2, zr[7], e3, zr[8], out rowOut[0], out rowOut[1], out rowOut[2],
                            out rowOut[3], out rowOut[4], out rowOut[5], out rowOut[6], out rowOut[7]);
                        float* row = plane + ((long)y * Ow);
                        for (int l = 0; l < len; l++)
                        {
                            int x = x0 + (8 * l);
                            if (x >= 0 && x + 8 <= Ow)
                            {
                                rowOut[l].Store(row + x);
                            }
                            else
                            {
                                for (int e = Math.Max(0, -x); e < 8 && x + e < Ow; e++)
                                {
                                    row[x + e] = rowOut[l].GetElement(e);
                                }
                            }
                        }
                    }

                    t += len;
                }
            }
        }
    }
}
