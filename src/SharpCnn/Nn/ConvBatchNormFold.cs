namespace SharpCnn.Nn;

/// <summary>
/// A batch norm in evaluation folded into the convolution before it: bn(conv(x, w) + b) = conv(x, w') + b' with
/// s_o = γ_o / √(σ²_o + ε), w'_o = s_o·w_o and b'_o = β_o + (b_o − μ_o)·s_o (μ, σ² the running statistics; γ = 1 and
/// β = 0 without affine parameters). Immutable once built; it records the <see cref="Tensor.Version"/> of the six
/// tensors it was computed from, so a change to any of them (optimizer step, load_state_dict, a training-mode
/// forward updating the running statistics, a write through <see cref="Tensor.Data"/>) makes it stale.
/// </summary>
/// <remarks>
/// The products are formed in double and rounded once, so each folded weight is the exact s·w to within half an
/// ulp; the folded convolution then differs from the unfused conv → batch norm only by where that one rounding and
/// the per-channel multiply happen (the error of one extra rounding per product, well inside the kernels'
/// tolerance against their references).
/// </remarks>
internal sealed class ConvBatchNormFold
{
    private readonly Conv2d _conv;
    private readonly BatchNormBase _bn;
    private readonly int[] _versions;

    private ConvBatchNormFold(Conv2d conv, BatchNormBase bn, int[] versions, Tensor weight, Tensor bias, Kernels.Conv2dPreparedWeights prepared)
    {
        (_conv, _bn, _versions, Weight, Bias, Prepared) = (conv, bn, versions, weight, bias, prepared);
    }

    // Per thread, so that tests running in parallel do not see each other's folds.
    [ThreadStatic]
    private static int s_foldsComputed;

    /// <summary>How many folds this thread has computed (tests check that a fold is reused, and redone after a change).</summary>
    internal static int FoldsComputed => s_foldsComputed;

    /// <summary>The folded weight w', the convolution's shape.</summary>
    public Tensor Weight { get; }

    /// <summary>The folded bias b', (C_out).</summary>
    public Tensor Bias { get; }

    /// <summary>w' kept packed for the convolution kernels (packed on first use, then reused by every call).</summary>
    public Kernels.Conv2dPreparedWeights Prepared { get; }

    /// <summary>True when this fold was made from <paramref name="conv"/> and <paramref name="bn"/> as they are now.</summary>
    public bool IsCurrentFor(Conv2d conv, BatchNormBase bn)
    {
        if (!ReferenceEquals(conv, _conv) || !ReferenceEquals(bn, _bn))
        {
            return false;
        }

        Span<int> now = stackalloc int[6];
        Versions(conv, bn, now);
        return now.SequenceEqual(_versions);
    }

    /// <summary>Computes the fold of <paramref name="bn"/> (evaluation mode, with running statistics) into <paramref name="conv"/>.</summary>
    public static ConvBatchNormFold Create(Conv2d conv, BatchNormBase bn)
    {
        int[] versions = new int[6];
        Versions(conv, bn, versions);
        int cout = conv.OutChannels;
        int perChannel = conv.Weight.Numel / cout;

        // Read without counting as writes (StorageForRead), so the versions recorded above stay current.
        float[] w = conv.Weight.StorageForRead;
        float[]? b = conv.Bias?.StorageForRead;
        float[]? gamma = bn.Weight?.StorageForRead;
        float[]? beta = bn.Bias?.StorageForRead;
        float[] mean = bn.RunningMean!.StorageForRead;
        float[] variance = bn.RunningVar!.StorageForRead;
        float[] folded = new float[conv.Weight.Numel];
        float[] foldedBias = new float[cout];
        for (int o = 0; o < cout; o++)
        {
            double s = (gamma is null ? 1.0 : gamma[o]) / Math.Sqrt(variance[o] + bn.Eps);
            for (int i = o * perChannel, end = i + perChannel; i < end; i++)
            {
                folded[i] = (float)(w[i] * s);
            }

            foldedBias[o] = (float)((beta is null ? 0.0 : beta[o]) + (((b is null ? 0.0 : b[o]) - mean[o]) * s));
        }

        s_foldsComputed++;
        // The packed forms are streamed from memory by every inference call: large ones on huge pages (HugePages.AllocatePinned).
        var prepared = new Kernels.Conv2dPreparedWeights(folded, cout, conv.InChannels / conv.Groups, conv.KernelSize.H, conv.KernelSize.W, conv.Groups)
        {
            Allocator = HugePages.AllocatePinned,
        };
        return new ConvBatchNormFold(conv, bn, versions, new Tensor(folded, conv.Weight.Shape), new Tensor(foldedBias, cout), prepared);
    }

    private static void Versions(Conv2d conv, BatchNormBase bn, Span<int> into)
    {
        into[0] = conv.Weight.Version;
        into[1] = conv.Bias?.Version ?? 0;
        into[2] = bn.Weight?.Version ?? 0;
        into[3] = bn.Bias?.Version ?? 0;
        into[4] = bn.RunningMean!.Version;
        into[5] = bn.RunningVar!.Version;
    }
}
