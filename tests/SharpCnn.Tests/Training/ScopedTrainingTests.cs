using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Training;

namespace SharpCnn.Tests.Training;

/// <summary>
/// Training inside <see cref="TensorScope"/>s (with a pool that hands out NaN-filled arrays) against the same training
/// outside scopes: parameters, gradients, optimizer state and batch-norm statistics must be bit-identical, and still
/// readable after the scopes ended.
/// </summary>
public class ScopedTrainingTests
{
    /// <summary>LeNet-5 in its modern form (28×28 input), as the zoo's <c>lenet5</c>.</summary>
    private static Sequential LeNet5() => new(
        new Conv2d(1, 6, 5, padding: 2), new ReLU(), new MaxPool2d(2),
        new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
        new Flatten(), new Linear(400, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, 10));

    /// <summary>conv + batch norm + a residual block (conv, BN, ReLU, conv, BN, add, ReLU) + global pool + linear.</summary>
    private sealed class SmallResNet : Module
    {
        private readonly Conv2d _stem = new(3, 8, 3, padding: 1, bias: false);
        private readonly BatchNorm2d _bn0 = new(8);
        private readonly Conv2d _conv1 = new(8, 8, 3, padding: 1, bias: false);
        private readonly BatchNorm2d _bn1 = new(8);
        private readonly Conv2d _conv2 = new(8, 8, 3, padding: 1, bias: false);
        private readonly BatchNorm2d _bn2 = new(8, momentum: null);
        private readonly Linear _fc = new(8, 4);

        public SmallResNet()
        {
            Add("stem", _stem);
            Add("bn0", _bn0);
            Add("conv1", _conv1);
            Add("bn1", _bn1);
            Add("conv2", _conv2);
            Add("bn2", _bn2);
            Add("fc", _fc);
        }

        public override Tensor Forward(Tensor input)
        {
            Tensor x = input.Apply(_stem).Apply(_bn0).Relu();
            Tensor y = x.Apply(_conv1).Apply(_bn1).Relu().Apply(_conv2).Apply(_bn2);
            return (x + y).Relu().AdaptiveAvgPool2d(1).Flatten(1).Apply(_fc);
        }
    }

    private static void Seed(Module model, ulong seed)
    {
        var g = new Generator(seed);
        foreach (Parameter p in model.Parameters())
        {
            g.FillNormal(p.Data);
            Scale(p.Data, 0.2f);
        }
    }

    private static void Scale(Span<float> d, float scale)
    {
        for (int i = 0; i < d.Length; i++)
        {
            d[i] *= scale;
        }
    }

    private static (Tensor X, Tensor Y)[] Batches(int count, int n, int c, int hw, int classes, ulong seed)
    {
        var g = new Generator(seed);
        return [.. Enumerable.Range(0, count).Select(_ =>
            (Tensor.Randn(g, n, c, hw, hw), Tensor.FromArray([.. Enumerable.Range(0, n).Select(i => (float)((i * 7) % classes))])))];
    }

    /// <summary>Trains with the Trainer's step (gradients recycled, one scope per step) or the plain PyTorch loop.</summary>
    private static void Train(Module model, Optimizer optimizer, (Tensor X, Tensor Y)[] batches, bool scoped)
    {
        foreach ((Tensor x, Tensor y) in batches)
        {
            using TensorScope scope = scoped ? TensorScope.Begin() : default;
            if (scoped)
            {
                optimizer.RecycleGradients();
            }
            else
            {
                optimizer.ZeroGrad();
            }

            F.CrossEntropy(model.Call(x), y).Backward();
            optimizer.Step();
        }
    }

    /// <summary>Everything a training run leaves behind: parameters, gradients, buffers, optimizer state.</summary>
    private static Dictionary<string, float[]> Snapshot(Module model, Optimizer optimizer)
    {
        var all = new Dictionary<string, float[]>();
        foreach ((string name, Tensor t) in model.StateDict())
        {
            all[name] = t.ToArray();
        }

        foreach ((string name, Parameter p) in model.NamedParameters())
        {
            all[name + ".grad"] = p.Grad!.ToArray();
        }

        foreach ((string name, Tensor t) in optimizer.StateDict())
        {
            all["optimizer." + name] = t.ToArray();
        }

        return all;
    }

    private static void AssertBitIdentical(Dictionary<string, float[]> expected, Dictionary<string, float[]> actual)
    {
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach ((string key, float[] e) in expected)
        {
            float[] a = actual[key];
            Assert.Equal(e.Length, a.Length);
            for (int i = 0; i < e.Length; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(e[i]) == BitConverter.SingleToInt32Bits(a[i]), $"{key}[{i}]: {a[i]} scoped, {e[i]} unscoped");
            }
        }
    }

    private static Dictionary<string, float[]> Run(Func<Module> build, Func<Module, Optimizer> optimizer, (Tensor X, Tensor Y)[] batches, bool scoped)
    {
        Module model = build();
        Optimizer opt = optimizer(model);
        StoragePool.PoisonOnRent = scoped;
        try
        {
            Train(model, opt, batches, scoped);
        }
        finally
        {
            StoragePool.PoisonOnRent = false;
        }

        // Read after every scope ended: grads, optimizer state (created lazily inside the first scoped step) and
        // running statistics must all have survived.
        Assert.False(TensorScope.IsActive);
        return Snapshot(model, opt);
    }

    [Fact]
    public void LeNet5_SgdNesterov_ScopedStepsEqualUnscopedBitForBit()
    {
        (Tensor X, Tensor Y)[] batches = Batches(4, 8, 1, 28, 10, seed: 3);
        Module Build()
        {
            Sequential m = LeNet5();
            Seed(m, 11);
            return m;
        }

        static Optimizer Sgd(Module m) => new SGD(m.Parameters(), lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-4);
        AssertBitIdentical(Run(Build, Sgd, batches, scoped: false), Run(Build, Sgd, batches, scoped: true));
    }

    [Fact]
    public void ConvBatchNormResidual_Adam_ScopedStepsEqualUnscopedBitForBit()
    {
        (Tensor X, Tensor Y)[] batches = Batches(4, 4, 3, 6, 4, seed: 5);
        Module Build()
        {
            var m = new SmallResNet();
            Seed(m, 13);
            return m;
        }

        static Optimizer Adam(Module m) => new Adam(m.Parameters(), lr: 0.01, amsgrad: true);
        Dictionary<string, float[]> unscoped = Run(Build, Adam, batches, scoped: false);
        Dictionary<string, float[]> scoped = Run(Build, Adam, batches, scoped: true);
        AssertBitIdentical(unscoped, scoped);
        Assert.Equal(4f, scoped["bn2.num_batches_tracked"][0]);
        Assert.Contains("optimizer.state.0.exp_avg_sq", scoped.Keys);
    }

    [Fact]
    public void Trainer_EqualsAnUnscopedLoopBitForBit_AndLeavesReadableState()
    {
        var g = new Generator(7);
        int n = 40;
        Tensor images = Tensor.Randn(g, n, 3, 6, 6);
        var data = new TensorDataset(images, [.. Enumerable.Range(0, n).Select(i => i % 4)]);
        var loader = new DataLoader(data, 8, shuffle: true, seed: 2);

        var reference = new SmallResNet();
        Seed(reference, 17);
        var referenceOpt = new SGD(reference.Parameters(), lr: 0.05, momentum: 0.9);
        for (int epoch = 0; epoch < 2; epoch++)
        {
            foreach (Batch batch in loader.GetEpoch(epoch))
            {
                referenceOpt.ZeroGrad();
                F.CrossEntropy(reference.Call(batch.Inputs), batch.Targets).Backward();
                referenceOpt.Step();
            }
        }

        var model = new SmallResNet();
        Seed(model, 17);
        var opt = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);
        var trainer = new Trainer(model, opt, null, loader, new DataLoader(data, 16), new Generator(1),
            new TrainerOptions { Epochs = 2, ModelName = "small-resnet" });
        Assert.Equal(TrainingOutcome.Completed, trainer.Fit());
        Assert.All(trainer.History, m => Assert.True(double.IsFinite(m.TrainLoss) && double.IsFinite(m.TestLoss)));
        AssertBitIdentical(Snapshot(reference, referenceOpt), Snapshot(model, opt));
    }

    [Fact]
    public void Trainer_SteadyStateStep_AllocatesLittleOnTheTrainingThread()
    {
        var g = new Generator(3);
        int n = 64 * 24;
        var data = new TensorDataset(Tensor.Randn(g, n, 1, 28, 28), [.. Enumerable.Range(0, n).Select(i => i % 10)]);
        Sequential model = LeNet5();
        var opt = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9, nesterov: true);
        var probe = new AllocationProbe(warmup: 8);
        // Without prefetching the batches are built on this thread too, so their allocation counts.
        var trainer = new Trainer(model, opt, null, new DataLoader(data, 64, shuffle: true, seed: 1, prefetch: false), null, g,
            new TrainerOptions { Epochs = 1, ModelName = "lenet5" });
        trainer.Fit(probe);

        // Without scopes a step allocated ~8.6 MB (every activation, gradient and batch a new array). What is left
        // is small objects: tensors, the autograd graph's nodes and closures, shape arrays.
        Assert.True(probe.BytesPerStep < 100_000, $"{probe.BytesPerStep:N0} bytes per step on the training thread");
    }

    private sealed class AllocationProbe(int warmup) : ITrainingObserver
    {
        private long _start;
        private int _steps;

        public double BytesPerStep { get; private set; } = double.NaN;

        public void BatchEnded(BatchProgress progress)
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (progress.Batch == warmup)
            {
                _start = now;
            }
            else if (progress.Batch > warmup)
            {
                _steps++;
                BytesPerStep = (now - _start) / (double)_steps;
            }
        }
    }
}
