using System.Globalization;
using SharpCnn.Functional;

namespace SharpCnn.Nn;

/// <summary>
/// A criterion comparing a prediction with a target, as PyTorch's loss modules. Losses hold settings only (no
/// parameters), so they are not <see cref="Module"/>s here; call <see cref="Forward"/> with both tensors.
/// </summary>
public abstract class Loss(Reduction reduction)
{
    /// <summary>How per-element losses combine (default <see cref="Reduction.Mean"/>).</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>Computes the loss of <paramref name="input"/> against <paramref name="target"/>.</summary>
    public abstract Tensor Forward(Tensor input, Tensor target);

    /// <summary>Shown as PyTorch prints loss modules, e.g. <c>CrossEntropyLoss()</c>.</summary>
    public override string ToString()
    {
        string extra = ExtraRepr();
        return $"{GetType().Name}({extra})";
    }

    /// <summary>Non-default settings shown inside the parentheses.</summary>
    protected virtual string ExtraRepr() => Reduction == Reduction.Mean ? "" : $"reduction={Reduction.ToString().ToLowerInvariant()}";
}

/// <summary>
/// Cross-entropy of logits (N, C) against class indices (N) stored as floats, with optional label smoothing and an
/// ignored index, as <c>torch.nn.CrossEntropyLoss</c>. See <see cref="F.CrossEntropy"/>.
/// </summary>
public sealed class CrossEntropyLoss(float labelSmoothing = 0f, Reduction reduction = Reduction.Mean, int ignoreIndex = -100, Tensor? weight = null) : Loss(reduction)
{
    /// <summary>Class weights (C), or null for equal weights.</summary>
    public Tensor? Weight { get; } = weight;

    /// <summary>ε in [0, 1] (default 0).</summary>
    public float LabelSmoothing { get; } = labelSmoothing is >= 0 and <= 1
        ? labelSmoothing
        : throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"CrossEntropyLoss: label smoothing must be in [0, 1], got {labelSmoothing}.");

    /// <summary>Target value that contributes nothing (default −100).</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.CrossEntropy(input, target, LabelSmoothing, Reduction, IgnoreIndex, Weight);

    /// <inheritdoc/>
    protected override string ExtraRepr() => string.Join(", ", new[]
    {
        base.ExtraRepr(),
        LabelSmoothing != 0 ? $"label_smoothing={LabelSmoothing.ToString(CultureInfo.InvariantCulture)}" : "",
        IgnoreIndex != -100 ? $"ignore_index={IgnoreIndex}" : "",
    }.Where(s => s.Length > 0));
}

/// <summary>Negative log-likelihood of log-probabilities (N, C) against class indices (N), as <c>torch.nn.NLLLoss</c>.</summary>
public sealed class NLLLoss(Reduction reduction = Reduction.Mean, int ignoreIndex = -100, Tensor? weight = null) : Loss(reduction)
{
    /// <summary>Class weights (C), or null for equal weights.</summary>
    public Tensor? Weight { get; } = weight;

    /// <summary>Target value that contributes nothing (default −100).</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.NllLoss(input, target, Reduction, IgnoreIndex, Weight);
}

/// <summary>Squared error between same-shaped tensors, as <c>torch.nn.MSELoss</c>.</summary>
public sealed class MSELoss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.MseLoss(input, target, Reduction);
}
