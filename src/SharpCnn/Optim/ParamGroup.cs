using SharpCnn.Nn;

namespace SharpCnn.Optim;

/// <summary>
/// A set of parameters that share hyper-parameters, as one entry of PyTorch's <c>optimizer.param_groups</c>.
/// Options left null at construction take the optimizer's defaults. Schedulers change <see cref="Lr"/>
/// (and, for <see cref="OneCycleLR"/>, <see cref="Momentum"/> or <see cref="Beta1"/>) between steps.
/// </summary>
public sealed class ParamGroup
{
    private readonly double? _lr;
    private readonly double? _weightDecay;
    private readonly double? _momentum;
    private readonly double? _beta1;
    private readonly double? _beta2;
    private bool _owned;

    /// <summary>Creates a group; null options take the defaults of the optimizer the group is given to.</summary>
    /// <exception cref="ArgumentException"><paramref name="parameters"/> contains a null entry.</exception>
    public ParamGroup(IEnumerable<Parameter> parameters, double? lr = null, double? weightDecay = null,
                      double? momentum = null, double? beta1 = null, double? beta2 = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var list = new List<Parameter>();
        foreach (Parameter p in parameters)
        {
            if (p is null)
            {
                throw new ArgumentException($"ParamGroup: parameter {list.Count} is null.", nameof(parameters));
            }

            list.Add(p);
        }

        Parameters = list;
        (_lr, _weightDecay, _momentum, _beta1, _beta2) = (lr, weightDecay, momentum, beta1, beta2);
    }

    /// <summary>The parameters of this group, in the order given.</summary>
    public IReadOnlyList<Parameter> Parameters { get; }

    /// <summary>The learning rate used by the next <see cref="Optimizer.Step"/>.</summary>
    public double Lr { get; set; }

    /// <summary>The learning rate a scheduler starts from (PyTorch's <c>initial_lr</c>); null until a scheduler sets it.</summary>
    public double? InitialLr { get; set; }

    /// <summary>Weight decay (L2 penalty for SGD and Adam, decoupled decay for AdamW).</summary>
    public double WeightDecay { get; set; }

    /// <summary>SGD momentum factor (0 turns momentum off). Unused by Adam-family optimizers.</summary>
    public double Momentum { get; set; }

    /// <summary>Adam's β₁ (decay of the first-moment average). Unused by SGD.</summary>
    public double Beta1 { get; set; }

    /// <summary>Adam's β₂ (decay of the second-moment average). Unused by SGD.</summary>
    public double Beta2 { get; set; }

    /// <summary>Fills the options left null with the optimizer's defaults; a group joins one optimizer only.</summary>
    internal void Adopt(double lr, double weightDecay, double momentum, double beta1, double beta2)
    {
        if (_owned)
        {
            throw new ArgumentException("ParamGroup already belongs to an optimizer; create a new group for each optimizer.");
        }

        _owned = true;
        Lr = _lr ?? lr;
        WeightDecay = _weightDecay ?? weightDecay;
        Momentum = _momentum ?? momentum;
        Beta1 = _beta1 ?? beta1;
        Beta2 = _beta2 ?? beta2;
    }
}
