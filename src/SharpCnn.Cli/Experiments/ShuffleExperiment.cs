using System.Globalization;
using SharpCnn.Data;
using SharpCnn.Nn;
using SharpCnn.Training;

namespace SharpCnn.Cli.Experiments;

/// <summary>
/// <c>sharpcnn experiment shuffle</c>: the MLP and LeNet-5, each trained and tested on MNIST as is and on MNIST
/// with one fixed random pixel permutation applied to every training and test image. An MLP has no notion of
/// neighbouring pixels, so the permutation should not matter to it; a CNN's convolutions and pooling assume
/// neighbours belong together, so scrambling them should cost it accuracy.
/// </summary>
internal static class ShuffleExperiment
{
    /// <summary>The two models compared.</summary>
    public static readonly string[] Models = ["mlp", "lenet5"];

    public const string Usage = """
        usage: sharpcnn experiment shuffle [options]

        Trains the MLP (784-512-256-10) and LeNet-5 on MNIST twice each: on the images as they are, and with one
        fixed random permutation of the 784 pixels applied to every training and test image. Prints the test
        accuracy table (model × pixels, with the difference) and writes shuffle.csv, shuffle.json and shuffle.png
        into the run folder.

          --epochs N            epochs per run                             (default 3)
          --batch-size N        training batch size                        (default 64)
          --lr X                peak learning rate (SGD, momentum 0.9, Nesterov, one-cycle) (default 0.05)
          --seed N              seeds initialisation and shuffling; the pixel permutation uses seed + 1 (default 0)
          --same-init           start the shuffled MLP from the original MLP's first-layer weights with their
                                columns permuted like the pixels, so both runs compute the same function and
                                their accuracies agree up to float summation order (default: both MLPs start
                                from the same seed's weights, unpermuted: the honest experiment)
          --limit N             train on the first N training images only
          --test-limit N        test on the first N test images only
          --threads N           kernel threads                             (default: all cores)
          --data-dir DIR        where the MNIST files are; fetched if missing (default ./data/mnist)
          --out DIR             run folder                                 (default runs/experiment-shuffle-<yyyyMMdd-HHmmss>)

        examples:
          sharpcnn experiment shuffle
          sharpcnn experiment shuffle --epochs 1 --limit 10000 --threads 2
          sharpcnn experiment shuffle --same-init --out runs/shuffle-same-init
        """;

    /// <summary>The seed of the pixel permutation for a run seeded with <paramref name="seed"/>.</summary>
    public static ulong PermutationSeed(ulong seed) => unchecked(seed + 1);

    /// <summary>The training and test sets of the shuffled runs: both wrap their split with the one permutation.</summary>
    public static (PermutedDataset Train, PermutedDataset Test) Shuffled(IRowDataset train, IRowDataset test, int[] permutation) =>
        (new PermutedDataset(train, permutation), new PermutedDataset(test, permutation));

    public static int Run(IReadOnlyList<string> args, TextWriter output, CancellationToken cancellation)
    {
        ParsedOptions o = ParsedOptions.Parse(args, [.. ExperimentSettings.CommonSpecs, new("same-init", false)], Usage);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage);
            return Commands.Ok;
        }

        o.NoPositionals();
        ExperimentSettings s = ExperimentSettings.From(o, "shuffle");
        bool sameInit = o.Switch("same-init");
        s.ApplyThreads();
        (IRowDataset train, IRowDataset test) = s.LoadMnist(output);
        int pixels = train.SampleShape.Aggregate(1, (a, d) => a * d);
        int[] permutation = PermutedDataset.Create(pixels, PermutationSeed(s.Seed));
        (PermutedDataset shuffledTrain, PermutedDataset shuffledTest) = Shuffled(train, test, permutation);
        Directory.CreateDirectory(s.Out);
        output.WriteLine($"experiment shuffle: {string.Join(" and ", Models)} on MNIST ({train.Count:N0} train / {test.Count:N0} test images), " +
            $"original pixels vs one fixed permutation of the {pixels} pixels (seed {PermutationSeed(s.Seed)}); {s.Epochs} epoch(s), seed {s.Seed}" +
            (sameInit ? ", --same-init (the shuffled MLP starts from the permuted initial weights)" : "") + $", {Kernels.KernelParallel.MaxThreads} threads");
        output.WriteLine($"run folder: {s.Out}");

        var results = new List<(string Model, TrainedRun Original, TrainedRun Shuffled)>();
        foreach (string model in Models)
        {
            TrainedRun? original = ExperimentTraining.Train($"{model} original", model, train, test, s, output, cancellation);
            if (original is null)
            {
                return Stopped(output);
            }

            Action<Module>? init = sameInit && model == "mlp" ? m => PermuteFirstLinear(m, permutation) : null;
            TrainedRun? shuffled = ExperimentTraining.Train($"{model} shuffled", model, shuffledTrain, shuffledTest, s, output, cancellation, init);
            if (shuffled is null)
            {
                return Stopped(output);
            }

            results.Add((model, original, shuffled));
        }

        output.WriteLine();
        foreach (string line in Table(results.Select(r => (r.Model, r.Original.TestAccuracy, r.Shuffled.TestAccuracy)).ToList()))
        {
            output.WriteLine(line);
        }

        string csv = Path.Combine(s.Out, "shuffle.csv"), json = Path.Combine(s.Out, "shuffle.json"), png = Path.Combine(s.Out, "shuffle.png");
        ExperimentFiles.WriteCsv(csv, "model,pixels,test_accuracy,test_loss,epochs,seconds",
            results.SelectMany(r => new[] { r.Original, r.Shuffled }.Select((run, i) =>
                new object[] { r.Model, i == 0 ? "original" : "shuffled", run.TestAccuracy, run.TestLoss, run.History.Count, Math.Round(run.Seconds, 1) })));
        ExperimentFiles.WriteJson(json, new Dictionary<string, object?>
        {
            ["experiment"] = "shuffle",
            ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["settings"] = s.ToRecord(),
            ["same_init"] = sameInit,
            ["train_images"] = train.Count,
            ["test_images"] = test.Count,
            ["permutation_seed"] = PermutationSeed(s.Seed),
            ["permutation"] = permutation,
            ["results"] = results.Select(r => new Dictionary<string, object?>
            {
                ["model"] = r.Model,
                ["original"] = RunRecord(r.Original),
                ["shuffled"] = RunRecord(r.Shuffled),
                ["difference_points"] = (r.Shuffled.TestAccuracy - r.Original.TestAccuracy) * 100,
            }).ToList(),
        });
        double low = results.Min(r => Math.Min(r.Original.TestAccuracy, r.Shuffled.TestAccuracy)) * 100;
        ExperimentFiles.WriteGroupedBars(png, $"Pixel shuffle: test accuracy after {s.Epochs} epoch(s)", "test accuracy (%)",
            [.. results.Select(r => r.Model)], ["original pixels", "shuffled pixels"],
            [.. results.Select(r => new[] { r.Original.TestAccuracy * 100, r.Shuffled.TestAccuracy * 100 })],
            (Math.Max(0, Math.Floor(low / 5) * 5 - 5), 101));
        output.WriteLine($"files: {csv}, {json}, {png}");
        return Commands.Ok;
    }

    /// <summary>The accuracy table: model, original, shuffled, difference in percentage points.</summary>
    public static IEnumerable<string> Table(IReadOnlyList<(string Model, double Original, double Shuffled)> rows)
    {
        int width = Math.Max(6, rows.Max(r => r.Model.Length));
        yield return $"{"model".PadRight(width)}  {"original",9}  {"shuffled",9}  {"difference",11}";
        foreach ((string model, double original, double shuffled) in rows)
        {
            yield return $"{model.PadRight(width)}  {Commands.Percent(original),9}  {Commands.Percent(shuffled),9}  {Points(shuffled - original),11}";
        }
    }

    /// <summary>A signed difference of two accuracy fractions in percentage points, e.g. <c>-2.31 pts</c>.</summary>
    public static string Points(double fractionDifference) =>
        (fractionDifference * 100).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture) + " pts";

    /// <summary>Permutes the input columns of the model's first <see cref="Linear"/> (see <see cref="PermutedDataset.PermuteColumns"/>).</summary>
    internal static void PermuteFirstLinear(Module model, IReadOnlyList<int> permutation)
    {
        Linear first = model.NamedModules().Select(m => m.Module).OfType<Linear>().FirstOrDefault()
            ?? throw new InvalidOperationException($"{model.GetType().Name} has no Linear layer to permute.");
        PermutedDataset.PermuteColumns(first.Weight, permutation);
    }

    internal static Dictionary<string, object?> RunRecord(TrainedRun run) => new()
    {
        ["test_accuracy"] = run.TestAccuracy,
        ["test_loss"] = run.TestLoss,
        ["seconds"] = Math.Round(run.Seconds, 1),
        ["epochs"] = run.History.Select(EpochRecord).ToList(),
    };

    private static Dictionary<string, object?> EpochRecord(EpochMetrics m) => new()
    {
        ["epoch"] = m.Epoch,
        ["train_loss"] = m.TrainLoss,
        ["train_accuracy"] = m.TrainAccuracy,
        ["test_loss"] = m.TestLoss,
        ["test_accuracy"] = m.TestAccuracy,
    };

    internal static int Stopped(TextWriter output)
    {
        output.WriteLine("stopped by Ctrl-C; no results written");
        return Commands.Interrupted;
    }
}
