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

    /// <summary>Floats of a block's transformed input (16 × C_in × tiles) aimed at: half of a 1 MiB L2.</summary>
    private const int BlockFloats = 1 << 17;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 3×3, stride 1, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && g.KernelH == 3 && g.KernelW == 3
        && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1;

    /// <summary>
    /// Worth choosing over implicit GEMM: at least 128 input and output channels, where the GEMMs dominate the
    /// transforms (which cost O(C_in + C_out) per tile against O(C_in·C_out) for the GEMMs). See docs/performance.md.
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) => Supports(g) && g.InChannels >= 128 && g.OutChannels >= 128;

    /// <summary>y = conv(x, w) + b; <paramref name="bias"/> may be null.</summary>
    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y)
    {
        int c = g.InChannels, k = g.OutChannels;
        int slices = (c + Kc - 1) / Kc, kcMax = (c + slices - 1) / slices;
        float[] transformed = ArrayPool<float>.Shared.Rent(16 * k * c);
        float[] packed = ArrayPool<float>.Shared.Rent(16 * k * c);
        try
        {
            fixed (float* pu = transformed)
            fixed (float* pa = packed)
            {
                TransformWeights(w, k, c, pu);
                nint us = (nint)pu, ps = (nint)pa;
                KernelParallel.For(16 * slices, (long)k * kcMax, (start, end) =>
                {
                    for (int item = start; item < end; item++)
                    {
                        int xi = item / slices, p0 = item % slices * kcMax, kc = Math.Min(kcMax, c - p0);
                        var job = new GemmJob(false, false, k, 0, c, (float*)us + ((long)xi * k * c), c, null, 0, null, 0, false);
                        GemmPacking.PackA(job, 0, k, p0, kc, Mr, (float*)ps + ((long)xi * k * c) + ((long)k * p0));
                    }
                });

                int tilesH = (g.OutHeight + 1) / 2, tilesW = (g.OutWidth + 1) / 2;
                var job = new Job
                {
                    X = x,
                    Y = y,
                    Bias = bias,
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
            ArrayPool<float>.Shared.Return(transformed);
            ArrayPool<float>.Shared.Return(packed);
        }
    }

    /// <summary>u[ξ, o, c] = (G g Gᵀ)[ξ] for each 3×3 kernel g = w[o, c].</summary>
    private static void TransformWeights(float* w, int k, int c, float* u)
    {
        long plane = (long)k * c;
        Span<float> t = stackalloc float[12];
        for (long oc = 0; oc < plane; oc++)
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

    private sealed class Job
    {
        public float* X;
        public float* Y;
        public float* Bias;
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

        public void Run()
        {
            // Tiles per block: a multiple of 32 with the transformed input block near BlockFloats; the split
            // depends on the geometry only.
            _tb = Math.Clamp(BlockFloats / (16 * Math.Max(C, K)) / Nr * Nr, Nr, 4 * Nr);
            _tb = Math.Min(_tb, (Tiles + Nr - 1) / Nr * Nr);
            int blocks = (Tiles + _tb - 1) / _tb;
            KernelParallel.For(blocks, 4L * K * C * _tb, Body, blocks);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Body(int start, int end)
        {
            GemmWorkspace workspace = GemmWorkspace.Current;
            float* v = workspace.B(16 * C * _tb);
            float* m = workspace.A(16 * K * _tb);
            for (int block = start; block < end; block++)
            {
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
                        for (int ir = 0; ir < K; ir += Mr)
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

                TransformOutput(t0, count, m);
            }
        }

        /// <summary>
        /// v[ξ][panel][c][lane] = (Bᵀ d B)[ξ] for tile t0 + panel·32 + lane and channel c; lanes past the block's
        /// tiles are zero.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformInput(int t0, int count, float* v)
        {
            long xiStride = (long)C * _tb;
            int perImage = TilesH * TilesW;
            float* d = stackalloc float[16];
            for (int t = 0; t < ((count + Nr - 1) / Nr * Nr); t++)
            {
                int panel = t / Nr, lane = t % Nr;
                float* dst = v + ((((long)panel * C) * Nr) + lane);
                if (t >= count)
                {
                    for (int ch = 0; ch < C; ch++)
                    {
                        for (int xi = 0; xi < 16; xi++)
                        {
                            dst[(xi * xiStride) + ((long)ch * Nr)] = 0f;
                        }
                    }

                    continue;
                }

                int tile = t0 + t, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                int iy0 = (2 * ty) - PadTop, ix0 = (2 * tx) - PadLeft;
                bool inside = iy0 >= 0 && ix0 >= 0 && iy0 + 4 <= H && ix0 + 4 <= W;
                float* src = X + ((long)n * C * H * W) + ((long)iy0 * W) + ix0;
                for (int ch = 0; ch < C; ch++, src += (long)H * W)
                {
                    if (inside)
                    {
                        for (int i = 0; i < 4; i++)
                        {
                            float* row = src + ((long)i * W);
                            d[4 * i] = row[0];
                            d[(4 * i) + 1] = row[1];
                            d[(4 * i) + 2] = row[2];
                            d[(4 * i) + 3] = row[3];
                        }
                    }
                    else
                    {
                        for (int i = 0; i < 4; i++)
                        {
                            for (int j = 0; j < 4; j++)
                            {
                                int iy = iy0 + i, ix = ix0 + j;
                                d[(4 * i) + j] = (uint)iy < (uint)H && (uint)ix < (uint)W ? src[((long)i * W) + j] : 0f;
                            }
                        }
                    }

                    // Bᵀ d: rows; then (Bᵀ d) B: columns.
                    for (int j = 0; j < 4; j++)
                    {
                        float a0 = d[j], a1 = d[4 + j], a2 = d[8 + j], a3 = d[12 + j];
                        d[j] = a0 - a2;
                        d[4 + j] = a1 + a2;
                        d[8 + j] = a2 - a1;
                        d[12 + j] = a1 - a3;
                    }

                    float* o = dst + ((long)ch * Nr);
                    for (int i = 0; i < 4; i++)
                    {
                        float b0 = d[4 * i], b1 = d[(4 * i) + 1], b2 = d[(4 * i) + 2], b3 = d[(4 * i) + 3];
                        o[((4 * i) + 0) * xiStride] = b0 - b2;
                        o[((4 * i) + 1) * xiStride] = b1 + b2;
                        o[((4 * i) + 2) * xiStride] = b2 - b1;
                        o[((4 * i) + 3) * xiStride] = b1 - b3;
                    }
                }
            }
        }

        /// <summary>y tile = Aᵀ M A + bias, 16 tiles at a time in vectors (M rows hold consecutive tiles), stored per output.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void TransformOutput(int t0, int count, float* m)
        {
            long xiStride = (long)K * _tb;
            int perImage = TilesH * TilesW;
            float* out00 = stackalloc float[16];
            float* out01 = stackalloc float[16];
            float* out10 = stackalloc float[16];
            float* out11 = stackalloc float[16];
            for (int o = 0; o < K; o++)
            {
                Vector512<float> bias = Vector512.Create(Bias == null ? 0f : Bias[o]);
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

                    (s0 + s1 + s2 + bias).Store(out00);
                    (s1 - s2 - s3 + bias).Store(out01);
                    (r0 + r1 + r2 + bias).Store(out10);
                    (r1 - r2 - r3 + bias).Store(out11);
                    int lanes = Math.Min(16, count - t);
                    for (int l = 0; l < lanes; l++)
                    {
                        int tile = t0 + t + l, n = tile / perImage, r = tile - (n * perImage), ty = r / TilesW, tx = r - (ty * TilesW);
                        int oy = 2 * ty, ox = 2 * tx;
                        float* yo = Y + ((((long)n * K) + o) * Oh * Ow) + ((long)oy * Ow) + ox;
                        yo[0] = out00[l];
                        bool right = ox + 1 < Ow;
                        if (right)
                        {
                            yo[1] = out01[l];
                        }

                        if (oy + 1 < Oh)
                        {
                            yo[Ow] = out10[l];
                            if (right)
                            {
                                yo[Ow + 1] = out11[l];
                            }
                        }
                    }
                }
            }
        }
    }
}
