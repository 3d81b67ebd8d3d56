using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Winograd F(4×4, 3×3) convolution for 3×3, stride-1, undilated, ungrouped layers (variant
/// <c>Conv2dWinograd4x4</c>, AVX-512; Lavin and Gray, arXiv:1509.09308). Each 4×4 output tile is
/// Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A over its 6×6 input patch d, summed over input channels: per element ξ of the
/// 6×6 transformed tile that sum is a GEMM, M_ξ (C_out × tiles) = U_ξ (C_out × C_in) · V_ξ (C_in × tiles),
/// 36 GEMMs of 4× fewer multiply-adds than the direct convolution (36/16 = 2.25 per output against 9).
/// </summary>
/// <remarks>
/// <para>Matrices (interpolation points 0, ±1, ±2, ∞):
/// Bᵀ = [4 0 −5 0 1 0; 0 −4 −4 1 1 0; 0 4 −4 −1 1 0; 0 −2 −1 2 1 0; 0 2 −1 −2 1 0; 0 4 0 −5 0 1],
/// G = [¼ 0 0; −⅙ −⅙ −⅙; −⅙ ⅙ −⅙; 1/24 1/12 ⅙; 1/24 −1/12 ⅙; 0 0 1],
/// Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 0; 0 1 1 4 4 0; 0 1 −1 8 −8 1]. Input patches start at (4·ty − p_t, 4·tx − p_l);
/// taps outside the input read zero (any padding), outputs past OH or OW in the last tile row or column are dropped.</para>
/// <para>Organisation as <see cref="Conv2dWinograd"/>: the weights are transformed (in double, rounded once) straight
/// into the micro-panel layout of the <see cref="GemmKernel512"/> A operand; tiles go in blocks, each block's input
/// transform writes B panels (36 × C_in × tiles), the 36 GEMMs fill a dense M block and the output transform adds
/// the bias and stores. Blocks depend on the geometry only and every output element is computed by the same
/// operations whatever the split, so results are bitwise identical for any thread count.</para>
/// <para>Accuracy: the transforms multiply by up to 5 (Bᵀ) and 8 (Aᵀ), so rounding errors are amplified against the
/// direct sum; docs/performance.md gives the componentwise bound the tests check and the errors measured.</para>
/// <para>Given a 5×5 geometry the same code runs F(2×2, 5×5) (<see cref="Conv2dWinograd5x5"/>; same Bᵀ, 6×6 tiles, 2×2
/// outputs, <see cref="TileOf"/>): only the weight transform, the input rows' stride and the output transform
/// differ. Supports, selection and backward-data's padding stay 3×3 here.</para>
/// </remarks>
internal static unsafe class Conv2dWinograd4x4
{
    private const int Kc = 256;

    /// <summary>The calling thread's transformed-weight buffer (36·C_out·C_in floats of the largest layer seen).</summary>
    [ThreadStatic]
    private static float[]? s_packed;
    private const int Nr = 32;
    private const int Mr = 8;

    /// <summary>
    /// Floats of a block's transformed input and output (36 × (C_in + C_out) × tiles) aimed at: 1 MiB, L2's size, which
    /// gives the floor of 32 tiles from 64 channels up. With 8 MiB blocks (as F(2×2)) V and M went through L3 and the
    /// two threads fought for it: ResNet layer1 N32 forward ran 54 ms on 1 thread and 27 ms on 2; with 1 MiB 34 and
    /// 16 ms (docs/performance.md, branch w4scale). Blocks still depend on the geometry only.
    /// </summary>
    private const int BlockFloats = 1 << 18;

    /// <summary>Floats of V per block when U is streamed (<see cref="LargeWeightFloats"/>): 16 MiB, fewer passes over U.</summary>
    private const int LargeBlockFloats = 1 << 22;

    /// <summary>
    /// The same for F(2×2, 5×5): about 1.3 MiB, near L2's 1 MiB, so the GEMMs read V and the output transform reads M from
    /// L2. Its blocks hold 4× more tiles per output than F(4×4)'s for the same bytes; on MNIST's conv2 (96 tiles per
    /// block instead of 416) this ran the forward 1.15× and backward-data 1.25× faster (one thread).
    /// </summary>
    private const int BlockFloats2x2By5x5 = (1 << 21) / 6;

    /// <summary>
    /// Tile rows at least this wide run the row path (16 neighbouring tiles of a tile row from unit-stride loads and
    /// permutes); narrower maps (7×7: 2 tiles, 14×14: 4, 28×28: 7) take 16 consecutive tiles across rows and images
    /// through a gather table, so vectors stay full.
    /// </summary>
    private const int MinRowTiles = 12;

    /// <summary>Tile rows this narrow or wider, up to <see cref="MaxWindowTiles"/>, take the window path instead of the gathers.</summary>
    private const int MinWindowTiles = 4;

    /// <summary>Widest tile row whose patches fit one 32-float window (4·7 + 2 = 30 columns).</summary>
    private const int MaxWindowTiles = 7;

    /// <summary>Tests only: narrow maps take the gathers instead of the window path (which must give the same bits).</summary>
    internal static bool GathersOnlyForTests { get; set; }

    /// <summary>Direct-minus-Winograd multiply-adds per (input, output) channel pair below which the weight transform does not pay.</summary>
    private const long MinSavedPerChannelPair = 2560;

    /// <summary>
    /// Floats added to the stride between the 36 ξ planes of U, V and M (one cache line). Without it the planes lie a
    /// multiple of 4 KiB apart, and the transforms, which touch all 36 at the same offset, thrash one L1 set (8 ways):
    /// the weight transform of a 512→512 layer took ~25 ms instead of ~2.
    /// </summary>
    private const int XiPad = 16;

    /// <summary>Floats of transformed weights (36·C_out·C_in) past which they are streamed to memory and split by output channel: 16 MiB.</summary>
    private const long LargeWeightFloats = 4L << 20;

    /// <summary>
    /// Work items a call is cut into at least, where its tile blocks are fewer (batch 1), by ranges of output channels:
    /// with 8 items of equal cost two threads end within an eighth of the call of each other, and a helper that joins
    /// late leaves the caller items to take instead of one half to wait for.
    /// </summary>
    private const int MinItems = 8;

    /// <summary>Least GEMM multiply-adds of an item made by splitting a block by output channels (~0.1 ms on one core).</summary>
    private const long MinItemWork = 1L << 23;

    /// <summary>Tile blocks below which a call is split by output channels too (<see cref="MinItems"/>).</summary>
    private const int MinBlocks = 4;



    /// <summary>Tells whether the variant can run <paramref name="g"/>: 3×3, stride 1, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx2.IsSupported && g.KernelH == 3 && g.KernelW == 3
        && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1;

    /// <summary>Tells whether backward-data can run as a flipped forward through this variant (padding ≤ 2 on every side).</summary>
    public static bool SupportsBackwardData(in Conv2dGeometry g) =>
        Supports(g) && Math.Max(Math.Max(g.PadTop, g.PadBottom), Math.Max(g.PadLeft, g.PadRight)) <= 2;

    /// <summary>
    /// Worth choosing over F(2×2) and the implicit GEMM: at least 32 input and 32 output channels (with 16 the
    /// transforms, O(C_in + C_out) per tile, outweigh the 36 GEMMs, O(C_in·C_out): CIFAR's 16→16 layer ran 1.4× slower
    /// than F(2×2)), and per pair of channels at least <see cref="MinSavedPerChannelPair"/> fewer multiply-adds than
    /// the direct convolution, 9·N·OH·OW − 36·tiles, to pay for transforming the weights on every call
    /// (36·C_out·C_in floats; kernels keep no state). Measured on ResNet-18's and CIFAR ResNet-20's layers
    /// (docs/performance.md): ResNet-18 layer3 at batch 1 (1188 saved) ran 1.2× slower than the implicit GEMM, layer2
    /// at batch 1 (5292) 1.9× faster, and every batch-16/32/128 layer from 32 channels up 1.5–2.4× faster than the
    /// implicit GEMM and 1.2–2.3× faster than F(2×2).
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 32 && g.OutChannels >= 32
        && (9L * g.Batch * g.OutHeight * g.OutWidth) - (36L * g.Batch * ((g.OutHeight + 3) / 4) * ((g.OutWidth + 3) / 4)) >= MinSavedPerChannelPair;

    /// <summary>
    /// Worth choosing when the weights are prepared (<see cref="Conv2dPreparedWeights"/>, transformed once):
    /// <see cref="Prefers"/>, or from 32 input and output channels whenever the transformed weights (36·C_out·C_in
    /// floats) stay within <see cref="LargeWeightFloats"/>, since there is no transform left to pay for but every call
    /// still reads them. Measured at batch 1, 1 thread (docs/performance.md): ResNet-18 layer3 (9.4 MB of U) ran in
    /// 1.2–1.3 ms against 2.7 ms on <c>Conv2dDirectBlocked</c>; layer4 (37.7 MB, streamed from memory) in 5.1 ms
    /// against 3.5 ms on the implicit GEMM, so it stays there.
    /// </summary>
    public static bool PrefersPrepared(in Conv2dGeometry g) =>
        Prefers(g) || (Supports(g) && g.InChannels >= 32 && g.OutChannels >= 32 && 36L * g.InChannels * g.OutChannels <= LargeWeightFloats);

    /// <summary>
    /// The forward geometry whose result is backward-data of <paramref name="g"/> (dy in, dx out, padding r − 1 − p for an
    /// r×r kernel: 2 − p for 3×3, 4 − p for 5×5).
    /// </summary>
    public static Conv2dGeometry Transposed(in Conv2dGeometry g) =>
        new(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, g.KernelH, g.KernelW, 1, 1,
            g.KernelH - 1 - g.PadTop, g.KernelW - 1 - g.PadLeft, g.KernelH - 1 - g.PadBottom, g.KernelW - 1 - g.PadRight);

    /// <summary>Output tile size m of the kernel size of <paramref name="g"/>: 4 for F(4×4, 3×3), 2 for F(2×2, 5×5) (both 6×6 input tiles).</summary>
    internal static int TileOf(in Conv2dGeometry g) => g.KernelH == 5 ? 2 : 4;

    /// <summary>y = conv(x, w) + b; <paramref name="bias"/> may be null.</summary>
    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y) =>
        Forward(x, w, new ConvEpilogue(bias, null, false), g, y);

    /// <summary>Floats of the transformed, packed weights of <paramref name="g"/> (<see cref="PackWeights"/>), alignment slack included.</summary>
    public static long PackedWeightLength(in Conv2dGeometry g) => (36 * UStrideOf(g.OutChannels, g.InChannels)) + 16;

    /// <summary>
    /// Transforms (G g Gᵀ) and packs the weights as <see cref="Forward(float*, float*, in ConvEpilogue, in Conv2dGeometry, float*, float*)"/>
    /// does on each call, for reuse across calls (the layout depends on C_out and C_in only). <paramref name="packed"/>
    /// holds <see cref="PackedWeightLength"/> floats and must not move between this call and its uses (pinned): the
    /// panels start at its first 64-byte boundary.
    /// </summary>
    public static void PackWeights(float* w, in Conv2dGeometry g, float* packed)
    {
        int c = g.InChannels, k = g.OutChannels;
        int slices = (c + Kc - 1) / Kc, kcMax = (c + slices - 1) / slices;
        TransformWeights(w, WeightLayout.Of(g), g.KernelH, k, c, slices, kcMax, Align64(packed), UStrideOf(k, c));
    }

    /// <summary>
    /// y = epilogue(conv(x, w)): the bias is added as the plain convolution adds it, then the residual and ReLU of
    /// <paramref name="epilogue"/> are applied to each finished 4-float output piece before it is stored, so the result
    /// is bit for bit the plain convolution followed by <see cref="ConvEpilogue.ApplyRow"/>.
    /// <paramref name="prepacked"/>, when not null, is <see cref="PackWeights"/>'s output for these weights (pinned), and
    /// <paramref name="w"/> is then not read.
    /// </summary>
    public static void Forward(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked = null) =>
        Forward(x, w, WeightLayout.Of(g), epilogue, g, y, prepacked);

    /// <summary>As the public overload, with the weights of <paramref name="g"/> read through <paramref name="layout"/>.</summary>
    private static void Forward(float* x, float* w, in WeightLayout layout, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked)
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
            // Exactly what the largest layer needs (the shared array pool would round 36 MiB up to 64 MiB), pinned, kept
            // per calling thread like the GEMM workspaces.
            s_packed = null; // let the old buffer go before the new one is allocated
            s_packed = GC.AllocateUninitializedArray<float>(need, pinned: true);
        }

        fixed (float* pp = s_packed)
        {
            float* pa = Align64(pp); // 64-byte aligned: whole-line streaming stores
            TransformWeights(w, layout, g.KernelH, k, c, slices, kcMax, pa, uStride);
            Run(x, y, epilogue, g, pa, uStride, kcMax, slices);
        }
    }

    private static long UStrideOf(int k, int c) => ((((long)k * c) + 15) & ~15L) + XiPad;

    private static float* Align64(float* p) => (float*)(((nint)p + 63) & ~(nint)63);

    private static void Run(float* x, float* y, in ConvEpilogue epilogue, in Conv2dGeometry g, float* pa, long uStride, int kcMax, int slices)
    {
        int tile = TileOf(g), tilesH = (g.OutHeight + tile - 1) / tile, tilesW = (g.OutWidth + tile - 1) / tile;
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
            Tile = tile,
            TilesH = tilesH,
            TilesW = tilesW,
            Tiles = g.Batch * tilesH * tilesW,
            KcMax = kcMax,
            Slices = slices,
        };
        job.Run();
    }

    /// <summary>
    /// dx = ∂L/∂x (<see cref="SupportsBackwardData"/>): the forward convolution of dy, padded by 2 − p, with w flipped in
    /// both axes and its in/out channels swapped.
    /// </summary>
    /// <remarks>
    /// The flipped, transposed weights are never copied: the weight transform reads w[o, c, r − 1 − a, r − 1 − b] where the
    /// forward reads its own kernel's tap (a, b) (<see cref="WeightLayout.FlippedTransposed"/>), so U is bit for bit what
    /// transforming the flipped copy gave. The copy (<see cref="ConvWeightFlip"/>, 9.4 MB for ResNet's 512→512 layer)
    /// cost ~2 ms per call on two threads in the training-step profile.
    /// </remarks>
    public static void BackwardData(float* dy, float* w, in Conv2dGeometry g, float* dx) =>
        Forward(dy, w, WeightLayout.FlippedTransposed(g), new ConvEpilogue(null, null, false), Transposed(g), dx, null);

    /// <summary>
    /// Where tap τ of kernel (row r, channel p) of the GEMM's A operand lies: w[r·<see cref="RowStride"/> +
    /// p·<see cref="ChannelStride"/> + τ] (forward), or at taps − 1 − τ (<see cref="Flipped"/>: backward-data).
    /// </summary>
    private readonly record struct WeightLayout(int RowStride, int ChannelStride, bool Flipped)
    {
        /// <summary>The forward's own weights of <paramref name="g"/>: w[o, c, τ].</summary>
        public static WeightLayout Of(in Conv2dGeometry g) =>
            new(g.InChannels * g.KernelH * g.KernelW, g.KernelH * g.KernelW, false);

        /// <summary>
        /// Backward-data of <paramref name="g"/> run as the forward <see cref="Transposed"/>(g): its kernel (row c, channel
        /// o) is w[o, c] flipped in both axes, wt[c, o, τ] = w[o, c, taps − 1 − τ].
        /// </summary>
        public static WeightLayout FlippedTransposed(in Conv2dGeometry g) =>
            new(g.KernelH * g.KernelW, g.InChannels * g.KernelH * g.KernelW, true);
    }

    /// <summary>
    /// U_ξ = G g Gᵀ for every kernel g = w[o, c], computed in double for 8 output channels at a time (the 8 rows of an A
    /// micro-panel) and written in <see cref="Mr"/>-row micro-panel layout: ξ block at ξ·<paramref name="uStride"/>, k
    /// slice s at K·p0, panel of rows ir at ir·kc, element (row r, channel p) at p·rows + r (the layout
    /// <c>GemmPacking.PackA</c> writes).
    /// </summary>
    private static void TransformWeights(float* w, in WeightLayout layout, int kernel, int k, int c, int slices, int kcMax, float* packed, long uStride)
    {
        WeightLayout lay = layout;
        nint ws = (nint)w, ps = (nint)packed;
        int panels = (k + Mr - 1) / Mr;

        // U is 4× the weights (36 MiB at 512→512): past L3's share, write it with streaming stores (no read for
        // ownership); smaller U stay cached for the GEMMs that follow.
        bool stream = 36L * k * c > LargeWeightFloats;
        KernelParallel.For(panels, (long)Mr * c * 100, (start, end) =>
        {
            for (int panel = start; panel < end; panel++)
            {
                TransformWeightPanel((float*)ws, lay, kernel, k, c, slices, kcMax, panel * Mr, (float*)ps, uStride, stream);
            }

            if (stream)
            {
                Sse.StoreFence();
            }
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransformWeightPanel(float* w, in WeightLayout layout, int kernel, int k, int c, int slices, int kcMax, int ir, float* packed, long uStride, bool stream)
    {
        int rows = Math.Min(Mr, k - ir);
        Vector512<double>* t = stackalloc Vector512<double>[30];
        Vector512<double>* u = stackalloc Vector512<double>[72];
        Vector256<float>* o = stackalloc Vector256<float>[9];
        Vector256<float>* uf = stackalloc Vector256<float>[72];

        // Lanes past the last output channel repeat it; they are never stored.
        int taps = kernel * kernel;
        Vector256<int> rowOffsets = Vector256.Min(Vector256<int>.Indices, Vector256.Create(rows - 1)) * Vector256.Create(layout.RowStride);

        // Tap τ of the kernel the transform reads is at g + tap0 + step·τ: the forward's own tap, or the 180° turned one.
        int tap0 = layout.Flipped ? taps - 1 : 0, step = layout.Flipped ? -1 : 1;
        for (int s = 0; s < slices; s++)
        {
            int p0 = s * kcMax, kc = Math.Min(kcMax, c - p0);
            for (int p = 0; p < kc; p += 2)
            {
                int pair = Math.Min(2, kc - p);
                if (kernel == 3 && rows == Mr)
                {
                    // A full 3×3 panel: taps by row loads and a transpose, both passes of G·g·Gᵀ in registers (the
                    // general path below goes through the t and u arrays, whose 64-byte stores and reloads do not
                    // forward on this core), the 36 results rounded to float at once. The same double operations in the
                    // same order as the general path, so the same U; ~25% less time for ResNet's 512→512 weights.
                    for (int h = 0; h < pair; h++)
                    {
                        float* kernelAt = w + ((long)ir * layout.RowStride) + ((long)(p0 + p + h) * layout.ChannelStride);
                        Transform3x3(kernelAt, layout.RowStride, layout.Flipped, rowOffsets, o, uf + (36 * h));
                    }

                    for (int xi = 0; xi < 36; xi++)
                    {
                        float* dst = packed + (xi * uStride) + ((long)k * p0) + ((long)ir * kc) + ((long)p * Mr);
                        if (pair == 2)
                        {
                            Vector512<float> both = Vector512.Create(uf[xi], uf[36 + xi]);
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
                            uf[xi].Store(dst);
                        }
                    }

                    continue;
                }

                for (int h = 0; h < pair; h++)
                {
                    // g tap τ of rows ir..ir+7 at channel p0 + p + h; t = G·g (6×3 or 6×5) by kernel columns, u = t·Gᵀ by rows.
                    float* g = w + ((long)ir * layout.RowStride) + ((long)(p0 + p + h) * layout.ChannelStride) + tap0;
                    if (kernel == 3)
                    {
                        for (int b = 0; b < 3; b++)
                        {
                            Transform1D(Tap(g, step * b, rowOffsets), Tap(g, step * (3 + b), rowOffsets), Tap(g, step * (6 + b), rowOffsets), t + b, 3);
                        }

                        for (int i = 0; i < 6; i++)
                        {
                            Transform1D(t[3 * i], t[(3 * i) + 1], t[(3 * i) + 2], u + (36 * h) + (6 * i), 1);
                        }
                    }
                    else
                    {
                        for (int b = 0; b < 5; b++)
                        {
                            Transform1D5(Tap(g, step * b, rowOffsets), Tap(g, step * (5 + b), rowOffsets), Tap(g, step * (10 + b), rowOffsets),
                                Tap(g, step * (15 + b), rowOffsets), Tap(g, step * (20 + b), rowOffsets), t + b, 5);
                        }

                        for (int i = 0; i < 6; i++)
                        {
                            Vector512<double>* ti = t + (5 * i);
                            Transform1D5(ti[0], ti[1], ti[2], ti[3], ti[4], u + (36 * h) + (6 * i), 1);
                        }
                    }
                }

                for (int xi = 0; xi < 36; xi++)
                {
                    float* dst = packed + (xi * uStride) + ((long)k * p0) + ((long)ir * kc) + ((long)p * rows);
                    Vector256<float> first = Avx512F.ConvertToVector256Single(u[xi]);
                    if (rows < Mr)
                    {
                        for (int h = 0; h < pair; h++)
                        {
                            Vector256<float> values = h == 0 ? first : Avx512F.ConvertToVector256Single(u[36 + xi]);
                            for (int r = 0; r < rows; r++)
                            {
                                dst[(h * rows) + r] = values.GetElement(r);
                            }
                        }
                    }
                    else if (pair == 2)
                    {
                        Vector512<float> both = Vector512.Create(first, Avx512F.ConvertToVector256Single(u[36 + xi]));
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

    /// <summary>
    /// U = G g Gᵀ of the 8 3×3 kernels at <paramref name="kernel"/> + r·<paramref name="rowStride"/> (lane r), turned by 180°
    /// when <paramref name="flipped"/>, rounded to float into uf[6i + j]: the 1-D transform G·(g0, g1, g2) down the kernel columns,
    /// then along the rows, with every intermediate held in registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform3x3(float* kernel, int rowStride, bool flipped, Vector256<int> rowOffsets, Vector256<float>* o, Vector256<float>* uf)
    {
        LoadTaps3x3(kernel, rowStride, rowOffsets, o);
        int flip = flipped ? 8 : 0;
        Transform1D(Widen(o, flip, 0), Widen(o, flip, 3), Widen(o, flip, 6), out Vector512<double> a0, out Vector512<double> a1,
            out Vector512<double> a2, out Vector512<double> a3, out Vector512<double> a4, out Vector512<double> a5);
        Transform1D(Widen(o, flip, 1), Widen(o, flip, 4), Widen(o, flip, 7), out Vector512<double> b0, out Vector512<double> b1,
            out Vector512<double> b2, out Vector512<double> b3, out Vector512<double> b4, out Vector512<double> b5);
        Transform1D(Widen(o, flip, 2), Widen(o, flip, 5), Widen(o, flip, 8), out Vector512<double> c0, out Vector512<double> c1,
            out Vector512<double> c2, out Vector512<double> c3, out Vector512<double> c4, out Vector512<double> c5);
        TransformRow(a0, b0, c0, uf);
        TransformRow(a1, b1, c1, uf + 6);
        TransformRow(a2, b2, c2, uf + 12);
        TransformRow(a3, b3, c3, uf + 18);
        TransformRow(a4, b4, c4, uf + 24);
        TransformRow(a5, b5, c5, uf + 30);
    }

    /// <summary>Tap τ of the kernel (o[τ], or o[8 − τ] when <paramref name="flip"/> is 8), widened to double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Widen(Vector256<float>* o, int flip, int tap) =>
        Avx512F.ConvertToVector512Double(o[Math.Abs(flip - tap)]);

    /// <summary>Row i of U: G·(t_i0, t_i1, t_i2), rounded to float into dst[0..5].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TransformRow(Vector512<double> g0, Vector512<double> g1, Vector512<double> g2, Vector256<float>* dst)
    {
        Transform1D(g0, g1, g2, out Vector512<double> d0, out Vector512<double> d1, out Vector512<double> d2, out Vector512<double> d3,
            out Vector512<double> d4, out Vector512<double> d5);
        dst[0] = Avx512F.ConvertToVector256Single(d0);
        dst[1] = Avx512F.ConvertToVector256Single(d1);
        dst[2] = Avx512F.ConvertToVector256Single(d2);
        dst[3] = Avx512F.ConvertToVector256Single(d3);
        dst[4] = Avx512F.ConvertToVector256Single(d4);
        dst[5] = Avx512F.ConvertToVector256Single(d5);
    }

    /// <summary>
    /// o[τ] = tap τ (in the weights' own order) of the 3×3 kernels at <paramref name="kernel"/> + r·<paramref name="rowStride"/>,
    /// lane r = 0..7: row r's taps 0–7 are one 8-float load, the eight loads are transposed (unpack, shuffle, 128-bit
    /// permute), and tap 8 is gathered.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void LoadTaps3x3(float* kernel, int rowStride, Vector256<int> rowOffsets, Vector256<float>* o)
    {
        Vector256<float> r0 = Vector256.Load(kernel), r1 = Vector256.Load(kernel + rowStride),
            r2 = Vector256.Load(kernel + (2 * rowStride)), r3 = Vector256.Load(kernel + (3 * rowStride)),
            r4 = Vector256.Load(kernel + (4 * rowStride)), r5 = Vector256.Load(kernel + (5 * rowStride)),
            r6 = Vector256.Load(kernel + (6 * rowStride)), r7 = Vector256.Load(kernel + (7 * rowStride));
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1), t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5), t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        Vector256<float> s0 = Avx.Shuffle(t0, t2, 0x44), s1 = Avx.Shuffle(t0, t2, 0xEE), s2 = Avx.Shuffle(t1, t3, 0x44), s3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> s4 = Avx.Shuffle(t4, t6, 0x44), s5 = Avx.Shuffle(t4, t6, 0xEE), s6 = Avx.Shuffle(t5, t7, 0x44), s7 = Avx.Shuffle(t5, t7, 0xEE);
        o[0] = Avx.Permute2x128(s0, s4, 0x20);
        o[1] = Avx.Permute2x128(s1, s5, 0x20);
        o[2] = Avx.Permute2x128(s2, s6, 0x20);
        o[3] = Avx.Permute2x128(s3, s7, 0x20);
        o[4] = Avx.Permute2x128(s0, s4, 0x31);
        o[5] = Avx.Permute2x128(s1, s5, 0x31);
        o[6] = Avx.Permute2x128(s2, s6, 0x31);
        o[7] = Avx.Permute2x128(s3, s7, 0x31);
        o[8] = Avx2.GatherVector256(kernel + 8, rowOffsets, 4);
    }

    /// <summary>Tap τ of the 8 kernels at rows <paramref name="rowOffsets"/> from <paramref name="g"/>, widened to double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Tap(float* g, int tap, Vector256<int> rowOffsets) =>
        Avx512F.ConvertToVector512Double(Avx2.GatherVector256(g + tap, rowOffsets, 4));

    /// <summary>G·(g0, g1, g2), written at dst[i·stride] for i = 0..5 (reciprocals in double: far below float rounding).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform1D(Vector512<double> g0, Vector512<double> g1, Vector512<double> g2, Vector512<double>* dst, int stride)
    {
        Transform1D(g0, g1, g2, out dst[0], out dst[stride], out dst[2 * stride], out dst[3 * stride], out dst[4 * stride], out dst[5 * stride]);
    }

    /// <summary>G·(g0, g1, g2) into d0..d5 (the one definition of these operations: both weight-transform paths use it).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform1D(Vector512<double> g0, Vector512<double> g1, Vector512<double> g2, out Vector512<double> d0,
        out Vector512<double> d1, out Vector512<double> d2, out Vector512<double> d3, out Vector512<double> d4, out Vector512<double> d5)
    {
        Vector512<double> sixth = Vector512.Create(1.0 / 6), twelfth = Vector512.Create(1.0 / 12), twentyFourth = Vector512.Create(1.0 / 24);
        Vector512<double> even = g0 + g2, odd = g1;
        d0 = g0 * 0.25;
        d1 = -(even + odd) * sixth;
        d2 = -(even - odd) * sixth;
        Vector512<double> e = (g0 * twentyFourth) + (g2 * sixth), f = g1 * twelfth;
        d3 = e + f;
        d4 = e - f;
        d5 = g2;
    }

    /// <summary>
    /// G·(g0..g4) of F(2×2, 5×5), written at dst[i·stride] for i = 0..5: G = [¼ 0 0 0 0; −⅙ −⅙ −⅙ −⅙ −⅙; −⅙ ⅙ −⅙ ⅙ −⅙;
    /// 1/24 1/12 ⅙ ⅓ ⅔; 1/24 −1/12 ⅙ −⅓ ⅔; 0 0 0 0 1], i.e. g evaluated at 0, 1, −1, 2, −2 and ∞ with the same scale per
    /// point as F(4×4, 3×3)'s G, so that the same Bᵀ serves both (in double: far below float rounding).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transform1D5(Vector512<double> g0, Vector512<double> g1, Vector512<double> g2, Vector512<double> g3,
        Vector512<double> g4, Vector512<double>* dst, int stride)
    {
        Vector512<double> sixth = Vector512.Create(1.0 / 6), twelfth = Vector512.Create(1.0 / 12), twentyFourth = Vector512.Create(1.0 / 24);
        Vector512<double> even = g0 + g2 + g4, odd = g1 + g3;
        dst[0] = g0 * 0.25;
        dst[stride] = -(even + odd) * sixth;
        dst[2 * stride] = -(even - odd) * sixth;
        Vector512<double> e = (g0 * twentyFourth) + (g2 * sixth) + (g4 * Vector512.Create(2.0 / 3));
        Vector512<double> f = (g1 * twelfth) + (g3 * Vector512.Create(1.0 / 3));
        dst[3 * stride] = e + f;
        dst[4 * stride] = e - f;
        dst[5 * stride] = g4;
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
        public int Tile;
        public int TilesH;
        public int TilesW;
        public int Tiles;
        public int KcMax;
        public int Slices;
        // The block whose transformed input this thread's V buffer holds, and of which call (_run): items are run one
        // block of KernelParallel at a time, and a thread's consecutive items of one tile block share its transform.
        [ThreadStatic]
        private static long s_transformedRun;
        [ThreadStatic]
        private static int s_transformedBlock;
        [ThreadStatic]
        private static nint s_transformedV;
        private static long s_runs;

        // The calling thread's buffer for the transformed input of every block of a call split by output channels
        // (SharedTransform); pinned, grown to the largest call seen.
        [ThreadStatic]
        private static float[]? s_sharedV;
        private float* _sharedV;
        private int _cSplits;
        private int _tb;
        private int _kRange;
        private int _kSplits;
        private long _run;

        public void Run()
        {
            // Tiles per block: a multiple of 32 with the block's V and M near BlockFloats, at least 8 blocks where
            // there are tiles for them (two balanced threads); the split depends on the geometry only.
            _tb = Math.Clamp((Tile == 2 ? BlockFloats2x2By5x5 : BlockFloats) / (36 * (C + K)) / Nr * Nr, Nr, 16 * Nr);
            _tb = Math.Min(_tb, Math.Max(Nr, ((Tiles + 7) / 8 + Nr - 1) / Nr * Nr));
            _kRange = K;
            if (UStride * 36 > LargeWeightFloats)
            {
                // U does not stay in cache and every block streams all of it (ResNet layer4: 36 MiB per block). Fewer,
                // larger tile blocks (V up to LargeBlockFloats), with the parallelism taken from ranges of output channels
                // instead: each item reads only its share of U; a thread re-transforms a block's input only when its
                // items move to another block (the input transform is O(C) per tile against O(C·K) for the GEMMs).
                _tb = Math.Clamp(LargeBlockFloats / (36 * C) / Nr * Nr, Nr, Math.Max(Nr, (Tiles + Nr - 1) / Nr * Nr));
                _kRange = Math.Max(8 * Mr, (K / 4) + Mr - 1) / Mr * Mr;
            }

            int blocks = (Tiles + _tb - 1) / _tb;
            if (UStride * 36 <= LargeWeightFloats && blocks < MinBlocks)
            {
                // Few tiles (batch 1: 49 tiles at 28×28 are two blocks, 16 at 14×14 one): ranges of output channels too, so
                // that there are at least MinItems items of about equal cost and two threads end together. A range starts at
                // a multiple of Mr, so every output is the same FMA chain as unsplit: same bits. A thread transforms a block's
                // input once for its consecutive items of that block (TransformedBlock). Layer1's 7 blocks stay whole: halving
                // them cost ~20% more work per call (measured at batch 1, one thread) for a better balance worth less.
                // Each range keeps at least MinItemWork multiply-adds (layer3: 8 ranges of 32 channels; layer2: 2 of 64 per
                // block): smaller ones reread V and re-run the output transform's setup for too little GEMM.
                long blockWork = 36L * C * K * _tb;
                int splits = (int)Math.Min((MinItems + blocks - 1) / blocks, Math.Max(1, blockWork / MinItemWork));
                _kRange = Math.Max(Mr, ((K + splits - 1) / splits + Mr - 1) / Mr * Mr);
            }

            _kSplits = (K + _kRange - 1) / _kRange;
            _run = Interlocked.Increment(ref s_runs);
            int items = blocks * _kSplits;
            if (_kSplits > 1 && blocks == 1 && UStride * 36 <= LargeWeightFloats && KernelParallel.MaxThreads > 1)
            {
                SharedTransform(blocks, items);
                return;
            }

            KernelParallel.For(items, 9L * _kRange * C * _tb, Body, items);
        }

        /// <summary>
        /// A call of one tile block split by output channels (batch 1 on 14×14 maps), on more than one thread: the input
        /// is transformed first, by channel ranges in a parallel job of its own, into one buffer that every item of the
        /// second job (the GEMMs and output transforms) reads. Otherwise each thread transformed the whole block for its
        /// first item: both threads ran the same ~0.1 ms transform (ResNet-18's layer3 at batch 1) before their GEMMs.
        /// With two or more blocks the threads' items mostly lie in different blocks, so nothing is done twice. The
        /// transform of a (tile, channel) never depends on the split: same bits.
        /// </summary>
        private void SharedTransform(int blocks, int items)
        {
            long blockV = 36L * ((C * _tb) + XiPad);
            int need = checked((int)((blocks * blockV) + 16));
            if (s_sharedV is null || s_sharedV.Length < need)
            {
                s_sharedV = null;
                s_sharedV = GC.AllocateUninitializedArray<float>(need, pinned: true);
            }

            // Channel ranges so that there are about MinItems transform items (at least 8 channels each).
            _cSplits = Math.Max(1, Math.Min((MinItems + blocks - 1) / blocks, C / 8));
            fixed (float* sv = s_sharedV)
            {
                _sharedV = Align64(sv);
                try
                {
                    int transforms = blocks * _cSplits;
                    KernelParallel.For(transforms, 36L * 6 * _tb * ((C + _cSplits - 1) / _cSplits), TransformBody, transforms);
                    KernelParallel.For(items, 9L * _kRange * C * _tb, Body, items);
                }
                finally
                {
                    _sharedV = null;
                }
            }
        }

        /// <summary>Items (block, channel range) of <see cref="SharedTransform"/>'s first job.</summary>
        private void TransformBody(int start, int end)
        {
            long blockV = 36L * ((C * _tb) + XiPad);
            for (int item = start; item < end; item++)
            {
                int block = item / _cSplits, split = item % _cSplits;
                int c0 = (int)((long)C * split / _cSplits), c1 = (int)((long)C * (split + 1) / _cSplits);
                int t0 = block * _tb, count = Math.Min(_tb, Tiles - t0);
                TransformInput(t0, count, _sharedV + (block * blockV), c0, c1);
            }
        }

        /// <summary>Tells whether this thread's V buffer <paramref name="v"/> holds block <paramref name="block"/> of this call already (transformed for its previous item).</summary>
        private bool TransformedBlock(int block, float* v) =>
            s_transformedRun == _run && s_transformedBlock == block && s_transformedV == (nint)v;

        /// <summary>Records that this thread's V buffer <paramref name="v"/> now holds block <paramref name="block"/> of this call.</summary>
        private void MarkTransformed(int block, float* v)
        {
            s_transformedRun = _run;
            s_transformedBlock = block;
            s_transformedV = (nint)v;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Body(int start, int end)
        {
            GemmWorkspace workspace = GemmWorkspace.Current;
            long mStride = ((long)_kRange * _tb) + XiPad;
            float* v = workspace.B(36 * ((C * _tb) + XiPad));
            float* m = workspace.A((int)(36 * mStride) + 16); // + 16: the output transform loads whole vectors past the last tile
            for (int item = start; item < end; item++)
            {
                int block = item / _kSplits, k0 = item % _kSplits * _kRange, kCount = Math.Min(_kRange, K - k0);
                int t0 = block * _tb, count = Math.Min(_tb, Tiles - t0);
                if (_sharedV != null)
                {
                    v = _sharedV + (block * 36L * ((C * _tb) + XiPad));
                }
                else if (!TransformedBlock(block, v))
                {
                    TransformInput(t0, count, v, 0, C);
                    MarkTransformed(block, v);
                }

                int panels = (count + Nr - 1) / Nr;
                for (int step = 0; step < 36; step++)
                {
                    // Odd items of a split block walk the ξ planes backwards: the planes of V the previous item read last
                    // are still in L2 (V of a 256-channel block is 1.2 MiB). Each ξ is its own GEMM, so the order is free.
                    int xi = _kSplits > 1 && (item & 1) != 0 ? 35 - step : step;
                    float* vXi = v + ((long)xi * ((C * _tb) + XiPad));
                    float* mXi = m + (xi * mStride);
                    float* uXi = PackedU + (xi * UStride);
                    for (int s = 0; s < Slices; s++)
                    {
                        int p0 = s * KcMax, kc = Math.Min(KcMax, C - p0);
                        float* aSlice = uXi + ((long)K * p0);
                        for (int ir = k0; ir < k0 + kCount; ir += Mr)
                        {
                            int rows = Math.Min(Mr, K - ir);
                            float* aPanel = aSlice + ((nint)ir * kc);
                            for (int tp = 0; tp < panels; tp++)
                            {
                                float* bPanel = vXi + (((nint)tp * C) + p0) * Nr;
                                GemmKernel512.Tile(rows, Math.Min(Nr, count - (tp * Nr)), kc, aPanel, bPanel, Nr,
                                    mXi + ((nint)(ir - k0) * _tb) + (tp * Nr), _tb, s > 0);
                            }
                        }
                    }
                }

                if (Tile == 4)
                {
                    TransformOutput(t0, count, k0, kCount, m, mStride);
                }
                else
                {
                    TransformOutput2(t0, count, k0, kCount, m, mStride);
                }
            }
        }

        /// <summary>
        /// v[ξ][panel][c][lane] = (Bᵀ d B)[ξ] for tile t0 + panel·32 + lane and channel c; lanes past the block's tiles
        /// are zero. Wide maps take runs of up to 16 tiles along a tile row, narrow ones 16 consecutive tiles through a
        /// gather table (<see cref="MinRowTiles"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int t0, int count, float* v, int cStart, int cEnd)
        {
            long xiStride = ((long)C * _tb) + XiPad;

            // Zero the lanes past the last tile (the GEMM reads whole panels): lanes [count mod 32, 32) of the last panel's
            // row of each (ξ, channel), two masked stores each (one store per float took ~0.1 ms for ResNet-18's 14×14 layers
            // at batch 1, whose 16 tiles leave half the panel empty).
            int used = count % Nr;
            if (used != 0)
            {
                Vector512<float> zero = Vector512<float>.Zero;
                Vector512<int> lanes = Vector512<int>.Indices;
                Vector512<float> lowMask = Vector512.GreaterThanOrEqual(lanes, Vector512.Create(used)).AsSingle();
                Vector512<float> highMask = Vector512.GreaterThanOrEqual(lanes + Vector512.Create(16), Vector512.Create(used)).AsSingle();
                float* panel = v + ((long)(count / Nr) * C * Nr) + ((long)cStart * Nr);
                for (int xi = 0; xi < 36; xi++)
                {
                    float* row = panel + (xi * xiStride);
                    for (int ch = cStart; ch < cEnd; ch++, row += Nr)
                    {
                        Avx512F.MaskStore(row, lowMask, zero);
                        Avx512F.MaskStore(row + 16, highMask, zero);
                    }
                }
            }

            Vector512<float>* rowsOut = stackalloc Vector512<float>[36];
            if (Tile == 2 && TilesW <= 14)
            {
                // F(2×2, 5×5) never gathers: on 14×14 maps row loads and permutes ran the input transform ~2.7× faster
                // than the gathers (slow on this core); short tile rows go two to a vector.
                TransformInputRowPairs(t0, count, v, rowsOut, cStart, cEnd);
            }
            else if (Tile == 2)
            {
                TransformInputRows2(t0, count, v, rowsOut, cStart, cEnd);
            }
            else if (TilesW >= MinRowTiles)
            {
                TransformInputRows(t0, count, v, rowsOut, cStart, cEnd);
            }
            else if (TilesW is >= MinWindowTiles and <= MaxWindowTiles && !GathersOnlyForTests)
            {
                TransformInputWindows(t0, count, v, rowsOut, cStart, cEnd);
            }
            else
            {
                TransformInputGathered(t0, count, v, rowsOut, cStart, cEnd);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInputRows(int t0, int count, float* v, Vector512<float>* h, int cStart, int cEnd)
        {
            long xiStride = ((long)C * _tb) + XiPad;
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector512<int> lanes = Vector512<int>.Indices;

            // Columns (j, j + 1) of tiles 0..7 in lanes 0..7 and 8..15 of one two-source permute (see Row).
            Vector512<int> idx01 = Vector512.Create(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
            Vector512<int> idx23 = idx01 + Vector512.Create(2);
            Vector512<uint> width = Vector512.Create((uint)W);
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(16, count - t), TilesW - tx);
                int iy0 = (4 * ty) - PadTop, ix0 = (4 * tx) - PadLeft;

                // Loads at columns ix0 + [0, 64), ix0 + 64 and ix0 + 65 + [0, 16): lane l is read when 0 ≤ ix < W.
                Vector512<int> ix = lanes + Vector512.Create(ix0);
                var masks = new RowMasks
                {
                    A = Vector512.LessThan(ix.AsUInt32(), width).AsSingle(),
                    B = Vector512.LessThan((ix + Vector512.Create(16)).AsUInt32(), width).AsSingle(),
                    C = Vector512.LessThan((ix + Vector512.Create(32)).AsUInt32(), width).AsSingle(),
                    D = Vector512.LessThan((ix + Vector512.Create(48)).AsUInt32(), width).AsSingle(),
                    E = Vector512.LessThan((ix + Vector512.Create(64)).AsUInt32(), width).AsSingle(),
                    F = Vector512.LessThan((ix + Vector512.Create(65)).AsUInt32(), width).AsSingle(),
                };

                var dest = new Dest(v, t, len, (long)C * Nr);
                float* src = X + ((long)n * C * plane) + ((long)cStart * plane) + ((long)iy0 * W) + ix0;
                for (int ch = cStart; ch < cEnd; ch++, src += plane)
                {
                    for (int i = 0; i < 5; i++)
                    {
                        if ((uint)(iy0 + i) < (uint)H)
                        {
                            Row(src + ((long)i * W), masks, idx01, idx23, out Vector512<float> d0, out Vector512<float> d1,
                                out Vector512<float> d2, out Vector512<float> d3, out Vector512<float> d4, out Vector512<float> d5);
                            Horizontal(d0, d1, d2, d3, d4, d5, h + (6 * i));
                        }
                        else
                        {
                            for (int j = 0; j < 6; j++)
                            {
                                h[(6 * i) + j] = Vector512<float>.Zero;
                            }
                        }
                    }

                    // The last patch row goes from registers into the column transform (Bᵀ of zeros is +0, as stored above).
                    Vector512<float> e0 = Vector512<float>.Zero, e1 = e0, e2 = e0, e3 = e0, e4 = e0, e5 = e0;
                    if ((uint)(iy0 + 5) < (uint)H)
                    {
                        Row(src + (5L * W), masks, idx01, idx23, out e0, out e1, out e2, out e3, out e4, out e5);
                    }

                    VerticalLastRow(h, e0, e1, e2, e3, e4, e5, dest, (long)ch * Nr, xiStride);
                }

                t += len;
            }
        }


        /// <summary>
        /// The input transform of F(2×2, 5×5) on every map (tiles advance by 2 columns): up to 16 neighbouring tiles of a
        /// tile row per vector (7 on 14×14 maps); tile l's patch column j is element 2l + j of the input row, so columns 0
        /// and 1 are the even and odd elements of the first 32 (one two-source permute each) and columns 2..5 are those
        /// shifted by one or two tiles, with elements 32..35 in the last lanes.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInputRows2(int t0, int count, float* v, Vector512<float>* h, int cStart, int cEnd)
        {
            long xiStride = ((long)C * _tb) + XiPad;
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<int> even = lanes + lanes, odd = even + Vector512.Create(1);
            Vector512<uint> width = Vector512.Create((uint)W);
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int len = Math.Min(Math.Min(16, count - t), TilesW - tx);
                int iy0 = (2 * ty) - PadTop, ix0 = (2 * tx) - PadLeft;

                // Loads at columns ix0 + [0, 48): lane l is read when 0 ≤ ix < W (of the last load only 4 lanes are used).
                Vector512<int> ix = lanes + Vector512.Create(ix0);
                Vector512<float> maskA = Vector512.LessThan(ix.AsUInt32(), width).AsSingle();
                Vector512<float> maskB = Vector512.LessThan((ix + Vector512.Create(16)).AsUInt32(), width).AsSingle();
                Vector512<float> maskE = (Vector512.LessThan((ix + Vector512.Create(32)).AsUInt32(), width)
                    & Vector512.LessThan(lanes, Vector512.Create(4)).AsUInt32()).AsSingle();

                var dest = new Dest(v, t, len, (long)C * Nr);
                float* src = X + ((long)n * C * plane) + ((long)cStart * plane) + ((long)iy0 * W) + ix0;
                for (int ch = cStart; ch < cEnd; ch++, src += plane)
                {
                    for (int i = 0; i < 6; i++)
                    {
                        if ((uint)(iy0 + i) < (uint)H)
                        {
                            float* row = src + ((long)i * W);
                            Vector512<float> a = Avx512F.MaskLoad(row, maskA, Vector512<float>.Zero);
                            Vector512<float> b = Avx512F.MaskLoad(row + 16, maskB, Vector512<float>.Zero);
                            Vector512<float> e = Avx512F.MaskLoad(row + 32, maskE, Vector512<float>.Zero);
                            Vector512<int> c0 = Avx512F.PermuteVar16x32x2(a, even, b).AsInt32(), c1 = Avx512F.PermuteVar16x32x2(a, odd, b).AsInt32();
                            Vector512<int> ce = Avx512F.PermuteVar16x32(e, even).AsInt32(), co = Avx512F.PermuteVar16x32(e, odd).AsInt32();
                            Horizontal(c0.AsSingle(), c1.AsSingle(), Avx512F.AlignRight32(ce, c0, 1).AsSingle(), Avx512F.AlignRight32(co, c1, 1).AsSingle(),
                                Avx512F.AlignRight32(ce, c0, 2).AsSingle(), Avx512F.AlignRight32(co, c1, 2).AsSingle(), h + (6 * i));
                        }
                        else
                        {
                            for (int j = 0; j < 6; j++)
                            {
                                h[(6 * i) + j] = Vector512<float>.Zero;
                            }
                        }
                    }

                    Vertical(h, dest, (long)ch * Nr, xiStride);
                }

                t += len;
            }
        }

        /// <summary>
        /// The input transform of F(2×2, 5×5) on maps of at most 14 tiles per row (28 outputs): one vector holds a run of
        /// up to 14 tiles of one tile row (lanes 0 .. lenA − 1) and, when that run ends its row, the start of the next tile
        /// row (possibly of the next image), so 14×14 maps fill 14 of 16 lanes instead of 7. Each run's patch row is two
        /// masked 16-float loads (its tile l reads elements 2l .. 2l + 5), and column j of the patch row is one two-source
        /// permute per run and a blend.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInputRowPairs(int t0, int count, float* v, Vector512<float>* h, int cStart, int cEnd)
        {
            long xiStride = ((long)C * _tb) + XiPad;
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector512<int> lanes = Vector512<int>.Indices, sixteen = Vector512.Create(16), maxIndex = Vector512.Create(31);
            Vector512<uint> width = Vector512.Create((uint)W);
            Vector512<int>* idx = stackalloc Vector512<int>[12];
            for (int t = 0; t < count;)
            {
                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int lenA = Math.Min(Math.Min(14, count - t), TilesW - tx), lenB = 0, nB = 0, tyB = 0;
                if (tx + lenA == TilesW && lenA < count - t)
                {
                    // The next tile starts a tile row: it and its neighbours fill the remaining lanes.
                    int tileB = tile + lenA, rB = tileB % perImage;
                    nB = tileB / perImage;
                    tyB = rB / TilesW;
                    lenB = Math.Min(Math.Min(16 - lenA, 14), Math.Min(count - t - lenA, TilesW));
                }

                int len = lenA + lenB;
                Vector512<int> two = Vector512.Create(2);
                for (int j = 0; j < 6; j++)
                {
                    Vector512<int> col = Vector512.Create(j);
                    idx[j] = Vector512.Min((lanes * two) + col, maxIndex);
                    idx[6 + j] = Vector512.Max(Vector512.Min(((lanes - Vector512.Create(lenA)) * two) + col, maxIndex), Vector512<int>.Zero);
                }

                Vector512<float> selA = Vector512.LessThan(lanes, Vector512.Create(lenA)).AsSingle();
                int iyA = (2 * ty) - PadTop, ixA = (2 * tx) - PadLeft, iyB = (2 * tyB) - PadTop, ixB = -PadLeft;
                Vector512<int> colA = lanes + Vector512.Create(ixA), colB = lanes + Vector512.Create(ixB);
                Vector512<float> maskA0 = Vector512.LessThan(colA.AsUInt32(), width).AsSingle();
                Vector512<float> maskA1 = Vector512.LessThan((colA + sixteen).AsUInt32(), width).AsSingle();
                Vector512<float> maskB0 = Vector512.LessThan(colB.AsUInt32(), width).AsSingle();
                Vector512<float> maskB1 = Vector512.LessThan((colB + sixteen).AsUInt32(), width).AsSingle();

                var dest = new Dest(v, t, len, (long)C * Nr);
                float* srcA = X + ((long)n * C * plane) + ((long)cStart * plane) + ((long)iyA * W) + ixA;
                float* srcB = X + ((long)nB * C * plane) + ((long)cStart * plane) + ((long)iyB * W) + ixB;
                for (int ch = cStart; ch < cEnd; ch++, srcA += plane, srcB += plane)
                {
                    for (int i = 0; i < 6; i++)
                    {
                        bool rowA = (uint)(iyA + i) < (uint)H, rowB = lenB > 0 && (uint)(iyB + i) < (uint)H;
                        if (!rowA && !rowB)
                        {
                            for (int j = 0; j < 6; j++)
                            {
                                h[(6 * i) + j] = Vector512<float>.Zero;
                            }

                            continue;
                        }

                        float* pa = srcA + ((long)i * W), pb = srcB + ((long)i * W);
                        Vector512<float> a0 = rowA ? Avx512F.MaskLoad(pa, maskA0, Vector512<float>.Zero) : Vector512<float>.Zero;
                        Vector512<float> a1 = rowA ? Avx512F.MaskLoad(pa + 16, maskA1, Vector512<float>.Zero) : Vector512<float>.Zero;
                        Vector512<float> b0 = rowB ? Avx512F.MaskLoad(pb, maskB0, Vector512<float>.Zero) : Vector512<float>.Zero;
                        Vector512<float> b1 = rowB ? Avx512F.MaskLoad(pb + 16, maskB1, Vector512<float>.Zero) : Vector512<float>.Zero;
                        Horizontal(
                            Vector512.ConditionalSelect(selA, Avx512F.PermuteVar16x32x2(a0, idx[0], a1), Avx512F.PermuteVar16x32x2(b0, idx[6], b1)),
                            Vector512.ConditionalSelect(selA, Avx512F.PermuteVar16x32x2(a0, idx[1], a1), Avx512F.PermuteVar16x32x2(b0, idx[7], b1)),
                            Vector512.ConditionalSelect(selA, Avx512F.PermuteVar16x32x2(a0, idx[2], a1), Avx512F.PermuteVar16x32x2(b0, idx[8], b1)),
                            Vector512.ConditionalSelect(selA, Avx512F.PermuteVar16x32x2(a0, idx[3], a1), Avx512F.PermuteVar16x32x2(b0, idx[9], b1)),
                            Vector512.ConditionalSelect(selA, Avx512F.PermuteVar16x32x2(a0, idx[4], a1), Avx512F.PermuteVar16x32x2(b0, idx[10], b1)),
                            Vector512.ConditionalSelect(selA, Avx512F.PermuteVar16x32x2(a0, idx[5], a1), Avx512F.PermuteVar16x32x2(b0, idx[11], b1)),
                            h + (6 * i));
                    }

                    Vertical(h, dest, (long)ch * Nr, xiStride);
                }

                t += len;
            }
        }

        /// <summary>
        /// The input transform of maps 4 to 7 tiles wide (13 to 28 outputs: ResNet's 14×14 and 28×28 layers), 16
        /// consecutive tiles of the block per vector (across tile rows and images) as <see cref="TransformInputGathered"/>,
        /// without gathers: every patch row a tile row needs lies in one window of 32 input floats starting at column
        /// −p_l (4·tiles + 2 ≤ 30 columns), loaded as two masked vectors, and patch column j of tile lane l is element
        /// 4·tx_l + j of its row's window, one two-source permute per (tile row, column); the 2 to 5 tile rows of a group
        /// are merged by lane masks. The same values as the gathers (taps outside the input read +0, lanes past the last
        /// tile are never stored), ~3× faster on this core, whose gathers dominated the transform.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInputWindows(int t0, int count, float* v, Vector512<float>* h, int cStart, int cEnd)
        {
            long xiStride = ((long)C * _tb) + XiPad;
            int perImage = TilesH * TilesW;
            long plane = (long)H * W;
            Vector512<int> lanes = Vector512<int>.Indices;
            Vector512<uint> width = Vector512.Create((uint)W);
            Vector512<int> window = lanes - Vector512.Create(PadLeft);
            Vector512<float> maskLo = Vector512.LessThan(window.AsUInt32(), width).AsSingle();
            Vector512<float> maskHi = Vector512.LessThan((window + Vector512.Create(16)).AsUInt32(), width).AsSingle();
            int* columns = stackalloc int[16];
            int* rowY = stackalloc int[16];
            long* rowAt = stackalloc long[16];
            int* rowLane = stackalloc int[17];
            Vector512<float>* rowMask = stackalloc Vector512<float>[16];
            Vector512<int>* idx = stackalloc Vector512<int>[6];
            for (int t = 0; t < count; t += 16)
            {
                int len = Math.Min(16, count - t), rows = 0, previous = -1;
                for (int l = 0; l < 16; l++)
                {
                    // Lanes past the last tile repeat it (finite values, never stored).
                    int tile = t0 + t + Math.Min(l, len - 1), n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                    columns[l] = 4 * tx;
                    int key = (n * TilesH) + ty;
                    if (key != previous)
                    {
                        rowY[rows] = (4 * ty) - PadTop;
                        rowAt[rows] = ((long)n * C * plane) + ((long)rowY[rows] * W) - PadLeft;
                        rowLane[rows] = l;
                        rows++;
                        previous = key;
                    }
                }

                rowLane[rows] = 16;
                for (int r = 0; r < rows; r++)
                {
                    rowMask[r] = (Vector512.GreaterThanOrEqual(lanes, Vector512.Create(rowLane[r])) & Vector512.LessThan(lanes, Vector512.Create(rowLane[r + 1]))).AsSingle();
                }

                Vector512<int> column = Vector512.Load(columns);
                for (int j = 0; j < 6; j++)
                {
                    idx[j] = column + Vector512.Create(j);
                }

                var dest = new Dest(v, t, len, (long)C * Nr);
                if (W + PadLeft < 16)
                {
                    // Narrow maps (14×14 and below): every tap a tile row reads lies in the window's first 16 floats or is
                    // zero padding, so each tile row is one load and two tile rows share one two-source permute per column.
                    TransformWindowPairs(dest, rows, rowY, rowAt, rowLane, column, maskLo, h, cStart, cEnd, xiStride, plane);
                    continue;
                }

                Vector512<int> idx0 = idx[0], idx1 = idx[1], idx2 = idx[2], idx3 = idx[3], idx4 = idx[4], idx5 = idx[5];
                for (int ch = cStart; ch < cEnd; ch++)
                {
                    float* src = X + ((long)ch * plane);
                    for (int i = 0; i < 6; i++)
                    {
                        // The six patch columns stay in registers across the tile rows: kept in a stack array, each
                        // merge reloaded a 64-byte vector stored a few instructions before, which does not store-forward
                        // on this core (Zen 4 splits the store in two halves) and stalled every (row, column).
                        Vector512<float> d0 = Vector512<float>.Zero, d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0;
                        for (int r = 0; r < rows; r++)
                        {
                            Vector512<float> lo = Vector512<float>.Zero, hi = Vector512<float>.Zero;
                            if ((uint)(rowY[r] + i) < (uint)H)
                            {
                                float* row = src + rowAt[r] + ((long)i * W);
                                lo = Avx512F.MaskLoad(row, maskLo, Vector512<float>.Zero);
                                hi = Avx512F.MaskLoad(row + 16, maskHi, Vector512<float>.Zero);
                            }

                            // Lanes of tile row r take its columns; rows' lane ranges cover all 16 lanes, so starting from
                            // zero gives what the first row's plain copy gave.
                            Vector512<float> mask = rowMask[r];
                            d0 = Vector512.ConditionalSelect(mask, Avx512F.PermuteVar16x32x2(lo, idx0, hi), d0);
                            d1 = Vector512.ConditionalSelect(mask, Avx512F.PermuteVar16x32x2(lo, idx1, hi), d1);
                            d2 = Vector512.ConditionalSelect(mask, Avx512F.PermuteVar16x32x2(lo, idx2, hi), d2);
                            d3 = Vector512.ConditionalSelect(mask, Avx512F.PermuteVar16x32x2(lo, idx3, hi), d3);
                            d4 = Vector512.ConditionalSelect(mask, Avx512F.PermuteVar16x32x2(lo, idx4, hi), d4);
                            d5 = Vector512.ConditionalSelect(mask, Avx512F.PermuteVar16x32x2(lo, idx5, hi), d5);
                        }

                        if (i < 5)
                        {
                            Horizontal(d0, d1, d2, d3, d4, d5, h + (6 * i));
                        }
                        else
                        {
                            VerticalLastRow(h, d0, d1, d2, d3, d4, d5, dest, (long)ch * Nr, xiStride);
                        }
                    }
                }
            }
        }

        /// <summary>
        /// The window path's group of 16 tiles on maps with W + p_l &lt; 16: patch column j of tile lane l is element 4·tx_l + j of
        /// its tile row's window, and every element from 15 on is zero padding (column ≥ W), so indices past 15 are clamped to
        /// 15 and a tile row needs only the window's first 16 floats. Tile rows 2q and 2q + 1 (at most 5 rows in 16 tiles)
        /// then share one two-source permute per column (index + 16 for the odd row), merged by lane masks: per patch row
        /// and column ⌈rows / 2⌉ permutes instead of one per row, and one load per row instead of two. The same elements as
        /// the two-vector path, so the same bits.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformWindowPairs(in Dest dest, int rows, int* rowY, long* rowAt, int* rowLane, Vector512<int> column,
            Vector512<float> maskLo, Vector512<float>* h, int cStart, int cEnd, long xiStride, long plane)
        {
            Vector512<int> lanes = Vector512<int>.Indices, fifteen = Vector512.Create(15), odd = Vector512<int>.Zero;
            for (int r = 1; r < rows; r += 2)
            {
                odd |= Vector512.GreaterThanOrEqual(lanes, Vector512.Create(rowLane[r])) & Vector512.LessThan(lanes, Vector512.Create(rowLane[r + 1]));
            }

            odd &= Vector512.Create(16);
            Vector512<int> idx0 = Vector512.Min(column, fifteen) + odd, idx1 = Vector512.Min(column + Vector512.Create(1), fifteen) + odd;
            Vector512<int> idx2 = Vector512.Min(column + Vector512.Create(2), fifteen) + odd, idx3 = Vector512.Min(column + Vector512.Create(3), fifteen) + odd;
            Vector512<int> idx4 = Vector512.Min(column + Vector512.Create(4), fifteen) + odd, idx5 = Vector512.Min(column + Vector512.Create(5), fifteen) + odd;
            int pairs = (rows + 1) / 2;
            Vector512<float> pair1 = PairMask(lanes, rowLane, rows, 1), pair2 = PairMask(lanes, rowLane, rows, 2);
            int y0 = rowY[0], y1 = rowY[Math.Min(1, rows - 1)], y2 = rowY[Math.Min(2, rows - 1)], y3 = rowY[Math.Min(3, rows - 1)], y4 = rowY[Math.Min(4, rows - 1)];
            for (int ch = cStart; ch < cEnd; ch++)
            {
                float* src = X + ((long)ch * plane);
                float* at0 = src + rowAt[0], at1 = src + rowAt[Math.Min(1, rows - 1)], at2 = src + rowAt[Math.Min(2, rows - 1)];
                float* at3 = src + rowAt[Math.Min(3, rows - 1)], at4 = src + rowAt[Math.Min(4, rows - 1)];
                for (int i = 0; i < 6; i++)
                {
                    long rowOffset = (long)i * W;
                    Vector512<float> w0 = WindowRow(at0 + rowOffset, y0 + i, maskLo), w1 = rows > 1 ? WindowRow(at1 + rowOffset, y1 + i, maskLo) : Vector512<float>.Zero;
                    Vector512<float> d0 = Avx512F.PermuteVar16x32x2(w0, idx0, w1), d1 = Avx512F.PermuteVar16x32x2(w0, idx1, w1);
                    Vector512<float> d2 = Avx512F.PermuteVar16x32x2(w0, idx2, w1), d3 = Avx512F.PermuteVar16x32x2(w0, idx3, w1);
                    Vector512<float> d4 = Avx512F.PermuteVar16x32x2(w0, idx4, w1), d5 = Avx512F.PermuteVar16x32x2(w0, idx5, w1);
                    if (pairs > 1)
                    {
                        Vector512<float> w2 = WindowRow(at2 + rowOffset, y2 + i, maskLo), w3 = rows > 3 ? WindowRow(at3 + rowOffset, y3 + i, maskLo) : Vector512<float>.Zero;
                        d0 = Vector512.ConditionalSelect(pair1, Avx512F.PermuteVar16x32x2(w2, idx0, w3), d0);
                        d1 = Vector512.ConditionalSelect(pair1, Avx512F.PermuteVar16x32x2(w2, idx1, w3), d1);
                        d2 = Vector512.ConditionalSelect(pair1, Avx512F.PermuteVar16x32x2(w2, idx2, w3), d2);
                        d3 = Vector512.ConditionalSelect(pair1, Avx512F.PermuteVar16x32x2(w2, idx3, w3), d3);
                        d4 = Vector512.ConditionalSelect(pair1, Avx512F.PermuteVar16x32x2(w2, idx4, w3), d4);
                        d5 = Vector512.ConditionalSelect(pair1, Avx512F.PermuteVar16x32x2(w2, idx5, w3), d5);
                    }

                    if (pairs > 2)
                    {
                        Vector512<float> w4 = WindowRow(at4 + rowOffset, y4 + i, maskLo);
                        d0 = Vector512.ConditionalSelect(pair2, Avx512F.PermuteVar16x32(w4, idx0), d0);
                        d1 = Vector512.ConditionalSelect(pair2, Avx512F.PermuteVar16x32(w4, idx1), d1);
                        d2 = Vector512.ConditionalSelect(pair2, Avx512F.PermuteVar16x32(w4, idx2), d2);
                        d3 = Vector512.ConditionalSelect(pair2, Avx512F.PermuteVar16x32(w4, idx3), d3);
                        d4 = Vector512.ConditionalSelect(pair2, Avx512F.PermuteVar16x32(w4, idx4), d4);
                        d5 = Vector512.ConditionalSelect(pair2, Avx512F.PermuteVar16x32(w4, idx5), d5);
                    }

                    if (i < 5)
                    {
                        Horizontal(d0, d1, d2, d3, d4, d5, h + (6 * i));
                    }
                    else
                    {
                        VerticalLastRow(h, d0, d1, d2, d3, d4, d5, dest, (long)ch * Nr, xiStride);
                    }
                }
            }
        }

        /// <summary>Lanes of tile rows 2q and 2q + 1 of a group (none when the group has fewer than 2q + 1 rows).</summary>
        private static Vector512<float> PairMask(Vector512<int> lanes, int* rowLane, int rows, int q) =>
            2 * q >= rows ? Vector512<float>.Zero
                : (Vector512.GreaterThanOrEqual(lanes, Vector512.Create(rowLane[2 * q])) & Vector512.LessThan(lanes, Vector512.Create(rowLane[Math.Min(2 * q + 2, rows)]))).AsSingle();

        /// <summary>The first 16 floats of a tile row's window (<paramref name="maskLo"/>: columns inside the map), or zeros when input row <paramref name="y"/> is padding.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private Vector512<float> WindowRow(float* row, int y, Vector512<float> maskLo) =>
            (uint)y < (uint)H ? Avx512F.MaskLoad(row, maskLo, Vector512<float>.Zero) : Vector512<float>.Zero;

        /// <summary>
        /// As <see cref="TransformInputRows"/> for narrow maps: 16 consecutive tiles of the block (across tile rows and
        /// images) per vector, each patch element fetched with two masked 8-lane gathers from an offset table built per
        /// group of tiles (out-of-input taps masked to zero).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInputGathered(int t0, int count, float* v, Vector512<float>* h, int cStart, int cEnd)
        {
            long xiStride = ((long)C * _tb) + XiPad;
            int perImage = TilesH * TilesW;
            int plane = H * W;
            int* offsets = stackalloc int[36 * 16];
            int* valid = stackalloc int[36 * 16];
            for (int t = 0; t < count; t += 16)
            {
                int len = Math.Min(16, count - t);
                for (int l = 0; l < 16; l++)
                {
                    int tile = t0 + t + Math.Min(l, len - 1), n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                    int iy0 = (Tile * ty) - PadTop, ix0 = (Tile * tx) - PadLeft;
                    for (int i = 0; i < 6; i++)
                    {
                        for (int j = 0; j < 6; j++)
                        {
                            bool inside = l < len && (uint)(iy0 + i) < (uint)H && (uint)(ix0 + j) < (uint)W;
                            offsets[(((6 * i) + j) * 16) + l] = inside ? (n * C * plane) + ((iy0 + i) * W) + ix0 + j : 0;
                            valid[(((6 * i) + j) * 16) + l] = inside ? -1 : 0;
                        }
                    }
                }

                var dest = new Dest(v, t, len, (long)C * Nr);
                for (int ch = cStart; ch < cEnd; ch++)
                {
                    float* src = X + ((long)ch * plane);
                    for (int i = 0; i < 6; i++)
                    {
                        int e = 6 * i * 16;
                        Vector512<float> d0 = Gather(src, offsets + e, valid + e);
                        Vector512<float> d1 = Gather(src, offsets + e + 16, valid + e + 16);
                        Vector512<float> d2 = Gather(src, offsets + e + 32, valid + e + 32);
                        Vector512<float> d3 = Gather(src, offsets + e + 48, valid + e + 48);
                        Vector512<float> d4 = Gather(src, offsets + e + 64, valid + e + 64);
                        Vector512<float> d5 = Gather(src, offsets + e + 80, valid + e + 80);
                        Horizontal(d0, d1, d2, d3, d4, d5, h + (6 * i));
                    }

                    Vertical(h, dest, (long)ch * Nr, xiStride);
                }
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector512<float> Gather(float* src, int* offsets, int* valid)
        {
            Vector256<float> lo = Avx2.GatherMaskVector256(Vector256<float>.Zero, src, Vector256.Load(offsets), Vector256.Load(valid).AsSingle(), 4);
            Vector256<float> hi = Avx2.GatherMaskVector256(Vector256<float>.Zero, src, Vector256.Load(offsets + 8), Vector256.Load(valid + 8).AsSingle(), 4);
            return Vector512.Create(lo, hi);
        }

        private struct RowMasks
        {
            public Vector512<float> A;
            public Vector512<float> B;
            public Vector512<float> C;
            public Vector512<float> D;
            public Vector512<float> E;
            public Vector512<float> F;
        }

        /// <summary>
        /// Patch columns 0..5 of 16 neighbouring tiles from one input row: tile l's column j is element 4l + j. One
        /// two-source permute of the first 32 elements puts column j of tiles 0..7 in lanes 0..7 and column j + 1 in
        /// lanes 8..15, a second does tiles 8..15 from the next 32; two 128-bit-lane shuffles then assemble the two
        /// columns. Columns 4 and 5 are columns 0 and 1 shifted by one tile, with elements 64 and 65 for tile 15.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Row(float* src, in RowMasks mk, Vector512<int> idx01, Vector512<int> idx23, out Vector512<float> c0,
            out Vector512<float> c1, out Vector512<float> c2, out Vector512<float> c3, out Vector512<float> c4, out Vector512<float> c5)
        {
            Vector512<float> a = Avx512F.MaskLoad(src, mk.A, Vector512<float>.Zero), b = Avx512F.MaskLoad(src + 16, mk.B, Vector512<float>.Zero);
            Vector512<float> c = Avx512F.MaskLoad(src + 32, mk.C, Vector512<float>.Zero), d = Avx512F.MaskLoad(src + 48, mk.D, Vector512<float>.Zero);
            Vector512<float> e = Avx512F.MaskLoad(src + 64, mk.E, Vector512<float>.Zero), f = Avx512F.MaskLoad(src + 65, mk.F, Vector512<float>.Zero);
            Vector512<float> p = Avx512F.PermuteVar16x32x2(a, idx01, b), q = Avx512F.PermuteVar16x32x2(c, idx01, d);
            c0 = Avx512F.Shuffle4x128(p, q, 0x44);
            c1 = Avx512F.Shuffle4x128(p, q, 0xEE);
            p = Avx512F.PermuteVar16x32x2(a, idx23, b);
            q = Avx512F.PermuteVar16x32x2(c, idx23, d);
            c2 = Avx512F.Shuffle4x128(p, q, 0x44);
            c3 = Avx512F.Shuffle4x128(p, q, 0xEE);
            c4 = Avx512F.AlignRight32(e.AsInt32(), c0.AsInt32(), 1).AsSingle();
            c5 = Avx512F.AlignRight32(f.AsInt32(), c1.AsInt32(), 1).AsSingle();
        }

        /// <summary>(d0..d5)·B, i.e. Bᵀ applied along a patch row, into h[0..5].</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Horizontal(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3,
            Vector512<float> d4, Vector512<float> d5, Vector512<float>* h)
        {
            BT(d0, d1, d2, d3, d4, d5, out h[0], out h[1], out h[2], out h[3], out h[4], out h[5]);
        }

        /// <summary>
        /// Bᵀ·(d0..d5): v0 = 4d0 − 5d2 + d4, v1,2 = (d4 − 4d2) ± (d3 − 4d1), v3,4 = (d4 − d2) ± 2(d3 − d1),
        /// v5 = 4d1 − 5d3 + d5 (two roundings on every path; the absolute coefficients are those of |Bᵀ|).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void BT(Vector512<float> d0, Vector512<float> d1, Vector512<float> d2, Vector512<float> d3,
            Vector512<float> d4, Vector512<float> d5, out Vector512<float> v0, out Vector512<float> v1, out Vector512<float> v2,
            out Vector512<float> v3, out Vector512<float> v4, out Vector512<float> v5)
        {
            Vector512<float> four = Vector512.Create(4f), minusFour = Vector512.Create(-4f), minusFive = Vector512.Create(-5f);
            v0 = Avx512F.FusedMultiplyAdd(four, d0, Avx512F.FusedMultiplyAdd(minusFive, d2, d4));
            Vector512<float> t0 = Avx512F.FusedMultiplyAdd(minusFour, d2, d4), t1 = Avx512F.FusedMultiplyAdd(minusFour, d1, d3);
            v1 = t0 + t1;
            v2 = t0 - t1;
            Vector512<float> t2 = d4 - d2, t3 = d3 - d1;
            t3 += t3;
            v3 = t2 + t3;
            v4 = t2 - t3;
            v5 = Avx512F.FusedMultiplyAdd(four, d1, Avx512F.FusedMultiplyAdd(minusFive, d3, d5));
        }

        /// <summary>Bᵀ along the patch columns of h (row-transformed, h[6i + j]) and the stores of ξ = 6i + j.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Vertical(Vector512<float>* h, in Dest dest, long c0, long xiStride)
        {
            for (int j = 0; j < 6; j++)
            {
                BT(h[j], h[6 + j], h[12 + j], h[18 + j], h[24 + j], h[30 + j], out Vector512<float> v0, out Vector512<float> v1,
                    out Vector512<float> v2, out Vector512<float> v3, out Vector512<float> v4, out Vector512<float> v5);
                dest.Store(c0 + (j * xiStride), v0);
                dest.Store(c0 + ((6 + j) * xiStride), v1);
                dest.Store(c0 + ((12 + j) * xiStride), v2);
                dest.Store(c0 + ((18 + j) * xiStride), v3);
                dest.Store(c0 + ((24 + j) * xiStride), v4);
                dest.Store(c0 + ((30 + j) * xiStride), v5);
            }
        }

        /// <summary>
        /// <see cref="Vertical"/> with the last patch row (d0..d5, not yet row-transformed) held in registers: stored to h
        /// and reloaded a few instructions later, its 64-byte vectors would not store-forward on this core.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void VerticalLastRow(Vector512<float>* h, Vector512<float> d0, Vector512<float> d1, Vector512<float> d2,
            Vector512<float> d3, Vector512<float> d4, Vector512<float> d5, in Dest dest, long c0, long xiStride)
        {
            BT(d0, d1, d2, d3, d4, d5, out Vector512<float> l0, out Vector512<float> l1, out Vector512<float> l2, out Vector512<float> l3,
                out Vector512<float> l4, out Vector512<float> l5);
            VerticalColumn(h, 0, l0, dest, c0, xiStride);
            VerticalColumn(h, 1, l1, dest, c0, xiStride);
            VerticalColumn(h, 2, l2, dest, c0, xiStride);
            VerticalColumn(h, 3, l3, dest, c0, xiStride);
            VerticalColumn(h, 4, l4, dest, c0, xiStride);
            VerticalColumn(h, 5, l5, dest, c0, xiStride);
        }

        /// <summary>Bᵀ down patch column j (rows 0–4 from h, row 5 <paramref name="last"/>) and the stores of ξ = 6i + j.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void VerticalColumn(Vector512<float>* h, int j, Vector512<float> last, in Dest dest, long c0, long xiStride)
        {
            BT(h[j], h[6 + j], h[12 + j], h[18 + j], h[24 + j], last, out Vector512<float> v0, out Vector512<float> v1,
                out Vector512<float> v2, out Vector512<float> v3, out Vector512<float> v4, out Vector512<float> v5);
            dest.Store(c0 + (j * xiStride), v0);
            dest.Store(c0 + ((6 + j) * xiStride), v1);
            dest.Store(c0 + ((12 + j) * xiStride), v2);
            dest.Store(c0 + ((18 + j) * xiStride), v3);
            dest.Store(c0 + ((24 + j) * xiStride), v4);
            dest.Store(c0 + ((30 + j) * xiStride), v5);
        }

        /// <summary>Destination lanes t .. t + len − 1 of a block: panel t / 32, possibly running into the next panel.</summary>
        private readonly struct Dest
        {
            private readonly float* _dst0;
            private readonly float* _dst1;
            private readonly Vector512<float> _store0;
            private readonly Vector512<float> _store1;
            private readonly bool _split;

            public Dest(float* v, int t, int len, long panelFloats)
            {
                int lane0 = t % Nr, first = Math.Min(len, Nr - lane0);
                Vector512<int> lanes = Vector512<int>.Indices;
                _store0 = Vector512.LessThan(lanes, Vector512.Create(first)).AsSingle();
                _store1 = (Vector512.GreaterThanOrEqual(lanes, Vector512.Create(first)) & Vector512.LessThan(lanes, Vector512.Create(len))).AsSingle();
                _split = first < len;
                _dst0 = v + ((t / Nr) * panelFloats) + lane0;

                // Lanes first.. continue at lane 0 of the next panel: _dst1 + first is that panel's lane 0.
                _dst1 = v + (((t / Nr) + 1) * panelFloats) - first;
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public void Store(long offset, Vector512<float> value)
            {
                Avx512F.MaskStore(_dst0 + offset, _store0, value);
                if (_split)
                {
                    Avx512F.MaskStore(_dst1 + offset, _store1, value);
                }
            }
        }

        /// <summary>
        /// y tile = Aᵀ M A + bias for 16 consecutive tiles at a time (M rows hold consecutive tiles): a 4×4 transpose
        /// within 128-bit lanes brings the 4 outputs of each tile's row r together, and a 4×4 transpose of the 128-bit
        /// lanes then puts the row pieces of tiles 4L .. 4L + 3 side by side. Where those four tiles are neighbours in one
        /// tile row (most of a group on every map; all of it on 14×14 maps) that is 16 consecutive floats of an output
        /// row, stored by one masked store (the right edge masked); elsewhere each tile's 4-float piece is stored on its
        /// own (element-wise at the right edge). Rows past OH are skipped. The epilogue (residual, ReLU) is applied per
        /// element as <see cref="ConvEpilogue.StoreQuad"/> does, so both stores give the same bits.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutput(int t0, int count, int k0, int kCount, float* m, long xiStride)
        {
            int perImage = TilesH * TilesW;
            long planeOut = (long)Oh * Ow;
            long* offsets = stackalloc long[16];
            int* rowsValid = stackalloc int[16];
            int* colsValid = stackalloc int[16];
            int* whole = stackalloc int[4];
            Vector512<float>* wholeMask = stackalloc Vector512<float>[4];
            Vector512<float>* z = stackalloc Vector512<float>[24];
            Vector512<int> lanes = Vector512<int>.Indices;
            for (int t = 0; t < count; t += 16)
            {
                int len = Math.Min(16, count - t);
                for (int l = 0; l < len; l++)
                {
                    int tile = t0 + t + l, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                    int oy = 4 * ty, ox = 4 * tx;
                    offsets[l] = ((long)n * K * planeOut) + ((long)oy * Ow) + ox;
                    rowsValid[l] = Math.Min(4, Oh - oy);
                    colsValid[l] = Math.Min(4, Ow - ox);
                    if ((l & 3) == 0)
                    {
                        // Tiles l .. l + 3 are consecutive; they share a tile row when the last of them is in it.
                        whole[l >> 2] = l + 3 < len && tx + 3 < TilesW ? 1 : 0;
                        wholeMask[l >> 2] = Vector512.LessThan(lanes, Vector512.Create(Ow - ox)).AsSingle();
                    }
                }

                for (int l = len; l < 16; l++)
                {
                    if ((l & 3) == 0)
                    {
                        whole[l >> 2] = 0;
                    }
                }

                for (int o = k0; o < k0 + kCount; o++)
                {
                    float* mt = m + ((long)(o - k0) * _tb) + t;

                    // Aᵀ down each column j of M: z[r][j].
                    for (int j = 0; j < 6; j++)
                    {
                        AT(Vector512.Load(mt + (j * xiStride)), Vector512.Load(mt + ((6 + j) * xiStride)),
                            Vector512.Load(mt + ((12 + j) * xiStride)), Vector512.Load(mt + ((18 + j) * xiStride)),
                            Vector512.Load(mt + ((24 + j) * xiStride)), Vector512.Load(mt + ((30 + j) * xiStride)),
                            out z[j], out z[6 + j], out z[12 + j], out z[18 + j]);
                    }

                    Vector512<float> bias = Vector512.Create(Bias == null ? 0f : Bias[o]);
                    float* yo = Y + ((long)o * planeOut);
                    float* ro = Residual == null ? null : Residual + ((long)o * planeOut);
                    for (int r = 0; r < 4; r++)
                    {
                        Vector512<float>* zr = z + (6 * r);
                        AT(zr[0], zr[1], zr[2], zr[3], zr[4], zr[5], out Vector512<float> y0, out Vector512<float> y1,
                            out Vector512<float> y2, out Vector512<float> y3);
                        y0 += bias;
                        y1 += bias;
                        y2 += bias;
                        y3 += bias;

                        // 4×4 transposes within 128-bit lanes: tile 4q + s's row r lands in vector s, lane q.
                        Vector512<float> a0 = Avx512F.UnpackLow(y0, y1), a1 = Avx512F.UnpackHigh(y0, y1);
                        Vector512<float> a2 = Avx512F.UnpackLow(y2, y3), a3 = Avx512F.UnpackHigh(y2, y3);
                        Vector512<float> s0 = Avx512F.UnpackLow(a0.AsDouble(), a2.AsDouble()).AsSingle();
                        Vector512<float> s1 = Avx512F.UnpackHigh(a0.AsDouble(), a2.AsDouble()).AsSingle();
                        Vector512<float> s2 = Avx512F.UnpackLow(a1.AsDouble(), a3.AsDouble()).AsSingle();
                        Vector512<float> s3 = Avx512F.UnpackHigh(a1.AsDouble(), a3.AsDouble()).AsSingle();

                        // 4×4 transpose of the 128-bit lanes: q0 holds tiles 0..3's row pieces in order, q1 tiles 4..7, ...
                        Vector512<float> u0 = Avx512F.Shuffle4x128(s0, s1, 0x44), u1 = Avx512F.Shuffle4x128(s0, s1, 0xEE);
                        Vector512<float> u2 = Avx512F.Shuffle4x128(s2, s3, 0x44), u3 = Avx512F.Shuffle4x128(s2, s3, 0xEE);
                        float* row = yo + ((long)r * Ow);
                        float* resRow = ro == null ? null : ro + ((long)r * Ow);

                        // Pieces are extracted from registers (a 128-bit reload of a 512-bit spill does not store-forward).
                        StoreFour(row, resRow, Relu, Avx512F.Shuffle4x128(u0, u2, 0x88), 0, r, len, offsets, rowsValid, colsValid, whole, wholeMask);
                        StoreFour(row, resRow, Relu, Avx512F.Shuffle4x128(u0, u2, 0xDD), 1, r, len, offsets, rowsValid, colsValid, whole, wholeMask);
                        StoreFour(row, resRow, Relu, Avx512F.Shuffle4x128(u1, u3, 0x88), 2, r, len, offsets, rowsValid, colsValid, whole, wholeMask);
                        StoreFour(row, resRow, Relu, Avx512F.Shuffle4x128(u1, u3, 0xDD), 3, r, len, offsets, rowsValid, colsValid, whole, wholeMask);
                    }
                }
            }
        }

        /// <summary>
        /// Stores row r of tiles 4L .. 4L + 3 (<paramref name="v"/>: their 4-float pieces in order): one masked 16-float store
        /// when they are neighbours in one tile row (<paramref name="whole"/>), else piece by piece.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StoreFour(float* row, float* resRow, bool relu, Vector512<float> v, int lane, int r, int len, long* offsets,
            int* rowsValid, int* colsValid, int* whole, Vector512<float>* wholeMask)
        {
            int l = 4 * lane;
            if (whole[lane] != 0)
            {
                if (r < rowsValid[l])
                {
                    // Finished output pieces: Y[n, o, oy + r, ox .. ox + 15]; the epilogue applies here, per element as StoreQuad.
                    Vector512<float> mask = wholeMask[lane];
                    if (resRow != null)
                    {
                        v += Avx512F.MaskLoad(resRow + offsets[l], mask, Vector512<float>.Zero);
                    }

                    if (relu)
                    {
                        v = Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), Vector512<float>.Zero, v);
                    }

                    Avx512F.MaskStore(row + offsets[l], mask, v);
                }

                return;
            }

            StorePiece(row, resRow, relu, v.GetLower().GetLower(), l, r, len, offsets, rowsValid, colsValid);
            StorePiece(row, resRow, relu, Avx512F.ExtractVector128(v, 1), l + 1, r, len, offsets, rowsValid, colsValid);
            StorePiece(row, resRow, relu, Avx512F.ExtractVector128(v, 2), l + 2, r, len, offsets, rowsValid, colsValid);
            StorePiece(row, resRow, relu, Avx512F.ExtractVector128(v, 3), l + 3, r, len, offsets, rowsValid, colsValid);
        }

        /// <summary>Stores row r of tile <paramref name="l"/> of the group (<paramref name="piece"/>), if it is in the output.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StorePiece(float* row, float* resRow, bool relu, Vector128<float> piece, int l, int r, int len, long* offsets,
            int* rowsValid, int* colsValid)
        {
            // Finished output pieces: Y[n, o, oy + r, ox .. ox + 3]; the epilogue (residual, ReLU) applies here.
            if (l < len && r < rowsValid[l])
            {
                ConvEpilogue.StoreQuad(row + offsets[l], resRow == null ? null : resRow + offsets[l], relu, piece, colsValid[l]);
            }
        }

        /// <summary>
        /// y tile = Aᵀ M A + bias of F(2×2, 5×5), Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1], for 16 consecutive tiles at a time.
        /// Interleaving the two outputs of each tile's row r (two permutes) gives tiles 0..7 and 8..15 as 16-float runs
        /// in which neighbouring tiles of a tile row are neighbouring in the output row, so each run of consecutive tiles
        /// within one tile row and one half is stored by one masked store (two per tile row on wide maps, about five per
        /// 16 tiles on 14×14 maps), the residual and ReLU applied to the vector first as <c>ConvEpilogue.Apply</c>
        /// does. Columns past OW and rows past OH are masked or skipped.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutput2(int t0, int count, int k0, int kCount, float* m, long xiStride)
        {
            int perImage = TilesH * TilesW;
            long planeOut = (long)Oh * Ow;
            long* offsets = stackalloc long[16];
            int* rows = stackalloc int[16];
            int* halves = stackalloc int[16];
            Vector512<float>* masks = stackalloc Vector512<float>[16];
            Vector512<float>* z = stackalloc Vector512<float>[12];
            Vector512<int> lanes = Vector512<int>.Indices, half = lanes >>> 1;
            Vector512<int> idxLo = half + ((lanes & Vector512.Create(1)) << 4), idxHi = idxLo + Vector512.Create(8);
            for (int t = 0; t < count; t += 16)
            {
                int len = Math.Min(16, count - t), stores = 0;
                for (int l = 0; l < len;)
                {
                    // Lanes first .. end − 1: tiles (n, ty, tx ..) of one tile row within one half (8 tiles).
                    int tile = t0 + t + l, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                    int h = l >> 3, first = l, end = l + 1;
                    while (end < len && (end >> 3) == h && tx + end - first < TilesW)
                    {
                        end++;
                    }

                    int oy = 2 * ty, ox = 2 * tx, e0 = 2 * (first - (8 * h)), e1 = Math.Min(2 * (end - (8 * h)), e0 + Ow - ox);
                    offsets[stores] = ((long)n * K * planeOut) + ((long)oy * Ow) + ox - e0; // element e of the half lands at + e
                    rows[stores] = Math.Min(2, Oh - oy);
                    halves[stores] = h;
                    masks[stores] = (Vector512.GreaterThanOrEqual(lanes, Vector512.Create(e0)) & Vector512.LessThan(lanes, Vector512.Create(e1))).AsSingle();
                    stores++;
                    l = end;
                }

                for (int o = k0; o < k0 + kCount; o++)
                {
                    float* mt = m + ((long)(o - k0) * _tb) + t;

                    // Aᵀ down each column j of M: z[r][j].
                    for (int j = 0; j < 6; j++)
                    {
                        AT2(Vector512.Load(mt + (j * xiStride)), Vector512.Load(mt + ((6 + j) * xiStride)),
                            Vector512.Load(mt + ((12 + j) * xiStride)), Vector512.Load(mt + ((18 + j) * xiStride)),
                            Vector512.Load(mt + ((24 + j) * xiStride)), Vector512.Load(mt + ((30 + j) * xiStride)),
                            out z[j], out z[6 + j]);
                    }

                    Vector512<float> bias = Vector512.Create(Bias == null ? 0f : Bias[o]);
                    float* yo = Y + ((long)o * planeOut);
                    float* ro = Residual == null ? null : Residual + ((long)o * planeOut);
                    for (int r = 0; r < 2; r++)
                    {
                        Vector512<float>* zr = z + (6 * r);
                        AT2(zr[0], zr[1], zr[2], zr[3], zr[4], zr[5], out Vector512<float> y0, out Vector512<float> y1);
                        y0 += bias;
                        y1 += bias;

                        // Element 2l + c of lo: tile l's output (row r, column c), l < 8; of hi: tile 8 + l's.
                        Vector512<float> lo = Avx512F.PermuteVar16x32x2(y0, idxLo, y1), hi = Avx512F.PermuteVar16x32x2(y0, idxHi, y1);
                        float* row = yo + ((long)r * Ow);
                        float* resRow = ro == null ? null : ro + ((long)r * Ow);
                        for (int st = 0; st < stores; st++)
                        {
                            if (r < rows[st])
                            {
                                Vector512<float> value = halves[st] == 0 ? lo : hi;
                                if (resRow != null)
                                {
                                    value += Avx512F.MaskLoad(resRow + offsets[st], masks[st], Vector512<float>.Zero);
                                }

                                if (Relu)
                                {
                                    value = Vector512.ConditionalSelect(Vector512.LessThan(value, Vector512<float>.Zero), Vector512<float>.Zero, value);
                                }

                                Avx512F.MaskStore(row + offsets[st], masks[st], value);
                            }
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Aᵀ·(m0..m5) of F(2×2, 5×5): y0 = m0 + (m1 + m2) + (m3 + m4), y1 = (m1 − m2) + 2(m3 − m4) + m5 (at most three
        /// roundings on a path; absolute coefficients those of |Aᵀ|).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AT2(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3,
            Vector512<float> m4, Vector512<float> m5, out Vector512<float> y0, out Vector512<float> y1)
        {
            Vector512<float> a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
            y0 = m0 + a + c;
            y1 = Avx512F.FusedMultiplyAdd(Vector512.Create(2f), d, b) + m5;
        }

        /// <summary>
        /// Aᵀ·(m0..m5): y0 = m0 + (m1 + m2) + (m3 + m4), y1 = (m1 − m2) + 2(m3 − m4), y2 = (m1 + m2) + 4(m3 + m4),
        /// y3 = (m1 − m2) + 8(m3 − m4) + m5 (at most three roundings on a path; absolute coefficients those of |Aᵀ|).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void AT(Vector512<float> m0, Vector512<float> m1, Vector512<float> m2, Vector512<float> m3,
            Vector512<float> m4, Vector512<float> m5, out Vector512<float> y0, out Vector512<float> y1, out Vector512<float> y2,
            out Vector512<float> y3)
        {
            Vector512<float> a = m1 + m2, b = m1 - m2, c = m3 + m4, d = m3 - m4;
            y0 = m0 + a + c;
            y1 = Avx512F.FusedMultiplyAdd(Vector512.Create(2f), d, b);
            y2 = Avx512F.FusedMultiplyAdd(Vector512.Create(4f), c, a);
            y3 = Avx512F.FusedMultiplyAdd(Vector512.Create(8f), d, b) + m5;
        }
    }
}
