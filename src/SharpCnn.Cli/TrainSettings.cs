using System.Globalization;
using System.Text.Json.Nodes;
using SharpCnn.Vision.Models;

namespace SharpCnn.Cli;

/// <summary>Everything <c>sharpcnn train</c> needs, after defaults and validation.</summary>
internal sealed record TrainSettings
{
    public static readonly OptionSpec[] Specs =
    [
        new("model", true), new("data", true), new("data-dir", true), new("epochs", true), new("batch-size", true),
        new("optimizer", true), new("lr", true), new("momentum", true), new("nesterov", false), new("no-nesterov", false),
        new("weight-decay", true), new("scheduler", true), new("seed", true), new("threads", true), new("limit", true),
        new("out", true), new("resume", true), new("progress", true), new("help", false),
    ];

    /// <summary>The options recorded in checkpoints as hyper-parameters (and restored by --resume).</summary>
    private static readonly string[] s_recorded =
        ["model", "data", "epochs", "batch-size", "optimizer", "lr", "momentum", "nesterov", "weight-decay", "scheduler", "seed", "limit"];

    public string Model { get; init; } = "lenet5";

    public string Data { get; init; } = "mnist";

    public string DataDir { get; init; } = Path.Combine("data", "mnist");

    public int Epochs { get; init; } = 3;

    public int BatchSize { get; init; } = 64;

    public string Optimizer { get; init; } = "sgd";

    public double Lr { get; init; } = 0.05;

    public double Momentum { get; init; } = 0.9;

    public bool Nesterov { get; init; } = true;

    public double WeightDecay { get; init; }

    public string Scheduler { get; init; } = "onecycle";

    public ulong Seed { get; init; }

    public int? Threads { get; init; }

    public int? Limit { get; init; }

    public string? Out { get; init; }

    public string? Resume { get; init; }

    public string Progress { get; init; } = "auto";

    /// <summary>Builds settings from parsed options; with --resume, options not given come from <paramref name="recorded"/>.</summary>
    public static TrainSettings From(ParsedOptions o, JsonObject? recorded = null)
    {
        o.NoPositionals();
        if (o.Switch("nesterov") && o.Switch("no-nesterov"))
        {
            throw new UsageException("--nesterov and --no-nesterov cannot both be given", global::SharpCnn.Cli.Usage.Train);
        }

        // Options absent from the command line fall back to the checkpoint's values, then to the defaults.
        string? Rec(string name) => o.Has(name) || recorded is null ? null : recorded[name]?.GetValue<string>();
        ParsedOptions merged = recorded is null ? o : o.WithFallbacks(s_recorded.Select(n => (n, Rec(n))));

        string optimizer = merged.Choice("optimizer", "sgd", "sgd", "adam", "adamw");
        bool sgd = optimizer == "sgd";
        bool nesterov = merged.Has("no-nesterov") ? false : merged.String("nesterov") is { } n ? n == "true" : sgd;
        if (nesterov && !sgd)
        {
            throw new UsageException($"--nesterov applies to sgd only (optimizer is {optimizer})", global::SharpCnn.Cli.Usage.Train);
        }

        double momentum = merged.Double("momentum", 0.9);
        if (nesterov && momentum <= 0)
        {
            throw new UsageException("--nesterov needs --momentum > 0", global::SharpCnn.Cli.Usage.Train);
        }

        int limit = merged.Int("limit", 0, min: 1);
        int threads = merged.Int("threads", 0, min: 1);
        return new TrainSettings
        {
            Model = merged.Choice("model", "lenet5", [.. ModelZoo.Names]),
            Data = merged.Choice("data", "mnist", "mnist"),
            DataDir = merged.String("data-dir", Path.Combine("data", "mnist")),
            Epochs = merged.Int("epochs", 3, min: 1),
            BatchSize = merged.Int("batch-size", 64, min: 1),
            Optimizer = optimizer,
            Lr = merged.Double("lr", sgd ? 0.05 : 1e-3),
            Momentum = momentum,
            Nesterov = nesterov,
            WeightDecay = merged.Double("weight-decay", optimizer == "adamw" ? 1e-2 : 0),
            Scheduler = merged.Choice("scheduler", "onecycle", "onecycle", "none", "step", "cosine"),
            Seed = merged.ULong("seed", 0),
            Threads = merged.Has("threads") ? threads : null,
            Limit = merged.Has("limit") ? limit : null,
            Out = merged.String("out"),
            Resume = merged.String("resume"),
            Progress = merged.Choice("progress", "auto", "auto", "bar", "plain"),
        };
    }

    /// <summary>The recorded hyper-parameters as a JSON object of strings (exactly what --resume reads back).</summary>
    public string ToJson()
    {
        var json = new JsonObject
        {
            ["model"] = Model,
            ["data"] = Data,
            ["epochs"] = Epochs.ToString(CultureInfo.InvariantCulture),
            ["batch-size"] = BatchSize.ToString(CultureInfo.InvariantCulture),
            ["optimizer"] = Optimizer,
            ["lr"] = Lr.ToString("R", CultureInfo.InvariantCulture),
            ["momentum"] = Momentum.ToString("R", CultureInfo.InvariantCulture),
            ["nesterov"] = Nesterov ? "true" : "false",
            ["weight-decay"] = WeightDecay.ToString("R", CultureInfo.InvariantCulture),
            ["scheduler"] = Scheduler,
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        };
        if (Limit is int limit)
        {
            json["limit"] = limit.ToString(CultureInfo.InvariantCulture);
        }

        return json.ToJsonString();
    }
}
