using System.Globalization;
using SharpCnn.Nn;

namespace SharpCnn.Training;

/// <summary>
/// Hooks into <see cref="Trainer.Fit"/>, as Keras' and Lightning's callbacks: code that runs at fixed points of the
/// loop, reads the trainer's state, may change gradients between backward and the optimizer step, may ask the
/// trainer to stop (<see cref="Trainer.RequestStop"/>), and may keep state that checkpoints save and
/// <see cref="Trainer.Resume"/> restores, so a resumed run continues exactly. All methods have empty defaults.
/// </summary>
/// <remarks>
/// Order within a step: <see cref="OnBatchStart"/>, forward, loss (checked finite), backward,
/// <see cref="OnAfterBackward"/>, optimizer step, scheduler step, <see cref="OnBatchEnd"/>. At the end of an epoch:
/// evaluation, <see cref="OnEpochEnd"/>, then metrics and checkpoint files (so state a callback changed in
/// <see cref="OnEpochEnd"/> is in that epoch's checkpoint). Callbacks run in the order of
/// <see cref="Trainer.Callbacks"/>.
/// </remarks>
public interface ITrainingCallback
{
    /// <summary>The name its state is saved under in checkpoints (<c>extra.callback.KEY.NAME</c>); unique per trainer. Default: the type name.</summary>
    string StateKey => GetType().Name;

    /// <summary><see cref="Trainer.Fit"/> starts (after any resume).</summary>
    void OnFitStart(Trainer trainer)
    {
    }

    /// <summary><see cref="Trainer.Fit"/> ends, however it ends (also after an exception).</summary>
    void OnFitEnd(Trainer trainer)
    {
    }

    /// <summary>A training step starts (before forward).</summary>
    void OnBatchStart(Trainer trainer)
    {
    }

    /// <summary>Gradients are complete and finite-loss checked; the optimizer has not stepped yet (gradient clipping goes here).</summary>
    void OnAfterBackward(Trainer trainer)
    {
    }

    /// <summary>A training step (optimizer and per-batch scheduler step included) finished.</summary>
    void OnBatchEnd(Trainer trainer, BatchProgress progress)
    {
    }

    /// <summary>An epoch was trained and evaluated (<see cref="Trainer.LastEvaluation"/>); checkpoints follow.</summary>
    void OnEpochEnd(Trainer trainer, EpochMetrics metrics)
    {
    }

    /// <summary>The state to save in checkpoints (strings; invariant culture for numbers, "R" for doubles).</summary>
    IReadOnlyDictionary<string, string> GetState() => new Dictionary<string, string>();

    /// <summary>Restores state saved by <see cref="GetState"/> (called by <see cref="Trainer.Resume"/> when the checkpoint has some).</summary>
    /// <exception cref="InvalidDataException">The state is malformed.</exception>
    void SetState(IReadOnlyDictionary<string, string> state)
    {
    }
}

/// <summary>Whether a smaller or a larger value of a monitored metric is better.</summary>
public enum MonitorMode
{
    /// <summary>From the name: names ending in <c>loss</c> are minimised, others maximised.</summary>
    Auto,

    /// <summary>Smaller is better (losses).</summary>
    Min,

    /// <summary>Larger is better (accuracies).</summary>
    Max,
}

/// <summary>Compares values of a monitored metric (<see cref="EpochMetrics.MetricNames"/>).</summary>
public readonly record struct MetricMonitor
{
    /// <summary>Monitors <paramref name="metric"/>; <see cref="MonitorMode.Auto"/> picks the direction from the name.</summary>
    /// <exception cref="ArgumentException">An unknown metric name.</exception>
    public MetricMonitor(string metric, MonitorMode mode = MonitorMode.Auto, double minDelta = 0)
    {
        ArgumentNullException.ThrowIfNull(metric);
        if (!EpochMetrics.MetricNames.Contains(metric))
        {
            throw new ArgumentException($"Unknown metric \"{metric}\" to monitor; expected one of {string.Join(", ", EpochMetrics.MetricNames)}.", nameof(metric));
        }

        if (!(minDelta >= 0) || double.IsInfinity(minDelta))
        {
            throw new ArgumentOutOfRangeException(nameof(minDelta), $"minDelta must be a finite number ≥ 0, got {minDelta}.");
        }

        Metric = metric;
        Mode = mode != MonitorMode.Auto ? mode : metric.EndsWith("loss", StringComparison.Ordinal) ? MonitorMode.Min : MonitorMode.Max;
        MinDelta = minDelta;
    }

    /// <summary>The metric name.</summary>
    public string Metric { get; }

    /// <summary><see cref="MonitorMode.Min"/> or <see cref="MonitorMode.Max"/> (never Auto).</summary>
    public MonitorMode Mode { get; }

    /// <summary>The least change that counts as an improvement (Keras' <c>min_delta</c>).</summary>
    public double MinDelta { get; }

    /// <summary>
    /// Whether <paramref name="value"/> improves on <paramref name="best"/> by more than <see cref="MinDelta"/>
    /// (NaN <paramref name="best"/>: any finite value improves; a non-finite value never does).
    /// </summary>
    public bool Improves(double value, double best) =>
        double.IsFinite(value) && (double.IsNaN(best) || (Mode == MonitorMode.Min ? value < best - MinDelta : value > best + MinDelta));
}

/// <summary>
/// Stops training when the monitored metric has not improved by more than <c>minDelta</c> for
/// <c>patience</c> epochs in a row, as Keras' and Lightning's <c>EarlyStopping</c>. Its counter and best value
/// are saved in checkpoints, so a resumed run keeps counting.
/// </summary>
public sealed class EarlyStopping : ITrainingCallback
{
    /// <summary>Creates the callback.</summary>
    /// <param name="monitor">A metric of <see cref="EpochMetrics.MetricNames"/> (default <c>test_loss</c>).</param>
    /// <param name="patience">Epochs without improvement before stopping, ≥ 1 (default 3).</param>
    /// <param name="minDelta">The least change that counts as an improvement (default 0).</param>
    /// <param name="mode">Direction; <see cref="MonitorMode.Auto"/> infers it from the name.</param>
    public EarlyStopping(string monitor = "test_loss", int patience = 3, double minDelta = 0, MonitorMode mode = MonitorMode.Auto)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(patience, 1);
        Monitor = new MetricMonitor(monitor, mode, minDelta);
        Patience = patience;
    }

    /// <summary>What is watched and how.</summary>
    public MetricMonitor Monitor { get; }

    /// <summary>Epochs without improvement tolerated.</summary>
    public int Patience { get; }

    /// <summary>The best value seen (NaN before the first epoch).</summary>
    public double Best { get; private set; } = double.NaN;

    /// <summary>The epoch of <see cref="Best"/> (0 before the first).</summary>
    public int BestEpoch { get; private set; }

    /// <summary>Epochs since the last improvement.</summary>
    public int Wait { get; private set; }

    /// <summary>The epoch after which it stopped training (0 while it has not).</summary>
    public int StoppedEpoch { get; private set; }

    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, EpochMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        ArgumentNullException.ThrowIfNull(metrics);
        double value = metrics.Get(Monitor.Metric);
        if (Monitor.Improves(value, Best))
        {
            (Best, BestEpoch, Wait) = (value, metrics.Epoch, 0);
            return;
        }

        Wait++;
        if (Wait >= Patience)
        {
            StoppedEpoch = metrics.Epoch;
            trainer.RequestStop(string.Create(CultureInfo.InvariantCulture,
                $"early stopping: {Monitor.Metric} has not improved by more than {Monitor.MinDelta:G6} for {Wait} epochs (best {Best:G6} at epoch {BestEpoch})"));
        }
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> GetState() => new Dictionary<string, string>
    {
        ["monitor"] = Monitor.Metric,
        ["best"] = Best.ToString("R", CultureInfo.InvariantCulture),
        ["best_epoch"] = BestEpoch.ToString(CultureInfo.InvariantCulture),
        ["wait"] = Wait.ToString(CultureInfo.InvariantCulture),
        ["stopped_epoch"] = StoppedEpoch.ToString(CultureInfo.InvariantCulture),
    };

    /// <inheritdoc/>
    /// <remarks>State saved while watching another metric is ignored: counting starts afresh for this one.</remarks>
    public void SetState(IReadOnlyDictionary<string, string> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.TryGetValue("monitor", out string? metric) && metric != Monitor.Metric)
        {
            return;
        }

        Best = CallbackState.Read<double>(state, "best", StateKeyName);
        BestEpoch = CallbackState.Read<int>(state, "best_epoch", StateKeyName);
        Wait = CallbackState.Read<int>(state, "wait", StateKeyName);
        StoppedEpoch = CallbackState.Read<int>(state, "stopped_epoch", StateKeyName);
    }

    private const string StateKeyName = nameof(EarlyStopping);
}

/// <summary>
/// Clips gradients after backward and before the optimizer step: by value (each element into [−v, v],
/// <see cref="GradClip.ClipGradValue"/>) and/or by total norm (<see cref="GradClip.ClipGradNorm"/>, PyTorch's
/// <c>clip_grad_norm_</c>; value clipping goes first when both are set). A NaN or infinite total norm stops
/// training with <see cref="NonFiniteGradientException"/> before the step (PyTorch's
/// <c>error_if_nonfinite=True</c>): scaling by it would turn every weight into NaN. Counts of steps and clipped
/// steps are saved in checkpoints.
/// </summary>
public sealed class GradientClipping : ITrainingCallback
{
    /// <summary>Creates the callback; at least one of <paramref name="maxNorm"/> and <paramref name="clipValue"/> must be given.</summary>
    /// <param name="maxNorm">Largest total gradient norm (&gt; 0), or null.</param>
    /// <param name="clipValue">Largest |gradient element| (&gt; 0), or null.</param>
    /// <param name="normType">p of the norm (default 2; +∞ for the max norm).</param>
    public GradientClipping(double? maxNorm = null, double? clipValue = null, double normType = 2)
    {
        if (maxNorm is null && clipValue is null)
        {
            throw new ArgumentException("GradientClipping needs maxNorm, clipValue or both.", nameof(maxNorm));
        }

        if (maxNorm is double m && (!(m > 0) || double.IsInfinity(m)))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), $"maxNorm must be a positive finite number, got {m}.");
        }

        if (clipValue is double v && (!(v > 0) || double.IsInfinity(v)))
        {
            throw new ArgumentOutOfRangeException(nameof(clipValue), $"clipValue must be a positive finite number, got {v}.");
        }

        (MaxNorm, ClipValue, NormType) = (maxNorm, clipValue, normType);
    }

    /// <summary>The norm limit, or null.</summary>
    public double? MaxNorm { get; }

    /// <summary>The value limit, or null.</summary>
    public double? ClipValue { get; }

    /// <summary>p of the norm.</summary>
    public double NormType { get; }

    /// <summary>Steps seen.</summary>
    public long Steps { get; private set; }

    /// <summary>Steps whose gradients were changed (norm above the limit, or some element beyond the value limit).</summary>
    public long ClippedSteps { get; private set; }

    /// <summary>The total norm of the last step before clipping by norm (NaN before the first step or without a norm limit).</summary>
    public double LastNorm { get; private set; } = double.NaN;

    /// <inheritdoc/>
    public void OnAfterBackward(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Parameter[] parameters = [.. trainer.Model.Parameters()];
        bool clipped = false;
        if (ClipValue is double v)
        {
            clipped |= GradClip.ClipGradValue(parameters, v) > 0;
        }

        if (MaxNorm is double max)
        {
            double norm = GradClip.TotalNorm(parameters, NormType);
            if (!double.IsFinite(norm))
            {
                throw new NonFiniteGradientException(
                    $"The total gradient norm became {norm.ToString(CultureInfo.InvariantCulture)} at {trainer.StepPosition}; training stopped before the optimizer step. " +
                    $"{trainer.KeptCheckpointNote} Try a lower learning rate, or --detect-anomaly to find the layer.");
            }

            GradClip.ClipGradNorm(parameters, max, NormType);
            clipped |= norm + GradClip.Epsilon > max;
            LastNorm = norm;
        }

        Steps++;
        if (clipped)
        {
            ClippedSteps++;
        }
    }

    /// <inheritdoc/>
    public IReadOnlyDictionary<string, string> GetState() => new Dictionary<string, string>
    {
        ["steps"] = Steps.ToString(CultureInfo.InvariantCulture),
        ["clipped_steps"] = ClippedSteps.ToString(CultureInfo.InvariantCulture),
        ["last_norm"] = LastNorm.ToString("R", CultureInfo.InvariantCulture),
    };

    /// <inheritdoc/>
    public void SetState(IReadOnlyDictionary<string, string> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        Steps = CallbackState.Read<long>(state, "steps", nameof(GradientClipping));
        ClippedSteps = CallbackState.Read<long>(state, "clipped_steps", nameof(GradientClipping));
        LastNorm = CallbackState.Read<double>(state, "last_norm", nameof(GradientClipping));
    }
}

/// <summary>Parsing helpers for callback state.</summary>
internal static class CallbackState
{
    public static T Read<T>(IReadOnlyDictionary<string, string> state, string key, string owner)
        where T : ISpanParsable<T> =>
        state.TryGetValue(key, out string? s) && T.TryParse(s, CultureInfo.InvariantCulture, out T? v)
            ? v
            : throw new InvalidDataException($"The checkpoint's state of {owner} lacks a valid \"{key}\" entry (got {(s is null ? "none" : $"\"{s}\"")}).");
}
