using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Implicit-GEMM convolution over NCHW (variant <c>Conv2dImplicitGemm</c>, AVX-512): per group,
/// Y (C_out/G × N·OH·OW) = W (C_out/G × K) · X̂ (K × N·OH·OW) with K = C_in/G·kh·kw, where X̂ is the im2col
/// matrix of the whole batch. X̂ is never built: the routine that packs GEMM B panels gathers each panel straight
/// from the input, and the <see cref="GemmKernel512"/> micro-kernel computes on it.
/// </summary>
/// <remarks>
/// <para><b>Batch folded into the columns.</b> Column j stands for (n, oy, ox) = (j / P, (j mod P) / OW, j mod OW),
/// P = OH·OW. One GEMM over all images keeps the weights packed once per call (and hot) however small the maps:
/// ResNet's 7×7 layer has 49 columns per image, which per-image GEMMs would pair with a 9 MB weight repack each.</para>
/// <para><b>Strides in phase space.</b> For stride s > 1 the input is first split into s_h·s_w phase planes,
/// X_(a,b)[i, j] = X[i·s_h + a, j·s_w + b] (only the phases some tap reads). A tap (ki, kj) then reads phase
/// ((ki·d_h − p_t) mod s_h, (kj·d_w − p_l) mod s_w) at (oy + ⌊(ki·d_h − p_t)/s_h⌋, ox + ⌊(kj·d_w − p_l)/s_w⌋): a
/// stride-1 access. So for every tap the columns of one output row read consecutive floats, and a B panel row
/// (32 columns) is a few masked vector loads: one per output row the panel touches, with out-of-image lanes
/// (padding) masked to zero. Stride 1 reads the input in place.</para>
/// <para><b>Blocking.</b> The weights are packed once per call for all k slices (k cut into equal slices of at
/// most 256). Work items are column blocks (C block ≤ 64 K floats, B block ≤ 512 KiB), plus row blocks when there are
/// few column blocks; for each k slice an item gathers its B block into the thread's GEMM workspace and runs the
/// micro-kernel over its rows, A micro-panel in L1 and B panels streaming from L2, accumulating into a dense C
/// block (so no tile straddles two images). After the last slice the block is copied to NCHW, one contiguous run
/// per image and channel, with the bias added.</para>
/// <para><b>Determinism.</b> Every output element is Σ over k slices (in order) of one FMA chain per slice, the
/// same operations for any tile shape, so the split into items, and hence the thread count, never changes a bit.</para>
/// </remarks>
internal static unsafe partial class Conv2dImplicitGemm
{
    /// <summary>Depth of a k slice (as the GEMM: the A micro-panel, 8×256 floats, stays in L1).</summary>
    private const int Kc = 256;

    private const int Nr = 32;

    private const int Mr = 8;

    /// <summary>An item's C block (rows × columns) is at most this many floats (256 KiB), so it stays in L2 across k slices.</summary>
    private const int CBlockFloats = 1 << 16;

    /// <summary>Widest column block: B block Kc × 512 floats = 512 KiB, half of a Zen 4 core's L2.</summary>
    private const int MaxNc = 512;

    /// <summary>
    /// Work items a forward call is cut into at least, where its column blocks are fewer (batch 1 past the stem): with
    /// 8 items of about equal cost two threads end close together, and a helper that joins late leaves the caller items
    /// to take instead of one half to wait for.
    /// </summary>
    private const int MinItems = 8;

    /// <summary>Ints per k row in the tap table: offset, row shift, column shift, valid rows, valid columns.</summary>
    private const int TapInts = 5;

    /// <summary>Most tap classes (kh·kw) and (class, output row) pairs a B panel plan holds (the masks take 128 B each, on the stack).</summary>
    private const int MaxPlanClasses = 64;

    private const int MaxPlanEntries = 192;

    /// <summary>Tells whether this machine runs the variant (AVX-512 masked loads; any geometry).</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported;

    /// <summary>
    /// Tells whether backward-data can run as a forward convolution of dy with the flipped, transposed kernel:
    /// stride 1 and padding at most d·(k − 1) on every side (so the transposed padding is not negative).
    /// </summary>
    public static bool SupportsBackwardData(in Conv2dGeometry g) =>
        IsSupported && g.StrideH == 1 && g.StrideW == 1
        && Math.Max(g.PadTop, g.PadBottom) <= g.DilationH * (g.KernelH - 1)
        && Math.Max(g.PadLeft, g.PadRight) <= g.DilationW * (g.KernelW - 1);

    /// <summary>y = conv(x, w) + b over the whole batch; <paramref name="bias"/> may be null.</summary>
    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y) =>
        Forward(x, w, new ConvEpilogue(bias, null, false), g, y);

    /// <summary>
    /// y = act(conv(x, w) + b + r) over the whole batch, the epilogue applied in the copy-out of each C block.
    /// <paramref name="prepacked"/>, when not null, holds the weights already packed by <see cref="PackWeights(float*, in Conv2dGeometry, float*)"/>
    /// (<paramref name="w"/> is then not read).
    /// </summary>
    public static void Forward(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked = null)
    {
        if (UsesPhaseDirect(g))
        {
            ForwardPhaseDirect(x, w, epilogue, g, y, prepacked);
            return;
        }

        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, k = cg * g.KernelH * g.KernelW;
        int sh = g.StrideH, sw = g.StrideW;
        int hs = (g.Height + sh - 1) / sh, ws = (g.Width + sw - 1) / sw;
        long cStride = (long)sh * sw * hs * ws;
        int[] taps = ArrayPool<int>.Shared.Rent(k * TapInts);
        bool[] usedPhases = new bool[sh * sw];
        BuildTaps(g, hs, ws, taps, usedPhases);
        int slices = (k + Kc - 1) / Kc, kcMax = (k + slices - 1) / slices;
        float[]? packedA = prepacked != null ? null : ArrayPool<float>.Shared.Rent(g.Groups * og * k);
        float[]? phases = sh * sw == 1 ? null : ArrayPool<float>.Shared.Rent((int)(g.Batch * g.InChannels * cStride));
        try
        {
            fixed (int* pt = taps)
            fixed (float* pOwn = packedA)
            fixed (float* pp = phases)
            {
                float* pa = prepacked;
                if (pa == null)
                {
                    pa = pOwn;
                    PackWeights(w, g.Groups, og, k, slices, kcMax, pa);
                }

                float* source = x;
                if (pp != null)
                {
                    SplitPhases(x, g, hs, ws, usedPhases, pp);
                    source = pp;
                }

                var job = new Job
                {
                    X = source,
                    NStride = (nint)(g.InChannels * cStride),
                    GStride = (nint)(cg * cStride),
                    Ws = ws,
                    Taps = pt,
                    Classes = g.KernelH * g.KernelW,
                    ChannelStride = (nint)cStride,
                    K = k,
                    Y = y,
                    Epilogue = epilogue,
                    P = g.OutHeight * g.OutWidth,
                    Ow = g.OutWidth,
                    Cout = g.OutChannels,
                    Og = og,
                    J = g.Batch * g.OutHeight * g.OutWidth,
                    PackedA = pa,
                    KcMax = kcMax,
                    Slices = slices,
                    Groups = g.Groups,
                };
                job.Run();
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(taps);
            if (packedA is not null)
            {
                ArrayPool<float>.Shared.Return(packedA);
            }

            if (phases is not null)
            {
                ArrayPool<float>.Shared.Return(phases);
            }
        }
    }

    /// <summary>
    /// dx = ∂L/∂x for stride 1 (<see cref="SupportsBackwardData"/>): the forward convolution of dy, padded by
    /// d·(k − 1) − p, with w flipped in both axes and its in/out channels swapped within each group.
    /// </summary>
    /// <remarks>
    /// With <paramref name="winograd"/> the flipped forward runs as <see cref="Conv2dWinograd"/> where that variant
    /// is preferred for the flipped geometry, or wherever it applies when <paramref name="forcedWinograd"/>.
    /// </remarks>
    public static void BackwardData(float* dy, float* w, in Conv2dGeometry g, float* dx, bool winograd, bool forcedWinograd)
    {
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, kh = g.KernelH, kw = g.KernelW, taps = kh * kw;
        float[] flipped = ArrayPool<float>.Shared.Rent((int)g.WeightLength);
        try
        {
            fixed (float* wt = flipped)
            {
                // wt[grp·cg + c, o, kh−1−ki, kw−1−kj] = w[grp·og + o, c, ki, kj]
                ConvWeightFlip.Run(w, g.Groups, og, cg, taps, wt);

                int eh = g.DilationH * (kh - 1), ew = g.DilationW * (kw - 1);
                var transposed = new Conv2dGeometry(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth, g.InChannels, kh, kw,
                    1, 1, eh - g.PadTop, ew - g.PadLeft, eh - g.PadBottom, ew - g.PadRight, g.DilationH, g.DilationW, g.Groups);
                if (winograd && Conv2dWinograd.Supports(transposed) && (forcedWinograd || Conv2dWinograd.Prefers(transposed)))
                {
                    Conv2dWinograd.Forward(dy, wt, null, transposed, dx);
                }
                else
                {
                    Forward(dy, wt, null, transposed, dx);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(flipped);
        }
    }

    /// <summary>
    /// dw = Σ_n dy_n · X̂_nᵀ as a GEMM per chunk of samples: C = dw (C_out/G × K), A = dy (rows = output channels,
    /// k = the chunk's pixels, packed by 8×8 transposes), B = X̂ᵀ (k = pixels, columns = taps (c, ki, kj), each B
    /// panel row gathered from the input with masked AVX2 gathers). Chunk c writes
    /// <paramref name="gradWeight"/> (c = 0) or partial c − 1 of <paramref name="partials"/>; the caller sums them in
    /// chunk order. The chunking is the caller's (a function of the geometry), so results do not depend on threads.
    /// </summary>
    public static void BackwardWeight(float* dy, float* x, in Conv2dGeometry g, int chunks, float* gradWeight, float* partials)
    {
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, k = cg * g.KernelH * g.KernelW;
        int sh = g.StrideH, sw = g.StrideW;
        int hs = (g.Height + sh - 1) / sh, ws = (g.Width + sw - 1) / sw;
        long cStride = (long)sh * sw * hs * ws;
        int kPad = (k + Nr - 1) / Nr * Nr;
        int[] taps = ArrayPool<int>.Shared.Rent(k * TapInts);
        int[] columns = ArrayPool<int>.Shared.Rent(kPad * TapInts);
        bool[] usedPhases = new bool[sh * sw];
        BuildTaps(g, hs, ws, taps, usedPhases);

        // Structure of arrays for the gathers: offset, row shift, column shift, valid rows, valid columns, each kPad
        // long; padding taps have no valid rows, so their lanes read nothing and pack zeros.
        Array.Clear(columns, 0, kPad * TapInts);
        for (int r = 0; r < k; r++)
        {
            for (int f = 0; f < TapInts; f++)
            {
                columns[(f * kPad) + r] = taps[(r * TapInts) + f];
            }
        }

        float[]? phases = sh * sw == 1 ? null : ArrayPool<float>.Shared.Rent((int)(g.Batch * g.InChannels * cStride));
        try
        {
            fixed (int* pc = columns)
            fixed (float* pp = phases)
            {
                float* source = x;
                if (pp != null)
                {
                    SplitPhases(x, g, hs, ws, usedPhases, pp);
                    source = pp;
                }

                var job = new WeightJob
                {
                    X = source,
                    NStride = (nint)(g.InChannels * cStride),
                    GStride = (nint)(cg * cStride),
                    Ws = ws,
                    Columns = pc,
                    KPad = kPad,
                    K = k,
                    Dy = dy,
                    P = g.OutHeight * g.OutWidth,
                    Oh = g.OutHeight,
                    Ow = g.OutWidth,
                    Cout = g.OutChannels,
                    Og = og,
                    Batch = g.Batch,
                    Chunks = chunks,
                    Groups = g.Groups,
                    GradWeight = gradWeight,
                    Partials = partials,
                    WeightLength = g.WeightLength,
                };
                job.Run();
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(taps);
            ArrayPool<int>.Shared.Return(columns);
            if (phases is not null)
            {
                ArrayPool<float>.Shared.Return(phases);
            }
        }
    }

    /// <summary>
    /// One row of the tap table per k = (c, ki, kj): the offset of the tap's phase plane shifted by its (row, column)
    /// shift, the shifts, and the rows and columns of its phase plane that lie inside the input.
    /// </summary>
    private static void BuildTaps(in Conv2dGeometry g, int hs, int ws, int[] taps, bool[] usedPhases)
    {
        int sh = g.StrideH, sw = g.StrideW, kh = g.KernelH, kw = g.KernelW;
        long plane = (long)hs * ws, cStride = sh * sw * plane;
        int i = 0;
        for (int c = 0; c < g.InChannelsPerGroup; c++)
        {
            for (int ki = 0; ki < kh; ki++)
            {
                int ty = (ki * g.DilationH) - g.PadTop;
                int dy = FloorDiv(ty, sh), a = ty - (dy * sh);
                int rows = Math.Max(0, (g.Height - a + sh - 1) / sh);
                for (int kj = 0; kj < kw; kj++)
                {
                    int tx = (kj * g.DilationW) - g.PadLeft;
                    int dx = FloorDiv(tx, sw), b = tx - (dx * sw);
                    int cols = Math.Max(0, (g.Width - b + sw - 1) / sw);
                    usedPhases[(a * sw) + b] = true;
                    taps[i++] = checked((int)((c * cStride) + (((a * sw) + b) * plane) + ((long)dy * ws) + dx));
                    taps[i++] = dy;
                    taps[i++] = dx;
                    taps[i++] = rows;
                    taps[i++] = cols;
                }
            }
        }
    }

    private static int FloorDiv(int value, int divisor) =>
        value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor);

    /// <summary>Floats of the packed weights of <paramref name="g"/> (<see cref="PackWeights(float*, in Conv2dGeometry, float*)"/>).</summary>
    public static long PackedWeightLength(in Conv2dGeometry g) => g.WeightLength;

    /// <summary>Packs the weights as <see cref="Forward(float*, float*, in ConvEpilogue, in Conv2dGeometry, float*, float*)"/> does on each call, for reuse across calls (the layout depends on C_out, C_in/G, kh, kw and G only).</summary>
    public static void PackWeights(float* w, in Conv2dGeometry g, float* packed)
    {
        int og = g.OutChannelsPerGroup, k = g.InChannelsPerGroup * g.KernelH * g.KernelW;
        int slices = (k + Kc - 1) / Kc, kcMax = (k + slices - 1) / slices;
        PackWeights(w, g.Groups, og, k, slices, kcMax, packed);
    }

    /// <summary>Packs every k slice of every group's weights into GEMM A micro-panels: group grp, slice at p0 starts at (grp·og·K + og·p0).</summary>
    private static void PackWeights(float* w, int groups, int og, int k, int slices, int kcMax, float* packed)
    {
        nint ws = (nint)w, ps = (nint)packed;
        KernelParallel.For(groups * slices, (long)og * kcMax, (start, end) =>
        {
            for (int item = start; item < end; item++)
            {
                int grp = item / slices, p0 = (item % slices) * kcMax, kc = Math.Min(kcMax, k - p0);
                float* wg = (float*)ws + ((long)grp * og * k);
                var job = new GemmJob(false, false, og, 0, k, wg, k, null, 0, null, 0, false);
                GemmPacking.PackA(job, 0, og, p0, kc, Mr, (float*)ps + ((long)grp * og * k) + ((long)og * p0));
            }
        });
    }

    /// <summary>
    /// phases[n, c, a, b, i, j] = x[n, c, i·s_h + a, j·s_w + b] for the phases some tap reads (i, j inside the
    /// input); the other entries are never read.
    /// </summary>
    private static void SplitPhases(float* x, in Conv2dGeometry g, int hs, int ws, bool[] usedPhases, float* phases)
    {
        int sh = g.StrideH, sw = g.StrideW, h = g.Height, w = g.Width;
        long plane = (long)hs * ws, cStride = sh * sw * plane;
        nint xs = (nint)x, ps = (nint)phases;
        // Up to 16 blocks (planes are independent): at batch 1 two halves left the caller waiting for a late helper.
        KernelParallel.For(g.Batch * g.InChannels, (long)h * w, (start, end) =>
        {
            for (int nc = start; nc < end; nc++)
            {
                float* src = (float*)xs + ((long)nc * h * w);
                float* dst = (float*)ps + (nc * cStride);
                for (int a = 0; a < sh; a++)
                {
                    int rows = Math.Max(0, (h - a + sh - 1) / sh);
                    for (int b = 0; b < sw; b++)
                    {
                        if (!usedPhases[(a * sw) + b])
                        {
                            continue;
                        }

                        int cols = Math.Max(0, (w - b + sw - 1) / sw);
                        float* d = dst + (((a * sw) + b) * plane);
                        for (int i = 0; i < rows; i++)
                        {
                            DeinterleaveRow(src + ((long)((i * sh) + a) * w) + b, sw, cols, d + ((long)i * ws));
                        }
                    }
                }
            }
        }, Math.Min(g.Batch * g.InChannels, 16));
    }

    /// <summary>dst[j] = src[j·stride] for j &lt; count; stride 2 with AVX-512 permutes, 16 at a time.</summary>
    private static void DeinterleaveRow(float* src, int stride, int count, float* dst)
    {
        int j = 0;
        if (stride == 2)
        {
            Vector512<int> even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
            // Reads src[2j .. 2j + 31]; the last element needed is src[2·(count − 1)], so stop while 2j + 31 ≤ that + 1.
            for (; j + 16 <= count - 1; j += 16)
            {
                Vector512<float> lo = Vector512.Load(src + (2 * j)), hi = Vector512.Load(src + (2 * j) + 16);
                Avx512F.PermuteVar16x32x2(lo, even, hi).Store(dst + j);
            }
        }

        for (; j < count; j++)
        {
            dst[j] = src[(long)j * stride];
        }
    }

    /// <summary>One forward call's operands, split and per-item work (run by <see cref="KernelParallel"/>).</summary>
    private sealed class Job
    {
        public float* X;
        public nint NStride;
        public nint GStride;
        public int Ws;
        public int* Taps;

        /// <summary>Taps per channel: k = c·Classes + class, and tap k is tap <c>class</c> of channel 0 moved by c·<see cref="ChannelStride"/>.</summary>
        public int Classes;
        public nint ChannelStride;
        public int K;
        public float* Y;
        public ConvEpilogue Epilogue;
        public int P;
        public int Ow;
        public int Cout;
        public int Og;
        public int J;
        public float* PackedA;
        public int KcMax;
        public int Slices;
        public int Groups;
        private int _ncMax;
        private int _mBlocks;
        private int _nBlocks;
        private int _mPanels;
        private int _colPanels;

        public void Run()
        {
            // Column blocks keep the item's C block (≤ 64 K floats) in L2 across the k slices; when the batch has
            // few columns (batch 1 at 7×7), rows are split too so that both threads get work. The split depends on
            // the geometry only (and never changes results anyway).
            _ncMax = Math.Clamp(CBlockFloats / Math.Max(Og, 1) / Nr * Nr, Nr, MaxNc);
            _ncMax = Math.Min(_ncMax, (J + Nr - 1) / Nr * Nr);
            _nBlocks = (J + _ncMax - 1) / _ncMax;
            _mPanels = (Og + Mr - 1) / Mr;
            _colPanels = 0;
            if (Groups * _nBlocks < MinItems)
            {
                // Few columns (batch 1 at 28×28 and 14×14: 784 and 196): column blocks of whole 32-wide panels cut evenly
                // (784 as 8 blocks of 3–4 panels, not 512 + 272), and rows cut so that there are at least MinItems items.
                // Tiles still start at multiples of 32 columns, so every output is the same FMA chain: same bits.
                _colPanels = (J + Nr - 1) / Nr;
                _nBlocks = Math.Min(_colPanels, Math.Max(_nBlocks, (MinItems + Groups - 1) / Groups));
                _ncMax = (_colPanels + _nBlocks - 1) / _nBlocks * Nr;
            }

            _mBlocks = Groups * _nBlocks >= MinItems ? 1 : Math.Min(_mPanels, (MinItems + (Groups * _nBlocks) - 1) / (Groups * _nBlocks));
            int items = Groups * _mBlocks * _nBlocks;
            long cost = (long)Math.Min(Og, (_mPanels + _mBlocks - 1) / _mBlocks * Mr) * K * _ncMax;
            KernelParallel.For(items, cost, Body, items);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Body(int start, int end)
        {
            GemmWorkspace workspace = GemmWorkspace.Current;
            float* bp = workspace.B(_ncMax * KcMax);
            float* cBlock = workspace.A(Math.Min(Og, (_mPanels + _mBlocks - 1) / _mBlocks * Mr) * _ncMax);
            for (int item = start; item < end; item++)
            {
                int perGroup = _mBlocks * _nBlocks;
                int grp = item / perGroup, mb = item % perGroup / _nBlocks, nb = item % _nBlocks;
                int i0 = _mPanels * mb / _mBlocks * Mr, i1 = Math.Min(Og, _mPanels * (mb + 1) / _mBlocks * Mr);
                int j0 = nb * _ncMax, j1 = Math.Min(J, j0 + _ncMax);
                if (_colPanels != 0)
                {
                    j0 = _colPanels * nb / _nBlocks * Nr;
                    j1 = Math.Min(J, _colPanels * (nb + 1) / _nBlocks * Nr);
                }

                Block(grp, i0, i1, j0, j1, bp, cBlock);
            }
        }

        /// <summary>
        /// Output channels [i0, i1) × columns [j0, j1) of group grp: accumulated over the k slices in a dense block
        /// (row stride _ncMax, so tiles never straddle images and C stays in L2), then copied to NCHW with the bias.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Block(int grp, int i0, int i1, int j0, int j1, float* bp, float* cBlock)
        {
            float* xg = X + (grp * GStride);
            nint ldc = _ncMax;
            for (int s = 0; s < Slices; s++)
            {
                int p0 = s * KcMax, kc = Math.Min(KcMax, K - p0);
                bool add = s > 0;
                PackB(xg, p0, kc, j0, j1 - j0, bp);
                float* aSlice = PackedA + ((long)grp * Og * K) + ((long)Og * p0);
                for (int ir = i0; ir < i1; ir += Mr)
                {
                    int rows = Math.Min(Mr, Og - ir);
                    float* aPanel = aSlice + ((nint)ir * kc);
                    float* cRow = cBlock + ((ir - i0) * ldc);
                    for (int jr = j0; jr < j1; jr += Nr)
                    {
                        GemmKernel512.Tile(rows, Math.Min(Nr, j1 - jr), kc, aPanel, bp + ((nint)(jr - j0) * kc), Nr, cRow + (jr - j0), ldc, add);
                    }
                }
            }

            // Copy out per image: each image's columns are one contiguous run per output channel, stored through
            // the epilogue while the C block is still in L2.
            for (int j = j0; j < j1;)
            {
                int n = j / P, q = j - (n * P), len = Math.Min(j1 - j, P - q);
                for (int i = i0; i < i1; i++)
                {
                    int o = (grp * Og) + i;
                    float* src = cBlock + ((i - i0) * ldc) + (j - j0);
                    nint at = ((((nint)n * Cout) + o) * P) + q;
                    CopyRow(src, Y + at, len, Epilogue.BiasOf(o), Epilogue, Epilogue.Residual == null ? null : Epilogue.Residual + at);
                }

                j += len;
            }
        }

        /// <summary>dst[i] = act(src[i] + bias + residual[i]) for i &lt; count (<paramref name="residual"/> null: none).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void CopyRow(float* src, float* dst, int count, float bias, in ConvEpilogue epilogue, float* residual)
        {
            Vector512<float> b = Vector512.Create(bias);
            int i = 0;
            if (epilogue.BiasOnly)
            {
                for (; i + 16 <= count; i += 16)
                {
                    (Vector512.Load(src + i) + b).Store(dst + i);
                }
            }
            else
            {
                for (; i + 16 <= count; i += 16)
                {
                    epilogue.Apply(Vector512.Load(src + i) + b, residual == null ? null : residual + i).Store(dst + i);
                }
            }

            if (i < count)
            {
                Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count - i)).AsSingle();
                Vector512<float> v = Avx512F.MaskLoad(src + i, mask, Vector512<float>.Zero) + b;
                if (residual != null)
                {
                    v += Avx512F.MaskLoad(residual + i, mask, Vector512<float>.Zero);
                }

                Avx512F.MaskStore(dst + i, mask, epilogue.Apply(v, null));
            }
        }

        /// <summary>
        /// B[p, j] for p in [p0, p0 + kc), j in [j0, j0 + nc), packed in 32-wide panels (panel at jr starts at
        /// jr·kc, row p at p·32). Each panel row is, per output row the panel touches, one or two masked loads of
        /// consecutive floats; lanes outside the input (padding) and past nc stay zero.
        /// </summary>
        /// <remarks>
        /// The loads depend on the tap only through its class (its (ki, kj), i.e. its row/column shift) and channel:
        /// so per panel a plan is made once, for each class the list of (source offset, lane masks) of the output
        /// rows it reaches, and each k row then costs two masked loads per listed row, whatever its padding. The
        /// masks and offsets are what the per-row test computed, so the packed values are the same.
        /// </remarks>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackB(float* xg, int p0, int kc, int j0, int nc, float* dst)
        {
            int* segOy = stackalloc int[Nr];
            int* segShift = stackalloc int[Nr];
            int* segL0 = stackalloc int[Nr];
            int* segL1 = stackalloc int[Nr];
            nint* segBase = stackalloc nint[Nr];
            int* planStart = stackalloc int[MaxPlanClasses + 1];
            nint* planOffset = stackalloc nint[MaxPlanEntries];
            Vector512<float>* planMask = stackalloc Vector512<float>[2 * MaxPlanEntries];
            Vector512<int> lanes = Vector512<int>.Indices, upper = lanes + Vector512.Create(16);
            int ws = Ws, classes = Classes;
            for (int jr = 0; jr < nc; jr += Nr)
            {
                int cols = Math.Min(Nr, nc - jr);
                int segments = 0;
                for (int l = 0, j = j0 + jr; l < cols; segments++)
                {
                    int n = j / P, q = j - (n * P), oy = q / Ow, ox = q - (oy * Ow);
                    int len = Math.Min(cols - l, Ow - ox);
                    segOy[segments] = oy;
                    segShift[segments] = l - ox; // lane of output column 0 of this row
                    segL0[segments] = l;
                    segL1[segments] = l + len;
                    segBase[segments] = (n * NStride) + ((nint)oy * ws) + ox - l;
                    l += len;
                    j += len;
                }

                float* d = dst + ((nint)jr * kc);
                if (classes > MaxPlanClasses || classes * segments > MaxPlanEntries)
                {
                    PackPanelPerTap(xg, p0, kc, segments, segOy, segShift, segL0, segL1, segBase, d);
                    continue;
                }

                // The plan: for each class, the output rows whose lanes read something, with their masks.
                int entries = 0;
                for (int cls = 0; cls < classes; cls++)
                {
                    planStart[cls] = entries;
                    int* tap = Taps + ((nint)cls * TapInts);
                    int offset = tap[0], dy = tap[1], dx = tap[2], validRows = tap[3], validCols = tap[4];
                    for (int s = 0; s < segments; s++)
                    {
                        if ((uint)(segOy[s] + dy) >= (uint)validRows)
                        {
                            continue;
                        }

                        // Lane l reads column ox = l − shift; it is inside the input when 0 ≤ ox + dx < validCols.
                        int zero = segShift[s] - dx;
                        int lo = Math.Max(segL0[s], zero), hi = Math.Min(segL1[s], zero + validCols);
                        if (lo >= hi)
                        {
                            continue;
                        }

                        Vector512<int> vlo = Vector512.Create(lo), vhi = Vector512.Create(hi);
                        planOffset[entries] = segBase[s] + offset;
                        planMask[2 * entries] = (Vector512.GreaterThanOrEqual(lanes, vlo) & Vector512.LessThan(lanes, vhi)).AsSingle();
                        planMask[(2 * entries) + 1] = (Vector512.GreaterThanOrEqual(upper, vlo) & Vector512.LessThan(upper, vhi)).AsSingle();
                        entries++;
                    }
                }

                planStart[classes] = entries;

                // Masked-off lanes never touch memory, so an all-zero half costs a load but reads nothing. Each k row
                // starts a new plane (the next channel's rows are a plane further), which the hardware prefetcher does
                // not follow: the same rows of a channel about 8 k rows ahead are prefetched by hand.
                int c = p0 / classes, k = p0 - (c * classes);
                float* channel = xg + (c * ChannelStride);
                nint ahead = ((8 + classes - 1) / classes) * ChannelStride;
                for (int p = 0; p < kc; p++, d += Nr)
                {
                    Vector512<float> v0 = Vector512<float>.Zero, v1 = Vector512<float>.Zero;
                    for (int e = planStart[k], e1 = planStart[k + 1]; e < e1; e++)
                    {
                        float* src = channel + planOffset[e];
                        Sse.Prefetch0(src + ahead);
                        Sse.Prefetch0(src + ahead + 16);
                        Sse.Prefetch0(src + ahead + 31);
                        v0 |= Avx512F.MaskLoad(src, planMask[2 * e], Vector512<float>.Zero);
                        v1 |= Avx512F.MaskLoad(src + 16, planMask[(2 * e) + 1], Vector512<float>.Zero);
                    }

                    v0.Store(d);
                    v1.Store(d + 16);
                    if (++k == classes)
                    {
                        k = 0;
                        channel += ChannelStride;
                    }
                }
            }
        }

        /// <summary>One B panel, the segment tests made per k row (layers with many tap classes or output rows per panel).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackPanelPerTap(float* xg, int p0, int kc, int segments, int* segOy, int* segShift, int* segL0, int* segL1,
            nint* segBase, float* d)
        {
            Vector512<int> lanes = Vector512<int>.Indices;
            int* tap = Taps + ((nint)p0 * TapInts);
            for (int p = 0; p < kc; p++, tap += TapInts, d += Nr)
            {
                int offset = tap[0], dy = tap[1], dx = tap[2], validRows = tap[3], validCols = tap[4];
                Vector512<float> v0 = Vector512<float>.Zero, v1 = Vector512<float>.Zero;
                for (int s = 0; s < segments; s++)
                {
                    if ((uint)(segOy[s] + dy) >= (uint)validRows)
                    {
                        continue;
                    }

                    int zero = segShift[s] - dx;
                    int lo = Math.Max(segL0[s], zero), hi = Math.Min(segL1[s], zero + validCols);
                    if (lo >= hi)
                    {
                        continue;
                    }

                    float* src = xg + segBase[s] + offset;
                    Vector512<int> vlo = Vector512.Create(lo), vhi = Vector512.Create(hi);
                    if (lo < 16)
                    {
                        Vector512<float> mask = (Vector512.GreaterThanOrEqual(lanes, vlo) & Vector512.LessThan(lanes, vhi)).AsSingle();
                        v0 |= Avx512F.MaskLoad(src, mask, Vector512<float>.Zero);
                    }

                    if (hi > 16)
                    {
                        Vector512<int> upper = lanes + Vector512.Create(16);
                        Vector512<float> mask = (Vector512.GreaterThanOrEqual(upper, vlo) & Vector512.LessThan(upper, vhi)).AsSingle();
                        v1 |= Avx512F.MaskLoad(src + 16, mask, Vector512<float>.Zero);
                    }
                }

                v0.Store(d);
                v1.Store(d + 16);
            }
        }
    }

    /// <summary>One backward-weight call: items are (chunk, group, block of taps).</summary>
    private sealed class WeightJob
    {
        public float* X;
        public nint NStride;
        public nint GStride;
        public int Ws;
        public int* Columns;
        public int KPad;
        public int K;
        public float* Dy;
        public int P;
        public int Oh;
        public int Ow;
        public int Cout;
        public int Og;
        public int Batch;
        public int Chunks;
        public int Groups;
        public float* GradWeight;
        public float* Partials;
        public long WeightLength;
        private int _tBlock;
        private int _tBlocks;

        public void Run()
        {
            // Blocks of at most 512 taps (B block ≤ 512 KiB), cut evenly (K = 576 as 288 + 288, not 512 + 64), with an
            // even number of items when there are few (ResNet-18 b16 layer4.0.conv1: 6 items of 384 taps, 1,152 per
            // thread, instead of 512, 512, 512, 512, 256, where one thread ends up with 1,280); with few chunks (batch 1)
            // the taps are cut finer so that both threads get work. Each C element is computed the same way for any cut.
            int baseItems = Chunks * Groups;
            int tBlocks = (K + MaxNc - 1) / MaxNc;
            if (baseItems * tBlocks < 4)
            {
                tBlocks = (4 + baseItems - 1) / baseItems;
            }
            else if (baseItems * tBlocks < 16 && baseItems * tBlocks % 2 == 1)
            {
                tBlocks++;
            }

            _tBlock = Math.Max(Nr, ((K + tBlocks - 1) / tBlocks + Nr - 1) / Nr * Nr);
            _tBlocks = (K + _tBlock - 1) / _tBlock;
            int items = baseItems * _tBlocks;
            long cost = (long)Og * _tBlock * P * Math.Max(1, Batch / Chunks);
            KernelParallel.For(items, cost, Body, items);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Body(int start, int end)
        {
            for (int item = start; item < end; item++)
            {
                int chunk = item / (Groups * _tBlocks), grp = item % (Groups * _tBlocks) / _tBlocks, tb = item % _tBlocks;
                int n0 = (int)((long)Batch * chunk / Chunks), n1 = (int)((long)Batch * (chunk + 1) / Chunks);
                int r0 = tb * _tBlock, r1 = Math.Min(K, r0 + _tBlock);
                float* dst = (chunk == 0 ? GradWeight : Partials + ((chunk - 1) * WeightLength)) + ((long)grp * Og * K);
                Chunk(grp, n0, n1, r0, r1, dst);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Chunk(int grp, int n0, int n1, int r0, int r1, float* dst)
        {
            long first = (long)n0 * P, pixels = (long)(n1 - n0) * P;
            int slices = (int)((pixels + Kc - 1) / Kc), kcMax = (int)((pixels + slices - 1) / slices);
            GemmWorkspace workspace = GemmWorkspace.Current;
            float* ap = workspace.A(Og * kcMax);
            float* bp = workspace.B(kcMax * _tBlock);
            float* xg = X + (grp * GStride);
            for (int s = 0; s < slices; s++)
            {
                long t0 = first + ((long)s * kcMax);
                int kc = (int)Math.Min(kcMax, first + pixels - t0);
                PackGradOutput(grp, t0, kc, ap);
                PackInput(xg, t0, kc, r0, r1, bp);
                for (int ir = 0; ir < Og; ir += Mr)
                {
                    int rows = Math.Min(Mr, Og - ir);
                    for (int jr = r0; jr < r1; jr += Nr)
                    {
                        GemmKernel512.Tile(rows, Math.Min(Nr, r1 - jr), kc, ap + ((nint)ir * kc), bp + ((nint)(jr - r0) * kc), Nr,
                            dst + ((nint)ir * K) + jr, K, s > 0);
                    }
                }
            }
        }

        /// <summary>A micro-panels of dy for pixels [t0, t0 + kc): panel ir holds (row r, pixel p) at ir·kc + p·rows + r.</summary>
        private void PackGradOutput(int grp, long t0, int kc, float* ap)
        {
            for (int ir = 0; ir < Og; ir += Mr)
            {
                int rows = Math.Min(Mr, Og - ir);
                for (int p = 0; p < kc;)
                {
                    long j = t0 + p;
                    int n = (int)(j / P), q = (int)(j - ((long)n * P)), len = Math.Min(kc - p, P - q);
                    float* src = Dy + ((((nint)n * Cout) + (grp * Og) + ir) * P) + q;
                    GemmPacking.Transpose(src, P, rows, len, ap + ((nint)ir * kc) + ((nint)p * rows), rows);
                    p += len;
                }
            }
        }

        /// <summary>
        /// B panels of X̂ᵀ: rows = pixels [t0, t0 + kc), 32 columns = taps; the panel at tap jr starts at (jr − r0)·kc.
        /// Each row is four masked 8-lane gathers at the pixel's base address plus each tap's offset.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackInput(float* xg, long t0, int kc, int r0, int r1, float* bp)
        {
            int* offsets = Columns, shiftsY = Columns + KPad, shiftsX = Columns + (2 * KPad);
            int* validRows = Columns + (3 * KPad), validCols = Columns + (4 * KPad);
            for (int jr = r0; jr < r1; jr += Nr)
            {
                float* d = bp + ((nint)(jr - r0) * kc);
                int n = (int)(t0 / P), q = (int)(t0 - ((long)n * P)), oy = q / Ow, ox = q - (oy * Ow);
                for (int p = 0; p < kc; p++, d += Nr)
                {
                    float* pixel = xg + (n * NStride) + ((nint)oy * Ws) + ox;
                    Vector256<int> voy = Vector256.Create(oy), vox = Vector256.Create(ox);
                    for (int h = 0; h < Nr; h += 8)
                    {
                        int t = jr + h;
                        Vector256<uint> iy = (voy + Vector256.Load(shiftsY + t)).AsUInt32();
                        Vector256<uint> ix = (vox + Vector256.Load(shiftsX + t)).AsUInt32();
                        Vector256<float> mask = (Vector256.LessThan(iy, Vector256.Load(validRows + t).AsUInt32())
                            & Vector256.LessThan(ix, Vector256.Load(validCols + t).AsUInt32())).AsSingle();
                        Avx2.GatherMaskVector256(Vector256<float>.Zero, pixel, Vector256.Load(offsets + t), mask, 4).Store(d + h);
                    }

                    if (++ox == Ow)
                    {
                        ox = 0;
                        if (++oy == Oh)
                        {
                            oy = 0;
                            n++;
                        }
                    }
                }
            }
        }
    }
}
