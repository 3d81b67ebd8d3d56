using SharpCnn.Cli.Experiments;

namespace SharpCnn.Cli;

/// <summary><c>sharpcnn experiment NAME [options]</c>: the lecture's experiments (shuffle, translate, shapes).</summary>
internal static class ExperimentCommand
{
    public const string Usage = """
        usage: sharpcnn experiment <name> [options]

        experiments:
          shuffle            MLP and LeNet-5 on MNIST with and without one fixed pixel permutation
          translate          MLP and LeNet-5 trained on MNIST, tested on images shifted by 0..8 pixels
          shapes             output size, formula, parameters and receptive field per layer (no training)

        Each prints a table and writes CSV, JSON and a PNG plot into its run folder (--out DIR; shapes
        writes them only when --out is given).
        Run 'sharpcnn experiment <name> --help' for its options and examples.
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output, CancellationToken cancellation)
    {
        if (args.Count == 0 || args[0] is "help" or "--help" or "-h")
        {
            if (args.Count == 0)
            {
                throw new UsageException("experiment needs a name: shuffle, translate or shapes", Usage);
            }

            output.WriteLine(Usage);
            return Commands.Ok;
        }

        string[] rest = [.. args.Skip(1)];
        return args[0] switch
        {
            "shuffle" => ShuffleExperiment.Run(rest, output, cancellation),
            "translate" => TranslateExperiment.Run(rest, output, cancellation),
            "shapes" => ShapesExperiment.Run(rest, output),
            _ => throw new UsageException($"unknown experiment '{args[0]}'; expected shuffle, translate or shapes", Usage),
        };
    }
}
