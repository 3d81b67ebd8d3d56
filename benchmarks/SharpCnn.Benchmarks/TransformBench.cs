using System.Diagnostics;
using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Optim;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Benchmarks;

/// <summary>
/// Cost of the augmentation presets per sample (one thread), and LeNet-5 training throughput with and without
/// augmentation at 1 and 2 loader workers. Usage: <c>dotnet run -c Release -- transforms [MNIST_DIR] [threads] [samples, 0 = skip training]</c>;
/// without MNIST files the training part uses synthetic 28×28 digits-shaped data.
/// </summary>
internal static class TransformBench
{
    public static void Run(string[] args)
    {
        string dir = args.Length > 0 ? args[0] : Path.Combine("data", "mnist");
        int threads = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : Environment.ProcessorCount;
        int samples = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 12_800;
        Kernels.KernelParallel.MaxThreads = threads;
        Console.WriteLine($"load {File.ReadAllText("/proc/loadavg").Trim()}; kernel threads {threads}");

        var g = new Generator(1);
        float[] mnistMean = [0.1307f];
        float[] mnistStd = [0.3081f];
        float[] cifarMean = [0.4914f, 0.4822f, 0.4465f];
        float[] cifarStd = [0.2470f, 0.2435f, 0.2616f];
        PerSample("Normalize 1×28×28", Tensor.Rand(g, 1, 28, 28), new Normalize(mnistMean, mnistStd), 20_000);
        PerSample("RandomAffine(5°, 0.05) bilinear 1×28×28", Tensor.Rand(g, 1, 28, 28), new RandomAffine(5, (0.05, 0.05), interpolation: Interpolation.Bilinear), 20_000);
        PerSample("RandomAffine(5°, 0.05) nearest 1×28×28", Tensor.Rand(g, 1, 28, 28), new RandomAffine(5, (0.05, 0.05)), 20_000);
        PerSample("mnist preset 1×28×28", Tensor.Rand(g, 1, 28, 28), Augmentation.Train("mnist", mnistMean, mnistStd), 20_000);
        PerSample("mnist preset, normalised input 1×32×32", Tensor.Rand(g, 1, 32, 32), Augmentation.Train("mnist", mnistMean, mnistStd, inputNormalized: true), 20_000);
        PerSample("cifar10 preset 3×32×32", Tensor.Rand(g, 3, 32, 32), Augmentation.Train("cifar10", cifarMean, cifarStd), 20_000);
        PerSample("ColorJitter(0.4,0.4,0.4,0.1) 3×32×32", Tensor.Rand(g, 3, 32, 32), new ColorJitter(0.4, 0.4, 0.4, 0.1), 5_000);
        PerSample("imagefolder train preset 3×256×320 → 224", Tensor.Rand(g, 3, 256, 320), Augmentation.Train("imagefolder", cifarMean, cifarStd), 100);
        PerSample("imagefolder eval preset 3×256×320 → 224", Tensor.Rand(g, 3, 256, 320), Augmentation.Eval("imagefolder", cifarMean, cifarStd)!, 100);

        if (samples == 0)
        {
            return;
        }

        IDataset data = File.Exists(Path.Combine(dir, "train-images-idx3-ubyte"))
            ? new PrefixDataset(MnistDataset.Load(dir, train: true), samples)
            : new TensorDataset(Tensor.Rand(g, samples, 1, 28, 28), [.. Enumerable.Range(0, samples).Select(i => i % 10)]);
        Console.WriteLine($"LeNet-5 training, batch 64, {data.Count} samples of {(data is PrefixDataset ? "MNIST" : "synthetic data")} per measurement");
        ITransform aug = Augmentation.Train("mnist", mnistMean, mnistStd, inputNormalized: true);
        foreach ((string name, ISampleTransform? transform) in new[] { ("no augmentation", (ISampleTransform?)null), ("mnist preset", aug) })
        {
            foreach (int workers in new[] { 1, 2 })
            {
                double rate = Train(data, transform, workers);
                Console.WriteLine($"  {name}, numWorkers {workers}: {rate:F0} images/s");
            }
        }
    }

    /// <summary>
    /// Trains LeNet-5 on MNIST with the CLI's recipe (SGD 0.05, momentum 0.9 Nesterov, one-cycle, batch 64) and
    /// prints the test accuracy after each epoch. Usage: <c>transforms-accuracy MNIST_DIR EPOCHS augment|strong|plain [WORKERS] [SEED]</c>.
    /// </summary>
    public static void Accuracy(string[] args)
    {
        string dir = args[0];
        int epochs = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
        int workers = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1;
        ulong seed = args.Length > 4 ? ulong.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 0;
        Kernels.KernelParallel.MaxThreads = 1;
        using IDisposable seeded = Generator.UseAsDefault(new Generator(seed));
        ITransform? transform = args[2] switch
        {
            "augment" => Augmentation.Train("mnist", [0.1307f], [0.3081f], inputNormalized: true),
            // The stronger candidate that lost to the preset (±10°, 10 % shifts), on the normalised data shifted so that black is 0.
            "strong" => StrongAffine(Normalize.Mnist.Apply(0f, 0)),
            _ => null,
        };
        var train = new DataLoader(MnistDataset.Load(dir, train: true), 64, shuffle: true, seed: seed, transform: transform, numWorkers: workers);
        var test = new DataLoader(MnistDataset.Load(dir, train: false), 1000);
        var model = new LeNet5();
        var optimizer = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9, nesterov: true);
        var schedule = new OneCycleLR(optimizer, 0.05, epochs * train.Count);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            model.Train();
            long start = Stopwatch.GetTimestamp();
            foreach (Batch batch in train.GetEpoch(epoch))
            {
                using TensorScope scope = TensorScope.Begin();
                optimizer.ZeroGrad();
                Tensor loss = F.CrossEntropy(model.Forward(batch.Inputs), batch.Targets);
                loss.Backward();
                optimizer.Step();
                schedule.Step();
            }

            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            (double testLoss, double accuracy) = Training.Trainer.Evaluate(model, test);
            Console.WriteLine($"{args[2]} epoch {epoch + 1}: test loss {testLoss:F4}, accuracy {accuracy:P2}, {60000 / seconds:F0} images/s; load {File.ReadAllText("/proc/loadavg").Trim()}");
        }
    }

    private static Lambda StrongAffine(float black)
    {
        var affine = new RandomAffine(10, translate: (0.1, 0.1), interpolation: Interpolation.Bilinear);
        return new Lambda((x, g) =>
        {
            float[] d = x.ToArray();
            for (int i = 0; i < d.Length; i++)
            {
                d[i] -= black;
            }

            float[] y = affine.Apply(new Tensor(d, x.Shape), g).ToArray();
            for (int i = 0; i < y.Length; i++)
            {
                y[i] += black;
            }

            return new Tensor(y, x.Shape);
        });
    }

    private static void PerSample(string name, Tensor x, ITransform t, int n)
    {
        var g = new Generator(2);
        for (int i = 0; i < Math.Min(n, 500); i++)
        {
            t.Apply(x, g);
        }

        var times = new List<double>();
        var cpu = new List<double>();
        for (int rep = 0; rep < 5; rep++)
        {
            long start = Stopwatch.GetTimestamp();
            double cpuStart = ThreadCpuMicroseconds();
            for (int i = 0; i < n; i++)
            {
                t.Apply(x, g);
            }

            cpu.Add((ThreadCpuMicroseconds() - cpuStart) / n);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds / n);
        }

        times.Sort();
        cpu.Sort();
        Console.WriteLine($"  {name}: {times[2]:F2} µs/sample wall, {cpu[2]:F2} µs thread CPU (medians of 5 × {n})");
    }

    // The calling thread's user + system CPU time (getrusage(RUSAGE_THREAD)): on a loaded machine it counts only
    // the time this thread ran, unlike the wall clock; Linux only, NaN elsewhere.
    private static double ThreadCpuMicroseconds()
    {
        if (!OperatingSystem.IsLinux() || GetRusage(1, out RUsage u) != 0)
        {
            return double.NaN;
        }

        return (u.UserSeconds + u.SystemSeconds) * 1e6 + u.UserMicroseconds + u.SystemMicroseconds;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRusage(int who, out RUsage usage);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSeconds;
        public long UserMicroseconds;
        public long SystemSeconds;
        public long SystemMicroseconds;
        public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NVcsw, NIvcsw;
    }

    private static double Train(IDataset data, ISampleTransform? transform, int workers)
    {
        using IDisposable seeded = Generator.UseAsDefault(new Generator(0));
        var model = new LeNet5();
        var optimizer = new SGD(model.Parameters(), lr: 0.05, momentum: 0.9);
        var loader = new DataLoader(data, 64, shuffle: true, seed: 0, transform: transform, numWorkers: workers);
        double best = 0;
        for (int epoch = 0; epoch < 3; epoch++)
        {
            long start = Stopwatch.GetTimestamp();
            int images = 0;
            foreach (Batch batch in loader.GetEpoch(epoch))
            {
                using TensorScope scope = TensorScope.Begin();
                optimizer.ZeroGrad();
                Tensor loss = F.CrossEntropy(model.Forward(batch.Inputs), batch.Targets);
                loss.Backward();
                optimizer.Step();
                images += batch.Size;
            }

            // Epoch 0 warms up the JIT; keep the best of the rest (the machine is shared).
            if (epoch > 0)
            {
                best = Math.Max(best, images / Stopwatch.GetElapsedTime(start).TotalSeconds);
            }
        }

        return best;
    }
}
