using SharpCnn.Nn;

namespace SharpCnn.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum and L2 weight decay,
/// as <c>torch.optim.SGD</c>.
/// </summary>
/// <remarks>
/// Per parameter and step, with g the gradient (negated when maximizing):
/// g ← g + λ·p; if μ ≠ 0: b ← g on the first step, else b ← μ·b + (1 − τ)·g, and g ← g + μ·b (Nesterov)
/// or g ← b; then p ← p − lr·g. The buffer b is kept as state <c>momentum_buffer</c>.
/// </remarks>
public sealed class SGD : Optimizer
{
    private const string BufferName = "momentum_buffer";

    /// <summary>Optimizes <paramref name="parameters"/> as one group.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="lr">Learning rate, ≥ 0.</param>
    /// <param name="momentum">Momentum factor μ, ≥ 0 (0 turns momentum off).</param>
    /// <param name="dampening">Dampening τ of the gradient added to the buffer.</param>
    /// <param name="weightDecay">L2 penalty λ, ≥ 0.</param>
    /// <param name="nesterov">Use Nesterov momentum (requires momentum &gt; 0 and dampening 0).</param>
    /// <param name="maximize">Ascend the objective instead of descending.</param>
    /// <exception cref="ArgumentException">An argument is out of range; the message gives the value.</exception>
    public SGD(IEnumerable<Parameter> parameters, double lr, double momentum = 0, double dampening = 0,
               double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))],
               lr, momentum, dampening, weightDecay, nesterov, maximize)
    {
    }

    /// <summary>Optimizes parameter groups; group options left null take the values given here.</summary>
    /// <exception cref="ArgumentException">An argument or group option is out of range; the message gives the value.</exception>
    public SGD(IEnumerable<ParamGroup> groups, double lr, double momentum = 0, double dampening = 0,
               double weightDecay = 0, bool nesterov = false, bool maximize = false)
        : base(groups, CheckDefaults(lr, momentum, weightDecay), weightDecay, momentum, 0, 0)
    {
        Dampening = dampening;
        Nesterov = nesterov;
        Maximize = maximize;
        for (int g = 0; g < ParamGroups.Count; g++)
        {
            ParamGroup group = ParamGroups[g];
            CheckRange(group.Lr, $"group {g} learning rate");
            CheckRange(group.Momentum, $"group {g} momentum");
            CheckRange(group.WeightDecay, $"group {g} weight_decay");
            if (nesterov && (group.Momentum <= 0 || dampening != 0))
            {
                throw new ArgumentException(
                    $"SGD: Nesterov momentum requires a momentum > 0 and zero dampening, but got momentum {group.Momentum} " +
                    $"(group {g}) and dampening {dampening}.", nameof(nesterov));
            }
        }
    }

    /// <summary>Dampening τ applied to the gradient added to the momentum buffer.</summary>
    public double Dampening { get; }

    /// <summary>Whether Nesterov momentum is used.</summary>
    public bool Nesterov { get; }

    /// <summary>Whether the objective is maximized.</summary>
    public bool Maximize { get; }

    /// <inheritdoc/>
    public override MomentumOption MomentumOption => MomentumOption.Momentum;

    /// <inheritdoc/>
    protected override IReadOnlyList<string> GroupOptionNames { get; } = ["lr", "weight_decay", "momentum"];

    /// <inheritdoc/>
    protected override IReadOnlyList<string> StateNames { get; } = [BufferName];

    /// <inheritdoc/>
    public override void Step() => ForEachParameterWithGrad(Update);

    private void Update(ParamGroup group, int index, Parameter parameter, Tensor grad)
    {
        float lr = (float)group.Lr;
        float wd = (float)group.WeightDecay;
        float mu = (float)group.Momentum;
        float keep = (float)(1 - Dampening);
        Span<float> p = parameter.Data;
        ReadOnlySpan<float> gr = grad.Data;
        float sign = Maximize ? -1f : 1f;

        if (mu == 0)
        {
            for (int i = 0; i < p.Length; i++)
            {
                float g = sign * gr[i];
                if (wd != 0)
                {
                    g += wd * p[i];
                }

                p[i] -= lr * g;
            }

            return;
        }

        Dictionary<string, Tensor> state = StateOf(index);
        bool first = !state.TryGetValue(BufferName, out Tensor? bufferTensor);
        if (first)
        {
            bufferTensor = Tensor.ZerosLike(parameter);
            state[BufferName] = bufferTensor;
        }

        SharpCnn.Kernels.SgdKernels.MomentumStep(p, gr, bufferTensor!.Data,
            new SharpCnn.Kernels.SgdMomentum(sign, wd, mu, keep, lr, first, Nesterov));
    }

    private static double CheckDefaults(double lr, double momentum, double weightDecay)
    {
        CheckRange(lr, "learning rate");
        CheckRange(momentum, "momentum");
        CheckRange(weightDecay, "weight_decay");
        return lr;
    }

    private static void CheckRange(double value, string what)
    {
        if (!(value >= 0) || double.IsInfinity(value))
        {
            throw new ArgumentOutOfRangeException(what, value, $"SGD: invalid {what}: {value}; it must be finite and ≥ 0.");
        }
    }
}
