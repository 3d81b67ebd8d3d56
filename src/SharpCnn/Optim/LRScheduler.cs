using System.Globalization;

namespace SharpCnn.Optim;

/// <summary>
/// Base class of learning-rate schedulers, as <c>torch.optim.lr_scheduler.LRScheduler</c>. Construction
/// records each group's <see cref="ParamGroup.InitialLr"/> (when unset) as the base rate and applies the
/// rate for epoch 0; each <see cref="Step"/> then advances one epoch (or batch) and writes the new rate
/// into every group. Call <see cref="Step"/> after <see cref="Optimizer.Step"/>.
/// </summary>
/// <remarks>
/// Most schedulers are chainable as in PyTorch: a step multiplies the group's current rate, so several
/// schedulers on one optimizer compose (see <see cref="ChainedScheduler"/>). Their closed form, used when
/// <see cref="SequentialLR"/> restarts one at a milestone, depends only on the base rate and the epoch.
/// </remarks>
public abstract class LRScheduler
{
    private const string LastEpochKey = "last_epoch";
    private const string BaseLrsPrefix = "base_lrs.";
    private const string LastLrPrefix = "last_lr.";

    private readonly double[] _baseLrs;
    private double[] _lastLr;

    /// <summary>
    /// Attaches to <paramref name="optimizer"/>. When <paramref name="initialLrs"/> is given it overwrites each
    /// group's <see cref="ParamGroup.InitialLr"/>; otherwise groups without one take their current rate.
    /// Derived constructors finish by calling <see cref="InitialStep"/>.
    /// </summary>
    protected LRScheduler(Optimizer optimizer, IReadOnlyList<double>? initialLrs = null)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        IReadOnlyList<ParamGroup> groups = optimizer.ParamGroups;
        if (initialLrs is not null && initialLrs.Count != groups.Count)
        {
            throw new ArgumentException(
                $"{GetType().Name}: got {initialLrs.Count} initial learning rates for {groups.Count} parameter groups.", nameof(initialLrs));
        }

        _baseLrs = new double[groups.Count];
        _lastLr = new double[groups.Count];
        for (int g = 0; g < groups.Count; g++)
        {
            if (initialLrs is not null)
            {
                groups[g].InitialLr = initialLrs[g];
            }
            else
            {
                groups[g].InitialLr ??= groups[g].Lr;
            }

            _baseLrs[g] = groups[g].InitialLr!.Value;
            _lastLr[g] = groups[g].Lr;
        }
    }

    /// <summary>The optimizer whose learning rates this scheduler sets.</summary>
    public Optimizer Optimizer { get; }

    /// <summary>The epoch (or batch) index of the rate last applied; 0 right after construction.</summary>
    public int LastEpoch { get; internal set; } = -1;

    /// <summary>Each group's base learning rate (its <see cref="ParamGroup.InitialLr"/> at construction).</summary>
    public IReadOnlyList<double> BaseLrs => _baseLrs;

    /// <summary>The learning rates of the groups as last set by this scheduler.</summary>
    public IReadOnlyList<double> GetLastLr() => (double[])_lastLr.Clone();

    /// <summary>Advances one epoch and writes the new rates into the optimizer's groups.</summary>
    public virtual void Step()
    {
        int epoch = LastEpoch + 1;
        double[] lrs = ComputeLr(epoch);
        LastEpoch = epoch;
        Apply(lrs);
    }

    /// <summary>
    /// The scheduler's state: <c>last_epoch</c>, <c>base_lrs.{g}</c> and <c>last_lr.{g}</c>, each stored exactly
    /// as three floats summing to the value. The schedule's arguments are not saved: construct the same
    /// scheduler, then load.
    /// </summary>
    public virtual IReadOnlyDictionary<string, Tensor> StateDict()
    {
        var dict = new Dictionary<string, Tensor>(StringComparer.Ordinal)
        {
            [LastEpochKey] = ExactScalar.Encode(LastEpoch),
        };
        for (int g = 0; g < _baseLrs.Length; g++)
        {
            dict[BaseLrsPrefix + Index(g)] = ExactScalar.Encode(_baseLrs[g]);
            dict[LastLrPrefix + Index(g)] = ExactScalar.Encode(_lastLr[g]);
        }

        return dict;
    }

    /// <summary>Restores state saved by <see cref="StateDict"/>; nothing changes unless all of it is valid.</summary>
    /// <exception cref="InvalidDataException">A key is missing, unknown or malformed; the message names it.</exception>
    public virtual void LoadStateDict(IReadOnlyDictionary<string, Tensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var expected = new HashSet<string>(StringComparer.Ordinal) { LastEpochKey };
        for (int g = 0; g < _baseLrs.Length; g++)
        {
            expected.Add(BaseLrsPrefix + Index(g));
            expected.Add(LastLrPrefix + Index(g));
        }

        foreach (string key in state.Keys)
        {
            if (!IsOwnKey(key) && !expected.Contains(key))
            {
                throw new InvalidDataException(
                    $"{GetType().Name} state key '{key}' is not recognised (the optimizer has {_baseLrs.Length} parameter groups).");
            }
        }

        double epoch = Read(state, LastEpochKey);
        if (epoch != Math.Floor(epoch) || epoch < -1 || epoch > int.MaxValue)
        {
            throw new InvalidDataException($"{GetType().Name} state key '{LastEpochKey}' holds {epoch}, which is not an epoch index.");
        }

        var baseLrs = new double[_baseLrs.Length];
        var lastLr = new double[_lastLr.Length];
        for (int g = 0; g < baseLrs.Length; g++)
        {
            baseLrs[g] = Read(state, BaseLrsPrefix + Index(g));
            lastLr[g] = Read(state, LastLrPrefix + Index(g));
        }

        LoadOwnState(state);
        LastEpoch = (int)epoch;
        baseLrs.CopyTo(_baseLrs, 0);
        _lastLr = lastLr;
    }

    /// <summary>Applies the rate of epoch 0; derived constructors call it last, as PyTorch's <c>_initial_step</c>.</summary>
    protected internal void InitialStep() => Step();

    /// <summary>
    /// The rates for <paramref name="epoch"/> (one past <see cref="LastEpoch"/>), from the groups' current
    /// rates for chainable schedules. Must not change anything if it throws.
    /// </summary>
    protected abstract double[] ComputeLr(int epoch);

    /// <summary>The rates at <paramref name="epoch"/> from the base rates alone, or null when the schedule has no closed form.</summary>
    protected virtual double[]? ClosedFormLr(int epoch) => null;

    /// <summary>Whether <paramref name="key"/> belongs to state a derived class saves itself.</summary>
    private protected virtual bool IsOwnKey(string key) => false;

    /// <summary>Validates and loads state a derived class saves itself; throws before changing anything.</summary>
    private protected virtual void LoadOwnState(IReadOnlyDictionary<string, Tensor> state)
    {
    }

    /// <summary>Jumps to <paramref name="epoch"/> using the closed form when there is one (PyTorch's <c>step(epoch)</c>).</summary>
    internal void StepTo(int epoch)
    {
        double[] lrs = ClosedFormLr(epoch) ?? ComputeLr(epoch);
        LastEpoch = epoch;
        Apply(lrs);
    }

    /// <summary>Records <paramref name="lastLr"/> as the rates last set (used by composite schedulers).</summary>
    private protected void SetLastLr(IReadOnlyList<double> lastLr)
    {
        for (int g = 0; g < _lastLr.Length; g++)
        {
            _lastLr[g] = lastLr[g];
        }
    }

    /// <summary>The groups' current learning rates.</summary>
    protected double[] CurrentLrs()
    {
        IReadOnlyList<ParamGroup> groups = Optimizer.ParamGroups;
        var lrs = new double[groups.Count];
        for (int g = 0; g < lrs.Length; g++)
        {
            lrs[g] = groups[g].Lr;
        }

        return lrs;
    }

    private protected static string Index(int i) => i.ToString(CultureInfo.InvariantCulture);

    private protected double Read(IReadOnlyDictionary<string, Tensor> state, string key)
    {
        if (!state.TryGetValue(key, out Tensor? t) || t is null)
        {
            throw new InvalidDataException($"{GetType().Name} state is missing key '{key}'.");
        }

        return ExactScalar.Decode(t, key);
    }

    private void Apply(double[] lrs)
    {
        IReadOnlyList<ParamGroup> groups = Optimizer.ParamGroups;
        for (int g = 0; g < groups.Count; g++)
        {
            groups[g].Lr = lrs[g];
            _lastLr[g] = lrs[g];
        }
    }
}
