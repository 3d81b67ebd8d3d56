namespace SharpCnn.Optim;

/// <summary>
/// Multiplies each group's rate by γ every <c>stepSize</c> epochs, as <c>torch.optim.lr_scheduler.StepLR</c>:
/// lr(t) = base·γ^⌊t / stepSize⌋.
/// </summary>
public sealed class StepLR : LRScheduler
{
    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="stepSize"/> is not positive.</exception>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1)
        : base(optimizer)
    {
        if (stepSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, $"StepLR: stepSize must be positive but got {stepSize}.");
        }

        StepSize = stepSize;
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; }

    /// <summary>Decay factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr(int epoch)
    {
        double[] lrs = CurrentLrs();
        if (epoch != 0 && epoch % StepSize == 0)
        {
            for (int g = 0; g < lrs.Length; g++)
            {
                lrs[g] *= Gamma;
            }
        }

        return lrs;
    }

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr(int epoch)
    {
        var lrs = new double[BaseLrs.Count];
        for (int g = 0; g < lrs.Length; g++)
        {
            lrs[g] = BaseLrs[g] * Math.Pow(Gamma, epoch / StepSize);
        }

        return lrs;
    }
}

/// <summary>
/// Multiplies each group's rate by γ at each milestone epoch, as <c>torch.optim.lr_scheduler.MultiStepLR</c>:
/// lr(t) = base·γ^(number of milestones ≤ t). A milestone listed twice decays twice.
/// </summary>
public sealed class MultiStepLR : LRScheduler
{
    private readonly int[] _milestones;

    /// <summary>Creates the schedule and applies epoch 0.</summary>
    /// <exception cref="ArgumentException">A milestone is negative.</exception>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1)
        : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        _milestones = [.. milestones];
        foreach (int m in _milestones)
        {
            if (m < 0)
            {
                throw new ArgumentException($"MultiStepLR: milestones must be ≥ 0 but got {m}.", nameof(milestones));
            }
        }

        Array.Sort(_milestones);
        Gamma = gamma;
        InitialStep();
    }

    /// <summary>The milestone epochs, ascending.</summary>
    public IReadOnlyList<int> Milestones => _milestones;

    /// <summary>Decay factor γ.</summary>
    public double Gamma { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr(int epoch)
    {
        double[] lrs = CurrentLrs();
        int hits = CountAtMost(epoch) - CountAtMost(epoch - 1);
        if (hits > 0)
        {
            double factor = Math.Pow(Gamma, hits);
            for (int g = 0; g < lrs.Length; g++)
            {
                lrs[g] *= factor;
            }
        }

        return lrs;
    }

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr(int epoch)
    {
        double factor = Math.Pow(Gamma, CountAtMost(epoch));
        var lrs = new double[BaseLrs.Count];
        for (int g = 0; g < lrs.Length; g++)
        {
            lrs[g] = BaseLrs[g] * factor;
        }

        return lrs;
    }

    private int CountAtMost(int epoch)
    {
        int n = 0;
        while (n < _milestones.Length && _milestones[n] <= epoch)
        {
            n++;
        }

        return n;
    }
}

/// <summary>
/// Scales each group's rate by a factor that moves linearly from <c>startFactor</c> to <c>endFactor</c> over
/// <c>totalIters</c> epochs, then holds, as <c>torch.optim.lr_scheduler.LinearLR</c> (commonly a warm-up):
/// lr(t) = base·(s + (e − s)·min(t, T) / T).
/// </summary>
public sealed class LinearLR : LRScheduler
{
    /// <summary>Creates the schedule and applies epoch 0 (rate base·startFactor).</summary>
    /// <exception cref="ArgumentOutOfRangeException">startFactor not in (0, 1], endFactor not in [0, 1], or totalIters &lt; 1.</exception>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5)
        : base(optimizer)
    {
        if (!(startFactor > 0 && startFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor,
                $"LinearLR: starting multiplicative factor must be > 0 and ≤ 1 but got {startFactor}.");
        }

        if (!(endFactor >= 0 && endFactor <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor,
                $"LinearLR: ending multiplicative factor must be between 0 and 1 but got {endFactor}.");
        }

        if (totalIters < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(totalIters), totalIters, $"LinearLR: totalIters must be ≥ 1 but got {totalIters}.");
        }

        StartFactor = startFactor;
        EndFactor = endFactor;
        TotalIters = totalIters;
        InitialStep();
    }

    /// <summary>Factor at epoch 0.</summary>
    public double StartFactor { get; }

    /// <summary>Factor from epoch <see cref="TotalIters"/> on.</summary>
    public double EndFactor { get; }

    /// <summary>Epochs taken to reach <see cref="EndFactor"/>.</summary>
    public int TotalIters { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr(int epoch)
    {
        double[] lrs = CurrentLrs();
        double factor;
        if (epoch == 0)
        {
            factor = StartFactor;
        }
        else if (epoch > TotalIters)
        {
            factor = 1;
        }
        else
        {
            // Ratio of consecutive factors: f(t) / f(t − 1), as PyTorch's chainable form.
            double delta = EndFactor - StartFactor;
            factor = 1 + (delta / ((TotalIters * StartFactor) + ((epoch - 1) * delta)));
        }

        for (int g = 0; g < lrs.Length; g++)
        {
            lrs[g] *= factor;
        }

        return lrs;
    }

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr(int epoch)
    {
        double factor = StartFactor + ((EndFactor - StartFactor) * Math.Min(TotalIters, epoch) / TotalIters);
        var lrs = new double[BaseLrs.Count];
        for (int g = 0; g < lrs.Length; g++)
        {
            lrs[g] = BaseLrs[g] * factor;
        }

        return lrs;
    }
}

/// <summary>
/// Cosine annealing from the base rate to <c>etaMin</c> over <c>tMax</c> epochs (SGDR without restarts,
/// Loshchilov and Hutter, 2017), as <c>torch.optim.lr_scheduler.CosineAnnealingLR</c>:
/// lr(t) = η_min + (base − η_min)·(1 + cos(π·t / T_max)) / 2. Past T_max the cosine continues (the rate rises again).
/// </summary>
/// <remarks>
/// This uses the closed form at every step, where PyTorch's <c>get_lr</c> uses an equivalent recursive form,
/// so the values carry no accumulated rounding error. The rate it sets does not depend on the group's current
/// rate, so inside a <see cref="ChainedScheduler"/> it overrides schedulers chained before it.
/// </remarks>
public sealed class CosineAnnealingLR : LRScheduler
{
    /// <summary>Creates the schedule and applies epoch 0 (the base rate).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="tMax"/> is not positive.</exception>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0)
        : base(optimizer)
    {
        if (tMax <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(tMax), tMax, $"CosineAnnealingLR: tMax must be positive but got {tMax}.");
        }

        TMax = tMax;
        EtaMin = etaMin;
        InitialStep();
    }

    /// <summary>Half-period in epochs.</summary>
    public int TMax { get; }

    /// <summary>Minimum learning rate.</summary>
    public double EtaMin { get; }

    /// <inheritdoc/>
    protected override double[] ComputeLr(int epoch) => ClosedFormLr(epoch)!;

    /// <inheritdoc/>
    protected override double[]? ClosedFormLr(int epoch)
    {
        double c = (1 + Math.Cos(Math.PI * epoch / TMax)) / 2;
        var lrs = new double[BaseLrs.Count];
        for (int g = 0; g < lrs.Length; g++)
        {
            lrs[g] = EtaMin + ((BaseLrs[g] - EtaMin) * c);
        }

        return lrs;
    }
}
