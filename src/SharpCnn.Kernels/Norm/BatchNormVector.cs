using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// The vectorised batch-norm variant (<see cref="BatchNorm.VectorVariantName"/>): every pass over a plane
/// (one channel of one sample) is a Vector512 (or Vector256) loop with a scalar tail.
/// </summary>
/// <remarks>
/// <para><b>Sums.</b> A plane's sums (its moments Σx and Σ(x − x̄)² in one pass, <see cref="Moments"/>; Σg and
/// Σg·(x − μ) in the backward) run in float lanes over blocks of <see cref="BlockFloats"/> elements (each lane adds at
/// most 16 values), and each block's lanes are widened to double and added to double lanes; the lanes are combined
/// once at the end of the plane, then the scalar tail in double. A channel's statistics are the plane partials
/// combined in double in sample order (<see cref="Combine"/>). The float lanes keep the loop at memory speed; the
/// blocks keep their rounding at the level of a 16-term float sum.</para>
/// <para><b>Work split.</b> With enough channels (at least <see cref="ChannelsPerThreadForFusedPath"/> per thread)
/// a thread takes whole channels and runs the passes of a channel back to back, so the writing pass reads the
/// channel from L2 (ResNet's (32, 64, 56, 56) is 401 KB per channel). With fewer channels the work is split over
/// (channel, sample) planes in two parallel phases, the plane moments going to a scratch array that is then combined
/// per channel in sample order. Both paths compute the same plane partials and combine them in the same order, so
/// results are bitwise identical for any thread count and either path.</para>
/// </remarks>
internal static class BatchNormVector
{
    /// <summary>Float elements summed in float lanes before the lanes are added to the double lanes.</summary>
    internal const int BlockFloats = 1024;

    /// <summary>Channels per thread from which threads take whole channels (better cache reuse, one fork-join).</summary>
    internal const int ChannelsPerThreadForFusedPath = 4;

    /// <summary>
    /// Tensors of at least this many floats (16 MiB) are written with non-temporal stores: far larger than a core's
    /// L2, they would leave the cache before the next layer reads them anyway, and streaming stores skip reading
    /// each output line before overwriting it.
    /// </summary>
    internal const long StreamingFloats = 4L << 20;

    /// <summary>Gets or sets a test override of <see cref="StreamingFloats"/> (0: stream every plane of ≥ 64 floats).</summary>
    internal static long? StreamingFloatsOverride { get; set; }

    private static long StreamingThreshold => StreamingFloatsOverride ?? StreamingFloats;

    /// <summary>Whether this machine runs the vector loops (otherwise <see cref="BatchNorm"/> keeps the scalar variant).</summary>
    internal static bool IsSupported => Vector512.IsHardwareAccelerated || Vector256.IsHardwareAccelerated;

    public static unsafe void ForwardTraining(
        float* x, float* gamma, float* beta, int n, int c, int spatial, float eps, float* y, float* mean, float* invStd, float* unbiasedVar, bool relu, float* residual)
    {
        long m = (long)n * spatial;
        long planeCost = 3L * spatial;
        bool stream = m * c >= StreamingThreshold;
        if (BatchNormPipeline.Applies(n, spatial, stream))
        {
            BatchNormPipeline.ForwardTraining(x, gamma, beta, n, c, spatial, eps, y, mean, invStd, unbiasedVar, relu, residual, stream);
            return;
        }

        if (UseFusedPath(c))
        {
            KernelParallel.For(c, planeCost * n, (start, end) =>
            {
                double[] moments = ArrayPool<double>.Shared.Rent(2 * n);
                try
                {
                    fixed (double* pm = moments)
                    {
                        for (int ch = start; ch < end; ch++)
                        {
                            for (int s = 0; s < n; s++)
                            {
                                (pm[s], pm[n + s]) = Moments(Plane(x, s, ch, c, spatial), spatial);
                            }

                            (float mu, double sq) = Combine(pm, pm + n, n, spatial);
                            (float scale, float shift) = Finish(ch, mu, sq, m, eps, gamma, beta, mean, invStd, unbiasedVar);
                            for (int s = 0; s < n; s++)
                            {
                                ScaleShift(Plane(x, s, ch, c, spatial), Plane(y, s, ch, c, spatial), spatial, scale, shift, relu, stream, MaskPlane(residual, s, ch, c, spatial), fence: false);
                            }

                            if (stream && Sse.IsSupported)
                            {
                                Sse.StoreFence();
                            }
                        }
                    }
                }
                finally
                {
                    ArrayPool<double>.Shared.Return(moments);
                }
            }, c);
            return;
        }

        double[] partials = ArrayPool<double>.Shared.Rent(2 * n * c);
        float[] scaleShift = ArrayPool<float>.Shared.Rent(2 * c);
        try
        {
            fixed (double* pPart = partials)
            fixed (float* pSs = scaleShift)
            {
                double* sums = pPart, m2s = pPart + ((long)n * c);
                float* ss = pSs;
                int planes = n * c;

                // Plane p = s·c + ch, its moments stored at [ch·n + s] so a channel's are contiguous.
                KernelParallel.For(planes, 2L * spatial, (start, end) =>
                {
                    for (int p = start; p < end; p++)
                    {
                        (int s, int ch) = Math.DivRem(p, c);
                        (sums[((long)ch * n) + s], m2s[((long)ch * n) + s]) = Moments(x + ((long)p * spatial), spatial);
                    }
                });
                for (int ch = 0; ch < c; ch++)
                {
                    (float mu, double sq) = Combine(sums + ((long)ch * n), m2s + ((long)ch * n), n, spatial);
                    (ss[ch], ss[c + ch]) = Finish(ch, mu, sq, m, eps, gamma, beta, mean, invStd, unbiasedVar);
                }

                KernelParallel.For(planes, spatial, (start, end) =>
                {
                    for (int p = start; p < end; p++)
                    {
                        int ch = p % c;
                        ScaleShift(x + ((long)p * spatial), y + ((long)p * spatial), spatial, ss[ch], ss[c + ch], relu, stream, residual is null ? null : residual + ((long)p * spatial));
                    }
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scaleShift);
            ArrayPool<double>.Shared.Return(partials);
        }
    }

    public static unsafe void ForwardInference(
        float* x, float* runningMean, float* runningVar, float* gamma, float* beta, int n, int c, int spatial, float eps, float* y, bool relu)
    {
        bool stream = (long)n * c * spatial >= StreamingThreshold;
        KernelParallel.For(n * c, spatial, (start, end) =>
        {
            for (int p = start; p < end; p++)
            {
                int ch = p % c;
                double scale = (gamma is null ? 1.0 : gamma[ch]) / Math.Sqrt(runningVar[ch] + (double)eps);
                double shift = (beta is null ? 0.0 : beta[ch]) - (runningMean[ch] * scale);
                ScaleShift(x + ((long)p * spatial), y + ((long)p * spatial), spatial, (float)scale, (float)shift, relu, stream, null);
            }
        });
    }

    /// <summary>
    /// The backward pass; with <paramref name="reluOutput"/> (not null) the incoming gradient is first masked to 0 where
    /// it is ≤ 0, and with <paramref name="gradResidual"/> (not null) that masked gradient is also written there (the
    /// gradient of a residual added before the ReLU), in the pass that writes the input gradient.
    /// </summary>
    public static unsafe void Backward(
        float* gradOutput, float* x, float* gamma, float* mean, float* invStd, int n, int c, int spatial, float* gradInput, float* gradGamma, float* gradBeta,
        float* reluOutput, float* gradResidual)
    {
        long m = (long)n * spatial;
        bool stream = m * c >= StreamingThreshold;
        if (BatchNormPipeline.Applies(n, spatial, stream))
        {
            BatchNormPipeline.Backward(gradOutput, x, gamma, mean, invStd, n, c, spatial, gradInput, gradGamma, gradBeta, reluOutput, gradResidual, stream);
            return;
        }

        if (UseFusedPath(c))
        {
            int threads = Math.Min(KernelParallel.MaxThreads, c);
            KernelParallel.For(c, 4L * spatial * n, (start, end) =>
            {
                for (int item = start; item < end; item++)
                {
                    int ch = BackwardChannelOfItem(item, c, threads);
                    float mu = mean[ch];
                    double sumG = 0, sumGX = 0;
                    for (int s = 0; s < n; s++)
                    {
                        (double g, double gx) = GradSums(Plane(gradOutput, s, ch, c, spatial), Plane(x, s, ch, c, spatial), MaskPlane(reluOutput, s, ch, c, spatial), spatial, mu);
                        sumG += g;
                        sumGX += gx;
                    }

                    // Backwards over the samples: the planes the first pass read last are still in L2 (a channel's
                    // g and x, 802 KB for ResNet's (32, 64, 56, 56), nearly fill a 1 MiB L2). Each plane's output is
                    // independent of the order.
                    (float a, float b, float k) = BackwardCoefficients(ch, sumG, sumGX, m, gamma, invStd, gradGamma, gradBeta);
                    for (int s = n - 1; s >= 0; s--)
                    {
                        GradInput(Plane(gradOutput, s, ch, c, spatial), Plane(x, s, ch, c, spatial), MaskPlane(reluOutput, s, ch, c, spatial), Plane(gradInput, s, ch, c, spatial), spatial, a, b, mu, k, stream, MaskPlane(gradResidual, s, ch, c, spatial), fence: false);
                    }

                    if (stream && Sse.IsSupported)
                    {
                        Sse.StoreFence();
                    }
                }
            }, c);
            return;
        }

        double[] partials = ArrayPool<double>.Shared.Rent(2 * n * c);
        float[] coefficients = ArrayPool<float>.Shared.Rent(3 * c);
        try
        {
            fixed (double* pPart = partials)
            fixed (float* pCoef = coefficients)
            {
                double* part = pPart;
                float* coef = pCoef;
                int planes = n * c;
                long half = (long)n * c;
                KernelParallel.For(planes, 2L * spatial, (start, end) =>
                {
                    for (int p = start; p < end; p++)
                    {
                        (int s, int ch) = Math.DivRem(p, c);
                        long at = ((long)ch * n) + s;
                        long offset = (long)p * spatial;
                        (part[at], part[half + at]) = GradSums(gradOutput + offset, x + offset, reluOutput is null ? null : reluOutput + offset, spatial, mean[ch]);
                    }
                });
                for (int ch = 0; ch < c; ch++)
                {
                    double sumG = InOrder(part + ((long)ch * n), n);
                    double sumGX = InOrder(part + half + ((long)ch * n), n);
                    (coef[ch], coef[c + ch], coef[(2 * c) + ch]) = BackwardCoefficients(ch, sumG, sumGX, m, gamma, invStd, gradGamma, gradBeta);
                }

                KernelParallel.For(planes, 2L * spatial, (start, end) =>
                {
                    for (int p = start; p < end; p++)
                    {
                        int ch = p % c;
                        long offset = (long)p * spatial;
                        GradInput(gradOutput + offset, x + offset, reluOutput is null ? null : reluOutput + offset, gradInput + offset, spatial, coef[ch], coef[c + ch], mean[ch], coef[(2 * c) + ch], stream, gradResidual is null ? null : gradResidual + offset);
                    }
                });
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(coefficients);
            ArrayPool<double>.Shared.Return(partials);
        }
    }

    /// <summary>Gets or sets a test override of <see cref="BackwardFirstChannel"/>'s rule (0: the backward sweeps the channels in the forward's order).</summary>
    internal static Func<int, int>? BackwardFirstChannelOverride { get; set; }

    /// <summary>
    /// The channel a backward sweep starts at (then ascending, wrapping around to channel 0): c/2. The forward sweeps the
    /// channels from 0, and y and the input gradient are written with streaming stores that leave the caches alone, so
    /// right after a forward the L3 (a victim cache of the L2s) holds the x of the channels the forward read last.
    /// Starting the backward in the middle reads those first, before its own reads of dy push them out; the channels it
    /// reads last (0 to c/2 − 1) are then the ones the next forward reads first. Ascending order is kept everywhere else
    /// because the hardware prefetcher's run past the end of a plane lands in the next channel's plane of that sample
    /// (a descending sweep measured 16–28% slower). Per-channel work is independent, so the order never changes a bit.
    /// </summary>
    internal static int BackwardFirstChannel(int c) => BackwardFirstChannelOverride is { } rule ? rule(c) : s_ascending.Value ? 0 : c / 2;

    /// <summary>Variant name that makes the backward sweep the channels from 0, as the forward (<c>SHARPCNN_KERNEL=BatchNormAscending</c>), for A/B runs.</summary>
    internal const string AscendingVariantName = "BatchNormAscending";

    private static readonly Lazy<bool> s_ascending = new(() => KernelSwitches.Names(AscendingVariantName));

    /// <summary>
    /// The channel of work item <paramref name="item"/> in the whole-channel backward: <see cref="KernelParallel"/>
    /// gives thread t the items [c·t/T, c·(t+1)/T), the channels the forward gave it; each share is swept from its
    /// <see cref="BackwardFirstChannel"/> (relative to the share) and wraps around, as the pipeline's channels are.
    /// </summary>
    internal static int BackwardChannelOfItem(int item, int c, int threads)
    {
        int t = (int)(((long)(item + 1) * threads - 1) / c);
        int lo = (int)((long)c * t / threads), size = (int)((long)c * (t + 1) / threads) - lo;
        return lo + ((item - lo + BackwardFirstChannel(size)) % size);
    }

    private static bool UseFusedPath(int c) => c >= ChannelsPerThreadForFusedPath * KernelParallel.MaxThreads;

    /// <summary>Plane (sample <paramref name="s"/>, channel <paramref name="ch"/>) of (N, C, spatial) data.</summary>
    internal static unsafe float* Plane(float* data, int s, int ch, int c, int spatial) => data + ((((long)s * c) + ch) * spatial);

    // The plane of an optional operand (ReLU mask, residual, residual gradient), or null when it is absent.
    internal static unsafe float* MaskPlane(float* data, int s, int ch, int c, int spatial) =>
        data is null ? null : Plane(data, s, ch, c, spatial);

    /// <summary>The sum of <paramref name="count"/> values added in index order (a fixed order: the same bits for any thread count).</summary>
    internal static unsafe double InOrder(double* values, int count)
    {
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            sum += values[i];
        }

        return sum;
    }

    /// <summary>Writes mean, invStd and the unbiased variance of channel <paramref name="ch"/>; returns y = x·scale + shift's constants.</summary>
    internal static unsafe (float Scale, float Shift) Finish(
        int ch, float mu, double sq, long m, float eps, float* gamma, float* beta, float* mean, float* invStd, float* unbiasedVar)
    {
        double inv = 1.0 / Math.Sqrt((sq / m) + eps);
        mean[ch] = mu;
        invStd[ch] = (float)inv;
        if (unbiasedVar is not null)
        {
            unbiasedVar[ch] = (float)(sq / (m - 1));
        }

        double scale = (gamma is null ? 1.0 : gamma[ch]) * inv;
        double shift = (beta is null ? 0.0 : beta[ch]) - (mu * scale);
        return ((float)scale, (float)shift);
    }

    /// <summary>
    /// gradBeta = Σg, gradGamma = Σg·(x − μ)·invStd; gi = a·g + b·(x − μ) + k with a = γ·invStd,
    /// b = −a·invStd²·Σg(x − μ)/m, k = −a·Σg/m.
    /// </summary>
    internal static unsafe (float A, float B, float K) BackwardCoefficients(
        int ch, double sumG, double sumGX, long m, float* gamma, float* invStd, float* gradGamma, float* gradBeta)
    {
        double inv = invStd[ch];
        if (gradBeta is not null)
        {
            gradBeta[ch] = (float)sumG;
        }

        if (gradGamma is not null)
        {
            gradGamma[ch] = (float)(sumGX * inv);
        }

        double a = (gamma is null ? 1.0 : gamma[ch]) * inv;
        return ((float)a, (float)(-a * inv * inv * sumGX / m), (float)(-a * sumG / m));
    }

    /// <summary>
    /// One pass over a plane: (Σx, Σ(x − x̄)²) with x̄ the plane's own mean, both in double. Lane j of the vector loop
    /// sums x − x[j] and (x − x[j])² as the class remarks say (float lanes over blocks of <see cref="BlockFloats"/>,
    /// widened to double). The shift is one of the lane's own values, so the lane's Σ(x − K)² exceeds its squared
    /// deviations by at most a factor of its count: no cancellation beyond a float sum of that many terms, where an
    /// unshifted Σx² − (Σx)²/n loses every digit of a small spread far from zero. The lane's Σx is then count·K + Σ(x − K),
    /// and its error is that of a float sum of |x − K| (at most √count standard deviations' worth of the lane's own
    /// spread, against |x| for a plain sum). Each lane's deviations about its own mean and the lane means' spread about
    /// the plane mean are combined (Chan et al.), and the scalar tail is added as single values. Two add-pipe operations
    /// and one FMA per vector: 2 cycles per 16 floats on Zen 4's double-pumped 512-bit units, under the DRAM and L2
    /// rates it reads at.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe (double Sum, double M2) Moments(float* x, int len)
    {
        int i = 0;
        double sum, m2;
        if (Vector512.IsHardwareAccelerated && len >= 16)
        {
            Vector512<float> k = Vector512.Load(x);
            Vector512<double> s0 = Vector512<double>.Zero, s1 = s0, q0 = s0, q1 = s0;
            while (len - i >= 16)
            {
                int blockEnd = i + Math.Min(BlockFloats, (len - i) & ~15);
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (; i + 64 <= blockEnd; i += 64)
                {
                    Vector512<float> e0 = Vector512.Load(x + i) - k;
                    Vector512<float> e1 = Vector512.Load(x + i + 16) - k;
                    Vector512<float> e2 = Vector512.Load(x + i + 32) - k;
                    Vector512<float> e3 = Vector512.Load(x + i + 48) - k;
                    a0 += e0;
                    a1 += e1;
                    a2 += e2;
                    a3 += e3;
                    b0 = Vector512.FusedMultiplyAdd(e0, e0, b0);
                    b1 = Vector512.FusedMultiplyAdd(e1, e1, b1);
                    b2 = Vector512.FusedMultiplyAdd(e2, e2, b2);
                    b3 = Vector512.FusedMultiplyAdd(e3, e3, b3);
                }

                for (; i < blockEnd; i += 16)
                {
                    Vector512<float> e = Vector512.Load(x + i) - k;
                    a0 += e;
                    b0 = Vector512.FusedMultiplyAdd(e, e, b0);
                }

                (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen((a0 + a1) + (a2 + a3));
                s0 += lo;
                s1 += hi;
                (lo, hi) = Vector512.Widen((b0 + b1) + (b2 + b3));
                q0 += lo;
                q1 += hi;
            }

            (Vector512<double> k0, Vector512<double> k1) = Vector512.Widen(k);
            Vector512<double> count = Vector512.Create((double)(i / 16));
            Vector512<double> laneSum0 = (count * k0) + s0, laneSum1 = (count * k1) + s1;
            Vector512<double> laneM2 = (q0 - (s0 * s0 / count)) + (q1 - (s1 * s1 / count));
            sum = Vector512.Sum(laneSum0 + laneSum1) + TailSum(x, i, len);
            double mean = sum / len;
            Vector512<double> d0 = (laneSum0 / count) - Vector512.Create(mean), d1 = (laneSum1 / count) - Vector512.Create(mean);
            m2 = Vector512.Sum(laneM2) + ((i / 16) * Vector512.Sum((d0 * d0) + (d1 * d1)));
            return (sum, m2 + TailDeviation(x, i, len, mean));
        }

        if (Vector256.IsHardwareAccelerated && len >= 8)
        {
            Vector256<float> k = Vector256.Load(x);
            Vector256<double> s0 = Vector256<double>.Zero, s1 = s0, q0 = s0, q1 = s0;
            while (len - i >= 8)
            {
                int blockEnd = i + Math.Min(BlockFloats / 2, (len - i) & ~7);
                Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (; i + 32 <= blockEnd; i += 32)
                {
                    Vector256<float> e0 = Vector256.Load(x + i) - k;
                    Vector256<float> e1 = Vector256.Load(x + i + 8) - k;
                    Vector256<float> e2 = Vector256.Load(x + i + 16) - k;
                    Vector256<float> e3 = Vector256.Load(x + i + 24) - k;
                    a0 += e0;
                    a1 += e1;
                    a2 += e2;
                    a3 += e3;
                    b0 = Vector256.FusedMultiplyAdd(e0, e0, b0);
                    b1 = Vector256.FusedMultiplyAdd(e1, e1, b1);
                    b2 = Vector256.FusedMultiplyAdd(e2, e2, b2);
                    b3 = Vector256.FusedMultiplyAdd(e3, e3, b3);
                }

                for (; i < blockEnd; i += 8)
                {
                    Vector256<float> e = Vector256.Load(x + i) - k;
                    a0 += e;
                    b0 = Vector256.FusedMultiplyAdd(e, e, b0);
                }

                (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen((a0 + a1) + (a2 + a3));
                s0 += lo;
                s1 += hi;
                (lo, hi) = Vector256.Widen((b0 + b1) + (b2 + b3));
                q0 += lo;
                q1 += hi;
            }

            (Vector256<double> k0, Vector256<double> k1) = Vector256.Widen(k);
            Vector256<double> count = Vector256.Create((double)(i / 8));
            Vector256<double> laneSum0 = (count * k0) + s0, laneSum1 = (count * k1) + s1;
            Vector256<double> laneM2 = (q0 - (s0 * s0 / count)) + (q1 - (s1 * s1 / count));
            sum = Vector256.Sum(laneSum0 + laneSum1) + TailSum(x, i, len);
            double mean = sum / len;
            Vector256<double> d0 = (laneSum0 / count) - Vector256.Create(mean), d1 = (laneSum1 / count) - Vector256.Create(mean);
            m2 = Vector256.Sum(laneM2) + ((i / 8) * Vector256.Sum((d0 * d0) + (d1 * d1)));
            return (sum, m2 + TailDeviation(x, i, len, mean));
        }

        sum = TailSum(x, 0, len);
        return (sum, TailDeviation(x, 0, len, sum / len));
    }

    /// <summary>Σx[i] for i in [start, len), in double.</summary>
    private static unsafe double TailSum(float* x, int start, int len)
    {
        double total = 0;
        for (int i = start; i < len; i++)
        {
            total += x[i];
        }

        return total;
    }

    /// <summary>Σ(x[i] − mean)² for i in [start, len), in double.</summary>
    private static unsafe double TailDeviation(float* x, int start, int len, double mean)
    {
        double total = 0;
        for (int i = start; i < len; i++)
        {
            double d = x[i] - mean;
            total += d * d;
        }

        return total;
    }

    /// <summary>
    /// A channel's mean and Σ(x − μ)² from its planes' <see cref="Moments"/> (<paramref name="planes"/> planes of
    /// <paramref name="len"/> values, sample order): the plane sums added in order, then the planes' own squared
    /// deviations plus the spread of their means about the channel mean, also in order. The same bits for any thread
    /// count and any path that produced the same plane moments.
    /// </summary>
    internal static unsafe (float Mean, double M2) Combine(double* sums, double* m2s, int planes, int len)
    {
        double mean = InOrder(sums, planes) / ((long)planes * len);
        double within = 0, spread = 0;
        for (int p = 0; p < planes; p++)
        {
            within += m2s[p];
            double d = (sums[p] / len) - mean;
            spread += d * d;
        }

        // Each lane's Σ(x − K)² − (Σ(x − K))²/count is ≥ 0 exactly but may round a few ulps below it for a near-constant
        // channel; a variance is never negative.
        return ((float)mean, Math.Max(0, within + (len * spread)));
    }

    /// <summary>(Σg, Σg·(x − μ)) over one plane, g taken as 0 where <paramref name="mask"/> (if not null) is ≤ 0 (ReLU's backward rule).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe (double SumG, double SumGX) GradSums(float* g, float* x, float* mask, int len, float mu)
    {
        int i = 0;
        double sumG = 0, sumGX = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> m = Vector512.Create(mu);
            Vector512<double> g0 = Vector512<double>.Zero, g1 = g0, gx0 = g0, gx1 = g0;
            while (len - i >= 16)
            {
                int blockEnd = i + Math.Min(BlockFloats, (len - i) & ~15);
                Vector512<float> a0 = Vector512<float>.Zero, a1 = a0, b0 = a0, b1 = a0;
                for (; i + 32 <= blockEnd; i += 32)
                {
                    Vector512<float> v0 = Vector512.Load(g + i);
                    Vector512<float> v1 = Vector512.Load(g + i + 16);
                    if (mask is not null)
                    {
                        v0 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Load(mask + i), Vector512<float>.Zero), Vector512<float>.Zero, v0);
                        v1 = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Load(mask + i + 16), Vector512<float>.Zero), Vector512<float>.Zero, v1);
                    }

                    a0 += v0;
                    a1 += v1;
                    b0 = Vector512.FusedMultiplyAdd(v0, Vector512.Load(x + i) - m, b0);
                    b1 = Vector512.FusedMultiplyAdd(v1, Vector512.Load(x + i + 16) - m, b1);
                }

                for (; i < blockEnd; i += 16)
                {
                    Vector512<float> v = Vector512.Load(g + i);
                    if (mask is not null)
                    {
                        v = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Load(mask + i), Vector512<float>.Zero), Vector512<float>.Zero, v);
                    }

                    a0 += v;
                    b0 = Vector512.FusedMultiplyAdd(v, Vector512.Load(x + i) - m, b0);
                }

                (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen(a0 + a1);
                g0 += lo;
                g1 += hi;
                (lo, hi) = Vector512.Widen(b0 + b1);
                gx0 += lo;
                gx1 += hi;
            }

            sumG = Vector512.Sum(g0 + g1);
            sumGX = Vector512.Sum(gx0 + gx1);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> m = Vector256.Create(mu);
            Vector256<double> g0 = Vector256<double>.Zero, g1 = g0, gx0 = g0, gx1 = g0;
            while (len - i >= 8)
            {
                int blockEnd = i + Math.Min(BlockFloats / 2, (len - i) & ~7);
                Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, b0 = a0, b1 = a0;
                for (; i + 16 <= blockEnd; i += 16)
                {
                    Vector256<float> v0 = Vector256.Load(g + i);
                    Vector256<float> v1 = Vector256.Load(g + i + 8);
                    if (mask is not null)
                    {
                        v0 = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(Vector256.Load(mask + i), Vector256<float>.Zero), Vector256<float>.Zero, v0);
                        v1 = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(Vector256.Load(mask + i + 8), Vector256<float>.Zero), Vector256<float>.Zero, v1);
                    }

                    a0 += v0;
                    a1 += v1;
                    b0 = Vector256.FusedMultiplyAdd(v0, Vector256.Load(x + i) - m, b0);
                    b1 = Vector256.FusedMultiplyAdd(v1, Vector256.Load(x + i + 8) - m, b1);
                }

                for (; i < blockEnd; i += 8)
                {
                    Vector256<float> v = Vector256.Load(g + i);
                    if (mask is not null)
                    {
                        v = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(Vector256.Load(mask + i), Vector256<float>.Zero), Vector256<float>.Zero, v);
                    }

                    a0 += v;
                    b0 = Vector256.FusedMultiplyAdd(v, Vector256.Load(x + i) - m, b0);
                }

                (Vector256<double> lo, Vector256<double> hi) = Vector256.Widen(a0 + a1);
                g0 += lo;
                g1 += hi;
                (lo, hi) = Vector256.Widen(b0 + b1);
                gx0 += lo;
                gx1 += hi;
            }

            sumG = Vector256.Sum(g0 + g1);
            sumGX = Vector256.Sum(gx0 + gx1);
        }

        for (; i < len; i++)
        {
            double gv = mask is not null && mask[i] <= 0f ? 0f : g[i];
            sumG += gv;
            sumGX += gv * (x[i] - mu);
        }

        return (sumG, sumGX);
    }

    /// <summary>
    /// y = x·scale + shift (fused multiply-add) over one plane, then + <paramref name="r"/> (a residual, when not
    /// null), then, with <paramref name="relu"/>, y &lt; 0 → 0 (ReLU's rule): per element exactly the roundings of
    /// batch norm, then the add, then ReLU as separate kernels. With <paramref name="prefetch"/> (not null, streaming
    /// path only) the same extent of that plane is prefetched into L2, one line per 16 outputs (the pipeline's next
    /// channel); it changes no value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void ScaleShift(float* x, float* y, int len, float scale, float shift, bool relu, bool stream, float* r, bool fence = true, float* prefetch = null)
    {
        int i = 0;
        if (stream && Vector512.IsHardwareAccelerated && Sse.IsSupported && len >= 64)
        {
            // Scalar head up to a 64-byte boundary of y, then aligned streaming stores; the same FMA (and ReLU rule)
            // per element as the other paths, so the bits do not depend on the alignment.
            int head = Math.Min(len, (int)((64 - ((nuint)y & 63)) & 63) / sizeof(float));
            for (; i < head; i++)
            {
                y[i] = ScaleShiftOne(x[i], scale, shift, relu, r is null ? 0f : r[i], r is not null);
            }

            Vector512<float> a = Vector512.Create(scale), b = Vector512.Create(shift), zero = Vector512<float>.Zero;
            for (; i + 16 <= len; i += 16)
            {
                if (prefetch is not null)
                {
                    Sse.Prefetch1(prefetch + i);
                }

                Vector512<float> v = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), a, b);
                if (r is not null)
                {
                    v += Vector512.Load(r + i);
                }

                if (relu)
                {
                    v = Vector512.ConditionalSelect(Vector512.LessThan(v, zero), zero, v);
                }

                v.StoreAlignedNonTemporal(y + i);
            }

            if (fence)
            {
                Sse.StoreFence();
            }
        }
        else if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> a = Vector512.Create(scale), b = Vector512.Create(shift), zero = Vector512<float>.Zero;
            if (relu || r is not null)
            {
                for (; i + 16 <= len; i += 16)
                {
                    Vector512<float> v = Vector512.FusedMultiplyAdd(Vector512.Load(x + i), a, b);
                    if (r is not null)
                    {
                        v += Vector512.Load(r + i);
                    }

                    (relu ? Vector512.ConditionalSelect(Vector512.LessThan(v, zero), zero, v) : v).Store(y + i);
                }
            }
            else
            {
                for (; i + 32 <= len; i += 32)
                {
                    Vector512.FusedMultiplyAdd(Vector512.Load(x + i), a, b).Store(y + i);
                    Vector512.FusedMultiplyAdd(Vector512.Load(x + i + 16), a, b).Store(y + i + 16);
                }

                for (; i + 16 <= len; i += 16)
                {
                    Vector512.FusedMultiplyAdd(Vector512.Load(x + i), a, b).Store(y + i);
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> a = Vector256.Create(scale), b = Vector256.Create(shift), zero = Vector256<float>.Zero;
            for (; i + 8 <= len; i += 8)
            {
                Vector256<float> v = Vector256.FusedMultiplyAdd(Vector256.Load(x + i), a, b);
                if (r is not null)
                {
                    v += Vector256.Load(r + i);
                }

                (relu ? Vector256.ConditionalSelect(Vector256.LessThan(v, zero), zero, v) : v).Store(y + i);
            }
        }

        for (; i < len; i++)
        {
            y[i] = ScaleShiftOne(x[i], scale, shift, relu, r is null ? 0f : r[i], r is not null);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ScaleShiftOne(float x, float scale, float shift, bool relu, float r, bool hasResidual)
    {
        float v = MathF.FusedMultiplyAdd(x, scale, shift);
        if (hasResidual)
        {
            v += r;
        }

        return relu && v < 0f ? 0f : v;
    }

    /// <summary>
    /// gi = a·g + (b·(x − μ) + k) over one plane, g taken as 0 where <paramref name="mask"/> (if not null) is ≤ 0;
    /// with <paramref name="gr"/> (not null) that masked g is also stored there (a residual's gradient). With
    /// <paramref name="prefetchG"/> and <paramref name="prefetchX"/> (both or neither; Vector512 path only) the same
    /// extent of those planes is prefetched into L2 (the pipeline's next channel); it changes no value.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void GradInput(float* g, float* x, float* mask, float* gi, int len, float a, float b, float mu, float k, bool stream, float* gr, bool fence = true,
        float* prefetchG = null, float* prefetchX = null)
    {
        int i = 0;
        bool streaming = stream && Sse.IsSupported && len >= 64;

        // The residual gradient streams too when it shares gi's alignment within a 64-byte line (the same offset into
        // two pooled arrays usually does); otherwise it takes ordinary stores. Either way the same values.
        bool streamResidual = streaming && gr is not null && (((nuint)gr ^ (nuint)gi) & 63) == 0;
        if (streaming && Vector512.IsHardwareAccelerated)
        {
            // As in ScaleShift: scalar head to a 64-byte boundary, then streaming stores (same arithmetic per element).
            int head = Math.Min(len, (int)((64 - ((nuint)gi & 63)) & 63) / sizeof(float));
            for (; i < head; i++)
            {
                float grad = mask is not null && mask[i] <= 0f ? 0f : g[i];
                gi[i] = MathF.FusedMultiplyAdd(grad, a, MathF.FusedMultiplyAdd(x[i] - mu, b, k));
                if (gr is not null)
                {
                    gr[i] = grad;
                }
            }
        }

        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> va = Vector512.Create(a), vb = Vector512.Create(b), vm = Vector512.Create(mu), vk = Vector512.Create(k);
            bool prefetch = prefetchG is not null && Sse.IsSupported;
            for (; i + 16 <= len; i += 16)
            {
                if (prefetch)
                {
                    Sse.Prefetch1(prefetchG + i);
                    Sse.Prefetch1(prefetchX + i);
                }

                Vector512<float> grad = Vector512.Load(g + i);
                if (mask is not null)
                {
                    grad = Vector512.ConditionalSelect(Vector512.LessThanOrEqual(Vector512.Load(mask + i), Vector512<float>.Zero), Vector512<float>.Zero, grad);
                }

                Vector512<float> rest = Vector512.FusedMultiplyAdd(Vector512.Load(x + i) - vm, vb, vk);
                Vector512<float> result = Vector512.FusedMultiplyAdd(grad, va, rest);
                if (streaming)
                {
                    result.StoreAlignedNonTemporal(gi + i);
                }
                else
                {
                    result.Store(gi + i);
                }

                if (gr is not null)
                {
                    if (streamResidual)
                    {
                        grad.StoreAlignedNonTemporal(gr + i);
                    }
                    else
                    {
                        grad.Store(gr + i);
                    }
                }
            }

            if (streaming && fence)
            {
                Sse.StoreFence();
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a), vb = Vector256.Create(b), vm = Vector256.Create(mu), vk = Vector256.Create(k);
            for (; i + 8 <= len; i += 8)
            {
                Vector256<float> grad = Vector256.Load(g + i);
                if (mask is not null)
                {
                    grad = Vector256.ConditionalSelect(Vector256.LessThanOrEqual(Vector256.Load(mask + i), Vector256<float>.Zero), Vector256<float>.Zero, grad);
                }

                Vector256<float> rest = Vector256.FusedMultiplyAdd(Vector256.Load(x + i) - vm, vb, vk);
                Vector256.FusedMultiplyAdd(grad, va, rest).Store(gi + i);
                if (gr is not null)
                {
                    grad.Store(gr + i);
                }
            }
        }

        for (; i < len; i++)
        {
            float grad = mask is not null && mask[i] <= 0f ? 0f : g[i];
            gi[i] = MathF.FusedMultiplyAdd(grad, a, MathF.FusedMultiplyAdd(x[i] - mu, b, k));
            if (gr is not null)
            {
                gr[i] = grad;
            }
        }
    }
}
