namespace SharpCnn.Optim;

/// <summary>How <see cref="OneCycleLR"/> interpolates within a phase.</summary>
public enum AnnealStrategy
{
    /// <summary>Cosine: end + (start − end)/2·(cos(π·pct) + 1).</summary>
    Cos,

    /// <summary>Linear: start + (end − start)·pct.</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy (Smith and Topin, 2018), as <c>torch.optim.lr_scheduler.OneCycleLR</c>: the rate rises
/// from maxLr/divFactor to maxLr, then anneals to (maxLr/divFactor)/finalDivFactor, while momentum (SGD's
/// momentum or Adam's β₁) moves inversely between maxMomentum and baseMomentum. Step once per batch.
/// </summary>
/// <remarks>
/// Phases end at step pctStart·totalSteps − 1 and totalSteps − 1 (with <c>threePhase</c>: pctStart·totalSteps − 1,
/// 2·pctStart·totalSteps − 2 and totalSteps − 1, the third annealing from the initial to the minimum rate
/// at maxMomentum). Within a phase pct = (t − phase start)/(phase end − phase start). As in PyTorch, step
/// totalSteps is still allowed (the last phase extrapolated) and stepping beyond it throws.
/// The schedule sets rates absolutely, so it does not chain with other schedulers.
/// </remarks>
public sealed class OneCycleLR : LRScheduler
{
    private readonly double[] _maxLrs;
    private readonly double[] _minLrs;
    private readonly Phase[] _phases;

    /// <summary>Creates the schedule with one peak rate for all groups and applies step 0.</summary>
    /// <inheritdoc cref="OneCycleLR(Optimizer, IReadOnlyList{double}, int, double, AnnealStrategy, bool, double, double, double, double, bool)"/>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3,
                      AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
                      double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25,
                      double finalDivFactor = 1e4, bool threePhase = false)
        : this(optimizer, Fill(optimizer, maxLr), totalSteps, pctStart, annealStrategy, cycleMomentum,
               baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase)
    {
    }

    /// <summary>Creates the schedule with a peak rate per group and applies step 0.</summary>
    /// <param name="optimizer">The optimizer; with <paramref name="cycleMomentum"/> it must have momentum or β₁.</param>
    /// <param name="maxLrs">Peak learning rate of each group.</param>
    /// <param name="totalSteps">Number of steps in the cycle, ≥ 1.</param>
    /// <param name="pctStart">Fraction of the cycle spent raising the rate, in [0, 1].</param>
    /// <param name="annealStrategy">Cosine or linear interpolation.</param>
    /// <param name="cycleMomentum">Move momentum inversely to the rate.</param>
    /// <param name="baseMomentum">Momentum at the peak rate.</param>
    /// <param name="maxMomentum">Momentum at the start and end of the cycle.</param>
    /// <param name="divFactor">Initial rate = maxLr / divFactor.</param>
    /// <param name="finalDivFactor">Minimum rate = initial rate / finalDivFactor.</param>
    /// <param name="threePhase">Use three phases (rise, symmetric fall, final anneal) instead of two.</param>
    /// <exception cref="ArgumentException">An argument is out of range or the optimizer has no momentum to cycle.</exception>
    public OneCycleLR(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps, double pctStart = 0.3,
                      AnnealStrategy annealStrategy = AnnealStrategy.Cos, bool cycleMomentum = true,
                      double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25,
                      double finalDivFactor = 1e4, bool threePhase = false)
        : base(optimizer, InitialLrs(optimizer, maxLrs, totalSteps, pctStart, divFactor, finalDivFactor))
    {
        if (cycleMomentum && optimizer.MomentumOption == MomentumOption.None)
        {
            throw new ArgumentException(
                $"OneCycleLR: {optimizer.GetType().Name} has neither momentum nor beta1, so cycleMomentum must be false.", nameof(cycleMomentum));
        }

        TotalSteps = totalSteps;
        AnnealStrategy = annealStrategy;
        CycleMomentum = cycleMomentum;
        BaseMomentum = baseMomentum;
        MaxMomentum = maxMomentum;
        _maxLrs = [.. maxLrs];
        _minLrs = new double[_maxLrs.Length];
        for (int g = 0; g < _minLrs.Length; g++)
        {
            _minLrs[g] = BaseLrs[g] / finalDivFactor;
        }

        double rise = (pctStart * totalSteps) - 1;
        _phases = threePhase
            ?
            [
                new Phase(rise, Level.Initial, Level.Max, maxMomentum, baseMomentum),
                new Phase((2 * pctStart * totalSteps) - 2, Level.Max, Level.Initial, baseMomentum, maxMomentum),
                new Phase(totalSteps - 1, Level.Initial, Level.Min, maxMomentum, maxMomentum),
            ]
            :
            [
                new Phase(rise, Level.Initial, Level.Max, maxMomentum, baseMomentum),
                new Phase(totalSteps - 1, Level.Max, Level.Min, baseMomentum, maxMomentum),
            ];

        if (cycleMomentum)
        {
            SetMomentum(maxMomentum);
        }

        InitialStep();
    }

    private enum Level
    {
        Initial,
        Max,
        Min,
    }

    /// <summary>Steps in the cycle.</summary>
    public int TotalSteps { get; }

    /// <summary>Interpolation within a phase.</summary>
    public AnnealStrategy AnnealStrategy { get; }

    /// <summary>Whether momentum is cycled.</summary>
    public bool CycleMomentum { get; }

    /// <summary>Momentum at the peak rate.</summary>
    public double BaseMomentum { get; }

    /// <summary>Momentum at the start and end of the cycle.</summary>
    public double MaxMomentum { get; }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The step would pass <see cref="TotalSteps"/>.</exception>
    protected override double[] ComputeLr(int epoch)
    {
        if (epoch > TotalSteps)
        {
            throw new InvalidOperationException(
                $"OneCycleLR: tried to step {epoch} times, but the schedule has totalSteps = {TotalSteps}. " +
                "Create the scheduler with more steps (e.g. epochs × batches per epoch).");
        }

        var lrs = new double[BaseLrs.Count];
        double momentum = 0;
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            Phase phase = _phases[i];
            if (epoch <= phase.End || i == _phases.Length - 1)
            {
                double pct = (epoch - start) / (phase.End - start);
                for (int g = 0; g < lrs.Length; g++)
                {
                    lrs[g] = Anneal(LevelOf(phase.StartLr, g), LevelOf(phase.EndLr, g), pct);
                }

                momentum = Anneal(phase.StartMomentum, phase.EndMomentum, pct);
                break;
            }

            start = phase.End;
        }

        if (CycleMomentum)
        {
            SetMomentum(momentum);
        }

        return lrs;
    }

    private double Anneal(double start, double end, double pct)
    {
        if (AnnealStrategy == AnnealStrategy.Cos)
        {
            double cosOut = Math.Cos(Math.PI * pct) + 1;
            return end + ((start - end) / 2.0 * cosOut);
        }

        return ((end - start) * pct) + start;
    }

    private double LevelOf(Level level, int g) => level switch
    {
        Level.Initial => BaseLrs[g],
        Level.Max => _maxLrs[g],
        _ => _minLrs[g],
    };

    private void SetMomentum(double value)
    {
        foreach (ParamGroup group in Optimizer.ParamGroups)
        {
            if (Optimizer.MomentumOption == MomentumOption.Beta1)
            {
                group.Beta1 = value;
            }
            else
            {
                group.Momentum = value;
            }
        }
    }

    private static double[] Fill(Optimizer optimizer, double maxLr)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var lrs = new double[optimizer.ParamGroups.Count];
        Array.Fill(lrs, maxLr);
        return lrs;
    }

    private static double[] InitialLrs(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps,
                                       double pctStart, double divFactor, double finalDivFactor)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(maxLrs);
        if (maxLrs.Count != optimizer.ParamGroups.Count)
        {
            throw new ArgumentException(
                $"OneCycleLR: expected {optimizer.ParamGroups.Count} values for maxLr (one per group) but got {maxLrs.Count}.", nameof(maxLrs));
        }

        if (totalSteps <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"OneCycleLR: expected a positive totalSteps but got {totalSteps}.");
        }

        if (!(pctStart >= 0 && pctStart <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, $"OneCycleLR: expected pctStart between 0 and 1 but got {pctStart}.");
        }

        if (!(divFactor > 0) || !(finalDivFactor > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(divFactor), (divFactor, finalDivFactor),
                $"OneCycleLR: divFactor and finalDivFactor must be positive but got {divFactor} and {finalDivFactor}.");
        }

        var initial = new double[maxLrs.Count];
        for (int g = 0; g < initial.Length; g++)
        {
            initial[g] = maxLrs[g] / divFactor;
        }

        return initial;
    }

    private readonly record struct Phase(double End, Level StartLr, Level EndLr, double StartMomentum, double EndMomentum);
}
