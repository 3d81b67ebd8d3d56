using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SharpCnn.Training;
using SharpCnn.Vision.Datasets;
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
        new("label-smoothing", true), new("early-stop", true), new("monitor", true), new("min-delta", true),
        new("clip-grad", true), new("clip-value", true), new("keep", true), new("detect-anomaly", false), new("no-report", false), new("augment", false),
        new("stop-after-epoch", true), new("config", true),
        new("out", true), new("resume", true), new("progress", true), new("help", false),
    ];

    /// <summary>The options recorded in checkpoints as hyper-parameters (and restored by --resume).</summary>
    private static readonly string[] s_recorded =
    [
        "model", "data", "augment", "epochs", "batch-size", "optimizer", "lr", "momentum", "nesterov", "weight-decay", "scheduler", "seed", "limit",
        "label-smoothing", "early-stop", "monitor", "min-delta", "clip-grad", "clip-value", "keep",
    ];

    /// <summary>Options a config file may not set: they are about this invocation, not the run.</summary>
    private static readonly string[] s_notInConfig = ["config", "help", "resume"];

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

    /// <summary>onecycle, cosine, step, multistep:M1,M2,… or none.</summary>
    public string Scheduler { get; init; } = "onecycle";

    /// <summary>The epochs of a multistep schedule (empty otherwise).</summary>
    public IReadOnlyList<int> Milestones { get; init; } = [];

    public ulong Seed { get; init; }

    public int? Threads { get; init; }

    public int? Limit { get; init; }

    public double LabelSmoothing { get; init; }

    /// <summary>Early-stopping patience in epochs; null: off.</summary>
    public int? EarlyStop { get; init; }

    /// <summary>The metric for best.safetensors and early stopping.</summary>
    public string Monitor { get; init; } = "test_accuracy";

    public double MinDelta { get; init; }

    public double? ClipGrad { get; init; }

    public double? ClipValue { get; init; }

    public int Keep { get; init; } = 3;

    public bool DetectAnomaly { get; init; }

    /// <summary>Train on randomly augmented samples (the dataset's preset in <c>Augmentation.Train</c>).</summary>
    public bool Augment { get; init; }

    /// <summary>Write report.html into the run folder when training completes (off with --no-report).</summary>
    public bool Report { get; init; } = true;

    public int? StopAfterEpoch { get; init; }

    public string? Out { get; init; }

    public string? Resume { get; init; }

    public string Progress { get; init; } = "auto";

    /// <summary>
    /// Builds settings from parsed options. Precedence: the command line, then the <c>--config</c> file
    /// (<paramref name="config"/>), then with --resume the checkpoint's recorded options (<paramref name="recorded"/>), then the defaults.
    /// </summary>
    public static TrainSettings From(ParsedOptions o, JsonObject? recorded = null, IReadOnlyList<(string Name, string? Value)>? config = null)
    {
        o.NoPositionals();
        if (o.Switch("nesterov") && o.Switch("no-nesterov"))
        {
            throw new UsageException("--nesterov and --no-nesterov cannot both be given", global::SharpCnn.Cli.Usage.Train);
        }

        ParsedOptions merged = config is null ? o : o.WithFallbacks(config);
        if (recorded is not null)
        {
            // Options given neither on the command line nor in the config file fall back to the checkpoint's values.
            string? Rec(string name) => merged.Has(name) || (name == "nesterov" && merged.Has("no-nesterov")) ? null : recorded[name]?.GetValue<string>();
            merged = merged.WithFallbacks(s_recorded.Select(n => (n, Rec(n))));
        }

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

        (string scheduler, int[] milestones) = ParseScheduler(merged.String("scheduler", "onecycle"));
        double labelSmoothing = merged.Double("label-smoothing", 0);
        if (labelSmoothing >= 1)
        {
            throw new UsageException($"invalid value '{merged.String("label-smoothing")}' for --label-smoothing; expected a number in [0, 1)", global::SharpCnn.Cli.Usage.Train);
        }

        string data = merged.String("data", "mnist");
        if (!DatasetCatalog.Names.Contains(data) && !DatasetCatalog.IsImageFolder(data))
        {
            throw new UsageException(
                $"invalid value '{data}' for --data; expected one of: {string.Join(", ", DatasetCatalog.Names)}, or an existing image folder with train/ and test/ (or val/) sub-folders",
                global::SharpCnn.Cli.Usage.Train);
        }

        return new TrainSettings
        {
            Model = merged.Choice("model", "lenet5", [.. ModelZoo.Names]),
            Data = data,
            DataDir = merged.String("data-dir", DatasetCatalog.DefaultDirectory(data)),
            Epochs = merged.Int("epochs", 3, min: 1),
            BatchSize = merged.Int("batch-size", 64, min: 1),
            Optimizer = optimizer,
            Lr = merged.Double("lr", sgd ? 0.05 : 1e-3),
            Momentum = momentum,
            Nesterov = nesterov,
            WeightDecay = merged.Double("weight-decay", optimizer == "adamw" ? 1e-2 : 0),
            Scheduler = scheduler,
            Milestones = milestones,
            Seed = merged.ULong("seed", 0),
            Threads = merged.Has("threads") ? merged.Int("threads", 0, min: 1) : null,
            Limit = merged.Has("limit") ? merged.Int("limit", 0, min: 1) : null,
            LabelSmoothing = labelSmoothing,
            EarlyStop = merged.Has("early-stop") ? merged.Int("early-stop", 0, min: 1) : null,
            Monitor = merged.Choice("monitor", "test_accuracy", [.. EpochMetrics.MetricNames]),
            MinDelta = merged.Double("min-delta", 0),
            ClipGrad = merged.Has("clip-grad") ? Positive(merged, "clip-grad") : null,
            ClipValue = merged.Has("clip-value") ? Positive(merged, "clip-value") : null,
            Keep = merged.Int("keep", 3, min: 0),
            DetectAnomaly = merged.Switch("detect-anomaly"),
            Report = !merged.Switch("no-report"),
            Augment = merged.Switch("augment"),
            StopAfterEpoch = merged.Has("stop-after-epoch") ? merged.Int("stop-after-epoch", 0, min: 1) : null,
            Out = merged.String("out"),
            Resume = merged.String("resume"),
            Progress = merged.Choice("progress", "auto", "auto", "bar", "plain"),
        };
    }

    /// <summary>
    /// Reads a <c>--config</c> file: one JSON object whose keys are train option names without dashes (<c>"lr"</c>,
    /// <c>"batch-size"</c>), values strings or numbers, switches <c>true</c>/<c>false</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">Not a JSON object, an unknown key or a value of the wrong type; the message names the file and key.</exception>
    public static List<(string Name, string? Value)> ReadConfig(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"config file \"{path}\" does not exist", path);
        }

        JsonNode? root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"config file \"{path}\" is not valid JSON: {e.Message}", e);
        }

        if (root is not JsonObject obj)
        {
            throw new InvalidDataException($"config file \"{path}\" must hold one JSON object of train options, e.g. {{\"epochs\": 5, \"lr\": 0.1}}");
        }

        var values = new List<(string, string?)>();
        foreach ((string key, JsonNode? node) in obj)
        {
            OptionSpec? spec = Specs.FirstOrDefault(s => s.Name == key);
            if (spec is null || s_notInConfig.Contains(key))
            {
                string known = string.Join(", ", Specs.Select(s => s.Name).Where(n => !s_notInConfig.Contains(n)));
                throw new InvalidDataException($"config file \"{path}\": unknown key \"{key}\" (known keys: {known})");
            }

            JsonValueKind kind = node?.GetValueKind() ?? JsonValueKind.Null;
            if (!spec.TakesValue)
            {
                if (kind is not (JsonValueKind.True or JsonValueKind.False))
                {
                    throw new InvalidDataException($"config file \"{path}\": key \"{key}\" must be true or false, got {node?.ToJsonString() ?? "null"}");
                }

                bool on = kind == JsonValueKind.True;
                // "nesterov": false means --no-nesterov; any other switch set to false is simply absent.
                values.Add(key == "nesterov" ? (key, on ? "true" : "false") : (key, on ? "true" : null));
                continue;
            }

            string? text = kind switch
            {
                JsonValueKind.String => node!.GetValue<string>(),
                JsonValueKind.Number => node!.ToJsonString(),
                _ => throw new InvalidDataException($"config file \"{path}\": key \"{key}\" must be a string or a number, got {node?.ToJsonString() ?? "null"}"),
            };
            values.Add((key, text));
        }

        return values;
    }

    /// <summary>Parses --scheduler: onecycle, cosine, step, none, or multistep:M1,M2,… (increasing epochs ≥ 1).</summary>
    private static (string Name, int[] Milestones) ParseScheduler(string value)
    {
        string lower = value.ToLowerInvariant();
        if (lower is "onecycle" or "cosine" or "step" or "none")
        {
            return (lower, []);
        }

        if (lower.StartsWith("multistep:", StringComparison.Ordinal))
        {
            string[] parts = lower["multistep:".Length..].Split(',');
            var milestones = new List<int>();
            foreach (string p in parts)
            {
                if (!int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out int m) || m < 1 || (milestones.Count > 0 && m <= milestones[^1]))
                {
                    throw new UsageException($"invalid value '{value}' for --scheduler; multistep needs increasing epochs ≥ 1, e.g. multistep:30,60", global::SharpCnn.Cli.Usage.Train);
                }

                milestones.Add(m);
            }

            return ("multistep", [.. milestones]);
        }

        throw new UsageException($"invalid value '{value}' for --scheduler; expected one of: onecycle, cosine, step, multistep:M1,M2,…, none", global::SharpCnn.Cli.Usage.Train);
    }

    private static double Positive(ParsedOptions o, string name)
    {
        double v = o.Double(name, 0);
        return v > 0 ? v : throw new UsageException($"invalid value '{o.String(name)}' for --{name}; expected a number > 0", global::SharpCnn.Cli.Usage.Train);
    }

    /// <summary>The scheduler as written on the command line (multistep with its milestones).</summary>
    public string SchedulerText => Scheduler == "multistep" ? "multistep:" + string.Join(",", Milestones) : Scheduler;

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
            ["scheduler"] = SchedulerText,
            ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
            ["label-smoothing"] = LabelSmoothing.ToString("R", CultureInfo.InvariantCulture),
            ["monitor"] = Monitor,
            ["min-delta"] = MinDelta.ToString("R", CultureInfo.InvariantCulture),
            ["keep"] = Keep.ToString(CultureInfo.InvariantCulture),
        };
        if (Augment)
        {
            json["augment"] = "true";
        }

        if (Limit is int limit)
        {
            json["limit"] = limit.ToString(CultureInfo.InvariantCulture);
        }

        if (EarlyStop is int patience)
        {
            json["early-stop"] = patience.ToString(CultureInfo.InvariantCulture);
        }

        if (ClipGrad is double clip)
        {
            json["clip-grad"] = clip.ToString("R", CultureInfo.InvariantCulture);
        }

        if (ClipValue is double value)
        {
            json["clip-value"] = value.ToString("R", CultureInfo.InvariantCulture);
        }

        return json.ToJsonString();
    }
}
