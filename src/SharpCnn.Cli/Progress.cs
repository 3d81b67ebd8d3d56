using System.Diagnostics;
using System.Globalization;
using SharpCnn.Training;
using Spectre.Console;

namespace SharpCnn.Cli;

/// <summary>Formats the per-epoch summary line shared by both progress styles.</summary>
internal static class EpochLine
{
    public static string Format(EpochMetrics m, int epochs, double imagesPerSecond) =>
        string.Create(CultureInfo.InvariantCulture,
            $"epoch {m.Epoch}/{epochs}: train loss {m.TrainLoss:F4} acc {Commands.Percent(m.TrainAccuracy)} | " +
            $"test loss {m.TestLoss:F4} acc {Commands.Percent(m.TestAccuracy)}{(double.IsNaN(m.TestTop5Accuracy) ? "" : $" top-5 {Commands.Percent(m.TestTop5Accuracy)}")} | " +
            $"lr {m.Lr:G4} | {m.Seconds:F1} s, {imagesPerSecond:F0} img/s");
}

/// <summary>Progress as plain lines (for logs, CI and redirected output): about ten lines per epoch.</summary>
internal sealed class PlainProgress(TextWriter output, int epochs) : ITrainingObserver
{
    private readonly Stopwatch _sinceLine = new();
    private readonly Stopwatch _epoch = new();
    private int _startBatch;
    private double _imagesPerSecond;

    public void EpochStarted(int epoch, int epochs, int batches, int startBatch)
    {
        _sinceLine.Restart();
        _epoch.Restart();
        _startBatch = startBatch;
    }

    public void BatchEnded(BatchProgress p)
    {
        _imagesPerSecond = p.ImagesPerSecond;
        int every = Math.Max(1, p.Batches / 10);
        if (p.Batch % every == 0 || p.Batch == p.Batches || _sinceLine.Elapsed.TotalSeconds >= 30)
        {
            _sinceLine.Restart();
            double eta = _epoch.Elapsed.TotalSeconds / Math.Max(1, p.Batch - _startBatch) * (p.Batches - p.Batch);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  epoch {p.Epoch}/{epochs} batch {p.Batch}/{p.Batches}: loss {p.Loss:F4} acc {Commands.Percent(p.Accuracy)} {p.ImagesPerSecond:F0} img/s lr {p.Lr:G4} eta {TimeSpan.FromSeconds(Math.Round(eta)):g}"));
        }
    }

    public void EpochEnded(EpochMetrics metrics) => output.WriteLine(EpochLine.Format(metrics, epochs, _imagesPerSecond));
}

/// <summary>A live Spectre.Console progress bar per epoch with loss, accuracy, images/s and ETA.</summary>
internal sealed class SpectreProgress : ITrainingObserver
{
    private readonly ProgressContext _context;
    private readonly int _epochs;
    private ProgressTask? _task;
    private double _imagesPerSecond;

    private SpectreProgress(ProgressContext context, int epochs) => (_context, _epochs) = (context, epochs);

    public static TrainingOutcome Run(Func<ITrainingObserver, TrainingOutcome> fit, int epochs) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx => fit(new SpectreProgress(ctx, epochs)));

    public void EpochStarted(int epoch, int epochs, int batches, int startBatch)
    {
        _task = _context.AddTask($"epoch {epoch}/{epochs}", maxValue: batches);
        _task.Value = startBatch;
    }

    public void BatchEnded(BatchProgress p)
    {
        _imagesPerSecond = p.ImagesPerSecond;
        if (_task is null)
        {
            return;
        }

        _task.Value = p.Batch;
        _task.Description = string.Create(CultureInfo.InvariantCulture,
            $"epoch {p.Epoch}/{_epochs} loss {p.Loss:F4} acc {Commands.Percent(p.Accuracy)} {p.ImagesPerSecond,6:F0} img/s");
    }

    public void EvaluationStarted(int epoch)
    {
        if (_task is not null)
        {
            _task.Description += " · evaluating";
        }
    }

    public void EpochEnded(EpochMetrics metrics)
    {
        if (_task is not null)
        {
            _task.Description = string.Create(CultureInfo.InvariantCulture,
                $"epoch {metrics.Epoch}/{_epochs} test acc {Commands.Percent(metrics.TestAccuracy)}");
            _task.StopTask();
        }

        // Written above the live bars, so the summary lines stay in the scrollback.
        AnsiConsole.WriteLine(EpochLine.Format(metrics, _epochs, _imagesPerSecond));
    }
}
