using System.Buffers;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// The vector batch norm's path for tensors that stream from DRAM (<see cref="BatchNormVector.StreamingFloats"/>
/// and large channels): the threads share each channel, one fork-join per pass, and a channel's writing pass runs in
/// the same fork-join as the next channel's first reading pass.
/// </summary>
/// <remarks>
/// <para><b>Why.</b> A two-pass batch norm cannot write a channel before its sums are complete, so with whole
/// channels per thread a core alternates between reading from DRAM (the first pass) and writing to it (the last),
/// and never does both at once; its own miss handling, not DRAM, limits each phase (docs/performance.md, "Batch
/// norm on two threads"). Here each pass over channel <c>ch</c> is split by samples: thread t takes the planes of
/// samples [n·t/T, n·(t+1)/T) of every channel, so its share of a channel (401 KB of g and x in the backward of
/// ResNet's (32, 64, 56, 56) on two threads) stays in its own L2 from the reduction to the writing pass. The writing
/// pass of channel ch is interleaved plane by plane with the reading pass of channel ch + 1 when both shares fit
/// <see cref="L2BudgetBytes"/>, so the core's reads and non-temporal writes overlap; otherwise it runs the two one
/// after the other in the same fork-join. Streaming stores are fenced once per thread and fork-join, not per
/// plane.</para>
/// <para><b>Bits.</b> Every plane's partial sums are computed by the same functions as in
/// <see cref="BatchNormVector"/>, and a channel's total is its plane partials added in double in sample order by the
/// calling thread after the fork-join: exactly the sums of the whole-channel path, for any thread count.</para>
/// </remarks>
internal static class BatchNormPipeline
{
    /// <summary>Floats per channel (n·spatial) from which the pipeline pays for its two or three fork-joins per channel.</summary>
    internal const long MinChannelFloats = 1 << 16;

    /// <summary>
    /// The bytes a thread's shares of two channels may take to be interleaved: 7/8 of a 1 MiB L2 (Zen 4), leaving
    /// room for the stack, the code and the write-combining traffic.
    /// </summary>
    internal const long L2BudgetBytes = 7L << 17;

    /// <summary>Gets or sets a test override: true forces the pipeline wherever it can run (n ≥ 2), false turns it off.</summary>
    internal static bool? EnabledOverride { get; set; }

    /// <summary>Gets or sets a test override of the interleaving rule (true: always interleave, false: never).</summary>
    internal static bool? InterleaveOverride { get; set; }

    /// <summary>Whether the training forward and the backward of this shape take the pipeline.</summary>
    internal static bool Applies(int n, int spatial, bool stream) =>
        n >= 2 && (EnabledOverride ?? (stream && (long)n * spatial >= MinChannelFloats));

    private static int Parts(int n) => Math.Min(n, KernelParallel.MaxThreads);

    private static bool Interleave(int n, int spatial, int streams)
    {
        int share = (n + Parts(n) - 1) / Parts(n);
        return BatchNormInterleaved.IsSupported && (InterleaveOverride ?? (2L * share * spatial * sizeof(float) * streams <= L2BudgetBytes));
    }

    public static unsafe void ForwardTraining(
        float* x, float* gamma, float* beta, int n, int c, int spatial, float eps, float* y, float* mean, float* invStd, float* unbiasedVar, bool relu, float* residual, bool stream)
    {
        long m = (long)n * spatial;
        bool interleave = Interleave(n, spatial, 1);
        double[] partials = ArrayPool<double>.Shared.Rent(2 * n);
        try
        {
            fixed (double* pPart = partials)
            {
                double* part = pPart;

                // The state of the current fork-join, written by the caller before each call (the hand-off to the
                // helpers is a full fence) and only read by the bodies.
                int writeCh = -1, sumCh = 0, sqCh = -1;
                float mu = 0, scale = 0, shift = 0;
                Action<int, int> body = (start, end) =>
                {
                    if (sqCh >= 0)
                    {
                        double* into = part + ((sqCh & 1) * n);
                        for (int s = start; s < end; s++)
                        {
                            into[s] = BatchNormVector.SquaredDeviation(Plane(x, s, sqCh, c, spatial), spatial, mu);
                        }

                        return;
                    }

                    double* sums = part + ((sumCh & 1) * n);
                    if (interleave && writeCh >= 0 && sumCh < c)
                    {
                        // The planes of this share read last by the previous pass are written first.
                        for (int j = 0; j < end - start; j++)
                        {
                            int sw = end - 1 - j;
                            var writer = new ScaleShiftWriter(Plane(x, sw, writeCh, c, spatial), Plane(y, sw, writeCh, c, spatial), MaskPlane(residual, sw, writeCh, c, spatial),
                                scale, shift, relu, stream);
                            sums[start + j] = BatchNormInterleaved.Sum(Plane(x, start + j, sumCh, c, spatial), spatial, ref writer);
                        }
                    }
                    else
                    {
                        if (writeCh >= 0)
                        {
                            for (int s = end - 1; s >= start; s--)
                            {
                                BatchNormVector.ScaleShift(Plane(x, s, writeCh, c, spatial), Plane(y, s, writeCh, c, spatial), spatial, scale, shift, relu, stream,
                                    MaskPlane(residual, s, writeCh, c, spatial), fence: false);
                            }
                        }

                        if (sumCh < c)
                        {
                            for (int s = start; s < end; s++)
                            {
                                sums[s] = BatchNormVector.Sum(Plane(x, s, sumCh, c, spatial), spatial);
                            }
                        }
                    }

                    Fence(stream && writeCh >= 0);
                };

                int parts = Parts(n);
                long cost = 3L * spatial;
                for (int ch = 0; ch <= c; ch++)
                {
                    // Write channel ch − 1 and sum channel ch in one fork-join.
                    sqCh = -1;
                    writeCh = ch - 1;
                    sumCh = ch;
                    KernelParallel.For(n, cost, body, parts);
                    if (ch == c)
                    {
                        break;
                    }

                    mu = (float)(InOrder(part + ((ch & 1) * n), n) / m);
                    sqCh = ch;
                    KernelParallel.For(n, cost, body, parts);
                    (scale, shift) = BatchNormVector.Finish(ch, mu, InOrder(part + ((ch & 1) * n), n), m, eps, gamma, beta, mean, invStd, unbiasedVar);
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(partials);
        }
    }

    public static unsafe void Backward(
        float* gradOutput, float* x, float* gamma, float* mean, float* invStd, int n, int c, int spatial, float* gradInput, float* gradGamma, float* gradBeta,
        float* reluOutput, float* gradResidual, bool stream)
    {
        long m = (long)n * spatial;
        bool interleave = Interleave(n, spatial, reluOutput is null ? 2 : 3);

        // [parity][Σg | Σg·(x − μ)][sample]
        double[] partials = ArrayPool<double>.Shared.Rent(4 * n);
        try
        {
            fixed (double* pPart = partials)
            {
                double* part = pPart;
                int writeCh = -1, sumCh = 0;
                float a = 0, b = 0, k = 0, muWrite = 0;
                Action<int, int> body = (start, end) =>
                {
                    double* sums = part + ((sumCh & 1) * 2 * n);
                    float muSum = sumCh < c ? mean[sumCh] : 0f;
                    if (interleave && writeCh >= 0 && sumCh < c)
                    {
                        for (int j = 0; j < end - start; j++)
                        {
                            int sw = end - 1 - j, s = start + j;
                            var writer = new GradInputWriter(Plane(gradOutput, sw, writeCh, c, spatial), Plane(x, sw, writeCh, c, spatial), MaskPlane(reluOutput, sw, writeCh, c, spatial),
                                Plane(gradInput, sw, writeCh, c, spatial), MaskPlane(gradResidual, sw, writeCh, c, spatial), a, b, muWrite, k, stream);
                            (sums[s], sums[n + s]) = BatchNormInterleaved.GradSums(Plane(gradOutput, s, sumCh, c, spatial), Plane(x, s, sumCh, c, spatial),
                                MaskPlane(reluOutput, s, sumCh, c, spatial), spatial, muSum, ref writer);
                        }
                    }
                    else
                    {
                        if (writeCh >= 0)
                        {
                            for (int s = end - 1; s >= start; s--)
                            {
                                WriteGradient(s);
                            }
                        }

                        if (sumCh < c)
                        {
                            for (int s = start; s < end; s++)
                            {
                                ReducePlane(s);
                            }
                        }
                    }

                    Fence(stream && writeCh >= 0);

                    void WriteGradient(int s) => BatchNormVector.GradInput(Plane(gradOutput, s, writeCh, c, spatial), Plane(x, s, writeCh, c, spatial),
                        MaskPlane(reluOutput, s, writeCh, c, spatial), Plane(gradInput, s, writeCh, c, spatial), spatial, a, b, muWrite, k, stream,
                        MaskPlane(gradResidual, s, writeCh, c, spatial), fence: false);

                    void ReducePlane(int s) => (sums[s], sums[n + s]) = BatchNormVector.GradSums(Plane(gradOutput, s, sumCh, c, spatial), Plane(x, s, sumCh, c, spatial),
                        MaskPlane(reluOutput, s, sumCh, c, spatial), spatial, muSum);
                };

                int parts = Parts(n);
                long cost = 4L * spatial;
                for (int ch = 0; ch <= c; ch++)
                {
                    // Write channel ch − 1's gradient and reduce channel ch in one fork-join.
                    writeCh = ch - 1;
                    sumCh = ch;
                    KernelParallel.For(n, cost, body, parts);
                    if (ch == c)
                    {
                        break;
                    }

                    double* sums = part + ((ch & 1) * 2 * n);
                    (a, b, k) = BatchNormVector.BackwardCoefficients(ch, InOrder(sums, n), InOrder(sums + n, n), m, gamma, invStd, gradGamma, gradBeta);
                    muWrite = mean[ch];
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(partials);
        }
    }

    private static void Fence(bool wrote)
    {
        if (wrote && Sse.IsSupported)
        {
            Sse.StoreFence();
        }
    }

    private static unsafe float* Plane(float* data, int s, int ch, int c, int spatial) => data + ((((long)s * c) + ch) * spatial);

    private static unsafe float* MaskPlane(float* data, int s, int ch, int c, int spatial) =>
        data is null ? null : Plane(data, s, ch, c, spatial);

    private static unsafe double InOrder(double* values, int count)
    {
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            sum += values[i];
        }

        return sum;
    }
}
