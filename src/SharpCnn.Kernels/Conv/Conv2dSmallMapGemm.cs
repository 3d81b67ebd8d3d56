using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Convolution for maps with few output positions (variant <c>Conv2dSmallMapGemm</c>, AVX-512, one group): the GEMM
/// of <see cref="Conv2dImplicitGemm"/> transposed, Yᵀ (N·OH·OW × C_out) = X̂ᵀ (N·OH·OW × K) · Wᵀ (K × C_out) with
/// K = C_in·kh·kw, so the output channels are the vectorised side (two 16-lane vectors per 32 channels) and the output
/// positions are broadcast from a packed panel of at most <see cref="MaxRows"/> rows.
/// </summary>
/// <remarks>
/// <para><b>Why.</b> ResNet-18's layer4 at batch 1 has 7×7 = 49 output positions against 512 output channels. The
/// implicit GEMM vectorises along positions in 32-wide panels, so 49 becomes 64 (a quarter of its FMAs are padding),
/// and with one column block it splits rows between the threads, each packing the same 1.2 MB B panel. Here the 49
/// positions are four row panels of 12–13 (no padding lane), the 512 channels sixteen 32-wide weight panels split
/// between the threads, and the input is gathered once per call into X̂ᵀ panels (49·K floats, 0.9 MB for layer4)
/// shared by both threads.</para>
/// <para><b>Blocking.</b> K is cut into equal slices of at most 256. For each slice a thread runs, for each of its
/// weight panels (slice × 32 channels, 32 KiB, streamed from memory once per call: the prepared weights,
/// <see cref="PackWeights"/>), the <see cref="GemmKernel512"/> micro-kernel over every row panel, accumulating into
/// its own dense C block (positions × 32 per panel, in L1/L2). After the last slice each panel's block is transposed
/// to NCHW through the <see cref="ConvEpilogue"/> (bias, residual, ReLU).</para>
/// <para><b>Determinism.</b> Every output element is Σ over slices (in order) of one FMA chain per slice; the
/// slices and row panels depend on the geometry only, so the split of weight panels between threads never changes a
/// bit.</para>
/// </remarks>
internal static unsafe class Conv2dSmallMapGemm
{
    /// <summary>Output channels per weight panel (two Vector512 per micro-kernel row).</summary>
    private const int Nr = 32;

    /// <summary>Depth of a k slice: the weight panel (Kc × 32 floats, 32 KiB) and a row panel stay in L1/L2.</summary>
    private const int Kc = 256;

    /// <summary>Most output positions per row panel (the micro-kernel's rows; 14 × 2 accumulators fill 28 zmm).</summary>
    private const int MaxRows = 14;

    /// <summary>Most tap classes (kh·kw) and (class, run) pairs a pack plan holds (the masks take 64 B each, on the stack).</summary>
    private const int MaxPlanClasses = 64;

    private const int MaxPlanEntries = 256;

    /// <summary>Tells whether this machine runs the variant (AVX-512, and AVX2 gathers for the input panels).</summary>
    public static bool IsSupported => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx2.IsSupported;

    /// <summary>
    /// Tells whether the variant can run <paramref name="g"/>: one group, an input addressable by 32-bit gather
    /// indices, and X̂ᵀ (N·OH·OW × K) and the packed weights each within one array.
    /// </summary>
    public static bool Supports(in Conv2dGeometry g) =>
        IsSupported && g.Groups == 1 && g.InputLength < int.MaxValue
        && (long)g.Batch * g.OutHeight * g.OutWidth * g.InChannels * g.KernelH * g.KernelW < int.MaxValue
        && PackedWeightLength(g) < int.MaxValue;

    /// <summary>
    /// Worth choosing when the weights are prepared (<see cref="Conv2dPreparedWeights"/>; the per-call transpose of
    /// the weights would cost as much as the convolution): at most 64 output positions in the whole batch (where the
    /// implicit GEMM's 32-wide position panels pad), at least 64 output channels and a reduction of at least 256.
    /// Measured at batch 1 on ResNet-18's layer4 (docs/performance.md, "ResNet-18 at batch 1").
    /// </summary>
    public static bool PrefersPrepared(in Conv2dGeometry g) =>
        Supports(g) && (long)g.Batch * g.OutHeight * g.OutWidth <= 64 && g.OutChannels >= 64
        && (long)g.InChannels * g.KernelH * g.KernelW >= 256;

    /// <summary>Floats of the packed weights of <paramref name="g"/> (<see cref="PackWeights"/>): C_out rounded up to 32, times K.</summary>
    public static long PackedWeightLength(in Conv2dGeometry g) =>
        (long)((g.OutChannels + Nr - 1) / Nr * Nr) * g.InChannels * g.KernelH * g.KernelW;

    /// <summary>
    /// Packs Wᵀ as <see cref="Forward"/> reads it: slice at p0 starts at p0·C_out' (C_out' = C_out rounded up to 32),
    /// within it the panel of channels [32·jp, 32·jp + 32) at jp·32·kc, holding w[32·jp + col, p0 + p] at p·32 + col
    /// (zero past C_out).
    /// </summary>
    public static void PackWeights(float* w, in Conv2dGeometry g, float* packed)
    {
        int k = g.InChannels * g.KernelH * g.KernelW, cout = g.OutChannels;
        int panels = (cout + Nr - 1) / Nr;
        int slices = (k + Kc - 1) / Kc, kcMax = (k + slices - 1) / slices;
        nint ws = (nint)w, ps = (nint)packed;
        KernelParallel.For(panels, (long)Nr * k, (start, end) =>
        {
            for (int jp = start; jp < end; jp++)
            {
                int o0 = jp * Nr, cols = Math.Min(Nr, cout - o0);
                for (int s = 0; s < slices; s++)
                {
                    int p0 = s * kcMax, kc = Math.Min(kcMax, k - p0);
                    float* dst = (float*)ps + ((long)p0 * panels * Nr) + ((long)jp * Nr * kc);
                    for (int p = 0; p < kc; p++)
                    {
                        float* row = dst + ((long)p * Nr);
                        for (int col = 0; col < Nr; col++)
                        {
                            row[col] = col < cols ? ((float*)ws)[((long)(o0 + col) * k) + p0 + p] : 0f;
                        }
                    }
                }
            }
        });
    }

    /// <summary>
    /// y = act(conv(x, w) + b + r) over the whole batch. <paramref name="prepacked"/>, when not null, holds
    /// <see cref="PackWeights"/>'s output for these weights (<paramref name="w"/> is then not read); otherwise the
    /// weights are packed for this call.
    /// </summary>
    public static void Forward(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked = null)
    {
        int k = g.InChannels * g.KernelH * g.KernelW;
        int j = g.Batch * g.OutHeight * g.OutWidth;
        int slices = (k + Kc - 1) / Kc, kcMax = (k + slices - 1) / slices;
        float[]? ownPacked = prepacked != null ? null : ArrayPool<float>.Shared.Rent((int)PackedWeightLength(g));
        float[] panelsA = ArrayPool<float>.Shared.Rent(j * k);
        try
        {
            fixed (float* pOwn = ownPacked)
            fixed (float* pa = panelsA)
            {
                float* pw = prepacked;
                if (pw == null)
                {
                    pw = pOwn;
                    PackWeights(w, g, pw);
                }

                var job = new Job
                {
                    X = x,
                    A = pa,
                    W = pw,
                    Y = y,
                    Epilogue = epilogue,
                    K = k,
                    J = j,
                    KcMax = kcMax,
                    Slices = slices,
                    RowPanels = (j + MaxRows - 1) / MaxRows,
                    Cout = g.OutChannels,
                    Panels = (g.OutChannels + Nr - 1) / Nr,
                    P = g.OutHeight * g.OutWidth,
                    Ow = g.OutWidth,
                    Taps = g.KernelH * g.KernelW,
                    Kw = g.KernelW,
                    H = g.Height,
                    Wi = g.Width,
                    Chw = g.InChannels * g.Height * g.Width,
                    Sh = g.StrideH,
                    Sw = g.StrideW,
                    Dh = g.DilationH,
                    Dw = g.DilationW,
                    Pt = g.PadTop,
                    Pl = g.PadLeft,
                };
                job.Run();
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(panelsA);
            if (ownPacked is not null)
            {
                ArrayPool<float>.Shared.Return(ownPacked);
            }
        }
    }

    /// <summary>One forward call: X̂ᵀ packed by (slice, row panel) items, then the GEMM by weight panels.</summary>
    private sealed class Job
    {
        public float* X;
        public float* A;
        public float* W;
        public float* Y;
        public ConvEpilogue Epilogue;
        public int K;
        public int J;
        public int KcMax;
        public int Slices;
        public int RowPanels;
        public int Cout;
        public int Panels;
        public int P;
        public int Ow;
        public int Taps;
        public int Kw;
        public int H;
        public int Wi;
        public int Chw;
        public int Sh;
        public int Sw;
        public int Dh;
        public int Dw;
        public int Pt;
        public int Pl;

        public void Run()
        {
            int packItems = Slices * RowPanels;
            // One block per weight panel (16 at 512 channels; the pack's 72 items in 16 blocks, each item being ~3 µs): a
            // helper that joins late (or not at all) leaves the caller blocks to take instead of a half to wait for; which
            // thread runs an item never changes its bits.
            KernelParallel.For(packItems, (long)KcMax * MaxRows * 8, PackBody, Math.Min(packItems, 16));
            KernelParallel.For(Panels, (long)Nr * K * J, GemmBody, Panels);
        }

        private int RowStart(int panel) => (int)((long)J * panel / RowPanels);

        /// <summary>
        /// Row panel i of slice s: X̂ᵀ[r0 + r, p0 + p] at A + p0·J + r0·kc + p·rows + r. With stride 1 along the
        /// width the positions of one output row read consecutive floats for every tap, so each k row is one masked
        /// load per output row the panel touches, from a plan made once per panel (per tap class: the source offset
        /// and lane mask of each output row it reads inside the input); otherwise one masked gather per k row.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackBody(int start, int end)
        {
            int* rowOff = stackalloc int[16];
            int* rowY = stackalloc int[16];
            int* rowX = stackalloc int[16];
            int* planStart = stackalloc int[MaxPlanClasses + 1];
            int* planOffset = stackalloc int[MaxPlanEntries];
            Vector512<float>* planMask = stackalloc Vector512<float>[MaxPlanEntries];
            for (int item = start; item < end; item++)
            {
                int s = item / RowPanels, i = item % RowPanels;
                int p0 = s * KcMax, kc = Math.Min(KcMax, K - p0);
                int r0 = RowStart(i), rows = RowStart(i + 1) - r0;
                for (int l = 0; l < 16; l++)
                {
                    if (l < rows)
                    {
                        int jj = r0 + l, n = jj / P, q = jj - (n * P), oy = q / Ow, ox = q - (oy * Ow);
                        rowY[l] = (oy * Sh) - Pt;
                        rowX[l] = (ox * Sw) - Pl;
                        rowOff[l] = (n * Chw) + (rowY[l] * Wi) + rowX[l];
                    }
                    else
                    {
                        rowY[l] = -1 << 28; // never inside the input: the lane is masked off
                        rowX[l] = 0;
                        rowOff[l] = 0;
                    }
                }

                Vector512<float> store = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(rows)).AsSingle();
                float* dst = A + ((long)p0 * J) + ((long)r0 * kc);
                int c = p0 / Taps, t = p0 - (c * Taps);
                if (Sw == 1 && Taps <= MaxPlanClasses && Plan(rows, rowY, rowX, rowOff, planStart, planOffset, planMask))
                {
                    float* channel = X + ((long)c * H * Wi);
                    nint planeStride = (nint)H * Wi;
                    for (int p = 0; p < kc; p++, dst += rows)
                    {
                        Vector512<float> v = Vector512<float>.Zero;
                        for (int e = planStart[t], e1 = planStart[t + 1]; e < e1; e++)
                        {
                            v |= Avx512F.MaskLoad(channel + planOffset[e], planMask[e], Vector512<float>.Zero);
                        }

                        Avx512F.MaskStore(dst, store, v);
                        if (++t == Taps)
                        {
                            t = 0;
                            channel += planeStride;
                        }
                    }

                    continue;
                }

                Vector256<int> y0 = Vector256.Load(rowY), y1 = Vector256.Load(rowY + 8);
                Vector256<int> x0 = Vector256.Load(rowX), x1 = Vector256.Load(rowX + 8);
                Vector256<int> o0 = Vector256.Load(rowOff), o1 = Vector256.Load(rowOff + 8);
                Vector256<uint> hv = Vector256.Create((uint)H), wv = Vector256.Create((uint)Wi);
                for (int p = 0; p < kc; p++, dst += rows)
                {
                    int ki = t / Kw, kj = t - (ki * Kw);
                    int dy = ki * Dh, dx = kj * Dw;
                    Vector256<int> vdy = Vector256.Create(dy), vdx = Vector256.Create(dx);
                    Vector256<int> shift = Vector256.Create((c * H * Wi) + (dy * Wi) + dx);
                    Vector256<float> m0 = (Vector256.LessThan((y0 + vdy).AsUInt32(), hv) & Vector256.LessThan((x0 + vdx).AsUInt32(), wv)).AsSingle();
                    Vector256<float> v0 = Avx2.GatherMaskVector256(Vector256<float>.Zero, X, o0 + shift, m0, 4);
                    Vector256<float> v1 = Vector256<float>.Zero;
                    if (rows > 8)
                    {
                        Vector256<float> m1 = (Vector256.LessThan((y1 + vdy).AsUInt32(), hv) & Vector256.LessThan((x1 + vdx).AsUInt32(), wv)).AsSingle();
                        v1 = Avx2.GatherMaskVector256(Vector256<float>.Zero, X, o1 + shift, m1, 4);
                    }

                    Avx512F.MaskStore(dst, store, Vector512.Create(v0, v1));
                    if (++t == Taps)
                    {
                        t = 0;
                        c++;
                    }
                }
            }
        }

        /// <summary>
        /// For each tap class (ki, kj) of a panel whose lanes are runs of consecutive output columns: per run that reads
        /// inside the input, the offset (from channel 0's plane) that lane 0 would read and the mask of lanes inside
        /// the input. False when the plan does not fit (too many entries).
        /// </summary>
        private bool Plan(int rows, int* rowY, int* rowX, int* rowOff, int* planStart, int* planOffset, Vector512<float>* planMask)
        {
            Vector512<int> lanes = Vector512<int>.Indices;
            int entries = 0;
            for (int t = 0; t < Taps; t++)
            {
                planStart[t] = entries;
                int ki = t / Kw, kj = t - (ki * Kw), dy = ki * Dh, dx = kj * Dw;
                for (int l0 = 0; l0 < rows;)
                {
                    // A run: lanes whose input row is the same and whose input columns go up by one.
                    int l1 = l0 + 1;
                    while (l1 < rows && rowOff[l1] == rowOff[l1 - 1] + 1 && rowY[l1] == rowY[l0])
                    {
                        l1++;
                    }

                    int iy = rowY[l0] + dy;
                    if ((uint)iy < (uint)H)
                    {
                        // Lane l reads column rowX[l0] + (l − l0) + dx; inside when 0 ≤ that < W.
                        int first = rowX[l0] + dx;
                        int lo = Math.Max(l0, l0 - first), hi = Math.Min(l1, l0 + Wi - first);
                        if (lo < hi)
                        {
                            if (entries == MaxPlanEntries)
                            {
                                return false;
                            }

                            planOffset[entries] = rowOff[l0] + (dy * Wi) + dx - l0;
                            planMask[entries] = (Vector512.GreaterThanOrEqual(lanes, Vector512.Create(lo))
                                & Vector512.LessThan(lanes, Vector512.Create(hi))).AsSingle();
                            entries++;
                        }
                    }

                    l0 = l1;
                }
            }

            planStart[Taps] = entries;
            return true;
        }

        /// <summary>Weight panels [start, end): every slice, every row panel, into a dense C block per panel; then the copy-out.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void GemmBody(int start, int end)
        {
            int blockFloats = J * Nr;
            float* cBlock = GemmWorkspace.Current.A(blockFloats * (end - start));
            for (int s = 0; s < Slices; s++)
            {
                int p0 = s * KcMax, kc = Math.Min(KcMax, K - p0);
                float* aSlice = A + ((long)p0 * J);
                float* wSlice = W + ((long)p0 * Panels * Nr);
                for (int jp = start; jp < end; jp++)
                {
                    int cols = Math.Min(Nr, Cout - (jp * Nr));
                    float* b = wSlice + ((long)jp * Nr * kc);
                    float* c = cBlock + ((long)(jp - start) * blockFloats);
                    for (int i = 0; i < RowPanels; i++)
                    {
                        int r0 = RowStart(i), rows = RowStart(i + 1) - r0;
                        GemmKernel512.Tile(rows, cols, kc, aSlice + ((long)r0 * kc), b, Nr, c + (r0 * Nr), Nr, s > 0);
                    }
                }
            }

            for (int jp = start; jp < end; jp++)
            {
                CopyOut(cBlock + ((long)(jp - start) * blockFloats), jp);
            }
        }

        /// <summary>y[n, o, q] = act(C[j, o − 32·jp] + b[o] + r[n, o, q]) for the panel's channels, j = n·P + q.</summary>
        private void CopyOut(float* c, int jp)
        {
            int o0 = jp * Nr, cols = Math.Min(Nr, Cout - o0);
            float* residual = Epilogue.Residual;
            for (int col = 0; col < cols; col++)
            {
                int o = o0 + col;
                float bias = Epilogue.BiasOf(o);
                for (int jj = 0; jj < J;)
                {
                    int n = jj / P, q = jj - (n * P), len = Math.Min(J - jj, P - q);
                    long at = (((long)n * Cout) + o) * P + q;
                    float* src = c + ((long)jj * Nr) + col;
                    float* dst = Y + at;
                    if (residual == null)
                    {
                        for (int e = 0; e < len; e++)
                        {
                            dst[e] = Epilogue.Apply(src[(long)e * Nr] + bias, 0f, false);
                        }
                    }
                    else
                    {
                        float* res = residual + at;
                        for (int e = 0; e < len; e++)
                        {
                            dst[e] = Epilogue.Apply(src[(long)e * Nr] + bias, res[e], true);
                        }
                    }

                    jj += len;
                }
            }
        }
    }
}
