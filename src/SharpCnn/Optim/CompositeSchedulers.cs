namespace SharpCnn.Optim;

/// <summary>
/// Runs schedulers one after another, switching at milestone epochs, as
/// <c>torch.optim.lr_scheduler.SequentialLR</c>; e.g. a <see cref="LinearLR"/> warm-up for 3 epochs then
/// <see cref="CosineAnnealingLR"/>: <c>new SequentialLR(opt, [warmup, cosine], [3])</c>.
/// </summary>
/// <remarks>
/// Construction resets each group's rate to its initial rate, undoes the initial step the schedulers took
/// when they were created and re-applies only the first one's. At milestone i the scheduler i + 1 restarts
/// at its epoch 0 (from its closed form when it has one, so it starts from the base rate).
/// </remarks>
public sealed class SequentialLR : LRScheduler
{
    private const string SubPrefix = "schedulers.";

    private readonly LRScheduler[] _schedulers;
    private readonly int[] _milestones;

    /// <summary>Combines <paramref name="schedulers"/>, all on <paramref name="optimizer"/>, switching at <paramref name="milestones"/>.</summary>
    /// <exception cref="ArgumentException">No schedulers, a scheduler on another optimizer, milestones not one fewer than schedulers or not increasing.</exception>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones)
        : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count == 0)
        {
            throw new ArgumentException("SequentialLR expects at least one scheduler.", nameof(schedulers));
        }

        for (int i = 0; i < schedulers.Count; i++)
        {
            if (schedulers[i] is null || !ReferenceEquals(schedulers[i].Optimizer, optimizer))
            {
                throw new ArgumentException(
                    $"SequentialLR expects all schedulers to belong to the same optimizer, but scheduler {i} does not.", nameof(schedulers));
            }
        }

        if (milestones.Count != schedulers.Count - 1)
        {
            throw new ArgumentException(
                $"SequentialLR: got {schedulers.Count} schedulers and {milestones.Count} milestones, but expected {schedulers.Count - 1} milestones.",
                nameof(milestones));
        }

        for (int i = 0; i < milestones.Count; i++)
        {
            if (milestones[i] <= 0 || (i > 0 && milestones[i] <= milestones[i - 1]))
            {
                throw new ArgumentException(
                    $"SequentialLR: milestones must be positive and increasing, but got [{string.Join(", ", milestones)}].", nameof(milestones));
            }
        }

        _schedulers = [.. schedulers];
        _milestones = [.. milestones];

        foreach (ParamGroup group in optimizer.ParamGroups)
        {
            group.Lr = group.InitialLr!.Value;
        }

        foreach (LRScheduler s in _schedulers)
        {
            s.LastEpoch--;
        }

        _schedulers[0].InitialStep();
        LastEpoch = 0;
        SetLastLr(_schedulers[0].GetLastLr());
    }

    /// <summary>The combined schedulers, in order.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <summary>Epochs at which the next scheduler takes over.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <inheritdoc/>
    public override void Step()
    {
        int epoch = LastEpoch + 1;
        int idx = 0;
        while (idx < _milestones.Length && _milestones[idx] <= epoch)
        {
            idx++;
        }

        LRScheduler scheduler = _schedulers[idx];
        if (idx > 0 && _milestones[idx - 1] == epoch)
        {
            scheduler.StepTo(0);
        }
        else
        {
            scheduler.Step();
        }

        LastEpoch = epoch;
        SetLastLr(scheduler.GetLastLr());
    }

    /// <summary>Adds each scheduler's state under <c>schedulers.{i}.</c>.</summary>
    public override IReadOnlyDictionary<string, Tensor> StateDict() => Composite.StateDict(base.StateDict(), _schedulers);

    /// <inheritdoc/>
    protected override double[] ComputeLr(int epoch) => CurrentLrs();

    private protected override bool IsOwnKey(string key) => key.StartsWith(SubPrefix, StringComparison.Ordinal);

    private protected override void LoadOwnState(IReadOnlyDictionary<string, Tensor> state) => Composite.Load(state, _schedulers);
}

/// <summary>
/// Steps several schedulers together each epoch, as <c>torch.optim.lr_scheduler.ChainedScheduler</c>:
/// chainable schedules multiply their effects (e.g. <see cref="StepLR"/> with <see cref="LinearLR"/> warm-up).
/// </summary>
public sealed class ChainedScheduler : LRScheduler
{
    private readonly LRScheduler[] _schedulers;

    /// <summary>Chains <paramref name="schedulers"/>, which must share one optimizer.</summary>
    /// <exception cref="ArgumentException">No schedulers, or schedulers on different optimizers.</exception>
    public ChainedScheduler(IReadOnlyList<LRScheduler> schedulers)
        : base(FirstOptimizer(schedulers))
    {
        for (int i = 0; i < schedulers.Count; i++)
        {
            if (schedulers[i] is null || !ReferenceEquals(schedulers[i].Optimizer, Optimizer))
            {
                throw new ArgumentException(
                    $"ChainedScheduler expects all schedulers to belong to the same optimizer, but scheduler {i} does not.", nameof(schedulers));
            }
        }

        _schedulers = [.. schedulers];
        LastEpoch = 0;
        SetLastLr(CurrentLrs());
    }

    /// <summary>The chained schedulers, in stepping order.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => _schedulers;

    /// <inheritdoc/>
    public override void Step()
    {
        foreach (LRScheduler s in _schedulers)
        {
            s.Step();
        }

        LastEpoch++;
        SetLastLr(CurrentLrs());
    }

    /// <summary>Adds each scheduler's state under <c>schedulers.{i}.</c>.</summary>
    public override IReadOnlyDictionary<string, Tensor> StateDict() => Composite.StateDict(base.StateDict(), _schedulers);

    /// <inheritdoc/>
    protected override double[] ComputeLr(int epoch) => CurrentLrs();

    private protected override bool IsOwnKey(string key) => key.StartsWith("schedulers.", StringComparison.Ordinal);

    private protected override void LoadOwnState(IReadOnlyDictionary<string, Tensor> state) => Composite.Load(state, _schedulers);

    private static Optimizer FirstOptimizer(IReadOnlyList<LRScheduler> schedulers)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        if (schedulers.Count == 0 || schedulers[0] is null)
        {
            throw new ArgumentException("ChainedScheduler expects at least one scheduler.", nameof(schedulers));
        }

        return schedulers[0].Optimizer;
    }
}

/// <summary>State-dict nesting shared by the composite schedulers.</summary>
internal static class Composite
{
    private const string Prefix = "schedulers.";

    public static IReadOnlyDictionary<string, Tensor> StateDict(IReadOnlyDictionary<string, Tensor> own, LRScheduler[] schedulers)
    {
        var dict = new Dictionary<string, Tensor>(own, StringComparer.Ordinal);
        for (int i = 0; i < schedulers.Length; i++)
        {
            string prefix = Prefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + ".";
            foreach ((string key, Tensor value) in schedulers[i].StateDict())
            {
                dict[prefix + key] = value;
            }
        }

        return dict;
    }

    /// <summary>
    /// Splits the nested keys per scheduler and loads each; a scheduler that rejects its part throws naming the key,
    /// and the ones loaded before it are put back as they were, so a failed load changes nothing.
    /// </summary>
    public static void Load(IReadOnlyDictionary<string, Tensor> state, LRScheduler[] schedulers)
    {
        var parts = new Dictionary<string, Tensor>[schedulers.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        }

        foreach ((string key, Tensor value) in state)
        {
            if (!key.StartsWith(Prefix, StringComparison.Ordinal))
            {
                continue;
            }

            int dot = key.IndexOf('.', Prefix.Length);
            if (dot < 0
                || !int.TryParse(key.AsSpan(Prefix.Length, dot - Prefix.Length), System.Globalization.NumberStyles.None,
                                 System.Globalization.CultureInfo.InvariantCulture, out int i)
                || i >= schedulers.Length)
            {
                throw new InvalidDataException(
                    $"Scheduler state key '{key}' does not name one of the {schedulers.Length} combined schedulers.");
            }

            parts[i][key[(dot + 1)..]] = value;
        }

        var before = new IReadOnlyDictionary<string, Tensor>[schedulers.Length];
        int loaded = 0;
        try
        {
            for (; loaded < schedulers.Length; loaded++)
            {
                before[loaded] = schedulers[loaded].StateDict();
                schedulers[loaded].LoadStateDict(parts[loaded]);
            }
        }
        catch (InvalidDataException)
        {
            for (int i = 0; i < loaded; i++)
            {
                schedulers[i].LoadStateDict(before[i]);
            }

            throw;
        }
    }
}
