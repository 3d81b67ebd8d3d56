using SharpCnn.Serialization;
using SharpCnn.Training;
using SharpCnn.Vision.Datasets;

namespace SharpCnn.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // First Ctrl-C: finish the current step and save; a second one ends the process at once.
            if (!cancel.IsCancellationRequested)
            {
                e.Cancel = true;
                Console.Error.WriteLine("stopping after the current step (Ctrl-C again to abort without saving)…");
                cancel.Cancel();
            }
        };
        bool interactive = !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("CI") is null;
        return Run(args, Console.Out, Console.Error, interactive, cancel.Token);
    }

    /// <summary>Runs one command line; the testable entry point.</summary>
    internal static int Run(string[] args, TextWriter output, TextWriter error, bool interactive = false, CancellationToken cancellation = default)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            output.WriteLine(Usage.Main);
            return args.Length == 0 ? Commands.UsageError : Commands.Ok;
        }

        string[] rest = args[1..];
        try
        {
            return args[0] switch
            {
                "train" => Commands.Train(rest, output, interactive, cancellation),
                "eval" => Commands.Eval(rest, output),
                "data" => Commands.DataGet(rest, output),
                "summary" => Commands.Summary(rest, output),
                "models" => Commands.Models(rest, output),
                "experiment" => ExperimentCommand.Run(rest, output, cancellation),
                "report" => ReportCommand.Run(rest, output),
                "predict" => PredictCommand.Run(rest, output),
                _ => throw new UsageException($"unknown command '{args[0]}'", Usage.Main),
            };
        }
        catch (UsageException e)
        {
            error.WriteLine($"sharpcnn: {e.Message}");
            error.WriteLine();
            error.WriteLine(e.Usage);
            return Commands.UsageError;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or InvalidOperationException or NonFiniteLossException or SafetensorsFormatException or IdxFormatException)
        {
            error.WriteLine($"sharpcnn: error: {e.Message}");
            return Commands.Failure;
        }
    }
}
