using SharpCnn.Autograd;

namespace SharpCnn.Functional;

public static partial class F
{
    /// <summary>
    /// Batch normalisation over dim 1 of (N, C), (N, C, L) or (N, C, H, W), as <c>torch.nn.functional.batch_norm</c>.
    /// In training, batch statistics normalise (biased variance) and, when running tensors are given, they are
    /// updated in place: running = (1 − momentum)·running + momentum·batch (unbiased variance). Otherwise the
    /// running statistics normalise.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, or training sees one value per channel.</exception>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: false);

    /// <summary>
    /// <c>Relu(BatchNorm(…))</c> in one pass, with the same arguments and results bit for bit, without the
    /// intermediate tensor: the ReLU is applied as each normalised value is stored, and the backward masks the
    /// incoming gradient inside the batch-norm backward kernel. Saves a full activation (memory held until the
    /// backward) and a read and write of it in each direction; ResNet's blocks use it through
    /// <see cref="Nn.BatchNormBase.CallRelu"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, or training sees one value per channel.</exception>
    public static Tensor BatchNormRelu(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5) =>
        BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: true);

    /// <summary>
    /// <c>AddRelu(BatchNorm(input, …), residual)</c>, the end of a ResNet block, in one op: in training the residual
    /// is added and ReLU applied as each normalised value is stored, y = max(0, BN(x) + residual), so neither the
    /// batch-norm output nor the sum is ever written; the backward masks the incoming gradient with y &gt; 0 inside the
    /// batch-norm backward kernel, whose input-gradient pass also writes that masked gradient, which is the
    /// residual's gradient. Values, running statistics and gradients equal the composition bit for bit (the same
    /// roundings in the same order). In evaluation it is the composition itself.
    /// </summary>
    /// <param name="input">(N, C, …), normalised over dim 1.</param>
    /// <param name="residual">Added after the batch norm: the same shape as <paramref name="input"/> (no broadcasting).</param>
    /// <param name="runningMean">As for <see cref="BatchNorm"/>.</param>
    /// <param name="runningVar">As for <see cref="BatchNorm"/>.</param>
    /// <param name="weight">γ (C) or null.</param>
    /// <param name="bias">β (C) or null.</param>
    /// <param name="training">Batch statistics (and running-statistics update) when true.</param>
    /// <param name="momentum">Running-statistics momentum.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <returns>max(0, BN(input) + residual), the shape of <paramref name="input"/>.</returns>
    /// <exception cref="ArgumentException">Shapes disagree, or training sees one value per channel.</exception>
    public static Tensor BatchNormAddRelu(Tensor input, Tensor residual, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null, bool training = false,
        double momentum = 0.1, double eps = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(residual);
        if (!Shapes.Equal(input.ShapeSpan, residual.ShapeSpan))
        {
            throw new ArgumentException($"BatchNormAddRelu expected a residual of the input's shape {Shapes.Format(input.ShapeSpan)} but got {Shapes.Format(residual.ShapeSpan)}.", nameof(residual));
        }

        return training
            ? BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: true, residual)
            : AddRelu(BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: false), residual);
    }

    private static Tensor BatchNormCore(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias, bool training, double momentum, double eps, bool relu,
        Tensor? residual = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 2)
        {
            throw new ArgumentException($"BatchNorm expected input (N, C, …) but got {Shapes.Format(input.ShapeSpan)}.", nameof(input));
        }

        int n = input.Size(0);
        int c = input.Size(1);
        int spatial = n * c == 0 ? 0 : input.Numel / (n * c);
        foreach ((string what, Tensor? t) in new[] { ("weight", weight), ("bias", bias), ("running_mean", runningMean), ("running_var", runningVar) })
        {
            if (t is not null && (t.Rank != 1 || t.Size(0) != c))
            {
                throw new ArgumentException($"BatchNorm expected {what} of shape ({c}) for input {Shapes.Format(input.ShapeSpan)} but got {Shapes.Format(t.ShapeSpan)}.");
            }
        }

        if (!training && (runningMean is null || runningVar is null))
        {
            throw new ArgumentException("BatchNorm in evaluation needs running_mean and running_var.");
        }

        if (!training && relu && Autograd.Autograd.IsGradEnabled && (input.RequiresGrad || weight is { RequiresGrad: true } || bias is { RequiresGrad: true }))
        {
            // Evaluation with gradients (fine-tuning through a frozen batch norm): the composed rules below.
            return Relu(BatchNormCore(input, runningMean, runningVar, weight, bias, training, momentum, eps, relu: false));
        }

        Tensor output = Tensor.Uninitialized(input.ShapeSpan);
        ReadOnlySpan<float> gamma = weight is null ? default : weight.Data;
        ReadOnlySpan<float> beta = bias is null ? default : bias.Data;
        if (!training)
        {
            Kernels.BatchNorm.ForwardInference(input.Data, runningMean!.Data, runningVar!.Data, gamma, beta, n, c, spatial, (float)eps, output.Data, relu);

            // y = (x − μ_run)·s + β with s = γ/√(σ²_run + ε), constants per channel:
            // ∂L/∂x = g·s,  ∂L/∂γ = Σ g·(x − μ_run)/√(σ²_run + ε),  ∂L/∂β = Σ g.
            return Graph.Record(output, "BatchNormEvalBackward", [input, weight, bias], g =>
            {
                int[] channelShape = [1, c, .. Enumerable.Repeat(1, input.Rank - 2)];
                Tensor invStd = (runningVar.Detach() + (float)eps).Sqrt().Reshape(channelShape);
                Tensor scale = weight is null ? 1f / invStd : weight.Detach().Reshape(channelShape) / invStd;
                Tensor xHat = (input.Detach() - runningMean.Detach().Reshape(channelShape)) / invStd;
                Tensor? gw = weight is null ? null : (g * xHat).SumTo(channelShape).Reshape(c);
                Tensor? gb = bias is null ? null : g.SumTo(channelShape).Reshape(c);
                return [g * scale, gw, gb];
            });
        }

        if (n * spatial <= 1)
        {
            throw new ArgumentException($"BatchNorm expected more than 1 value per channel when training, got input {Shapes.Format(input.ShapeSpan)}.", nameof(input));
        }

        // Saved statistics are tensors (pooled inside a TensorScope like the output); the running statistics are
        // module buffers, updated in place, so they never leave their own storage.
        Tensor saveMean = Tensor.Uninitialized(c);
        Tensor saveInvStd = Tensor.Uninitialized(c);
        Tensor? unbiased = runningMean is null ? null : Tensor.Uninitialized(c);
        Kernels.BatchNorm.ForwardTraining(input.Data, gamma, beta, n, c, spatial, (float)eps, output.Data, saveMean.Data, saveInvStd.Data,
            unbiased is null ? default : unbiased.Data, relu, residual is null ? default : residual.Data);
        if (runningMean is not null && runningVar is not null)
        {
            Kernels.BatchNorm.UpdateRunningStats(saveMean.Data, unbiased!.Data, (float)momentum, runningMean.Data, runningVar.Data);
        }

        // With the fused ReLU (y = max(z, 0) of the normalised z): ∂L/∂z = g·[y > 0], then the rule above; the kernel
        // masks g itself, reading y, which the closure keeps (it is the result, alive anyway). With a residual
        // (y = max(z + r, 0)): ∂L/∂r = ∂L/∂z = g·[y > 0], which the kernel writes in its input-gradient pass.
        string name = residual is not null ? "BatchNormAddReluBackward" : relu ? "BatchNormReluBackward" : "BatchNormBackward";
        return Graph.Record(output, name, [input, weight, bias, residual], g =>
        {
            Tensor gx = Tensor.Uninitialized(input.ShapeSpan);
            // The kernel computes ∂L/∂γ and ∂L/∂β together; one that is not wanted goes to a scratch tensor.
            Tensor? gw = weight is null ? null : Tensor.Uninitialized(c);
            Tensor? gb = bias is null ? null : Tensor.Uninitialized(c);
            Span<float> gammaGrad = gw is null ? (gb is null ? default : Tensor.Uninitialized(c).Data) : gw.Data;
            Span<float> betaGrad = gb is null ? (gw is null ? default : Tensor.Uninitialized(c).Data) : gb.Data;
            Tensor? gr = residual is { RequiresGrad: true } ? Tensor.Uninitialized(input.ShapeSpan) : null;
            Kernels.BatchNorm.Backward(g.Data, input.Data, weight is null ? default : weight.Data, saveMean.Data, saveInvStd.Data, n, c, spatial,
                gx.Data, gammaGrad, betaGrad, relu ? output.Data : default, gr is null ? default : gr.Data);
            return [gx, gw, gb, gr];
        });
    }

    /// <summary>
    /// Local response normalisation across channels of (N, C, …): b_c = a_c / (k + α/size·Σ a_{c'}²)^β over
    /// channels c − ⌊size/2⌋ … c + ⌊(size − 1)/2⌋, as PyTorch and ONNX define it (alpha divided by size).
    /// </summary>
    public static Tensor LocalResponseNorm(Tensor input, int size, double alpha = 1e-4, double beta = 0.75, double k = 1.0)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank < 3 || size <= 0)
        {
            throw new ArgumentException($"LocalResponseNorm expected input (N, C, …) with 3 or more dimensions and size > 0, got {Shapes.Format(input.ShapeSpan)} and size {size}.", nameof(input));
        }

        int n = input.Size(0);
        int c = input.Size(1);
        int spatial = n * c == 0 ? 0 : input.Numel / (n * c);
        Tensor output = Tensor.Uninitialized(input.ShapeSpan);
        Kernels.LocalResponseNorm.Forward(input.Data, n, c, spatial, size, (float)alpha, (float)beta, (float)k, output.Data);
        return Graph.Record(output, input, (g, x) =>
        {
            Tensor gx = Tensor.Uninitialized(x.ShapeSpan);
            Kernels.LocalResponseNorm.Backward(g.Data, x.Data, n, c, spatial, size, (float)alpha, (float)beta, (float)k, gx.Data);
            return [gx];
        }, "LocalResponseNormBackward");
    }
}
