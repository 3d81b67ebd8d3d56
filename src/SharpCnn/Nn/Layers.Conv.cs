using SharpCnn.Functional;

namespace SharpCnn.Nn;

/// <summary>2-D convolution over (N, C_in, H, W) → (N, C_out, H_out, W_out).</summary>
/// <remarks>
/// H_out = ⌊(H + 2·padding − dilation·(kH − 1) − 1) / stride⌋ + 1. Weight (C_out, C_in/groups, kH, kW) and bias
/// start as U(−1/√fanIn, 1/√fanIn), as PyTorch's default (kaiming_uniform with a = √5).
/// </remarks>
public sealed class Conv2d : Module
{
    // The batch norm folded into this convolution for inference (CallWithBatchNorm), or null before the first use.
    private ConvBatchNormFold? _fold;

    /// <summary>Creates the layer; <paramref name="padding"/> may be a number, a pair, "same" or "valid".</summary>
    /// <exception cref="ArgumentException">Channels not divisible by groups, or a non-positive size.</exception>
    public Conv2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Padding? padding = null, Size2? dilation = null, int groups = 1, bool bias = true)
    {
        LayerChecks.Positive(nameof(Conv2d), (nameof(inChannels), inChannels), (nameof(outChannels), outChannels), (nameof(groups), groups),
            ("kernelSize.H", kernelSize.H), ("kernelSize.W", kernelSize.W));
        LayerChecks.Divisible(nameof(Conv2d), inChannels, outChannels, groups);
        (InChannels, OutChannels, KernelSize, Groups) = (inChannels, outChannels, kernelSize, groups);
        (Stride, Padding, Dilation) = (stride ?? 1, padding ?? 0, dilation ?? 1);
        Weight = AddParameter("weight", Tensor.Zeros(outChannels, inChannels / groups, kernelSize.H, kernelSize.W))!;
        Bias = AddParameter("bias", bias ? Tensor.Zeros(outChannels) : null);
        ResetParameters();
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel (height, width).</summary>
    public Size2 KernelSize { get; }

    /// <summary>Stride (default 1).</summary>
    public Size2 Stride { get; }

    /// <summary>Zero padding (default 0).</summary>
    public Padding Padding { get; }

    /// <summary>Spacing between kernel taps (default 1).</summary>
    public Size2 Dilation { get; }

    /// <summary>Channel groups (default 1).</summary>
    public int Groups { get; }

    /// <summary>The filters, (C_out, C_in/groups, kH, kW).</summary>
    public Parameter Weight { get; }

    /// <summary>The bias (C_out), or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>Re-draws weight and bias from U(−1/√fanIn, 1/√fanIn), fanIn = C_in/groups·kH·kW.</summary>
    public void ResetParameters() => LayerChecks.ResetUniform(Weight, Bias, InChannels / Groups * KernelSize.H * KernelSize.W);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Conv2d(input, Weight, Bias, Stride, Padding, Dilation, Groups);

    /// <summary>
    /// act(bn(this(input)) + residual): this convolution, then <paramref name="batchNorm"/>, then optionally a
    /// residual add and a ReLU, the way ResNet blocks use them. In inference (both modules in evaluation mode, the
    /// batch norm tracking running statistics, no gradient recorded, no hooks on either) it runs as one convolution
    /// with the batch norm folded into its weights and bias and the add and ReLU fused into its store
    /// (<see cref="F.Conv2dAddRelu"/>); otherwise it is <c>batchNorm.Call(Call(input))</c> followed by
    /// <c>F.AddRelu</c> (or <c>Relu</c>, or <c>+</c>), with the batch norm and the ReLU (and the residual add) run as one
    /// op through <see cref="BatchNormBase.CallRelu"/> / <see cref="BatchNormBase.CallAddRelu"/>: the same values,
    /// running statistics and gradients bit for bit, and the plain chain when the batch norm has forward hooks.
    /// </summary>
    /// <remarks>
    /// The folded weights are cached (a copy of the weights, plus the kernels' packed form of them, so inference does
    /// not repack them on every call) and recomputed when a parameter or running statistic
    /// has been written since (optimizer step, load_state_dict, a training-mode forward, <see cref="Tensor.Data"/>).
    /// Folding moves one rounding per weight, so results differ from the unfused evaluation in the last bits.
    /// </remarks>
    /// <param name="input">(N, C_in, H, W).</param>
    /// <param name="batchNorm">The batch norm over this convolution's C_out channels.</param>
    /// <param name="residual">Added after the batch norm, (N, C_out, H_out, W_out); null: nothing added.</param>
    /// <param name="relu">Whether ReLU is applied last.</param>
    /// <returns>(N, C_out, H_out, W_out).</returns>
    /// <exception cref="ArgumentException">The batch norm's channel count is not C_out, or a shape does not fit.</exception>
    public Tensor CallWithBatchNorm(Tensor input, BatchNormBase batchNorm, Tensor? residual = null, bool relu = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(batchNorm);
        if (batchNorm.NumFeatures != OutChannels)
        {
            throw new ArgumentException($"Conv2d.CallWithBatchNorm: the batch norm has {batchNorm.NumFeatures} channels but the convolution outputs {OutChannels}.", nameof(batchNorm));
        }

        bool foldable = !Training && !batchNorm.Training && batchNorm.RunningMean is not null && !HasForwardHooks && !batchNorm.HasForwardHooks
            && !Autograd.Graph.ShouldRecord(input, Weight, Bias, batchNorm.Weight, batchNorm.Bias, residual);
        if (!foldable)
        {
            if (residual is null)
            {
                return relu ? batchNorm.CallRelu(Call(input)) : batchNorm.Call(Call(input));
            }

            // The batch norm, add and ReLU as one training op (BatchNormBase.CallAddRelu: the composition itself when the
            // batch norm has forward hooks, or in evaluation).
            return relu ? batchNorm.CallAddRelu(Call(input), residual) : batchNorm.Call(Call(input)) + residual;
        }

        ConvBatchNormFold? fold = _fold;
        if (fold is null || !fold.IsCurrentFor(this, batchNorm))
        {
            // Built whole, then published with one reference write: a concurrent caller sees the old or the new fold.
            _fold = fold = ConvBatchNormFold.Create(this, batchNorm);
        }

        return F.Conv2dAddReluPrepared(input, fold.Weight, fold.Prepared, fold.Bias, residual, relu, Stride, Padding, Dilation, Groups);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size={KernelSize}, stride={Stride}" +
        (Padding != 0 ? $", padding={Padding}" : "") + (Dilation != 1 ? $", dilation={Dilation}" : "") +
        (Groups != 1 ? $", groups={Groups}" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>1-D convolution over (N, C_in, L) → (N, C_out, L_out), for signals such as speech.</summary>
/// <remarks>L_out = ⌊(L + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1; initialised as <see cref="Conv2d"/>.</remarks>
public sealed class Conv1d : Module
{
    /// <summary>Creates the layer; <paramref name="padding"/> may be a number, "same" or "valid".</summary>
    public Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, Padding? padding = null, int dilation = 1, int groups = 1, bool bias = true)
    {
        LayerChecks.Positive(nameof(Conv1d), (nameof(inChannels), inChannels), (nameof(outChannels), outChannels), (nameof(groups), groups), (nameof(kernelSize), kernelSize));
        LayerChecks.Divisible(nameof(Conv1d), inChannels, outChannels, groups);
        (InChannels, OutChannels, KernelSize, Stride, Padding, Dilation, Groups) = (inChannels, outChannels, kernelSize, stride, padding ?? 0, dilation, groups);
        Weight = AddParameter("weight", Tensor.Zeros(outChannels, inChannels / groups, kernelSize))!;
        Bias = AddParameter("bias", bias ? Tensor.Zeros(outChannels) : null);
        LayerChecks.ResetUniform(Weight, Bias, inChannels / groups * kernelSize);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Kernel length.</summary>
    public int KernelSize { get; }

    /// <summary>Stride.</summary>
    public int Stride { get; }

    /// <summary>Zero padding (only its width is used).</summary>
    public Padding Padding { get; }

    /// <summary>Dilation.</summary>
    public int Dilation { get; }

    /// <summary>Channel groups.</summary>
    public int Groups { get; }

    /// <summary>The filters, (C_out, C_in/groups, k).</summary>
    public Parameter Weight { get; }

    /// <summary>The bias (C_out), or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Conv1d(input, Weight, Bias, Stride, Padding.IsSame ? Padding : Padding.H, Dilation, Groups);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{InChannels}, {OutChannels}, kernel_size=({KernelSize},), stride=({Stride},)" +
        (Padding != 0 ? $", padding={(Padding.IsSame ? "same" : $"({Padding.H},)")}" : "") + (Dilation != 1 ? $", dilation=({Dilation},)" : "") +
        (Groups != 1 ? $", groups={Groups}" : "") + (Bias is null ? ", bias=False" : "");
}

/// <summary>y = x·Wᵀ + b over the last dimension: (…, in) → (…, out).</summary>
/// <remarks>Weight (out, in) and bias start as U(−1/√in, 1/√in), as PyTorch.</remarks>
public sealed class Linear : Module
{
    /// <summary>Creates the layer.</summary>
    public Linear(int inFeatures, int outFeatures, bool bias = true)
    {
        LayerChecks.Positive(nameof(Linear), (nameof(inFeatures), inFeatures), (nameof(outFeatures), outFeatures));
        (InFeatures, OutFeatures) = (inFeatures, outFeatures);
        Weight = AddParameter("weight", Tensor.Zeros(outFeatures, inFeatures))!;
        Bias = AddParameter("bias", bias ? Tensor.Zeros(outFeatures) : null);
        LayerChecks.ResetUniform(Weight, Bias, inFeatures);
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>The weight, (out, in).</summary>
    public Parameter Weight { get; }

    /// <summary>The bias (out), or null.</summary>
    public Parameter? Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Linear(input, Weight, Bias);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_features={InFeatures}, out_features={OutFeatures}, bias={(Bias is null ? "False" : "True")}";
}

internal static class LayerChecks
{
    public static void Positive(string layer, params ReadOnlySpan<(string Name, int Value)> values)
    {
        foreach ((string name, int value) in values)
        {
            if (value <= 0)
            {
                throw new ArgumentOutOfRangeException(name, $"{layer}: {name} must be positive, got {value}.");
            }
        }
    }

    public static void Divisible(string layer, int inChannels, int outChannels, int groups)
    {
        if (inChannels % groups != 0 || outChannels % groups != 0)
        {
            throw new ArgumentException($"{layer}: inChannels ({inChannels}) and outChannels ({outChannels}) must both be divisible by groups ({groups}).");
        }
    }

    /// <summary>PyTorch's default: kaiming_uniform(a = √5) on the weight = U(−1/√fanIn, 1/√fanIn); bias the same bound.</summary>
    public static void ResetUniform(Tensor weight, Tensor? bias, int fanIn)
    {
        float bound = fanIn > 0 ? 1f / MathF.Sqrt(fanIn) : 0f;
        SharpCnn.Init.Init.Uniform(weight, -bound, bound);
        if (bias is not null)
        {
            SharpCnn.Init.Init.Uniform(bias, -bound, bound);
        }
    }
}
