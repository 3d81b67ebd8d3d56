using SharpCnn.Benchmarks.Suite;
using SharpCnn.Vision.Datasets;
using TorchSharp;
using static TorchSharp.torch;
using TF = TorchSharp.torch.nn.functional;
using TorchGenerator = TorchSharp.torch.Generator;
using TorchTensor = TorchSharp.torch.Tensor;

namespace SharpCnn.Benchmarks.Peers;

/// <summary>
/// libtorch 2.10 (oneDNN convolutions, MKL SGEMM) through TorchSharp 0.107.0, written as a PyTorch user would:
/// <c>F.conv2d</c> and friends with autograd, <c>torchvision.models.resnet18()</c>, <c>optim.SGD</c>. Every
/// repetition runs in a dispose scope, so its tensors are freed at once as Python's reference counting would;
/// gradients come from <c>torch.autograd.grad</c> so nothing accumulates between repetitions. Inter-op threads: 1.
/// </summary>
internal sealed class TorchEngine : IEngine
{
    private bool _initialized;

    public string Name => "libtorch";

    public string Key => "libtorch";

    public string Description => LibTorchLoader.EnsureLoaded() is null
        ? $"libtorch {__version__} via TorchSharp {typeof(torch).Assembly.GetName().Version} ({LibTorchLoader.Status})"
        : "libtorch: not loadable";

    public string? WhyNot(Workload workload, BenchContext context)
    {
        if (LibTorchLoader.EnsureLoaded() is { } error)
        {
            return $"libtorch could not be loaded: {error}";
        }

        if (workload is MemoryStreamWorkload)
        {
            return ""; // SharpCnn's own bandwidth reference for the batch-norm rows.
        }

        return workload is NetworkWorkload { Task: NetworkTask.LeNetMnistEpoch } && !context.HasMnist
            ? $"no MNIST in {context.MnistDir} (./sharpcnn data get mnist)"
            : null;
    }

    public void Initialize(int threads)
    {
        if (LibTorchLoader.EnsureLoaded() is { } error)
        {
            throw new InvalidOperationException(error);
        }

        if (!_initialized)
        {
            // Must precede any parallel work; one inter-op thread as in perf-baseline (the ops here are sequential).
            set_num_interop_threads(1);
            manual_seed(1);
            _initialized = true;
        }

        set_num_threads(threads);
    }

    public IBenchRun Prepare(Workload workload, int threads, BenchContext context)
    {
        Initialize(threads);
        return workload switch
        {
            GemmWorkload g => PrepareGemm(g),
            ConvWorkload c => PrepareConv(c),
            MaxPoolWorkload p => PrepareMaxPool(p),
            BatchNormWorkload b => PrepareBatchNorm(b),
            NetworkWorkload { Task: NetworkTask.LeNetTrainStep } n => PrepareTrainStep(LeNet5(), randn(n.Batch, 1, 28, 28), randint(0, 10, [n.Batch], dtype: ScalarType.Int64)),
            NetworkWorkload { Task: NetworkTask.LeNetMnistEpoch } n => PrepareMnistEpoch(n, context),
            NetworkWorkload { Task: NetworkTask.ResNet18Inference } n => PrepareInference(torchvision.models.resnet18(), randn(n.Batch, 3, 224, 224)),
            NetworkWorkload { Task: NetworkTask.ResNet18TrainStep } n => PrepareTrainStep(torchvision.models.resnet18(), randn(n.Batch, 3, 224, 224), randint(0, 1000, [n.Batch], dtype: ScalarType.Int64)),
            _ => throw new NotSupportedException(workload.Name),
        };
    }

    /// <summary>LeNet-5 in the modern form of SharpCnn's <c>LeNet5</c> (same layers, same shapes).</summary>
    private static nn.Module<TorchTensor, TorchTensor> LeNet5() => nn.Sequential(
        nn.Conv2d(1, 6, 5, padding: 2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10));

    /// <summary>C = A·B into a preallocated C (<c>addmm_</c> with β = 0, i.e. <c>torch.mm(out=C)</c>): MKL SGEMM without allocation.</summary>
    private static ActionRun PrepareGemm(GemmWorkload g)
    {
        TorchTensor a = rand(g.M, g.K) - 0.5;
        TorchTensor b = rand(g.K, g.N) - 0.5;
        TorchTensor c = empty(g.M, g.N);
        return new ActionRun(() => c.addmm_(a, b, beta: 0, alpha: 1), () => DisposeAll(a, b, c));
    }

    private static ActionRun PrepareConv(ConvWorkload c)
    {
        TorchTensor x = randn(c.N, c.C, c.H, c.W);
        TorchTensor w = randn(c.K, c.C, c.R, c.S);
        TorchTensor? b = c.Bias ? randn(c.K) : null;
        long[] stride = [c.Stride, c.Stride];
        long[] pad = [c.Pad, c.Pad];
        if (!c.Backward)
        {
            return new ActionRun(
                () =>
                {
                    using var noGrad = no_grad();
                    using var scope = NewDisposeScope();
                    TF.conv2d(x, w, b, stride, pad);
                },
                () => DisposeAll(x, w, b));
        }

        TorchTensor dy = randn(c.N, c.K, c.OutH, c.OutW);
        var wrt = new List<TorchTensor>();
        if (!c.NoInputGrad)
        {
            wrt.Add(x.requires_grad_());
        }

        wrt.Add(w.requires_grad_());
        if (b is not null)
        {
            wrt.Add(b.requires_grad_());
        }

        return new ActionRun(
            () =>
            {
                using var scope = NewDisposeScope();
                autograd.grad([TF.conv2d(x, w, b, stride, pad)], wrt, [dy]);
            },
            () => DisposeAll(x, w, b, dy));
    }

    private static ActionRun PrepareMaxPool(MaxPoolWorkload p)
    {
        TorchTensor x = randn(p.N, p.C, p.H, p.W);
        if (!p.Backward)
        {
            return new ActionRun(
                () =>
                {
                    using var noGrad = no_grad();
                    using var scope = NewDisposeScope();
                    TF.max_pool2d(x, 2, 2);
                },
                () => DisposeAll(x));
        }

        TorchTensor dy = randn(p.N, p.C, p.H / 2, p.W / 2);
        x.requires_grad_();
        return new ActionRun(
            () =>
            {
                using var scope = NewDisposeScope();
                autograd.grad([TF.max_pool2d(x, 2, 2)], [x], [dy]);
            },
            () => DisposeAll(x, dy));
    }

    private static ActionRun PrepareBatchNorm(BatchNormWorkload bn)
    {
        TorchTensor x = randn(bn.N, bn.C, bn.H, bn.W);
        TorchTensor runningMean = zeros(bn.C);
        TorchTensor runningVar = ones(bn.C);
        TorchTensor gamma = ones(bn.C);
        TorchTensor beta = zeros(bn.C);
        if (!bn.Backward)
        {
            return new ActionRun(
                () =>
                {
                    using var noGrad = no_grad();
                    using var scope = NewDisposeScope();
                    TF.batch_norm(x, runningMean, runningVar, gamma, beta, training: true);
                },
                () => DisposeAll(x, runningMean, runningVar, gamma, beta));
        }

        TorchTensor dy = randn(bn.N, bn.C, bn.H, bn.W);
        TorchTensor[] wrt = [x.requires_grad_(), gamma.requires_grad_(), beta.requires_grad_()];
        return new ActionRun(
            () =>
            {
                using var scope = NewDisposeScope();
                autograd.grad([TF.batch_norm(x, runningMean, runningVar, gamma, beta, training: true)], wrt, [dy]);
            },
            () => DisposeAll(x, runningMean, runningVar, gamma, beta, dy));
    }

    private static ActionRun PrepareInference(nn.Module<TorchTensor, TorchTensor> model, TorchTensor input)
    {
        model.eval();
        return new ActionRun(
            () =>
            {
                using var noGrad = no_grad();
                using var scope = NewDisposeScope();
                model.forward(input);
            },
            () => DisposeAll(input, model));
    }

    private static ActionRun PrepareTrainStep(nn.Module<TorchTensor, TorchTensor> model, TorchTensor input, TorchTensor labels)
    {
        model.train();
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        return new ActionRun(
            () =>
            {
                using var scope = NewDisposeScope();
                optimizer.zero_grad();
                TF.cross_entropy(model.forward(input), labels).backward();
                optimizer.step();
            },
            () => DisposeAll(input, labels, model, optimizer));
    }

    /// <summary>
    /// One shuffled epoch over the 60,000 training images. As SharpCnn's MnistDataset, the pixels stay bytes
    /// (a uint8 tensor) and each step gathers its batch with <c>index_select</c> and normalises only that batch,
    /// which is what torchvision's MNIST (ToTensor, Normalize) and a DataLoader amount to, without worker
    /// processes. 20 warm-up steps first; afterwards (not timed) the test accuracy.
    /// </summary>
    private static ActionRun PrepareMnistEpoch(NetworkWorkload n, BenchContext context)
    {
        (TorchTensor trainX, TorchTensor trainY) = LoadMnist(context.MnistDir, train: true);
        (TorchTensor testX, TorchTensor testY) = LoadMnist(context.MnistDir, train: false);
        nn.Module<TorchTensor, TorchTensor> model = LeNet5();
        var optimizer = optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        var generator = new TorchGenerator(1);
        long count = trainX.shape[0];

        void Epoch(int steps)
        {
            using var scope = NewDisposeScope();
            TorchTensor order = randperm(count, generator: generator);
            for (int i = 0; i < steps; i++)
            {
                using var stepScope = NewDisposeScope();
                TorchTensor index = order.slice(0, (long)i * n.Batch, Math.Min(count, (long)(i + 1) * n.Batch), 1);
                optimizer.zero_grad();
                TF.cross_entropy(model.forward(Normalize(trainX.index_select(0, index))), trainY.index_select(0, index)).backward();
                optimizer.step();
            }
        }

        Epoch(20);
        return new ActionRun(
            () => Epoch(n.Steps),
            () => DisposeAll(trainX, trainY, testX, testY, model, optimizer),
            () =>
            {
                model.eval();
                using var noGrad = no_grad();
                using var scope = NewDisposeScope();
                long correct = 0;
                for (long start = 0; start < testX.shape[0]; start += 1000)
                {
                    long end = Math.Min(testX.shape[0], start + 1000);
                    correct += model.forward(Normalize(testX.slice(0, start, end, 1))).argmax(1).eq(testY.slice(0, start, end, 1)).sum().item<long>();
                }

                return $"test accuracy {100.0 * correct / testY.shape[0]:F2}%";
            });
    }

    /// <summary>uint8 pixels to float, (b/255 − 0.1307)/0.3081 as SharpCnn's MnistDataset (Normalize.Mnist).</summary>
    private static TorchTensor Normalize(TorchTensor bytes) => bytes.to_type(ScalarType.Float32).div_(255f).sub_(0.1307f).div_(0.3081f);

    /// <summary>The IDX files as an (N,1,28,28) uint8 tensor and int64 labels.</summary>
    private static (TorchTensor X, TorchTensor Y) LoadMnist(string dir, bool train)
    {
        MnistData data = MnistData.Load(dir, train);
        return (tensor(data.Images, [data.Count, 1, 28, 28]), tensor(data.Labels.Select(l => (long)l).ToArray(), [data.Count]));
    }

    private static void DisposeAll(params IDisposable?[] items)
    {
        foreach (IDisposable? item in items)
        {
            item?.Dispose();
        }
    }
}
