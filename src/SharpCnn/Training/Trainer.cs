using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Serialization;

namespace SharpCnn.Training;

/// <summary>When the learning-rate scheduler steps.</summary>
public enum SchedulerInterval
{
    /// <summary>After every optimizer step (OneCycleLR).</summary>
    Batch,

    /// <summary>After every epoch (StepLR, CosineAnnealingLR over epochs).</summary>
    Epoch,
}

/// <summary>Settings of a <see cref="Trainer"/> that are not objects.</summary>
public sealed record TrainerOptions
{
    /// <summary>Total epochs to train (a resumed run continues up to this number).</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>The architecture name written into checkpoints (e.g. <c>"lenet5"</c>).</summary>
    public required string ModelName { get; init; }

    /// <summary>The run's seed, recorded in checkpoints.</summary>
    public ulong Seed { get; init; }

    /// <summary>Fingerprint of the training data, recorded in checkpoints and checked on resume (empty: not checked).</summary>
    public string DataSha256 { get; init; } = "";

    /// <summary>Hyper-parameters as a JSON object, recorded in checkpoints.</summary>
    public string HyperParameters { get; init; } = "{}";

    /// <summary>When the scheduler steps.</summary>
    public SchedulerInterval SchedulerInterval { get; init; } = SchedulerInterval.Batch;

    /// <summary>
    /// Folder for <c>metrics.csv</c>, <c>confusion.csv</c>, <c>last.safetensors</c>, <c>best.safetensors</c> and
    /// <c>epoch-NNN.safetensors</c>; null writes nothing.
    /// </summary>
    public string? RunDirectory { get; init; }

    /// <summary>
    /// Label smoothing ε of the training loss, in [0, 1) (default 0): the target distribution is (1 − ε)·one-hot + ε/C,
    /// as <c>nn.CrossEntropyLoss(label_smoothing=ε)</c>. The reported test loss is plain cross-entropy, so runs with
    /// and without smoothing compare.
    /// </summary>
    public float LabelSmoothing { get; init; }

    /// <summary>The metric that decides <c>best.safetensors</c> (one of <see cref="EpochMetrics.MetricNames"/>; default <c>test_accuracy</c>).</summary>
    public string Monitor { get; init; } = "test_accuracy";

    /// <summary>Whether smaller or larger <see cref="Monitor"/> is better (default: from the name).</summary>
    public MonitorMode MonitorMode { get; init; } = MonitorMode.Auto;

    /// <summary>How many <c>epoch-NNN.safetensors</c> to keep, newest first (default 3; 0 writes none).</summary>
    public int KeepCheckpoints { get; init; } = 3;
}

/// <summary>How <see cref="Trainer.Fit"/> ended.</summary>
public enum TrainingOutcome
{
    /// <summary>All epochs ran.</summary>
    Completed,

    /// <summary>Cancellation was requested; the current step finished and a checkpoint was saved.</summary>
    Cancelled,

    /// <summary>A callback asked to stop (<see cref="Trainer.RequestStop"/>, e.g. <see cref="EarlyStopping"/>); <see cref="Trainer.StopReason"/> says why.</summary>
    Stopped,
}

/// <summary>
/// The supervised classification loop: for each batch forward, cross-entropy (with optional label smoothing; for a
/// model with auxiliary heads, <see cref="IAuxiliaryOutputs"/>, main + Σ weight·auxiliary; the reported training
/// loss is that sum and the accuracy is the main output's), backward, callbacks (<see cref="ITrainingCallback"/>:
/// gradient clipping, anomaly detection), optimizer step and (per batch or per epoch) scheduler step; after each
/// epoch evaluation under <see cref="Autograd.Autograd.NoGrad"/> in eval mode (loss, top-1, top-5, confusion
/// matrix), callbacks (early stopping), metrics and checkpoints. Runs are reproducible: the data order depends only
/// on the loader's seed and the epoch, and a checkpoint holds model, optimizer, scheduler, generator and callback
/// state, so a resumed run continues bit-identically. Each training step and each evaluation batch runs in its own
/// <see cref="TensorScope"/>, so steady-state training allocates almost nothing on the managed heap; the
/// parameters' gradients are recycled between steps (a gradient tensor read after the next step has begun throws).
/// </summary>
/// <remarks>
/// Run folder after each epoch, in this order (each file replaced atomically, so a crash at any point leaves complete
/// files): <c>metrics.csv</c> (rewritten with the new row), <c>confusion.csv</c> (the epoch's test confusion matrix),
/// <c>epoch-NNN.safetensors</c> (the last <see cref="TrainerOptions.KeepCheckpoints"/> kept), <c>last.safetensors</c>,
/// and <c>best.safetensors</c> when the monitored metric improved. On <see cref="Fit"/>, rows of <c>metrics.csv</c>
/// beyond the position being continued from are dropped, so a run resumed from an older checkpoint (after a crash
/// between the metrics and the checkpoint) does not repeat rows.
/// </remarks>
public sealed partial class Trainer
{
    private const string ExtraLossSum = "epoch_loss_sum";
    private const string ExtraCorrect = "epoch_correct";
    private const string ExtraSeen = "epoch_seen";
    private const string ExtraSeconds = "epoch_seconds";
    private const string ExtraStopReason = "stop_reason";
    private const string ExtraBestMetric = "best_metric";
    private const string ExtraMonitor = "monitor";
    private const string CallbackPrefix = "callback.";

    private readonly Module _model;
    private readonly Optimizer _optimizer;
    private readonly LRScheduler? _scheduler;
    private readonly DataLoader _train;
    private readonly DataLoader? _test;
    private readonly Generator _generator;
    private readonly TrainerOptions _options;
    private readonly MetricMonitor _monitor;
    private readonly RunningMetrics _epochMetrics = new();
    private double _epochSecondsBefore;

    /// <summary>Creates a trainer.</summary>
    /// <param name="model">The model (trained in place).</param>
    /// <param name="optimizer">The optimizer over the model's parameters (its weight decay is the run's).</param>
    /// <param name="scheduler">Optional learning-rate schedule.</param>
    /// <param name="train">Training batches (shuffled, usually).</param>
    /// <param name="test">Evaluation batches, or null. When its dataset is an <see cref="IClassDataset"/>, its class names label <c>confusion.csv</c>.</param>
    /// <param name="generator">The generator whose state is saved in checkpoints (the one dropout and init use).</param>
    /// <param name="options">Epochs, names, paths, label smoothing, monitored metric.</param>
    /// <exception cref="ArgumentException">An option is out of range (negative epochs or checkpoints to keep, label smoothing outside [0, 1), unknown monitor).</exception>
    public Trainer(Module model, Optimizer optimizer, LRScheduler? scheduler, DataLoader train, DataLoader? test, Generator generator, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Epochs);
        ArgumentOutOfRangeException.ThrowIfNegative(options.KeepCheckpoints);
        if (!(options.LabelSmoothing is >= 0 and < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"LabelSmoothing must be in [0, 1), got {options.LabelSmoothing}.");
        }

        _monitor = new MetricMonitor(options.Monitor, options.MonitorMode);
        (_model, _optimizer, _scheduler, _train, _test, _generator, _options) = (model, optimizer, scheduler, train, test, generator, options);
    }

    /// <summary>The model being trained.</summary>
    public Module Model => _model;

    /// <summary>The optimizer.</summary>
    public Optimizer Optimizer => _optimizer;

    /// <summary>The options it was made with.</summary>
    public TrainerOptions Options => _options;

    /// <summary>
    /// The callbacks, run in this order. Add them before <see cref="Resume"/> (which restores their state) and
    /// <see cref="Fit"/>; each needs a distinct <see cref="ITrainingCallback.StateKey"/>.
    /// </summary>
    public IList<ITrainingCallback> Callbacks { get; } = new List<ITrainingCallback>();

    /// <summary>Completed epochs.</summary>
    public int Epoch { get; private set; }

    /// <summary>Batches done in the unfinished epoch.</summary>
    public int BatchInEpoch { get; private set; }

    /// <summary>Optimizer steps taken.</summary>
    public long GlobalStep { get; private set; }

    /// <summary>Best test accuracy so far (NaN before the first evaluation).</summary>
    public double BestAccuracy { get; private set; } = double.NaN;

    /// <summary>Best value of the monitored metric (<see cref="TrainerOptions.Monitor"/>) so far; NaN before the first.</summary>
    public double BestMetric { get; private set; } = double.NaN;

    /// <summary>Why training was stopped by a callback (null while it was not). Saved in checkpoints: a resumed stopped run does not train on.</summary>
    public string? StopReason { get; private set; }

    /// <summary>The last epoch's evaluation (null before the first, or without a test set).</summary>
    public EvaluationResult? LastEvaluation { get; private set; }

    /// <summary>Metrics of the epochs run by this trainer (not those before a resume).</summary>
    public List<EpochMetrics> History { get; } = [];

    /// <summary>Path of the latest checkpoint, or null when no run directory is set.</summary>
    public string? LastCheckpointPath => RunFile("last.safetensors");

    /// <summary>Path of the best checkpoint (by the monitored metric), or null when no run directory is set.</summary>
    public string? BestCheckpointPath => RunFile("best.safetensors");

    /// <summary>Path of the metrics file, or null when no run directory is set.</summary>
    public string? MetricsPath => RunFile("metrics.csv");

    /// <summary>Path of the last epoch's test confusion matrix (CSV), or null when no run directory is set.</summary>
    public string? ConfusionPath => RunFile("confusion.csv");

    /// <summary>Path of the checkpoint of epoch <paramref name="epoch"/> (<c>epoch-NNN.safetensors</c>), or null when no run directory is set.</summary>
    public string? EpochCheckpointPath(int epoch) => RunFile(string.Create(CultureInfo.InvariantCulture, $"epoch-{epoch:D3}.safetensors"));

    /// <summary>"epoch E, batch B (global step S)" of the step in progress, for messages.</summary>
    internal string StepPosition => $"epoch {Epoch + 1}, batch {BatchInEpoch + 1} (global step {GlobalStep + 1})";

    /// <summary>Which checkpoint on disk is the last good one, for messages.</summary>
    internal string KeptCheckpointNote => LastCheckpointPath is not null && File.Exists(LastCheckpointPath)
        ? $"The last good checkpoint, unchanged, is {LastCheckpointPath} (epoch {Checkpoint.Read(LastCheckpointPath).Info.Epoch})."
        : "No checkpoint was written before the failure.";

    /// <summary>
    /// Asks the loop to stop after the current epoch's evaluation and checkpoints (as Lightning's
    /// <c>trainer.should_stop</c>); <see cref="Fit"/> then returns <see cref="TrainingOutcome.Stopped"/>.
    /// </summary>
    public void RequestStop(string reason)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        StopReason ??= reason;
    }

    /// <summary>
    /// Restores model, optimizer, scheduler, generator, position, best values and callback state from a checkpoint so
    /// <see cref="Fit"/> continues where it stopped. Everything is validated before anything changes.
    /// </summary>
    /// <exception cref="InvalidDataException">The checkpoint is for another model or data, or its state does not fit.</exception>
    public void Resume(string checkpointPath)
    {
        CheckpointData data = Checkpoint.Read(checkpointPath);
        CheckpointInfo info = data.Info;
        if (info.ModelName != _options.ModelName)
        {
            throw new InvalidDataException($"Checkpoint \"{checkpointPath}\" was saved from model \"{info.ModelName}\", but this run trains \"{_options.ModelName}\".");
        }

        if (_options.DataSha256.Length > 0 && info.DataSha256.Length > 0 && info.DataSha256 != _options.DataSha256)
        {
            throw new InvalidDataException(
                $"Checkpoint \"{checkpointPath}\" was trained on data with SHA-256 {info.DataSha256}, but this run's data has {_options.DataSha256}; resuming would not reproduce the run.");
        }

        if (info.RngState.Length != 4)
        {
            throw new InvalidDataException($"Checkpoint \"{checkpointPath}\" has no generator state, so the run cannot be resumed exactly.");
        }

        if (info.BatchInEpoch > _train.Count)
        {
            throw new InvalidDataException($"Checkpoint \"{checkpointPath}\" stopped at batch {info.BatchInEpoch}, but an epoch here has only {_train.Count} batches.");
        }

        CheckStateKeys();
        var callbackStates = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach ((string key, string value) in info.Extra)
        {
            if (key.StartsWith(CallbackPrefix, StringComparison.Ordinal) && key.IndexOf('.', CallbackPrefix.Length) is int dot and > 0)
            {
                string owner = key[CallbackPrefix.Length..dot];
                if (!callbackStates.TryGetValue(owner, out Dictionary<string, string>? state))
                {
                    callbackStates[owner] = state = new Dictionary<string, string>(StringComparer.Ordinal);
                }

                state[key[(dot + 1)..]] = value;
            }
        }

        (double lossSum, long correct, long seen, double seconds) = (0, 0, 0, 0);
        if (info.BatchInEpoch > 0)
        {
            (lossSum, correct, seen, seconds) = (ReadExtra<double>(info, ExtraLossSum, checkpointPath), ReadExtra<long>(info, ExtraCorrect, checkpointPath),
                ReadExtra<long>(info, ExtraSeen, checkpointPath), ReadExtra<double>(info, ExtraSeconds, checkpointPath));
        }

        double bestMetric = double.NaN;
        if (info.Extra.TryGetValue(ExtraMonitor, out string? monitor) && monitor == _monitor.Metric)
        {
            bestMetric = ReadExtra<double>(info, ExtraBestMetric, checkpointPath);
        }
        else if (_monitor.Metric == "test_accuracy")
        {
            // Checkpoints written before the monitor was recorded tracked the best test accuracy.
            bestMetric = info.BestAccuracy;
        }

        // Validate the model part first (LoadStateDict checks all keys and shapes before copying), then the
        // optimizer and scheduler; each of those is itself all-or-nothing. Snapshot the model so a failure in
        // a later part leaves everything as it was. Callback state is applied last; a malformed one throws
        // before anything of the trainer's own position changes.
        var modelBefore = _model.StateDict().ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.ToArray(), kv.Value.Shape));
        _model.LoadStateDict(data.Model);
        try
        {
            _optimizer.LoadStateDict(data.Optimizer);
            _scheduler?.LoadStateDict(data.Scheduler);
            foreach (ITrainingCallback callback in Callbacks)
            {
                if (callbackStates.TryGetValue(callback.StateKey, out Dictionary<string, string>? state))
                {
                    callback.SetState(state);
                }
            }
        }
        catch
        {
            _model.LoadStateDict(modelBefore);
            throw;
        }

        _generator.State = info.RngState;
        (Epoch, BatchInEpoch, GlobalStep, BestAccuracy, BestMetric) = (info.Epoch, info.BatchInEpoch, info.GlobalStep, info.BestAccuracy, bestMetric);
        StopReason = info.Extra.TryGetValue(ExtraStopReason, out string? reason) && reason.Length > 0 ? reason : null;
        _epochMetrics.Restore(lossSum, correct, seen);
        _epochSecondsBefore = seconds;
    }

    /// <summary>
    /// Deletes temp files that a write killed midway (a crash, a power loss) left in the run folder, and returns their
    /// names; the complete files beside them are untouched. <see cref="Fit"/> calls it too.
    /// </summary>
    public IReadOnlyList<string> CleanRunDirectory()
    {
        string? dir = _options.RunDirectory;
        if (dir is null || !Directory.Exists(dir))
        {
            return [];
        }

        var removed = new List<string>();
        foreach (string file in Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileName(file);
            if (AtomicFile.IsTempName(name))
            {
                File.Delete(file);
                removed.Add(name);
            }
        }

        return removed;
    }

    /// <summary>
    /// Trains from the current position up to <see cref="TrainerOptions.Epochs"/>. After each epoch it evaluates,
    /// runs the callbacks and writes the run folder (see the class remarks). When <paramref name="cancellation"/>
    /// fires, the current step finishes, a checkpoint is saved, and <see cref="TrainingOutcome.Cancelled"/> is
    /// returned. A run whose checkpoint says a callback stopped it returns <see cref="TrainingOutcome.Stopped"/> at once.
    /// </summary>
    /// <exception cref="TrainingDivergedException">The loss, the gradient norm (with clipping) or a layer (with anomaly
    /// detection) became NaN or infinite; the message names epoch, batch and step; the step was not applied and no file was written.</exception>
    public TrainingOutcome Fit(ITrainingObserver? observer = null, CancellationToken cancellation = default)
    {
        CheckStateKeys();
        if (StopReason is not null)
        {
            return TrainingOutcome.Stopped;
        }

        if (_options.RunDirectory is not null)
        {
            Directory.CreateDirectory(_options.RunDirectory);
            CleanRunDirectory();
            MetricsCsv.KeepThrough(MetricsPath!, Epoch);
        }

        foreach (ITrainingCallback callback in Callbacks)
        {
            callback.OnFitStart(this);
        }

        try
        {
            return FitEpochs(observer, cancellation);
        }
        finally
        {
            foreach (ITrainingCallback callback in Callbacks)
            {
                callback.OnFitEnd(this);
            }
        }
    }

    private TrainingOutcome FitEpochs(ITrainingObserver? observer, CancellationToken cancellation)
    {
        while (Epoch < _options.Epochs)
        {
            int epochNumber = Epoch + 1;
            int batches = _train.Count;
            observer?.EpochStarted(epochNumber, _options.Epochs, batches, BatchInEpoch);
            var clock = Stopwatch.StartNew();
            long imagesThisRun = 0;
            _model.Train();
            foreach (Batch batch in _train.GetEpoch(Epoch, BatchInEpoch, pooled: true))
            {
                TrainStep(batch);
                BatchInEpoch++;
                GlobalStep++;
                imagesThisRun += batch.Size;
                var progress = new BatchProgress(epochNumber, BatchInEpoch, batches, GlobalStep, _epochMetrics.Loss, _epochMetrics.Accuracy,
                    imagesThisRun / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), _optimizer.Lr);
                foreach (ITrainingCallback callback in Callbacks)
                {
                    callback.OnBatchEnd(this, progress);
                }

                observer?.BatchEnded(progress);
                if (cancellation.IsCancellationRequested && BatchInEpoch < batches)
                {
                    _epochSecondsBefore += clock.Elapsed.TotalSeconds;
                    SaveCheckpointTo(LastCheckpointPath);
                    return TrainingOutcome.Cancelled;
                }
            }

            if (_scheduler is not null && _options.SchedulerInterval == SchedulerInterval.Epoch)
            {
                _scheduler.Step();
            }

            // The loss is checked before every step, but the last step of an epoch could still have broken the
            // weights: check them (and the buffers) before they are evaluated and saved.
            CheckStateFinite(epochNumber);
            observer?.EvaluationStarted(epochNumber);
            LastEvaluation = _test is null ? null : EvaluateDetailed(_model, _test);
            if (LastEvaluation is { Loss: var testLoss } && !double.IsFinite(testLoss) && LastEvaluation.Count > 0)
            {
                throw new NonFiniteLossException(
                    $"Test loss became {testLoss.ToString(CultureInfo.InvariantCulture)} after epoch {epochNumber} (global step {GlobalStep}); training stopped and no checkpoint was written for this epoch. " +
                    $"{KeptCheckpointNote} Try a lower learning rate.");
            }

            var metrics = new EpochMetrics(epochNumber, _epochMetrics.Loss, _epochMetrics.Accuracy, LastEvaluation?.Loss ?? double.NaN,
                LastEvaluation?.Accuracy ?? double.NaN, _optimizer.Lr, _epochSecondsBefore + clock.Elapsed.TotalSeconds)
            {
                TestTop5Accuracy = LastEvaluation?.Top5Accuracy ?? double.NaN,
            };
            Epoch++;
            BatchInEpoch = 0;
            _epochMetrics.Restore(0, 0, 0);
            _epochSecondsBefore = 0;
            if (!double.IsNaN(metrics.TestAccuracy) && (double.IsNaN(BestAccuracy) || metrics.TestAccuracy > BestAccuracy))
            {
                BestAccuracy = metrics.TestAccuracy;
            }

            bool improved = _monitor.Improves(metrics.Get(_monitor.Metric), BestMetric);
            if (improved)
            {
                BestMetric = metrics.Get(_monitor.Metric);
            }

            foreach (ITrainingCallback callback in Callbacks)
            {
                callback.OnEpochEnd(this, metrics);
            }

            History.Add(metrics);
            WriteEpochFiles(metrics, improved);
            observer?.EpochEnded(metrics);
            if (StopReason is not null)
            {
                return TrainingOutcome.Stopped;
            }

            if (cancellation.IsCancellationRequested && Epoch < _options.Epochs)
            {
                return TrainingOutcome.Cancelled;
            }
        }

        return TrainingOutcome.Completed;
    }

    /// <summary>Mean cross-entropy and top-1 accuracy of <paramref name="model"/> over <paramref name="loader"/>, in eval mode without recording gradients.</summary>
    public static (double Loss, double Accuracy) Evaluate(Module model, DataLoader loader)
    {
        EvaluationResult r = EvaluateDetailed(model, loader);
        return (r.Loss, r.Accuracy);
    }

    /// <summary>
    /// Mean cross-entropy, top-1 and top-5 accuracy and the confusion matrix of <paramref name="model"/> over
    /// <paramref name="loader"/>, in eval mode without recording gradients. Class names come from the loader's
    /// dataset when it is an <see cref="IClassDataset"/> with one name per model output, else "0".."K-1".
    /// </summary>
    public static EvaluationResult EvaluateDetailed(Module model, DataLoader loader)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        bool wasTraining = model.Training;
        model.Eval();
        var metrics = new RunningMetrics();
        long top5 = 0;
        ConfusionMatrix? confusion = null;
        try
        {
            using (Autograd.Autograd.NoGrad())
            {
                foreach (Batch batch in loader.GetEpoch(loader.Epoch, 0, pooled: true))
                {
                    using TensorScope scope = TensorScope.Begin();
                    TensorScope.Adopt(batch.Inputs);
                    TensorScope.Adopt(batch.Targets);
                    Tensor logits = model.Call(batch.Inputs);
                    double sum = F.CrossEntropy(logits, batch.Targets, reduction: Reduction.Sum).Item();
                    confusion ??= new ConfusionMatrix(logits.Size(-1));
                    confusion.Add(logits, batch.Targets);
                    top5 += RunningMetrics.CountTopK(logits, batch.Targets, 5);
                    metrics.Add(sum / batch.Size, RunningMetrics.CountCorrect(logits, batch.Targets), batch.Size);
                }
            }
        }
        finally
        {
            model.Train(wasTraining);
        }

        IReadOnlyList<string>? names = loader.Dataset is IClassDataset classes && confusion is not null && classes.Classes.Count == confusion.Classes
            ? classes.Classes
            : null;
        double top5Accuracy = confusion is null || confusion.Classes <= 5 || metrics.Seen == 0 ? double.NaN : (double)top5 / metrics.Seen;
        return new EvaluationResult(metrics.Loss, metrics.Accuracy, top5Accuracy, metrics.Seen, confusion,
            confusion?.Names(names) ?? []);
    }

    /// <summary>Writes a checkpoint of the current state to <paramref name="path"/> (atomically).</summary>
    public void SaveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var extra = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ExtraMonitor] = _monitor.Metric,
            [ExtraBestMetric] = BestMetric.ToString("R", CultureInfo.InvariantCulture),
        };
        if (BatchInEpoch > 0)
        {
            extra[ExtraLossSum] = _epochMetrics.LossSum.ToString("R", CultureInfo.InvariantCulture);
            extra[ExtraCorrect] = _epochMetrics.Correct.ToString(CultureInfo.InvariantCulture);
            extra[ExtraSeen] = _epochMetrics.Seen.ToString(CultureInfo.InvariantCulture);
            extra[ExtraSeconds] = _epochSecondsBefore.ToString("R", CultureInfo.InvariantCulture);
        }

        if (StopReason is not null)
        {
            extra[ExtraStopReason] = StopReason;
        }

        foreach (ITrainingCallback callback in Callbacks)
        {
            foreach ((string key, string value) in callback.GetState())
            {
                extra[CallbackPrefix + callback.StateKey + "." + key] = value;
            }
        }

        var info = new CheckpointInfo
        {
            ModelName = _options.ModelName,
            Epoch = Epoch,
            BatchInEpoch = BatchInEpoch,
            GlobalStep = GlobalStep,
            Seed = _options.Seed,
            RngState = _generator.State,
            DataSha256 = _options.DataSha256,
            BestAccuracy = BestAccuracy,
            HyperParameters = _options.HyperParameters,
            Extra = extra,
        };
        Checkpoint.Save(path, info, _model, _optimizer.StateDict(), _scheduler?.StateDict());
    }

    private void CheckStateFinite(int epochNumber)
    {
        foreach ((string key, Tensor value) in _model.StateDict())
        {
            foreach (float v in value.Data)
            {
                if (!float.IsFinite(v))
                {
                    throw new TrainingDivergedException(
                        $"After epoch {epochNumber} (global step {GlobalStep}) the model's {key} holds {v.ToString(CultureInfo.InvariantCulture)}; training stopped and no checkpoint was written for this epoch. " +
                        $"{KeptCheckpointNote} Try a lower learning rate, or --detect-anomaly to find the layer.");
                }
            }
        }
    }

    private string? RunFile(string name) => _options.RunDirectory is null ? null : Path.Combine(_options.RunDirectory, name);

    private void CheckStateKeys()
    {
        string? duplicate = Callbacks.GroupBy(c => c.StateKey, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (duplicate is not null)
        {
            throw new InvalidOperationException($"Two callbacks share the state key \"{duplicate}\"; give each a distinct ITrainingCallback.StateKey.");
        }

        string? dotted = Callbacks.Select(c => c.StateKey).FirstOrDefault(k => k.Length == 0 || k.Contains('.', StringComparison.Ordinal));
        if (dotted is not null)
        {
            throw new InvalidOperationException($"Callback state key \"{dotted}\" must be non-empty and contain no '.'.");
        }
    }

    private void TrainStep(Batch batch)
    {
        // One TensorScope per step: every tensor of forward, loss and backward borrows pooled memory that goes back
        // when the step ends. What survives is plain values (the loss, the correct count) and long-lived state
        // (parameters, their gradients, optimizer state, batch-norm running statistics), which is never pooled.
        // Gradients are recycled rather than dropped, so their buffers are reused from step to step.
        using TensorScope scope = TensorScope.Begin();
        TensorScope.Adopt(batch.Inputs);
        TensorScope.Adopt(batch.Targets);
        foreach (ITrainingCallback callback in Callbacks)
        {
            callback.OnBatchStart(this);
        }

        _optimizer.RecycleGradients();
        (Tensor logits, Tensor loss) = ForwardLoss(batch);
        float value = loss.Item();
        if (!float.IsFinite(value))
        {
            throw new NonFiniteLossException(
                $"Training loss became {value.ToString(CultureInfo.InvariantCulture)} at {StepPosition}; training stopped before the optimizer step. {KeptCheckpointNote} " +
                "Try a lower learning rate, or --detect-anomaly to find the layer.");
        }

        loss.Backward();
        foreach (ITrainingCallback callback in Callbacks)
        {
            callback.OnAfterBackward(this);
        }

        _optimizer.Step();
        if (_scheduler is not null && _options.SchedulerInterval == SchedulerInterval.Batch)
        {
            _scheduler.Step();
        }

        _epochMetrics.Add(value, RunningMetrics.CountCorrect(logits, batch.Targets), batch.Size);
    }

    /// <summary>
    /// The main output and the loss to optimise: cross-entropy (label-smoothed when set) of the main output, plus
    /// Σ weight·cross-entropy of each auxiliary output when the model has auxiliary heads
    /// (<see cref="IAuxiliaryOutputs"/>) and is training.
    /// </summary>
    private (Tensor Logits, Tensor Loss) ForwardLoss(Batch batch)
    {
        float smoothing = _options.LabelSmoothing;
        if (_model is IAuxiliaryOutputs withAuxiliary && _model.Training)
        {
            AuxiliaryForward outputs = withAuxiliary.ForwardWithAuxiliary(batch.Inputs);
            Tensor total = F.CrossEntropy(outputs.Output, batch.Targets, smoothing);
            foreach (AuxiliaryOutput aux in outputs.Auxiliary)
            {
                total += aux.Weight * F.CrossEntropy(aux.Output, batch.Targets, smoothing);
            }

            return (outputs.Output, total);
        }

        Tensor logits = _model.Call(batch.Inputs);
        return (logits, F.CrossEntropy(logits, batch.Targets, smoothing));
    }

    private void SaveCheckpointTo(string? path)
    {
        if (path is not null)
        {
            SaveCheckpoint(path);
        }
    }

    /// <summary>
    /// The run folder after an epoch, each file atomic: metrics first (a crash before the checkpoint leaves a row
    /// that <see cref="MetricsCsv.KeepThrough"/> drops on resume), then confusion.csv, the epoch checkpoint, last,
    /// best, and finally the pruning of old epoch checkpoints.
    /// </summary>
    private void WriteEpochFiles(EpochMetrics metrics, bool improved)
    {
        if (_options.RunDirectory is null)
        {
            return;
        }

        MetricsCsv.Append(MetricsPath!, metrics);
        if (LastEvaluation?.Confusion is { } confusion)
        {
            string csv = confusion.ToCsv(LastEvaluation.ClassNames);
            AtomicFile.Write(ConfusionPath!, s =>
            {
                using var writer = new StreamWriter(s, leaveOpen: true);
                writer.Write(csv);
            });
        }

        string last = LastCheckpointPath!;
        if (_options.KeepCheckpoints > 0)
        {
            string epochFile = EpochCheckpointPath(Epoch)!;
            SaveCheckpoint(epochFile);
            Checkpoint.CopyFile(epochFile, last);
        }
        else
        {
            SaveCheckpoint(last);
        }

        if (improved)
        {
            Checkpoint.CopyFile(last, BestCheckpointPath!);
        }

        PruneEpochCheckpoints();
    }

    private void PruneEpochCheckpoints()
    {
        var epochFiles = Directory.EnumerateFiles(_options.RunDirectory!, "epoch-*.safetensors")
            .Select(f => (Path: f, Match: EpochFileName().Match(Path.GetFileName(f))))
            .Where(x => x.Match.Success)
            .Select(x => (x.Path, Epoch: int.Parse(x.Match.Groups[1].ValueSpan, CultureInfo.InvariantCulture)))
            .OrderByDescending(x => x.Epoch)
            .ToList();
        foreach ((string path, _) in epochFiles.Skip(_options.KeepCheckpoints))
        {
            File.Delete(path);
        }
    }

    [GeneratedRegex(@"^epoch-(\d{3,9})\.safetensors$")]
    private static partial Regex EpochFileName();

    private static T ReadExtra<T>(CheckpointInfo info, string key, string path)
        where T : ISpanParsable<T> =>
        info.Extra.TryGetValue(key, out string? s) && T.TryParse(s, CultureInfo.InvariantCulture, out T? v)
            ? v
            : throw new InvalidDataException($"Checkpoint \"{path}\" lacks a valid \"{key}\" entry.");
}

/// <summary>The result of <see cref="Trainer.EvaluateDetailed"/>.</summary>
/// <param name="Loss">Mean cross-entropy per sample (NaN when the loader is empty).</param>
/// <param name="Accuracy">Top-1 accuracy (fraction).</param>
/// <param name="Top5Accuracy">Top-5 accuracy (fraction); NaN with 5 classes or fewer.</param>
/// <param name="Count">Samples evaluated.</param>
/// <param name="Confusion">The confusion matrix (rows actual, columns predicted); null when the loader is empty.</param>
/// <param name="ClassNames">One name per class (the dataset's, or "0".."K-1").</param>
public sealed record EvaluationResult(double Loss, double Accuracy, double Top5Accuracy, long Count, ConfusionMatrix? Confusion, IReadOnlyList<string> ClassNames);
