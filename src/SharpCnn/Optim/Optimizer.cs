using System.Globalization;
using SharpCnn.Nn;

namespace SharpCnn.Optim;

/// <summary>Which per-group option a scheduler such as <see cref="OneCycleLR"/> cycles as momentum.</summary>
public enum MomentumOption
{
    /// <summary>The optimizer has no momentum-like option.</summary>
    None,

    /// <summary><see cref="ParamGroup.Momentum"/> (SGD).</summary>
    Momentum,

    /// <summary><see cref="ParamGroup.Beta1"/> (Adam, AdamW).</summary>
    Beta1,
}

/// <summary>
/// Base class of optimizers, as <c>torch.optim.Optimizer</c>: holds parameter groups and per-parameter
/// state, updates parameters in place from their <see cref="Tensor.Grad"/> on <see cref="Step"/>, and saves
/// and restores its state for checkpoints. Parameters whose gradient is null are skipped, as in PyTorch.
/// Updates write to <see cref="Tensor.Data"/> directly and are never recorded by autograd.
/// </summary>
public abstract class Optimizer
{
    private const string StatePrefix = "state.";
    private const string GroupPrefix = "param_groups.";
    private const string StepName = "step";

    private readonly List<ParamGroup> _groups;
    private readonly int[] _groupStart;
    private readonly Parameter[] _parameters;
    private Dictionary<string, Tensor>?[] _state;

    /// <summary>Builds the group list, filling each group's unset options from the defaults given.</summary>
    /// <exception cref="ArgumentException">No groups, an empty group, or a parameter in more than one place.</exception>
    protected Optimizer(IEnumerable<ParamGroup> groups, double lr, double weightDecay, double momentum, double beta1, double beta2)
    {
        ArgumentNullException.ThrowIfNull(groups);
        _groups = [];
        var all = new List<Parameter>();
        var seen = new HashSet<Parameter>(ReferenceEqualityComparer.Instance);
        var starts = new List<int>();
        foreach (ParamGroup group in groups)
        {
            if (group is null)
            {
                throw new ArgumentException($"{GetType().Name}: parameter group {_groups.Count} is null.", nameof(groups));
            }

            if (group.Parameters.Count == 0)
            {
                throw new ArgumentException($"{GetType().Name}: parameter group {_groups.Count} is empty.", nameof(groups));
            }

            foreach (Parameter p in group.Parameters)
            {
                if (!seen.Add(p))
                {
                    throw new ArgumentException(
                        $"{GetType().Name}: a parameter of shape {Shapes.Format(p.ShapeSpan)} appears more than once " +
                        $"(again in group {_groups.Count}); each parameter may be optimized once.", nameof(groups));
                }
            }

            group.Adopt(lr, weightDecay, momentum, beta1, beta2);
            starts.Add(all.Count);
            all.AddRange(group.Parameters);
            _groups.Add(group);
        }

        if (_groups.Count == 0)
        {
            throw new ArgumentException($"{GetType().Name} got an empty parameter list.", nameof(groups));
        }

        _groupStart = [.. starts];
        _parameters = [.. all];
        _state = new Dictionary<string, Tensor>?[_parameters.Length];
    }

    /// <summary>The parameter groups, in construction order. Their options may be changed between steps.</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => _groups;

    /// <summary>
    /// The learning rate: reading gives the first group's, writing sets every group's.
    /// </summary>
    public double Lr
    {
        get => _groups[0].Lr;
        set
        {
            foreach (ParamGroup g in _groups)
            {
                g.Lr = value;
            }
        }
    }

    /// <summary>Which group option behaves as momentum, for schedulers that cycle it.</summary>
    public virtual MomentumOption MomentumOption => MomentumOption.None;

    /// <summary>Names of the per-group options saved in the state dict (e.g. "lr", "momentum").</summary>
    protected abstract IReadOnlyList<string> GroupOptionNames { get; }

    /// <summary>Names of the per-parameter buffers this optimizer may keep ("step" is a scalar; others have the parameter's shape).</summary>
    protected abstract IReadOnlyList<string> StateNames { get; }

    /// <summary>Buffers that must all be present when a parameter has any state.</summary>
    protected virtual IReadOnlyList<string> RequiredStateNames => [];

    /// <summary>Performs one update of every parameter that has a gradient.</summary>
    public abstract void Step();

    /// <summary>Sets every parameter's gradient to null (PyTorch's default <c>set_to_none=True</c>).</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters)
        {
            p.Grad = null;
        }
    }

    /// <summary>
    /// As <see cref="ZeroGrad"/> (every gradient becomes null, so the optimizer skips parameters that get none), but
    /// each parameter keeps its last gradient's buffer and the next backward writes its first gradient there
    /// instead of into a new array: a training loop then allocates no gradient memory after its first step. The
    /// old gradient tensors (and views of them) are released: reading them afterwards throws, so copy what you
    /// need first. Only gradients that autograd created for the parameter are taken back; one assigned by hand is
    /// just dropped. The <see cref="Training.Trainer"/> calls this at the start of every step.
    /// </summary>
    public void RecycleGradients()
    {
        foreach (Parameter p in _parameters)
        {
            if (p.Grad is { IsReleased: false, Lease: { Kind: LeaseKind.Gradient } lease } && ReferenceEquals(lease.Owner, p))
            {
                lease.Recycle();
                p.SpareGradient = lease;
            }

            p.Grad = null;
        }
    }

    /// <summary>
    /// The optimizer's state as tensors (copies): per-parameter buffers under
    /// <c>state.{index}.{name}</c>, where index counts parameters across all groups in order (e.g.
    /// <c>state.3.exp_avg</c>, <c>state.3.step</c> as a 0-dimensional float), and per-group options under
    /// <c>param_groups.{g}.{name}</c> (<c>lr</c>, <c>initial_lr</c> when a scheduler set it, <c>weight_decay</c>,
    /// <c>momentum</c> or <c>beta1</c>/<c>beta2</c>) with <c>param_groups.{g}.params</c> listing the group's
    /// parameter indices. Double options are stored exactly as three floats whose sum is the value.
    /// </summary>
    public IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (int i = 0; i < _state.Length; i++)
        {
            if (_state[i] is { } s)
            {
                foreach (string name in StateNames)
                {
                    if (s.TryGetValue(name, out Tensor? t))
                    {
                        dict[Key(StatePrefix, i, name)] = Copy(t);
                    }
                }
            }
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            ParamGroup group = _groups[g];
            var indices = new float[group.Parameters.Count];
            for (int j = 0; j < indices.Length; j++)
            {
                indices[j] = _groupStart[g] + j;
            }

            dict[Key(GroupPrefix, g, "params")] = new Tensor(indices, indices.Length);
            foreach (string name in GroupOptionNames)
            {
                dict[Key(GroupPrefix, g, name)] = ExactScalar.Encode(GetOption(group, name));
            }

            if (group.InitialLr is double initial)
            {
                dict[Key(GroupPrefix, g, "initial_lr")] = ExactScalar.Encode(initial);
            }
        }

        return dict;
    }

    /// <summary>
    /// Restores state saved by <see cref="StateDict"/> from an optimizer of the same kind over parameters of
    /// the same shapes and grouping. Nothing changes unless the whole dictionary is valid.
    /// </summary>
    /// <exception cref="InvalidDataException">A key is unknown, missing, out of range or has the wrong shape; the message names it.</exception>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var newState = new Dictionary<string, Tensor>?[_parameters.Length];
        var options = new Dictionary<(int Group, string Name), double>();
        var groupParamsSeen = new bool[_groups.Count];

        foreach ((string key, Tensor value) in state)
        {
            if (value is null)
            {
                throw new InvalidDataException($"Optimizer state key '{key}' holds no tensor.");
            }

            if (key.StartsWith(StatePrefix, StringComparison.Ordinal))
            {
                (int i, string name) = ParseKey(key, StatePrefix, _parameters.Length, "parameter");
                if (!Contains(StateNames, name))
                {
                    throw new InvalidDataException(
                        $"Optimizer state key '{key}' names buffer '{name}', which {GetType().Name} does not keep " +
                        $"(expected one of {string.Join(", ", StateNames)}).");
                }

                Parameter p = _parameters[i];
                if (name == StepName)
                {
                    if (value.Numel != 1)
                    {
                        throw new InvalidDataException(
                            $"Optimizer state key '{key}' must hold one value but has shape {Shapes.Format(value.ShapeSpan)}.");
                    }
                }
                else if (!Shapes.Equal(value.ShapeSpan, p.ShapeSpan))
                {
                    throw new InvalidDataException(
                        $"Optimizer state key '{key}' has shape {Shapes.Format(value.ShapeSpan)} but parameter {i} has shape {Shapes.Format(p.ShapeSpan)}.");
                }

                (newState[i] ??= new Dictionary<string, Tensor>(StringComparer.Ordinal))[name] = Copy(value);
            }
            else if (key.StartsWith(GroupPrefix, StringComparison.Ordinal))
            {
                (int g, string name) = ParseKey(key, GroupPrefix, _groups.Count, "group");
                if (name == "params")
                {
                    CheckGroupParams(key, g, value);
                    groupParamsSeen[g] = true;
                }
                else if (name == "initial_lr" || Contains(GroupOptionNames, name))
                {
                    options[(g, name)] = ExactScalar.Decode(value, key);
                }
                else
                {
                    throw new InvalidDataException(
                        $"Optimizer state key '{key}' names option '{name}', which {GetType().Name} does not have.");
                }
            }
            else
            {
                throw new InvalidDataException(
                    $"Optimizer state key '{key}' is neither 'state.{{index}}.{{name}}' nor 'param_groups.{{group}}.{{name}}'.");
            }
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            if (!groupParamsSeen[g])
            {
                throw new InvalidDataException($"Optimizer state is missing key '{Key(GroupPrefix, g, "params")}'.");
            }

            foreach (string name in GroupOptionNames)
            {
                if (!options.ContainsKey((g, name)))
                {
                    throw new InvalidDataException($"Optimizer state is missing key '{Key(GroupPrefix, g, name)}'.");
                }
            }
        }

        for (int i = 0; i < newState.Length; i++)
        {
            if (newState[i] is { } s)
            {
                foreach (string name in RequiredStateNames)
                {
                    if (!s.ContainsKey(name))
                    {
                        throw new InvalidDataException($"Optimizer state is missing key '{Key(StatePrefix, i, name)}'.");
                    }
                }
            }
        }

        for (int g = 0; g < _groups.Count; g++)
        {
            ParamGroup group = _groups[g];
            foreach (string name in GroupOptionNames)
            {
                SetOption(group, name, options[(g, name)]);
            }

            group.InitialLr = options.TryGetValue((g, "initial_lr"), out double initial) ? initial : null;
        }

        _state = newState;
    }

    /// <summary>
    /// Calls <paramref name="update"/> for each parameter that has a gradient, with its group, its index
    /// across all groups (the state-dict index) and its gradient.
    /// </summary>
    /// <exception cref="InvalidOperationException">A gradient's shape differs from its parameter's.</exception>
    protected void ForEachParameterWithGrad(Action<ParamGroup, int, Parameter, Tensor> update)
    {
        ArgumentNullException.ThrowIfNull(update);
        using Autograd.NoGradScope noGrad = Autograd.Autograd.NoGrad();

        // State created lazily on the first step (momentum buffers, Adam's moments) must outlive the
        // TensorScope the step may run in, so nothing allocated here comes from the pool.
        using TensorScope persistent = TensorScope.Suspend();
        for (int g = 0; g < _groups.Count; g++)
        {
            ParamGroup group = _groups[g];
            for (int j = 0; j < group.Parameters.Count; j++)
            {
                Parameter p = group.Parameters[j];
                if (p.Grad is not { } grad)
                {
                    continue;
                }

                int index = _groupStart[g] + j;
                if (!Shapes.Equal(grad.ShapeSpan, p.ShapeSpan))
                {
                    throw new InvalidOperationException(
                        $"{GetType().Name}.Step: parameter {index} has shape {Shapes.Format(p.ShapeSpan)} but its gradient has shape {Shapes.Format(grad.ShapeSpan)}.");
                }

                update(group, index, p, grad);
            }
        }
    }

    /// <summary>The state buffers of parameter <paramref name="index"/>, created empty on first use.</summary>
    protected Dictionary<string, Tensor> StateOf(int index)
    {
        return _state[index] ??= new Dictionary<string, Tensor>(StringComparer.Ordinal);
    }

    /// <summary>Reads a group option by its state-dict name.</summary>
    private static double GetOption(ParamGroup group, string name) => name switch
    {
        "lr" => group.Lr,
        "weight_decay" => group.WeightDecay,
        "momentum" => group.Momentum,
        "beta1" => group.Beta1,
        "beta2" => group.Beta2,
        _ => throw new InvalidOperationException($"Unknown group option '{name}'."),
    };

    private static void SetOption(ParamGroup group, string name, double value)
    {
        switch (name)
        {
            case "lr":
                group.Lr = value;
                break;
            case "weight_decay":
                group.WeightDecay = value;
                break;
            case "momentum":
                group.Momentum = value;
                break;
            case "beta1":
                group.Beta1 = value;
                break;
            case "beta2":
                group.Beta2 = value;
                break;
            default:
                throw new InvalidOperationException($"Unknown group option '{name}'.");
        }
    }

    private void CheckGroupParams(string key, int g, Tensor value)
    {
        int count = _groups[g].Parameters.Count;
        if (value.Rank != 1 || value.Numel != count)
        {
            throw new InvalidDataException(
                $"Optimizer state key '{key}' lists {value.Numel} parameters (shape {Shapes.Format(value.ShapeSpan)}) but group {g} has {count}.");
        }

        ReadOnlySpan<float> d = value.Data;
        for (int j = 0; j < count; j++)
        {
            if (d[j] != _groupStart[g] + j)
            {
                throw new InvalidDataException(
                    $"Optimizer state key '{key}' gives parameter index {d[j]} at position {j} but group {g} holds parameter {_groupStart[g] + j} there.");
            }
        }
    }

    private static (int Index, string Name) ParseKey(string key, string prefix, int count, string what)
    {
        int dot = key.IndexOf('.', prefix.Length);
        if (dot < 0 || dot == key.Length - 1
            || !int.TryParse(key.AsSpan(prefix.Length, dot - prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
        {
            throw new InvalidDataException($"Optimizer state key '{key}' is not of the form '{prefix}{{{what}}}.{{name}}'.");
        }

        if (index >= count)
        {
            throw new InvalidDataException($"Optimizer state key '{key}' names {what} {index} but the optimizer has {count}.");
        }

        return (index, key[(dot + 1)..]);
    }

    private static bool Contains(IReadOnlyList<string> names, string name)
    {
        foreach (string n in names)
        {
            if (n == name)
            {
                return true;
            }
        }

        return false;
    }

    private static string Key(string prefix, int index, string name) =>
        prefix + index.ToString(CultureInfo.InvariantCulture) + "." + name;

    private static Tensor Copy(Tensor t) => new(t.Data.ToArray(), t.Shape);
}
