using System.Globalization;
using SharpCnn.Data;
using SharpCnn.Kernels;
using SharpCnn.Vision.Datasets;

namespace SharpCnn.Cli.Experiments;

/// <summary>The options every training experiment shares (<c>--epochs</c>, <c>--limit</c>, <c>--seed</c>, …), parsed and checked.</summary>
internal sealed record ExperimentSettings
{
    /// <summary>The options the training experiments accept besides their own.</summary>
    public static readonly OptionSpec[] CommonSpecs =
    [
        new("epochs", true), new("limit", true), new("test-limit", true), new("seed", true), new("threads", true),
        new("data-dir", true), new("batch-size", true), new("lr", true), new("out", true), new("help", false),
    ];

    public int Epochs { get; init; } = 3;

    public int? Limit { get; init; }

    public int? TestLimit { get; init; }

    public ulong Seed { get; init; }

    public int? Threads { get; init; }

    public string DataDir { get; init; } = Path.Combine("data", "mnist");

    public int BatchSize { get; init; } = 64;

    public double Lr { get; init; } = 0.05;

    public required string Out { get; init; }

    /// <summary>Reads the common options; <paramref name="name"/> names the default run folder.</summary>
    public static ExperimentSettings From(ParsedOptions o, string name) => new()
    {
        Epochs = o.Int("epochs", 3, min: 1),
        Limit = o.Has("limit") ? o.Int("limit", 0, min: 1) : null,
        TestLimit = o.Has("test-limit") ? o.Int("test-limit", 0, min: 1) : null,
        Seed = o.ULong("seed", 0),
        Threads = o.Has("threads") ? o.Int("threads", 1, min: 1) : null,
        DataDir = o.String("data-dir", Path.Combine("data", "mnist")),
        BatchSize = o.Int("batch-size", 64, min: 1),
        Lr = o.Double("lr", 0.05, min: 0),
        Out = o.String("out") ?? Path.Combine("runs", $"experiment-{name}-{DateTime.Now.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}"),
    };

    /// <summary>Applies <c>--threads</c> to the kernels.</summary>
    public void ApplyThreads()
    {
        if (Threads is int threads)
        {
            KernelParallel.MaxThreads = threads;
        }
    }

    /// <summary>MNIST's training split (first <see cref="Limit"/> images) and test split (first <see cref="TestLimit"/>), fetching the files when missing.</summary>
    public (IRowDataset Train, IRowDataset Test) LoadMnist(TextWriter output)
    {
        Commands.EnsureData(DataDir, output);
        IRowDataset train = MnistDataset.Load(DataDir, train: true);
        IRowDataset test = MnistDataset.Load(DataDir, train: false);
        if (Limit is int limit)
        {
            train = new PrefixDataset(train, limit);
        }

        if (TestLimit is int testLimit)
        {
            test = new PrefixDataset(test, testLimit);
        }

        return (train, test);
    }

    /// <summary>The recorded configuration, for the JSON output.</summary>
    public Dictionary<string, object?> ToRecord() => new()
    {
        ["epochs"] = Epochs,
        ["limit"] = Limit,
        ["test_limit"] = TestLimit,
        ["seed"] = Seed,
        ["threads"] = KernelParallel.MaxThreads,
        ["data_dir"] = DataDir,
        ["batch_size"] = BatchSize,
        ["lr"] = Lr,
        ["optimizer"] = "sgd momentum 0.9 nesterov",
        ["scheduler"] = "onecycle",
    };
}
