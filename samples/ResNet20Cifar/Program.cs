// Trains ResNet-20 (He et al. 2016, §4.2) on CIFAR-10 with the standard augmentation: 4-pixel padding, random 32×32
// crop, horizontal flip, applied per sample in the loader's background worker with (seed, epoch, sample) randomness.
// Usage: dotnet run --project samples/ResNet20Cifar -c Release -- [CIFAR_DIR] [EPOCHS]
// CIFAR_DIR holds the binary version's data_batch_1..5.bin, test_batch.bin (and batches.meta.txt); no registry ships
// them, so put them there yourself (default data/cifar10).
using SharpCnn;
using SharpCnn.Data;
using SharpCnn.Optim;
using SharpCnn.Training;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using SharpCnn.Vision.Transforms;

string dataDir = args.Length > 0 ? args[0] : Path.Combine("data", "cifar10");
int epochs = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30;

var generator = new Generator(0);                                // one seed: init, shuffle, augmentation
using IDisposable seeded = Generator.UseAsDefault(generator);
Cifar10Dataset trainSet = Cifar10Dataset.Load(dataDir, train: true);   // normalised with CIFAR-10's mean/std
Cifar10Dataset testSet = Cifar10Dataset.Load(dataDir, train: false);
Normalize stats = Normalizations.Cifar10;
ITransform augment = Augmentation.Train("cifar10", stats.Mean, stats.Std, inputNormalized: true);
var train = new DataLoader(trainSet, batchSize: 128, shuffle: true, seed: 0, transform: augment);
var test = new DataLoader(testSet, batchSize: 500);

CifarResNet model = CifarResNet.ResNet20();                      // 269,722 parameters
var optimizer = new SGD(model.Parameters(), lr: 0.1, momentum: 0.9, weightDecay: 1e-4);
var schedule = new CosineAnnealingLR(optimizer, tMax: epochs * train.Count);

var trainer = new Trainer(model, optimizer, schedule, train, test, generator, new TrainerOptions
{
    Epochs = epochs,
    ModelName = "resnet20",
    RunDirectory = Path.Combine("runs", "resnet20-cifar10"),      // metrics.csv, epoch/last/best checkpoints
});
trainer.Fit(new EpochPrinter());
Console.WriteLine($"best test accuracy {trainer.History.Max(m => m.TestAccuracy):P2}");

/// <summary>Prints one line per epoch.</summary>
internal sealed class EpochPrinter : ITrainingObserver
{
    public void EpochEnded(EpochMetrics m) =>
        Console.WriteLine($"epoch {m.Epoch}: train loss {m.TrainLoss:F4}, acc {m.TrainAccuracy:P2}; test loss {m.TestLoss:F4}, acc {m.TestAccuracy:P2} ({m.Seconds:F0} s)");
}
