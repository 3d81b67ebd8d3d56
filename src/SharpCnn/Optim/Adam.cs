using SharpCnn.Nn;

namespace SharpCnn.Optim;

/// <summary>
/// Shared update of <see cref="Adam"/> and <see cref="AdamW"/>, which differ only in how weight decay enters.
/// </summary>
/// <remarks>
/// Per parameter, with step count t, gradient g (negated when maximizing) and bias corrections
/// bc₁ = 1 − β₁ᵗ, bc₂ = 1 − β₂ᵗ, exactly as PyTorch's single-tensor implementation:
/// m ← m + (1 − β₁)·(g − m); v ← β₂·v + (1 − β₂)·g²; with AMSGrad v̄ ← max(v̄, v) replaces v below;
/// denom = √v / √bc₂ + ε; p ← p − (lr / bc₁)·m / denom.
/// State: <c>step</c> (0-dimensional float), <c>exp_avg</c>, <c>exp_avg_sq</c>, and <c>max_exp_avg_sq</c> with AMSGrad.
/// </remarks>
public abstract class AdamBase : Optimizer
{
    private const string StepName = "step";
    private const string ExpAvgName = "exp_avg";
    private const string ExpAvgSqName = "exp_avg_sq";
    private const string MaxExpAvgSqName = "max_exp_avg_sq";

    private readonly bool _decoupled;

    private protected AdamBase(IEnumerable<ParamGroup> groups, double lr, (double Beta1, double Beta2) betas, double eps,
                               double weightDecay, bool amsgrad, bool maximize, bool decoupled)
        : base(groups, lr, weightDecay, 0, betas.Beta1, betas.Beta2)
    {
        string name = decoupled ? "AdamW" : "Adam";
        if (!(eps >= 0) || double.IsInfinity(eps))
        {
            throw new ArgumentOutOfRangeException(nameof(eps), eps, $"{name}: invalid epsilon value: {eps}; it must be finite and ≥ 0.");
        }

        for (int g = 0; g < ParamGroups.Count; g++)
        {
            ParamGroup group = ParamGroups[g];
            if (!(group.Lr >= 0) || double.IsInfinity(group.Lr))
            {
                throw new ArgumentOutOfRangeException(nameof(lr), group.Lr, $"{name}: invalid learning rate {group.Lr} (group {g}); it must be finite and ≥ 0.");
            }

            if (!(group.Beta1 >= 0 && group.Beta1 < 1))
            {
                throw new ArgumentOutOfRangeException(nameof(betas), group.Beta1, $"{name}: invalid beta parameter at index 0: {group.Beta1} (group {g}); it must be in [0, 1).");
            }

            if (!(group.Beta2 >= 0 && group.Beta2 < 1))
            {
                throw new ArgumentOutOfRangeException(nameof(betas), group.Beta2, $"{name}: invalid beta parameter at index 1: {group.Beta2} (group {g}); it must be in [0, 1).");
            }

            if (!(group.WeightDecay >= 0) || double.IsInfinity(group.WeightDecay))
            {
                throw new ArgumentOutOfRangeException(nameof(weightDecay), group.WeightDecay, $"{name}: invalid weight_decay value: {group.WeightDecay} (group {g}); it must be finite and ≥ 0.");
            }
        }

        Eps = eps;
        Amsgrad = amsgrad;
        Maximize = maximize;
        _decoupled = decoupled;
        StateNames = amsgrad ? [StepName, ExpAvgName, ExpAvgSqName, MaxExpAvgSqName] : [StepName, ExpAvgName, ExpAvgSqName];
    }

    /// <summary>The term ε added to the denominator for numerical stability.</summary>
    public double Eps { get; }

    /// <summary>Whether the AMSGrad variant (running maximum of the second moment) is used.</summary>
    public bool Amsgrad { get; }

    /// <summary>Whether the objective is maximized.</summary>
    public bool Maximize { get; }

    /// <inheritdoc/>
    public override MomentumOption MomentumOption => MomentumOption.Beta1;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> GroupOptionNames { get; } = ["lr", "weight_decay", "beta1", "beta2"];

    /// <inheritdoc/>
    protected override IReadOnlyList<string> StateNames { get; }

    /// <inheritdoc/>
    protected override IReadOnlyList<string> RequiredStateNames => StateNames;

    /// <inheritdoc/>
    public override void Step() => ForEachParameterWithGrad(Update);

    private void Update(ParamGroup group, int index, Parameter parameter, Tensor grad)
    {
        Dictionary<string, Tensor> state = StateOf(index);
        if (!state.TryGetValue(StepName, out Tensor? stepTensor))
        {
            stepTensor = Tensor.Scalar(0);
            state[StepName] = stepTensor;
            state[ExpAvgName] = Tensor.ZerosLike(parameter);
            state[ExpAvgSqName] = Tensor.ZerosLike(parameter);
            if (Amsgrad)
            {
                state[MaxExpAvgSqName] = Tensor.ZerosLike(parameter);
            }
        }

        // PyTorch keeps the step count as a float32 tensor; counts stay exact up to 2^24.
        float step = stepTensor.Data[0] + 1;
        stepTensor.Data[0] = step;

        double lr = group.Lr;
        double beta1 = group.Beta1;
        double beta2 = group.Beta2;
        double bias1 = 1 - Math.Pow(beta1, step);
        double bias2Sqrt = Math.Sqrt(1 - Math.Pow(beta2, step));
        float negStepSize = (float)(-(lr / bias1));
        float bc2Sqrt = (float)bias2Sqrt;
        float eps = (float)Eps;
        float oneMinusBeta1 = (float)(1 - beta1);
        float b2 = (float)beta2;
        float oneMinusBeta2 = (float)(1 - beta2);
        float wd = (float)group.WeightDecay;
        float sign = Maximize ? -1f : 1f;

        Span<float> p = parameter.Data;
        ReadOnlySpan<float> gr = grad.Data;
        Span<float> m = state[ExpAvgName].Data;
        Span<float> v = state[ExpAvgSqName].Data;

        if (_decoupled && wd != 0)
        {
            // AdamW: p ← p·(1 − lr·λ) before the moment update.
            float decay = (float)(1 - (lr * group.WeightDecay));
            for (int i = 0; i < p.Length; i++)
            {
                p[i] *= decay;
            }
        }

        bool coupledDecay = !_decoupled && wd != 0;
        Span<float> vMax = Amsgrad ? state[MaxExpAvgSqName].Data : default;
        for (int i = 0; i < p.Length; i++)
        {
            float g = sign * gr[i];
            if (coupledDecay)
            {
                g += wd * p[i];
            }

            // torch.lerp with weight < 0.5: m + w·(g − m).
            m[i] += oneMinusBeta1 * (g - m[i]);
            v[i] = (v[i] * b2) + (oneMinusBeta2 * g * g);
            float second = v[i];
            if (Amsgrad)
            {
                second = vMax[i] = MathF.Max(vMax[i], second);
            }

            float denom = (MathF.Sqrt(second) / bc2Sqrt) + eps;
            p[i] += negStepSize * (m[i] / denom);
        }
    }
}

/// <summary>
/// Adam (Kingma and Ba, 2015) with L2 weight decay added to the gradient, as <c>torch.optim.Adam</c>.
/// See <see cref="AdamBase"/> for the update.
/// </summary>
public sealed class Adam : AdamBase
{
    /// <summary>Optimizes <paramref name="parameters"/> as one group.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, ≥ 0 (default 1e-3).</param>
    /// <param name="betas">Decay rates (β₁, β₂) of the moment averages, each in [0, 1) (default (0.9, 0.999)).</param>
    /// <param name="eps">Added to the denominator (default 1e-8).</param>
    /// <param name="weightDecay">L2 penalty λ added to the gradient as λ·p (default 0).</param>
    /// <param name="amsgrad">Use the AMSGrad variant.</param>
    /// <param name="maximize">Ascend the objective instead of descending.</param>
    /// <exception cref="ArgumentException">An argument is out of range; the message gives the value.</exception>
    public Adam(IEnumerable<Parameter> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
                double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))],
               lr, betas, eps, weightDecay, amsgrad, maximize)
    {
    }

    /// <summary>Optimizes parameter groups; group options left null take the values given here.</summary>
    /// <exception cref="ArgumentException">An argument or group option is out of range; the message gives the value.</exception>
    public Adam(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
                double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, betas ?? (0.9, 0.999), eps, weightDecay, amsgrad, maximize, decoupled: false)
    {
    }
}

/// <summary>
/// AdamW (Loshchilov and Hutter, 2019): Adam with decoupled weight decay p ← p·(1 − lr·λ) applied before
/// the moment update, as <c>torch.optim.AdamW</c>. See <see cref="AdamBase"/> for the update.
/// </summary>
public sealed class AdamW : AdamBase
{
    /// <summary>Optimizes <paramref name="parameters"/> as one group.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, ≥ 0 (default 1e-3).</param>
    /// <param name="betas">Decay rates (β₁, β₂) of the moment averages, each in [0, 1) (default (0.9, 0.999)).</param>
    /// <param name="eps">Added to the denominator (default 1e-8).</param>
    /// <param name="weightDecay">Decoupled weight decay λ (default 1e-2).</param>
    /// <param name="amsgrad">Use the AMSGrad variant.</param>
    /// <param name="maximize">Ascend the objective instead of descending.</param>
    /// <exception cref="ArgumentException">An argument is out of range; the message gives the value.</exception>
    public AdamW(IEnumerable<Parameter> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
                 double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))],
               lr, betas, eps, weightDecay, amsgrad, maximize)
    {
    }

    /// <summary>Optimizes parameter groups; group options left null take the values given here.</summary>
    /// <exception cref="ArgumentException">An argument or group option is out of range; the message gives the value.</exception>
    public AdamW(IEnumerable<ParamGroup> groups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null,
                 double eps = 1e-8, double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(groups, lr, betas ?? (0.9, 0.999), eps, weightDecay, amsgrad, maximize, decoupled: true)
    {
    }
}
