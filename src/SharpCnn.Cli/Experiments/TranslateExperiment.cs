using System.Globalization;
using SharpCnn.Data;

namespace SharpCnn.Cli.Experiments;

/// <summary>
/// <c>sharpcnn experiment translate</c>: models trained on MNIST as is, tested on the test set moved by 0…8
/// pixels. The accuracy at shift s is the mean over the four directions (right, left, down, up by s pixels; the
/// uncovered border takes the background value). Optionally a third run: LeNet-5 trained with random whole-pixel
/// translations.
/// </summary>
internal static class TranslateExperiment
{
    /// <summary>The models trained without augmentation.</summary>
    public static readonly string[] Models = ["mlp", "lenet5"];

    /// <summary>The four directions as (down, right) unit steps, in table order.</summary>
    public static readonly (string Name, int Down, int Right)[] Directions = [("right", 0, 1), ("left", 0, -1), ("down", 1, 0), ("up", -1, 0)];

    public const string Usage = """
        usage: sharpcnn experiment translate [options]

        Trains the MLP and LeNet-5 on MNIST as is (no augmentation), then tests them on the test set moved by
        0..N pixels. The accuracy at shift s is the mean over the four directions (right, left, down and up by s
        pixels); the uncovered border takes the background value. By default a third run trains LeNet-5 with a
        random shift of -A..A pixels in x and y (drawn per image and epoch) for comparison. Prints accuracy vs
        shift and writes translate.csv (every direction), translate.json and translate.png into the run folder.

          --max-shift N         largest test shift in pixels               (default 8)
          --augment-shift A     largest training shift of the augmented LeNet-5 (default 3, about
                                RandomAffine(translate=(0.1, 0.1)) on 28 pixels)
          --no-augment          skip the augmented LeNet-5 run
          --epochs N            epochs per run                             (default 3)
          --batch-size N        training batch size                        (default 64)
          --lr X                peak learning rate (SGD, momentum 0.9, Nesterov, one-cycle) (default 0.05)
          --seed N              seeds initialisation, shuffling and the augmentation (default 0)
          --limit N             train on the first N training images only
          --test-limit N        test on the first N test images only
          --threads N           kernel threads                             (default: all cores)
          --data-dir DIR        where the MNIST files are; fetched if missing (default ./data/mnist)
          --out DIR             run folder                                 (default runs/experiment-translate-<yyyyMMdd-HHmmss>)

        examples:
          sharpcnn experiment translate
          sharpcnn experiment translate --max-shift 4 --no-augment --epochs 1 --limit 10000
        """;

    /// <summary>The label of the augmented run.</summary>
    public static string AugmentedLabel(int maxShift) => $"lenet5+shift±{maxShift}";

    public static int Run(IReadOnlyList<string> args, TextWriter output, CancellationToken cancellation)
    {
        ParsedOptions o = ParsedOptions.Parse(args,
            [.. ExperimentSettings.CommonSpecs, new("max-shift", true), new("augment-shift", true), new("no-augment", false)], Usage);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage);
            return Commands.Ok;
        }

        o.NoPositionals();
        ExperimentSettings s = ExperimentSettings.From(o, "translate");
        int maxShift = o.Int("max-shift", 8, min: 0);
        int augmentShift = o.Int("augment-shift", 3, min: 1);
        bool augment = !o.Switch("no-augment");
        if (maxShift > 27)
        {
            throw new UsageException($"invalid value '{maxShift}' for --max-shift; expected at most 27 (MNIST images are 28 pixels wide)", Usage);
        }

        s.ApplyThreads();
        (IRowDataset train, IRowDataset test) = s.LoadMnist(output);
        float fill = ExperimentTraining.MnistBackground;
        Directory.CreateDirectory(s.Out);
        output.WriteLine($"experiment translate: {string.Join(", ", Models)}{(augment ? $" and {AugmentedLabel(augmentShift)}" : "")} on MNIST " +
            $"({train.Count:N0} train / {test.Count:N0} test images), tested on shifts 0..{maxShift} (mean of right, left, down, up); " +
            $"{s.Epochs} epoch(s), seed {s.Seed}, {Kernels.KernelParallel.MaxThreads} threads");
        output.WriteLine($"run folder: {s.Out}");

        var runs = new List<TrainedRun>();
        foreach (string model in Models)
        {
            TrainedRun? run = ExperimentTraining.Train(model, model, train, test, s, output, cancellation);
            if (run is null)
            {
                return ShuffleExperiment.Stopped(output);
            }

            runs.Add(run);
        }

        if (augment)
        {
            var augmented = new RandomShiftDataset(train, augmentShift, fill, s.Seed);
            TrainedRun? run = ExperimentTraining.Train(AugmentedLabel(augmentShift), "lenet5", augmented, test, s, output, cancellation);
            if (run is null)
            {
                return ShuffleExperiment.Stopped(output);
            }

            runs.Add(run);
        }

        // accuracy[run][shift][direction]; shift 0 is the same image in every direction, so it is evaluated once.
        output.WriteLine($"evaluating {runs.Count} model(s) on {(4 * maxShift) + 1} shifted test sets…");
        var accuracy = new double[runs.Count][][];
        for (int r = 0; r < runs.Count; r++)
        {
            accuracy[r] = new double[maxShift + 1][];
            double unshifted = ExperimentTraining.Accuracy(runs[r].Model, test);
            accuracy[r][0] = [unshifted, unshifted, unshifted, unshifted];
            for (int shift = 1; shift <= maxShift; shift++)
            {
                accuracy[r][shift] = [.. Directions.Select(d =>
                    ExperimentTraining.Accuracy(runs[r].Model, new ShiftedDataset(test, d.Down * shift, d.Right * shift, fill)))];
            }
        }

        output.WriteLine();
        foreach (string line in Table([.. runs.Select(r => r.Label)], [.. accuracy.Select(a => a.Select(d => d.Average()).ToArray())]))
        {
            output.WriteLine(line);
        }

        string csv = Path.Combine(s.Out, "translate.csv"), json = Path.Combine(s.Out, "translate.json"), png = Path.Combine(s.Out, "translate.png");
        ExperimentFiles.WriteCsv(csv, "model,shift,right,left,down,up,mean",
            runs.SelectMany((run, r) => Enumerable.Range(0, maxShift + 1).Select(shift =>
                (object[])[run.Label, shift, .. accuracy[r][shift].Cast<object>(), accuracy[r][shift].Average()])));
        ExperimentFiles.WriteJson(json, new Dictionary<string, object?>
        {
            ["experiment"] = "translate",
            ["date_utc"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            ["settings"] = s.ToRecord(),
            ["train_images"] = train.Count,
            ["test_images"] = test.Count,
            ["max_shift"] = maxShift,
            ["augment_shift"] = augment ? augmentShift : null,
            ["shift_definition"] = "accuracy at shift s = mean over the test set moved s pixels right, left, down and up; uncovered pixels take the background value",
            ["results"] = runs.Select((run, r) => new Dictionary<string, object?>
            {
                ["model"] = run.Label,
                ["architecture"] = run.ModelName,
                ["training"] = ShuffleExperiment.RunRecord(run),
                ["by_shift"] = Enumerable.Range(0, maxShift + 1).Select(shift => new Dictionary<string, object?>
                {
                    ["shift"] = shift,
                    ["right"] = accuracy[r][shift][0],
                    ["left"] = accuracy[r][shift][1],
                    ["down"] = accuracy[r][shift][2],
                    ["up"] = accuracy[r][shift][3],
                    ["mean"] = accuracy[r][shift].Average(),
                }).ToList(),
            }).ToList(),
        });
        double[] shifts = [.. Enumerable.Range(0, maxShift + 1).Select(i => (double)i)];
        ExperimentFiles.WriteLinePlot(png, $"Test accuracy vs translation (trained {s.Epochs} epoch(s))", "shift (pixels, mean of 4 directions)", "test accuracy (%)",
            [.. runs.Select((run, r) => (run.Label, shifts, accuracy[r].Select(d => d.Average() * 100).ToArray()))], (0, 101));
        output.WriteLine($"files: {csv}, {json}, {png}");
        return Commands.Ok;
    }

    /// <summary>Accuracy vs shift: one row per shift, one column per model (mean over the four directions).</summary>
    public static IEnumerable<string> Table(IReadOnlyList<string> labels, IReadOnlyList<double[]> meanByShift)
    {
        int[] widths = [.. labels.Select(l => Math.Max(8, l.Length))];
        yield return "shift  " + string.Join("  ", labels.Select((l, i) => l.PadLeft(widths[i])));
        for (int shift = 0; shift < meanByShift[0].Length; shift++)
        {
            yield return $"{shift,5}  " + string.Join("  ", meanByShift.Select((m, i) => Commands.Percent(m[shift]).PadLeft(widths[i])));
        }
    }
}
