using System.Diagnostics;
using System.Globalization;
using SharpCnn.Data;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Training;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;

namespace SharpCnn.Cli.Experiments;

/// <summary>One trained model of an experiment: its label, the model and the per-epoch metrics.</summary>
internal sealed record TrainedRun(string Label, string ModelName, Module Model, IReadOnlyList<EpochMetrics> History, double Seconds)
{
    /// <summary>The final epoch's test accuracy (fraction).</summary>
    public double TestAccuracy => History[^1].TestAccuracy;

    /// <summary>The final epoch's test loss.</summary>
    public double TestLoss => History[^1].TestLoss;
}

/// <summary>
/// Trains a zoo model the way <c>sharpcnn train</c> does by default (SGD, momentum 0.9, Nesterov, one-cycle
/// schedule, cross-entropy), through the same <see cref="Trainer"/>, with every source of randomness fixed by the seed.
/// </summary>
internal static class ExperimentTraining
{
    private const int EvalBatchSize = 500;

    /// <summary>The background value of a normalised MNIST image (pixel byte 0).</summary>
    public static float MnistBackground => Vision.Transforms.Normalize.Mnist.Apply(Vision.Transforms.ToTensor.Scale(0), 0);

    /// <summary>
    /// Trains <paramref name="modelName"/> on <paramref name="train"/>, evaluating on <paramref name="test"/> after every
    /// epoch. The model is initialised from a generator seeded with the run's seed, and the shuffle uses the same
    /// seed, so two runs with the same seed and data are identical. <paramref name="afterInit"/> may change the
    /// initial weights (<c>--same-init</c>). Returns null when cancelled.
    /// </summary>
    public static TrainedRun? Train(string label, string modelName, IRowDataset train, IRowDataset test, ExperimentSettings s,
        TextWriter output, CancellationToken cancellation, Action<Module>? afterInit = null)
    {
        var generator = new Generator(s.Seed);
        using IDisposable seeded = Generator.UseAsDefault(generator);
        Module model = ModelZoo.Create(modelName, MnistData.ClassCount, inChannels: 1);
        afterInit?.Invoke(model);
        var trainLoader = new DataLoader(train, s.BatchSize, shuffle: true, dropLast: false, seed: s.Seed);
        var testLoader = new DataLoader(test, EvalBatchSize);
        var optimizer = new SGD(model.Parameters(), s.Lr, 0.9, nesterov: true);
        var scheduler = new OneCycleLR(optimizer, s.Lr, s.Epochs * trainLoader.Count);
        var trainer = new Trainer(model, optimizer, scheduler, trainLoader, testLoader, generator, new TrainerOptions
        {
            Epochs = s.Epochs,
            ModelName = modelName,
            Seed = s.Seed,
            SchedulerInterval = SchedulerInterval.Batch,
        });
        output.WriteLine($"[{label}] training {modelName} on {train.Count:N0} images, {s.Epochs} epoch(s) × {trainLoader.Count} batches");
        var clock = Stopwatch.StartNew();
        if (trainer.Fit(new EpochLines(output, label, s.Epochs), cancellation) == TrainingOutcome.Cancelled)
        {
            return null;
        }

        return new TrainedRun(label, modelName, model, [.. trainer.History], clock.Elapsed.TotalSeconds);
    }

    /// <summary>Test accuracy of <paramref name="model"/> on <paramref name="test"/> (fraction).</summary>
    public static double Accuracy(Module model, IDataset test) => Trainer.Evaluate(model, new DataLoader(test, EvalBatchSize)).Accuracy;

    /// <summary>One line per epoch, prefixed with the run's label (several runs share the output).</summary>
    private sealed class EpochLines(TextWriter output, string label, int epochs) : ITrainingObserver
    {
        private double _imagesPerSecond;

        public void BatchEnded(BatchProgress progress) => _imagesPerSecond = progress.ImagesPerSecond;

        public void EpochEnded(EpochMetrics metrics) =>
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{label}] {EpochLine.Format(metrics, epochs, _imagesPerSecond)}"));
    }
}
