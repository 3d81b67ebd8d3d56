using SharpCnn.Functional;

namespace SharpCnn.Nn;

/// <summary>
/// Batch normalisation over the channel dimension (dim 1), as PyTorch's BatchNorm1d/2d: in training,
/// y = (x − mean_B)/√(var_B + eps)·γ + β with batch statistics, and running statistics updated as
/// running = (1 − momentum)·running + momentum·batch (unbiased variance); in evaluation the running
/// statistics are used. momentum = null gives the cumulative average over num_batches_tracked.
/// </summary>
public abstract class BatchNormBase : Module
{
    private readonly int _rank;

    /// <summary>Creates the layer for inputs of the given ranks.</summary>
    private protected BatchNormBase(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats, int rank)
    {
        LayerChecks.Positive(GetType().Name, (nameof(numFeatures), numFeatures));
        (NumFeatures, Eps, Momentum, Affine, TrackRunningStats, _rank) = (numFeatures, eps, momentum, affine, trackRunningStats, rank);
        Weight = AddParameter("weight", affine ? Tensor.Ones(numFeatures) : null);
        Bias = AddParameter("bias", affine ? Tensor.Zeros(numFeatures) : null);
        if (trackRunningStats)
        {
            RunningMean = AddBuffer("running_mean", Tensor.Zeros(numFeatures));
            RunningVar = AddBuffer("running_var", Tensor.Ones(numFeatures));
            NumBatchesTracked = AddBuffer("num_batches_tracked", Tensor.Scalar(0));
        }
    }

    /// <summary>Channels C.</summary>
    public int NumFeatures { get; }

    /// <summary>Added to the variance for stability (default 1e-5).</summary>
    public double Eps { get; }

    /// <summary>Running-statistics momentum (default 0.1; null = cumulative average).</summary>
    public double? Momentum { get; }

    /// <summary>Whether γ and β are learned.</summary>
    public bool Affine { get; }

    /// <summary>Whether running statistics are kept.</summary>
    public bool TrackRunningStats { get; }

    /// <summary>γ (C), or null.</summary>
    public Parameter? Weight { get; }

    /// <summary>β (C), or null.</summary>
    public Parameter? Bias { get; }

    /// <summary>Running mean (C), or null.</summary>
    public Tensor? RunningMean { get; }

    /// <summary>Running variance (C), or null.</summary>
    public Tensor? RunningVar { get; }

    /// <summary>Batches seen in training (a scalar; int64 in PyTorch's state dict).</summary>
    public Tensor? NumBatchesTracked { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => ForwardCore(input, relu: false);

    /// <summary>
    /// <c>Call(input).Relu()</c> with batch norm and ReLU fused into one kernel pass (<see cref="F.BatchNormRelu"/>):
    /// the same values, running statistics and gradients bit for bit, without the intermediate activation. When
    /// forward hooks are registered it is exactly <c>Call(input).Relu()</c>, so hooks still see the batch-norm output.
    /// </summary>
    /// <param name="input">Input, as for <see cref="Forward"/>.</param>
    /// <returns>ReLU of the batch-normalised input.</returns>
    public Tensor CallRelu(Tensor input) => HasForwardHooks ? Call(input).Relu() : ForwardCore(input, relu: true);

    /// <summary>
    /// <c>F.AddRelu(Call(input), residual)</c>, a ResNet block's last batch norm with the shortcut added and ReLU
    /// applied, fused into one op (<see cref="F.BatchNormAddRelu"/>) in training: the same values, running statistics
    /// and gradients bit for bit, without the batch-norm output or the sum as intermediate tensors. When forward hooks
    /// are registered it is exactly <c>F.AddRelu(Call(input), residual)</c>, so hooks still see (and may replace) the
    /// batch-norm output; in evaluation it is that composition too.
    /// </summary>
    /// <param name="input">Input, as for <see cref="Forward"/>.</param>
    /// <param name="residual">Added to the normalised input: the same shape (no broadcasting).</param>
    /// <returns>max(0, BN(input) + residual).</returns>
    /// <exception cref="ArgumentException">The input does not fit this layer, or the residual's shape differs.</exception>
    public Tensor CallAddRelu(Tensor input, Tensor residual)
    {
        ArgumentNullException.ThrowIfNull(residual);
        return HasForwardHooks ? F.AddRelu(Call(input), residual) : ForwardCore(input, relu: true, residual);
    }

    private Tensor ForwardCore(Tensor input, bool relu, Tensor? residual = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool rankOk = _rank == 4 ? input.Rank == 4 : input.Rank is 2 or 3;
        if (!rankOk || input.Size(1) != NumFeatures)
        {
            string expected = _rank == 4 ? $"(N, {NumFeatures}, H, W)" : $"(N, {NumFeatures}) or (N, {NumFeatures}, L)";
            throw new ArgumentException($"{GetType().Name} expected input {expected} but got {Shapes.Format(input.ShapeSpan)}.", nameof(input));
        }

        if (residual is not null && !Shapes.Equal(input.ShapeSpan, residual.ShapeSpan))
        {
            // Checked before the running statistics move, so a bad call leaves the layer as it was.
            throw new ArgumentException($"{GetType().Name}.CallAddRelu expected a residual of the input's shape {Shapes.Format(input.ShapeSpan)} but got {Shapes.Format(residual.ShapeSpan)}.", nameof(residual));
        }

        if (!TrackRunningStats)
        {
            return Norm(input, null, null, training: true, 0, relu, residual);
        }

        if (!Training)
        {
            return Norm(input, RunningMean, RunningVar, training: false, 0, relu, residual);
        }

        // momentum = null: cumulative moving average, weight 1/num_batches_tracked (PyTorch).
        NumBatchesTracked!.Data[0] += 1;
        double momentum = Momentum ?? (1.0 / NumBatchesTracked.Data[0]);
        return Norm(input, RunningMean, RunningVar, training: true, momentum, relu, residual);
    }

    private Tensor Norm(Tensor input, Tensor? runningMean, Tensor? runningVar, bool training, double momentum, bool relu, Tensor? residual) =>
        residual is not null ? F.BatchNormAddRelu(input, residual, runningMean, runningVar, Weight, Bias, training, momentum, Eps)
        : relu ? F.BatchNormRelu(input, runningMean, runningVar, Weight, Bias, training, momentum, Eps)
        : F.BatchNorm(input, runningMean, runningVar, Weight, Bias, training, momentum, Eps);

    /// <inheritdoc/>
    protected override string ExtraRepr() =>
        $"{NumFeatures}, eps={Eps}, momentum={(Momentum is null ? "None" : Momentum.Value.ToString(System.Globalization.CultureInfo.InvariantCulture))}, affine={(Affine ? "True" : "False")}, track_running_stats={(TrackRunningStats ? "True" : "False")}";
}

/// <summary>Batch norm over (N, C) or (N, C, L).</summary>
public sealed class BatchNorm1d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, 2);

/// <summary>Batch norm over (N, C, H, W).</summary>
public sealed class BatchNorm2d(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true)
    : BatchNormBase(numFeatures, eps, momentum, affine, trackRunningStats, 4);

/// <summary>
/// Local response normalisation across channels (AlexNet): b_c = a_c / (k + α/n·Σ a_{c'}²)^β over the n
/// neighbouring channels, alpha divided by size as PyTorch and ONNX do.
/// </summary>
public sealed class LocalResponseNorm(int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.LocalResponseNorm(input, size, alpha, beta, k);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{size}, alpha={alpha}, beta={beta}, k={k}";
}
