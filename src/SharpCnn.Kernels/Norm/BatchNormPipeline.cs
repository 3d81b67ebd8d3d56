using System.Buffers;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// The vector batch norm's path for tensors that stream from DRAM (at least <see cref="BatchNormVector.StreamingFloats"/>
/// floats, with at least <see cref="MinChannelFloats"/> per channel): the threads share each channel, split by
/// samples, with one fork-join per channel: a channel's writing pass runs in the same fork-join as the next channel's
/// reading pass (its moments in one pass, <see cref="BatchNormVector.Moments"/>, in the forward; Σg and Σg·(x − μ) in
/// the backward). <c>SHARPCNN_KERNEL=BatchNormChannels</c> turns it off (threads then take whole channels).
/// </summary>
/// <remarks>
/// <para><b>Why.</b> With whole channels per thread, a thread's share of a channel in the backward is all of its
/// upstream gradient and input (802 KB for ResNet's (32, 64, 56, 56)), which nearly fills a 1 MiB L2, so the writing
/// pass re-reads part of it from L3. Here thread t takes the planes of samples [n·t/T, n·(t+1)/T) of every channel,
/// half of that on two threads, which its own L2 keeps from the reduction to the writing pass. The writing pass goes
/// over the share backwards (the planes read last first). Streaming stores are fenced once per thread and fork-join,
/// not once per plane. The forward sweeps the channels from the first; the backward starts at channel c/2 and wraps
/// around (<see cref="BatchNormVector.BackwardFirstChannel"/>), so that right after a forward it first reads the x the
/// forward read last, while it may still be in L3. Measurements and the rejected variants: docs/performance.md,
/// "Batch norm on two threads" and "Batch norm, round five".</para>
/// <para><b>Bits.</b> Every plane's partials come from the same functions as in <see cref="BatchNormVector"/>, and
/// a channel's statistics are its plane partials combined in double in sample order by the calling thread after the
/// fork-join (<see cref="BatchNormVector.Combine"/>): exactly those of the whole-channel path, for any thread count;
/// each output element is computed by the same function from the same coefficients.</para>
/// </remarks>
internal static class BatchNormPipeline
{
    /// <summary>Variant name that turns the pipeline off (<c>SHARPCNN_KERNEL=BatchNormChannels</c>).</summary>
    internal const string ChannelsVariantName = "BatchNormChannels";

    /// <summary>Floats per channel (n·spatial) from which the pipeline's fork-join per channel is small against its passes.</summary>
    internal const long MinChannelFloats = 1 << 16;

    private static readonly Lazy<bool> s_forceChannels = new(() => KernelSwitches.Names(ChannelsVariantName));

    /// <summary>Gets or sets a test override: true forces the pipeline wherever it can run (n ≥ 2), false turns it off.</summary>
    internal static bool? EnabledOverride { get; set; }

    /// <summary>Variant name that turns off the prefetch of the next channel during a writing pass (<c>SHARPCNN_KERNEL=BatchNormNoPrefetch</c>), for A/B runs.</summary>
    internal const string NoPrefetchVariantName = "BatchNormNoPrefetch";

    /// <summary>
    /// Most bytes of the next channel a thread prefetches during a writing pass: its share of what the next reduction
    /// reads (x in the forward, dy and x in the backward) must fit in the L2 next to the share being written (half of
    /// Zen 4's 1 MiB L2). The bench row's backward on one thread (802 KB per channel) is over it and does not prefetch.
    /// </summary>
    internal const long PrefetchMaxBytes = 512 * 1024;

    private static readonly Lazy<bool> s_noPrefetch = new(() => KernelSwitches.Names(NoPrefetchVariantName));

    /// <summary>Gets or sets a test override of whether writing passes prefetch the next channel (null: on unless <see cref="NoPrefetchVariantName"/> is forced).</summary>
    internal static bool? PrefetchOverride { get; set; }

    /// <summary>
    /// Tells whether a thread's writing pass over <paramref name="planes"/> planes prefetches the same planes of the next
    /// channel for <paramref name="tensors"/> tensors (see <see cref="PrefetchMaxBytes"/>).
    /// </summary>
    private static bool PrefetchNext(int planes, int spatial, int tensors) =>
        (PrefetchOverride ?? !s_noPrefetch.Value) && (long)planes * spatial * tensors * sizeof(float) <= PrefetchMaxBytes;

    /// <summary>Whether the training forward and the backward of this shape take the pipeline.</summary>
    internal static bool Applies(int n, int spatial, bool stream) =>
        n >= 2 && (EnabledOverride ?? (!s_forceChannels.Value && stream && (long)n * spatial >= MinChannelFloats));

    public static unsafe void ForwardTraining(
        float* x, float* gamma, float* beta, int n, int c, int spatial, float eps, float* y, float* mean, float* invStd, float* unbiasedVar, bool relu, float* residual, bool stream)
    {
        long m = (long)n * spatial;
        double[] partials = ArrayPool<double>.Shared.Rent(2 * n);
        try
        {
            fixed (double* pPart = partials)
            {
                double* sums = pPart, m2s = pPart + n;

                // The state of the current fork-join, written by the caller before each call (handing the job to the
                // helpers is a full fence) and only read by the bodies. One closure per kernel call.
                int writeCh = -1, sumCh = 0;
                float scale = 0, shift = 0;
                Action<int, int> body = (start, end) =>
                {
                    if (writeCh >= 0)
                    {
                        WritePlanes(x, y, residual, c, spatial, writeCh, sumCh, start, end, scale, shift, relu, stream);
                    }

                    if (sumCh < c)
                    {
                        for (int s = start; s < end; s++)
                        {
                            (sums[s], m2s[s]) = BatchNormVector.Moments(BatchNormVector.Plane(x, s, sumCh, c, spatial), spatial);
                        }
                    }
                };

                int parts = Math.Min(n, KernelParallel.MaxThreads);
                long cost = 2L * spatial;
                for (int ch = 0; ch <= c; ch++)
                {
                    // Write channel ch − 1 and take the moments of channel ch in one fork-join.
                    writeCh = ch - 1;
                    sumCh = ch;
                    KernelParallel.For(n, cost, body, parts);
                    if (ch == c)
                    {
                        break;
                    }

                    (float mu, double sq) = BatchNormVector.Combine(sums, m2s, n, spatial);
                    (scale, shift) = BatchNormVector.Finish(ch, mu, sq, m, eps, gamma, beta, mean, invStd, unbiasedVar);
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

        // [channel parity][Σg | Σg·(x − μ)][sample]
        double[] partials = ArrayPool<double>.Shared.Rent(4 * n);
        try
        {
            fixed (double* pPart = partials)
            {
                double* part = pPart;
                int writeCh = -1, sumCh = 0, sumSlot = 0;
                float a = 0, b = 0, k = 0, muWrite = 0;
                Action<int, int> body = (start, end) =>
                {
                    if (writeCh >= 0)
                    {
                        // As in the forward: dy and x of the next channel are fetched into L2 while dx streams out.
                        bool prefetchNext = sumCh >= 0 && PrefetchNext(end - start, spatial, 2);
                        for (int s = end - 1; s >= start; s--)
                        {
                            BatchNormVector.GradInput(BatchNormVector.Plane(gradOutput, s, writeCh, c, spatial), BatchNormVector.Plane(x, s, writeCh, c, spatial), BatchNormVector.MaskPlane(reluOutput, s, writeCh, c, spatial),
                                BatchNormVector.Plane(gradInput, s, writeCh, c, spatial), spatial, a, b, muWrite, k, stream, BatchNormVector.MaskPlane(gradResidual, s, writeCh, c, spatial), fence: false,
                                prefetchG: prefetchNext ? BatchNormVector.Plane(gradOutput, s, sumCh, c, spatial) : null,
                                prefetchX: prefetchNext ? BatchNormVector.Plane(x, s, sumCh, c, spatial) : null);
                        }

                        Fence(stream);
                    }

                    if (sumCh >= 0)
                    {
                        double* sums = part + (sumSlot * 2 * n);
                        float mu = mean[sumCh];
                        for (int s = start; s < end; s++)
                        {
                            (sums[s], sums[n + s]) = BatchNormVector.GradSums(BatchNormVector.Plane(gradOutput, s, sumCh, c, spatial), BatchNormVector.Plane(x, s, sumCh, c, spatial),
                                BatchNormVector.MaskPlane(reluOutput, s, sumCh, c, spatial), spatial, mu);
                        }
                    }
                };

                int parts = Math.Min(n, KernelParallel.MaxThreads);
                long cost = 4L * spatial;
                int first = BatchNormVector.BackwardFirstChannel(c);
                for (int i = 0; i <= c; i++)
                {
                    // Step i reduces channel first + i (mod c) and writes the gradient of the previous step's channel, in
                    // one fork-join.
                    int ch = i == c ? -1 : (first + i) % c;
                    writeCh = i == 0 ? -1 : (first + i - 1) % c;
                    sumCh = ch;
                    sumSlot = i & 1;
                    KernelParallel.For(n, cost, body, parts);
                    if (i == c)
                    {
                        break;
                    }

                    double* sums = part + ((i & 1) * 2 * n);
                    (a, b, k) = BatchNormVector.BackwardCoefficients(ch, BatchNormVector.InOrder(sums, n), BatchNormVector.InOrder(sums + n, n), m, gamma, invStd, gradGamma, gradBeta);
                    muWrite = mean[ch];
                }
            }
        }
        finally
        {
            ArrayPool<double>.Shared.Return(partials);
        }
    }

    /// <summary>
    /// Writes y of channel <paramref name="writeCh"/> for the planes of samples [start, end), last sample first. While y
    /// streams out, the same planes of channel <paramref name="sumCh"/> (which the reduction reads next) are fetched into
    /// L2, so DRAM serves this core's reads and writes at the same time and the reduction then reads from L2.
    /// Prefetches change no value.
    /// </summary>
    private static unsafe void WritePlanes(float* x, float* y, float* residual, int c, int spatial, int writeCh, int sumCh, int start, int end,
        float scale, float shift, bool relu, bool stream)
    {
        bool prefetchNext = sumCh < c && PrefetchNext(end - start, spatial, 1);
        for (int s = end - 1; s >= start; s--)
        {
            BatchNormVector.ScaleShift(BatchNormVector.Plane(x, s, writeCh, c, spatial), BatchNormVector.Plane(y, s, writeCh, c, spatial), spatial, scale, shift, relu, stream,
                BatchNormVector.MaskPlane(residual, s, writeCh, c, spatial), fence: false,
                prefetch: prefetchNext ? BatchNormVector.Plane(x, s, sumCh, c, spatial) : null);
        }

        Fence(stream);
    }

    private static void Fence(bool streamed)
    {
        if (streamed && Sse.IsSupported)
        {
            Sse.StoreFence();
        }
    }
}
