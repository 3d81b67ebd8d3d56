using System.Globalization;

namespace SharpCnn.Training;

/// <summary>Running sums of loss and correct predictions over the batches seen so far.</summary>
public sealed class RunningMetrics
{
    /// <summary>Sum of per-sample losses.</summary>
    public double LossSum { get; private set; }

    /// <summary>Correct top-1 predictions.</summary>
    public long Correct { get; private set; }

    /// <summary>Samples seen.</summary>
    public long Seen { get; private set; }

    /// <summary>Mean loss per sample (NaN before the first batch).</summary>
    public double Loss => Seen == 0 ? double.NaN : LossSum / Seen;

    /// <summary>Fraction of correct predictions (NaN before the first batch).</summary>
    public double Accuracy => Seen == 0 ? double.NaN : (double)Correct / Seen;

    /// <summary>Adds a batch: its mean loss, correct count and size.</summary>
    public void Add(double meanLoss, long correct, long count)
    {
        LossSum += meanLoss * count;
        Correct += correct;
        Seen += count;
    }

    /// <summary>Restores sums (e.g. from a mid-epoch checkpoint).</summary>
    public void Restore(double lossSum, long correct, long seen) => (LossSum, Correct, Seen) = (lossSum, correct, seen);

    /// <summary>Top-1 correct predictions of logits (N, C) against class targets (N).</summary>
    public static long CountCorrect(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        int n = targets.Numel;
        int c = n == 0 ? 0 : logits.Numel / n;
        ReadOnlySpan<float> l = logits.Data;
        ReadOnlySpan<float> t = targets.Data;
        long correct = 0;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = l.Slice(i * c, c);
            int best = 0;
            for (int j = 1; j < c; j++)
            {
                // Strictly greater: ties go to the lowest index, as torch.argmax.
                if (row[j] > row[best])
                {
                    best = j;
                }
            }

            if (best == (int)t[i])
            {
                correct++;
            }
        }

        return correct;
    }

    /// <summary>
    /// Samples whose target is among the <paramref name="k"/> largest logits of its row (N, C), as
    /// <c>torch.topk</c> accuracy. Ties rank the lower class index first, as <see cref="CountCorrect"/>, so k = 1
    /// gives the same count; k ≥ C counts every sample.
    /// </summary>
    public static long CountTopK(Tensor logits, Tensor targets, int k)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfLessThan(k, 1);
        int n = targets.Numel;
        int c = n == 0 ? 0 : logits.Numel / n;
        ReadOnlySpan<float> l = logits.Data;
        ReadOnlySpan<float> t = targets.Data;
        long hits = 0;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = l.Slice(i * c, c);
            int target = (int)t[i];
            float value = row[target];
            // The target's rank: classes strictly above it, plus equal ones with a lower index.
            int rank = 0;
            for (int j = 0; j < c && rank < k; j++)
            {
                if (row[j] > value || (row[j] == value && j < target))
                {
                    rank++;
                }
            }

            if (rank < k)
            {
                hits++;
            }
        }

        return hits;
    }
}

/// <summary>One epoch's results, as a row of <c>metrics.csv</c>.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="TrainLoss">Mean training loss per sample (with label smoothing when the run uses it).</param>
/// <param name="TrainAccuracy">Training accuracy (fraction).</param>
/// <param name="TestLoss">Mean test cross-entropy (plain, without label smoothing; NaN without a test set).</param>
/// <param name="TestAccuracy">Test top-1 accuracy (fraction; NaN without a test set).</param>
/// <param name="Lr">Learning rate at the end of the epoch.</param>
/// <param name="Seconds">Wall time of the epoch including evaluation.</param>
public sealed record EpochMetrics(int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy, double Lr, double Seconds)
{
    /// <summary>
    /// The CSV header. Columns are only ever appended (<c>test_top5_accuracy</c> came after <c>seconds</c>), so a
    /// reader should find columns by name.
    /// </summary>
    public const string CsvHeader = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds,test_top5_accuracy";

    /// <summary>The metric names <see cref="Get"/> accepts (the numeric columns of <c>metrics.csv</c> worth monitoring).</summary>
    public static IReadOnlyList<string> MetricNames { get; } = ["test_loss", "test_accuracy", "test_top5_accuracy", "train_loss", "train_accuracy"];

    /// <summary>Test top-5 accuracy (fraction); NaN without a test set or with 5 classes or fewer.</summary>
    public double TestTop5Accuracy { get; init; } = double.NaN;

    /// <summary>A metric by its <c>metrics.csv</c> column name (one of <see cref="MetricNames"/>).</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public double Get(string name) => name switch
    {
        "test_loss" => TestLoss,
        "test_accuracy" => TestAccuracy,
        "test_top5_accuracy" => TestTop5Accuracy,
        "train_loss" => TrainLoss,
        "train_accuracy" => TrainAccuracy,
        _ => throw new ArgumentException($"Unknown metric \"{name}\"; expected one of {string.Join(", ", MetricNames)}.", nameof(name)),
    };

    /// <summary>The CSV row (invariant culture, accuracies as fractions), in <see cref="CsvHeader"/>'s order.</summary>
    public string ToCsv() => string.Join(",",
        Epoch.ToString(CultureInfo.InvariantCulture),
        TrainLoss.ToString("G9", CultureInfo.InvariantCulture),
        TrainAccuracy.ToString("G9", CultureInfo.InvariantCulture),
        TestLoss.ToString("G9", CultureInfo.InvariantCulture),
        TestAccuracy.ToString("G9", CultureInfo.InvariantCulture),
        Lr.ToString("G9", CultureInfo.InvariantCulture),
        Seconds.ToString("F3", CultureInfo.InvariantCulture),
        TestTop5Accuracy.ToString("G9", CultureInfo.InvariantCulture));
}

/// <summary>Progress within an epoch, reported after every optimizer step.</summary>
/// <param name="Epoch">1-based epoch number.</param>
/// <param name="Batch">Batches done in this epoch (1-based).</param>
/// <param name="Batches">Batches in the epoch.</param>
/// <param name="GlobalStep">Optimizer steps taken in the whole run.</param>
/// <param name="Loss">Running mean training loss of the epoch.</param>
/// <param name="Accuracy">Running training accuracy of the epoch.</param>
/// <param name="ImagesPerSecond">Training throughput in this epoch so far.</param>
/// <param name="Lr">Current learning rate.</param>
public readonly record struct BatchProgress(int Epoch, int Batch, int Batches, long GlobalStep, double Loss, double Accuracy, double ImagesPerSecond, double Lr);

/// <summary>Receives training events (progress bars, logs). All methods have empty defaults.</summary>
public interface ITrainingObserver
{
    /// <summary>An epoch starts at batch <paramref name="startBatch"/> (non-zero when resuming mid-epoch).</summary>
    void EpochStarted(int epoch, int epochs, int batches, int startBatch)
    {
    }

    /// <summary>A training step finished.</summary>
    void BatchEnded(BatchProgress progress)
    {
    }

    /// <summary>Evaluation of the epoch starts.</summary>
    void EvaluationStarted(int epoch)
    {
    }

    /// <summary>An epoch (training and evaluation) finished.</summary>
    void EpochEnded(EpochMetrics metrics)
    {
    }
}
