using SharpCnn.Cli.Report;
using SharpCnn.Kernels;

namespace SharpCnn.Cli;

/// <summary><c>sharpcnn report RUN_DIR</c>: writes the run's self-contained report.html (see <see cref="RunReport"/>).</summary>
internal static class ReportCommand
{
    public const string Usage = """
        usage: sharpcnn report RUN_DIR [options]

        Writes RUN_DIR/report.html: one self-contained page (pictures embedded, no script) with the run summary,
        loss/accuracy curves, the learning-rate schedule, the confusion matrix, the first layer's filters, the
        feature maps of one test image and the most confident mistakes. The model sections evaluate a checkpoint on
        the test set; a run folder without checkpoints gets the curves only, with a note.

          RUN_DIR               a run folder written by 'sharpcnn train' (metrics.csv, best/last.safetensors)
          --checkpoint WHICH    best | last | FILE                         (default best; last if best is missing)
          --data-dir DIR        where the test data is                     (default ./data/NAME, NAME as recorded)
          --limit N             evaluate only the first N test images      (default: all)
          --out FILE            the HTML file                              (default RUN_DIR/report.html)
          --threads N           kernel threads                             (default: all cores)

        examples:
          sharpcnn report runs/20261126-061500
          sharpcnn report runs/lenet --checkpoint last --limit 2000 --out /tmp/lenet.html
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        OptionSpec[] specs = [new("checkpoint", true), new("data-dir", true), new("limit", true), new("out", true), new("threads", true), new("help", false)];
        ParsedOptions o = ParsedOptions.Parse(args, specs, Usage);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage);
            return Commands.Ok;
        }

        if (o.Positionals.Count != 1)
        {
            throw new UsageException(o.Positionals.Count == 0 ? "report needs a RUN_DIR" : $"unexpected argument '{o.Positionals[1]}'", Usage);
        }

        string checkpoint = o.String("checkpoint", "best");
        if (checkpoint.Length == 0)
        {
            throw new UsageException("--checkpoint needs best, last or a file path", Usage);
        }

        if (o.Has("threads"))
        {
            KernelParallel.MaxThreads = o.Int("threads", 1, min: 1);
        }

        var options = new ReportOptions
        {
            Checkpoint = checkpoint,
            DataDir = o.String("data-dir"),
            Limit = o.Has("limit") ? o.Int("limit", 0, min: 1) : null,
            Out = o.String("out"),
            Log = output.WriteLine,
        };
        RunReport.Write(o.Positionals[0], options);
        return Commands.Ok;
    }
}
