using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using Gemm = SharpCnn.Kernels.Gemm;
using KernelParallel = SharpCnn.Kernels.KernelParallel;
using KernelParallelStats = SharpCnn.Kernels.KernelParallelStats;
using NoGrad = SharpCnn.Autograd.Autograd;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>
/// The workloads through SharpCnn's public API, as a user writes them: <c>F.*</c> with autograd for the layers,
/// <c>LeNet5</c> and <c>ResNet.ResNet18()</c> with <c>SGD</c> for the networks. GEMM calls the kernel directly
/// (libtorch's side is <c>addmm_</c> into a preallocated output, so neither allocates).
/// </summary>
public sealed class SharpCnnEngine : IEngine
{
    public string Name => "SharpCnn";

    public string Key => "sharpcnn";

    public string Description =>
        $"SharpCnn (GEMM variant {Gemm.SelectedVariant}, Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated})";

    public string? WhyNot(Workload workload, BenchContext context) =>
        workload is NetworkWorkload { Task: NetworkTask.LeNetMnistEpoch } && !context.HasMnist
            ? $"no MNIST in {context.MnistDir} (./sharpcnn data get mnist)"
            : null;

    public void Initialize(int threads) => KernelParallel.MaxThreads = threads;

    public IBenchRun Prepare(Workload workload, int threads, BenchContext context)
    {
        KernelParallel.MaxThreads = threads;
        var gen = new Generator(1);
        return workload switch
        {
            GemmWorkload g => PrepareGemm(g),
            ConvWorkload c => PrepareConv(c, gen),
            MaxPoolWorkload p => PrepareMaxPool(p, gen),
            BatchNormWorkload b => PrepareBatchNorm(b, gen),
            MemoryStreamWorkload m => MemoryStreamBench.Prepare(m, gen),
            NetworkWorkload { Task: NetworkTask.LeNetTrainStep } n => PrepareTrainStep(new LeNet5(), Tensor.Randn(gen, n.Batch, 1, 28, 28), RandomLabels(n.Batch, 10)),
            NetworkWorkload { Task: NetworkTask.LeNetMnistEpoch } n => PrepareMnistEpoch(n, context),
            NetworkWorkload { Task: NetworkTask.ResNet18Inference } n => CountJobs(PrepareInference(ResNet.ResNet18(), Tensor.Randn(gen, n.Batch, 3, 224, 224)), threads),
            NetworkWorkload { Task: NetworkTask.ResNet18TrainStep } n => PrepareTrainStep(ResNet.ResNet18(), Tensor.Randn(gen, n.Batch, 3, 224, 224), RandomLabels(n.Batch, 1000)),
            _ => throw new NotSupportedException(workload.Name),
        };
    }

    private static ActionRun PrepareGemm(GemmWorkload g)
    {
        float[] a = RandomArray(g.M * g.K, 1);
        float[] b = RandomArray(g.K * g.N, 2);
        float[] c = new float[g.M * g.N];
        return new ActionRun(() => Gemm.Multiply(false, false, g.M, g.N, g.K, a, g.K, b, g.N, c, g.N, accumulate: false));
    }

    private static ActionRun PrepareConv(ConvWorkload c, Generator gen)
    {
        Tensor x = Tensor.Randn(gen, c.N, c.C, c.H, c.W);
        Tensor w = Tensor.Randn(gen, c.K, c.C, c.R, c.S);
        Tensor? b = c.Bias ? Tensor.Randn(gen, c.K) : null;
        Size2 stride = c.Stride;
        Padding pad = c.Pad;
        if (!c.Backward)
        {
            // Inside a TensorScope as the Trainer runs every op: the output borrows pooled storage instead of a fresh
            // zeroed array per call (libtorch's allocator reuses freed blocks too).
            return new ActionRun(() =>
            {
                using (TensorScope.Begin())
                using (NoGrad.NoGrad())
                {
                    F.Conv2d(x, w, b, stride, pad);
                }
            });
        }

        Tensor dy = Tensor.Randn(gen, c.N, c.K, c.OutH, c.OutW);
        // Leaves as parameters whose gradient buffers are recycled between repetitions (as the Trainer's optimizer
        // does), so backward's outputs are not fresh arrays either; no dx where the layer needs none.
        var weight = new Parameter(w);
        Parameter? bias = b is null ? null : new Parameter(b);
        Parameter? inputLeaf = c.NoInputGrad ? null : new Parameter(x);
        Tensor input = inputLeaf ?? x;
        Parameter[] wrt = [.. new[] { inputLeaf, weight, bias }.OfType<Parameter>()];
        var gradients = new GradientRecycler(wrt);
        return new ActionRun(() =>
        {
            using (TensorScope.Begin())
            {
                gradients.Recycle();
                F.Conv2d(input, weight, bias, stride, pad).Backward(dy);
            }
        });
    }

    private static ActionRun PrepareMaxPool(MaxPoolWorkload p, Generator gen)
    {
        Tensor x = Tensor.Randn(gen, p.N, p.C, p.H, p.W);
        if (!p.Backward)
        {
            return new ActionRun(() =>
            {
                using (TensorScope.Begin())
                using (NoGrad.NoGrad())
                {
                    F.MaxPool2d(x, 2, 2);
                }
            });
        }

        Tensor dy = Tensor.Randn(gen, p.N, p.C, p.H / 2, p.W / 2);
        var input = new Parameter(x);
        var gradients = new GradientRecycler([input]);
        return new ActionRun(() =>
        {
            using (TensorScope.Begin())
            {
                gradients.Recycle();
                F.MaxPool2d(input, 2, 2).Backward(dy);
            }
        });
    }

    private static ActionRun PrepareBatchNorm(BatchNormWorkload bn, Generator gen)
    {
        Tensor x = Tensor.Randn(gen, bn.N, bn.C, bn.H, bn.W);
        Tensor runningMean = Tensor.Zeros(bn.C);
        Tensor runningVar = Tensor.Ones(bn.C);
        if (!bn.Backward)
        {
            Tensor gamma = Tensor.Ones(bn.C);
            Tensor beta = Tensor.Zeros(bn.C);
            return new ActionRun(() =>
            {
                using (TensorScope.Begin())
                using (NoGrad.NoGrad())
                {
                    F.BatchNorm(x, runningMean, runningVar, gamma, beta, training: true);
                }
            });
        }

        Tensor dy = Tensor.Randn(gen, bn.N, bn.C, bn.H, bn.W);
        Parameter[] wrt = [new Parameter(x), new Parameter(Tensor.Ones(bn.C)), new Parameter(Tensor.Zeros(bn.C))];
        var gradients = new GradientRecycler(wrt);
        return new ActionRun(() =>
        {
            using (TensorScope.Begin())
            {
                gradients.Recycle();
                F.BatchNorm(wrt[0], runningMean, runningVar, wrt[1], wrt[2], training: true).Backward(dy);
            }
        });
    }

    /// <summary>
    /// On 2+ threads, counts the split jobs of every run (warm-up included: the child process runs this workload alone)
    /// and reports, as the row's note, how much of them the helper threads ran: about half on 2 free cores, near none
    /// when the helper had no core (docs/performance.md, "Batch 1 on two threads").
    /// </summary>
    private static ActionRun CountJobs(ActionRun run, int threads)
    {
        if (threads < 2)
        {
            return run;
        }

        int runs = 0;
        JobCounters start = default;
        return new ActionRun(
            () =>
            {
                if (runs++ == 0)
                {
                    start = JobCounters.Read();
                    KernelParallelStats.Enabled = true;
                }

                run.Run();
            },
            run.Dispose,
            () =>
            {
                KernelParallelStats.Enabled = false;
                return (JobCounters.Read() - start).Describe(runs);
            });
    }

    private static ActionRun PrepareInference(Module model, Tensor input)
    {
        model.Eval();
        // One TensorScope per forward, as the Trainer's evaluation runs each batch: activations borrow pooled storage.
        return new ActionRun(() =>
        {
            using (TensorScope.Begin())
            using (NoGrad.NoGrad())
            {
                model.Call(input);
            }
        });
    }

    /// <summary>
    /// The training step as the <c>Trainer</c> runs it: inside a <see cref="TensorScope"/> (every activation,
    /// gradient and temporary borrows pooled storage that goes back when the step ends) and with
    /// <see cref="Optimizer.RecycleGradients"/> instead of <c>ZeroGrad</c> (gradient buffers reused).
    /// </summary>
    private static ActionRun PrepareTrainStep(Module model, Tensor input, Tensor labels)
    {
        model.Train();
        var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        return new ActionRun(() =>
        {
            using (TensorScope.Begin())
            {
                optimizer.RecycleGradients();
                F.CrossEntropy(model.Call(input), labels).Backward();
                optimizer.Step();
            }
        });
    }

    /// <summary>
    /// One epoch as <c>sharpcnn train</c> runs it (MnistDataset, shuffled DataLoader with its prefetch thread),
    /// after 20 warm-up steps on the previous epoch's order; afterwards (not timed) the test accuracy.
    /// </summary>
    private static ActionRun PrepareMnistEpoch(NetworkWorkload n, BenchContext context)
    {
        var train = MnistDataset.Load(context.MnistDir, train: true);
        var test = MnistDataset.Load(context.MnistDir, train: false);
        var loader = new DataLoader(train, n.Batch, shuffle: true, dropLast: false, seed: 1);
        var model = new LeNet5();
        var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);
        void Step(Batch batch)
        {
            using (TensorScope.Begin())
            {
                optimizer.RecycleGradients();
                F.CrossEntropy(model.Call(batch.Inputs), batch.Targets).Backward();
                optimizer.Step();
            }
        }

        foreach (Batch batch in loader.GetEpoch(0).Take(20))
        {
            Step(batch);
        }

        return new ActionRun(
            () =>
            {
                foreach (Batch batch in loader.GetEpoch(1))
                {
                    Step(batch);
                }
            },
            finish: () =>
            {
                model.Eval();
                long correct = 0;
                using (NoGrad.NoGrad())
                {
                    foreach (Batch batch in new DataLoader(test, 1000))
                    {
                        correct += CountCorrect(model.Call(batch.Inputs).Data, batch.Targets.Data, 10);
                    }
                }

                return $"test accuracy {100.0 * correct / test.Count:F2}%";
            });
    }

    /// <summary>How many rows of (N × classes) logits have their maximum at the label.</summary>
    public static long CountCorrect(ReadOnlySpan<float> logits, ReadOnlySpan<float> labels, int classes)
    {
        long correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            ReadOnlySpan<float> row = logits.Slice(i * classes, classes);
            int best = 0;
            for (int j = 1; j < classes; j++)
            {
                if (row[j] > row[best])
                {
                    best = j;
                }
            }

            correct += best == (int)labels[i] ? 1 : 0;
        }

        return correct;
    }

    /// <summary>
    /// Gives the layer workloads' leaf gradients back before each run, as the <c>Trainer</c> does for parameters:
    /// libtorch's side asks <c>autograd.grad</c> for fresh gradients, SharpCnn's <c>Backward</c> puts a leaf's
    /// gradient in <c>Grad</c> (the rule's pooled result, taken over without a copy, its array exchanged with the
    /// recycled buffer), so neither engine copies or allocates a gradient per run.
    /// </summary>
    private sealed class GradientRecycler(Parameter[] leaves)
    {
        private readonly SGD _holder = new(leaves, lr: 0.01);

        public void Recycle() => _holder.RecycleGradients();
    }

    private static Tensor RandomLabels(int n, int classes)
    {
        var rng = new Random(3);
        return Tensor.FromArray([.. Enumerable.Range(0, n).Select(_ => (float)rng.Next(classes))]);
    }

    /// <summary>Uniform values in [−0.5, 0.5): no denormals, no overflow.</summary>
    public static float[] RandomArray(int length, int seed)
    {
        var rng = new Random(seed);
        float[] a = new float[length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = rng.NextSingle() - 0.5f;
        }

        return a;
    }
}
