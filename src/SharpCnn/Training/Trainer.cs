using System.Diagnostics;
using System.Globalization;
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

    /// <summary>Folder for <c>last.safetensors</c>, <c>best.safetensors</c> and <c>metrics.csv</c>; null writes nothing.</summary>
    public string? RunDirectory { get; init; }
}

/// <summary>How <see cref="Trainer.Fit"/> ended.</summary>
public enum TrainingOutcome
{
    /// <summary>All epochs ran.</summary>
    Completed,

    /// <summary>Cancellation was requested; the current step finished and a checkpoint was saved.</summary>
    Cancelled,
}

/// <summary>
/// Thrown when the training loss is NaN or infinite. Training stops at once; the optimizer did not apply the
/// step, and the last checkpoint on disk is from before the failure.
/// </summary>
public sealed class NonFiniteLossException : Exception
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonFiniteLossException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public NonFiniteLossException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The supervised classification loop: for each batch forward, cross-entropy (for a model with auxiliary heads,
/// <see cref="IAuxiliaryOutputs"/>, main + Σ weight·auxiliary; the reported training loss is that sum and the
/// accuracy is the main output's), backward, optimizer step and
/// (per batch or per epoch) scheduler step; after each epoch evaluation under <see cref="Autograd.Autograd.NoGrad"/>
/// in eval mode, metrics, and checkpoints. Runs are reproducible: the data order depends only on the loader's
/// seed and the epoch, and a checkpoint holds model, optimizer, scheduler and generator state, so a resumed run
/// continues bit-identically. Each training step and each evaluation batch runs in its own
/// <see cref="TensorScope"/>, so steady-state training allocates almost nothing on the managed heap; the
/// parameters' gradients are recycled between steps (a gradient tensor read after the next step has begun throws).
/// </summary>
public sealed class Trainer
{
    private const string ExtraLossSum = "epoch_loss_sum";
    private const string ExtraCorrect = "epoch_correct";
    private const string ExtraSeen = "epoch_seen";
    private const string ExtraSeconds = "epoch_seconds";

    private readonly Module _model;
    private readonly Optimizer _optimizer;
    private readonly LRScheduler? _scheduler;
    private readonly DataLoader _train;
    private readonly DataLoader? _test;
    private readonly Generator _generator;
    private readonly TrainerOptions _options;
    private readonly RunningMetrics _epochMetrics = new();
    private double _epochSecondsBefore;

    /// <summary>Creates a trainer.</summary>
    /// <param name="model">The model (trained in place).</param>
    /// <param name="optimizer">The optimizer over the model's parameters.</param>
    /// <param name="scheduler">Optional learning-rate schedule.</param>
    /// <param name="train">Training batches (shuffled, usually).</param>
    /// <param name="test">Evaluation batches, or null.</param>
    /// <param name="generator">The generator whose state is saved in checkpoints (the one dropout and init use).</param>
    /// <param name="options">Epochs, names and paths.</param>
    public Trainer(Module model, Optimizer optimizer, LRScheduler? scheduler, DataLoader train, DataLoader? test, Generator generator, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfNegative(options.Epochs);
        (_model, _optimizer, _scheduler, _train, _test, _generator, _options) = (model, optimizer, scheduler, train, test, generator, options);
    }

    /// <summary>Completed epochs.</summary>
    public int Epoch { get; private set; }

    /// <summary>Batches done in the unfinished epoch.</summary>
    public int BatchInEpoch { get; private set; }

    /// <summary>Optimizer steps taken.</summary>
    public long GlobalStep { get; private set; }

    /// <summary>Best test accuracy so far (NaN before the first evaluation).</summary>
    public double BestAccuracy { get; private set; } = double.NaN;

    /// <summary>Metrics of the epochs run by this trainer (not those before a resume).</summary>
    public List<EpochMetrics> History { get; } = [];

    /// <summary>Path of the latest checkpoint, or null when no run directory is set.</summary>
    public string? LastCheckpointPath => _options.RunDirectory is null ? null : Path.Combine(_options.RunDirectory, "last.safetensors");

    /// <summary>Path of the best checkpoint, or null when no run directory is set.</summary>
    public string? BestCheckpointPath => _options.RunDirectory is null ? null : Path.Combine(_options.RunDirectory, "best.safetensors");

    /// <summary>Path of the metrics file, or null when no run directory is set.</summary>
    public string? MetricsPath => _options.RunDirectory is null ? null : Path.Combine(_options.RunDirectory, "metrics.csv");

    /// <summary>
    /// Restores model, optimizer, scheduler, generator and position from a checkpoint so <see cref="Fit"/>
    /// continues where it stopped. Everything is validated before anything changes.
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

        // Validate the model part first (LoadStateDict checks all keys and shapes before copying), then the
        // optimizer and scheduler; each of those is itself all-or-nothing. Snapshot the model so a failure in
        // a later part leaves everything as it was.
        var modelBefore = _model.StateDict().ToDictionary(kv => kv.Key, kv => Tensor.FromArray(kv.Value.ToArray(), kv.Value.Shape));
        _model.LoadStateDict(data.Model);
        try
        {
            _optimizer.LoadStateDict(data.Optimizer);
            if (_scheduler is not null)
            {
                _scheduler.LoadStateDict(data.Scheduler);
            }
        }
        catch
        {
            _model.LoadStateDict(modelBefore);
            throw;
        }

        _generator.State = info.RngState;
        (Epoch, BatchInEpoch, GlobalStep, BestAccuracy) = (info.Epoch, info.BatchInEpoch, info.GlobalStep, info.BestAccuracy);
        if (BatchInEpoch > 0)
        {
            _epochMetrics.Restore(
                ReadExtra<double>(info, ExtraLossSum, checkpointPath),
                ReadExtra<long>(info, ExtraCorrect, checkpointPath),
                ReadExtra<long>(info, ExtraSeen, checkpointPath));
            _epochSecondsBefore = ReadExtra<double>(info, ExtraSeconds, checkpointPath);
        }
    }

    /// <summary>
    /// Trains from the current position up to <see cref="TrainerOptions.Epochs"/>. After each epoch it evaluates,
    /// appends to <c>metrics.csv</c> and saves <c>last.safetensors</c> (and <c>best.safetensors</c> when the test
    /// accuracy improved). When <paramref name="cancellation"/> fires, the current step finishes, a checkpoint is
    /// saved, and <see cref="TrainingOutcome.Cancelled"/> is returned.
    /// </summary>
    /// <exception cref="NonFiniteLossException">The loss became NaN or infinite; the message names epoch and step.</exception>
    public TrainingOutcome Fit(ITrainingObserver? observer = null, CancellationToken cancellation = default)
    {
        if (_options.RunDirectory is not null)
        {
            Directory.CreateDirectory(_options.RunDirectory);
            AtomicFile.CleanStaleTemps(_options.RunDirectory);
        }

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
                TrainStep(batch, epochNumber);
                BatchInEpoch++;
                GlobalStep++;
                imagesThisRun += batch.Size;
                observer?.BatchEnded(new BatchProgress(epochNumber, BatchInEpoch, batches, GlobalStep, _epochMetrics.Loss, _epochMetrics.Accuracy,
                    imagesThisRun / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), _optimizer.Lr));
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

            observer?.EvaluationStarted(epochNumber);
            (double testLoss, double testAccuracy) = _test is null ? (double.NaN, double.NaN) : Evaluate(_model, _test);
            var metrics = new EpochMetrics(epochNumber, _epochMetrics.Loss, _epochMetrics.Accuracy, testLoss, testAccuracy, _optimizer.Lr,
                _epochSecondsBefore + clock.Elapsed.TotalSeconds);
            Epoch++;
            BatchInEpoch = 0;
            _epochMetrics.Restore(0, 0, 0);
            _epochSecondsBefore = 0;
            bool improved = !double.IsNaN(testAccuracy) && (double.IsNaN(BestAccuracy) || testAccuracy > BestAccuracy);
            if (improved)
            {
                BestAccuracy = testAccuracy;
            }

            History.Add(metrics);
            AppendMetrics(metrics);
            SaveCheckpointTo(LastCheckpointPath);
            if (improved && BestCheckpointPath is not null)
            {
                File.Copy(LastCheckpointPath!, BestCheckpointPath + ".copy", overwrite: true);
                File.Move(BestCheckpointPath + ".copy", BestCheckpointPath, overwrite: true);
            }

            observer?.EpochEnded(metrics);
            if (cancellation.IsCancellationRequested && Epoch < _options.Epochs)
            {
                return TrainingOutcome.Cancelled;
            }
        }

        return TrainingOutcome.Completed;
    }

    /// <summary>Mean cross-entropy and accuracy of <paramref name="model"/> over <paramref name="loader"/>, in eval mode without recording gradients.</summary>
    public static (double Loss, double Accuracy) Evaluate(Module model, DataLoader loader)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(loader);
        bool wasTraining = model.Training;
        model.Eval();
        var metrics = new RunningMetrics();
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
                    metrics.Add(sum / batch.Size, RunningMetrics.CountCorrect(logits, batch.Targets), batch.Size);
                }
            }
        }
        finally
        {
            model.Train(wasTraining);
        }

        return (metrics.Loss, metrics.Accuracy);
    }

    /// <summary>Writes a checkpoint of the current state to <paramref name="path"/> (atomically).</summary>
    public void SaveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var extra = new Dictionary<string, string>(StringComparer.Ordinal);
        if (BatchInEpoch > 0)
        {
            extra[ExtraLossSum] = _epochMetrics.LossSum.ToString("R", CultureInfo.InvariantCulture);
            extra[ExtraCorrect] = _epochMetrics.Correct.ToString(CultureInfo.InvariantCulture);
            extra[ExtraSeen] = _epochMetrics.Seen.ToString(CultureInfo.InvariantCulture);
            extra[ExtraSeconds] = _epochSecondsBefore.ToString("R", CultureInfo.InvariantCulture);
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

    private void TrainStep(Batch batch, int epochNumber)
    {
        // One TensorScope per step: every tensor of forward, loss and backward borrows pooled memory that goes back
        // when the step ends. What survives is plain values (the loss, the correct count) and long-lived state
        // (parameters, their gradients, optimizer state, batch-norm running statistics), which is never pooled.
        // Gradients are recycled rather than dropped, so their buffers are reused from step to step.
        using TensorScope scope = TensorScope.Begin();
        TensorScope.Adopt(batch.Inputs);
        TensorScope.Adopt(batch.Targets);
        _optimizer.RecycleGradients();
        (Tensor logits, Tensor loss) = ForwardLoss(batch);
        float value = loss.Item();
        if (!float.IsFinite(value))
        {
            string kept = LastCheckpointPath is not null && File.Exists(LastCheckpointPath)
                ? $"The last good checkpoint is {LastCheckpointPath} (epoch {Epoch})."
                : "No checkpoint was written before the failure.";
            throw new NonFiniteLossException(
                $"Training loss became {value.ToString(CultureInfo.InvariantCulture)} at epoch {epochNumber}, batch {BatchInEpoch + 1} (global step {GlobalStep + 1}); training stopped. {kept} Try a lower learning rate.");
        }

        loss.Backward();
        _optimizer.Step();
        if (_scheduler is not null && _options.SchedulerInterval == SchedulerInterval.Batch)
        {
            _scheduler.Step();
        }

        _epochMetrics.Add(value, RunningMetrics.CountCorrect(logits, batch.Targets), batch.Size);
    }

    /// <summary>
    /// The main output and the loss to optimise: cross-entropy of the main output, plus Σ weight·cross-entropy of
    /// each auxiliary output when the model has auxiliary heads (<see cref="IAuxiliaryOutputs"/>) and is training.
    /// </summary>
    private (Tensor Logits, Tensor Loss) ForwardLoss(Batch batch)
    {
        if (_model is IAuxiliaryOutputs withAuxiliary && _model.Training)
        {
            AuxiliaryForward outputs = withAuxiliary.ForwardWithAuxiliary(batch.Inputs);
            Tensor total = F.CrossEntropy(outputs.Output, batch.Targets);
            foreach (AuxiliaryOutput aux in outputs.Auxiliary)
            {
                total += aux.Weight * F.CrossEntropy(aux.Output, batch.Targets);
            }

            return (outputs.Output, total);
        }

        Tensor logits = _model.Call(batch.Inputs);
        return (logits, F.CrossEntropy(logits, batch.Targets));
    }

    private void SaveCheckpointTo(string? path)
    {
        if (path is not null)
        {
            SaveCheckpoint(path);
        }
    }

    private void AppendMetrics(EpochMetrics metrics)
    {
        if (MetricsPath is null)
        {
            return;
        }

        // Appending keeps the rows of earlier (resumed) runs; the header is written once.
        bool fresh = !File.Exists(MetricsPath) || new FileInfo(MetricsPath).Length == 0;
        using var writer = new StreamWriter(MetricsPath, append: true);
        writer.NewLine = "\n";
        if (fresh)
        {
            writer.WriteLine(EpochMetrics.CsvHeader);
        }

        writer.WriteLine(metrics.ToCsv());
    }

    private static T ReadExtra<T>(CheckpointInfo info, string key, string path)
        where T : ISpanParsable<T> =>
        info.Extra.TryGetValue(key, out string? s) && T.TryParse(s, CultureInfo.InvariantCulture, out T? v)
            ? v
            : throw new InvalidDataException($"Checkpoint \"{path}\" stopped mid-epoch but lacks a valid \"{key}\" entry.");
}
