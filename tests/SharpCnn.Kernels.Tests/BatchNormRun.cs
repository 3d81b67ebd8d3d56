namespace SharpCnn.Kernels.Tests;

/// <summary>
/// Runs a training batch norm forward and backward with the selection overrides the batch-norm tests compare across,
/// restoring every override and the thread limit afterwards.
/// </summary>
internal static class BatchNormRun
{
    /// <summary>
    /// Returns y, mean, invStd, unbiased variance, dx, dγ, dβ and the residual's gradient (empty without a residual).
    /// <c>ascending</c> makes the backward sweep the channels from 0 (else from the middle, the default rule);
    /// <c>prefetch</c> forces the pipeline's prefetch of the next channel on or off (null: by size).
    /// </summary>
    public static float[][] ForwardBackward(
        float[] x, float[] gamma, float[] beta, float[] go, float[]? residual, int n, int c, int spatial, bool relu, bool pipeline, bool stream, int threads,
        bool ascending = false, bool? prefetch = null)
    {
        int len = x.Length;
        int keep = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = threads;
            BatchNorm.ForceScalarOverride = false;
            BatchNormVector.StreamingFloatsOverride = stream ? 0 : null;
            BatchNormPipeline.EnabledOverride = pipeline;
            BatchNormVector.BackwardFirstChannelOverride = ascending ? _ => 0 : null;
            BatchNormPipeline.PrefetchOverride = prefetch;
            var y = new float[len];
            var mean = new float[c];
            var inv = new float[c];
            var uvar = new float[c];
            BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, y, mean, inv, uvar, relu, residual ?? default(ReadOnlySpan<float>));
            var gi = new float[len];
            var gg = new float[c];
            var gb = new float[c];
            float[] gr = residual is null ? [] : new float[len];
            BatchNorm.Backward(go, x, gamma, mean, inv, n, c, spatial, gi, gg, gb, relu ? y : default(ReadOnlySpan<float>), gr);
            return [y, mean, inv, uvar, gi, gg, gb, gr];
        }
        finally
        {
            BatchNorm.ForceScalarOverride = null;
            BatchNormVector.StreamingFloatsOverride = null;
            BatchNormPipeline.EnabledOverride = null;
            BatchNormVector.BackwardFirstChannelOverride = null;
            BatchNormPipeline.PrefetchOverride = null;
            KernelParallel.MaxThreads = keep;
        }
    }
}
