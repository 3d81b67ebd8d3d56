namespace SharpCnn.Benchmarks.Suite;

/// <summary>
/// One benchmark workload. Each engine (SharpCnn, libtorch, ONNX Runtime) implements the workloads it can run;
/// the shapes and the FLOP counts live here, once.
/// </summary>
/// <param name="Name">Row label and what <c>--only</c> matches.</param>
/// <param name="Gflop">Nominal GFLOP per run (0: no GF/s column).</param>
/// <param name="InQuick">Whether <c>--quick</c> runs it.</param>
/// <param name="OwnProcess">
/// Whole-network workloads run in a child process per (engine, threads), so the peak resident memory (VmHWM)
/// belongs to that run alone: freed memory kept by one engine's allocator (the GC heap, glibc arenas) would
/// otherwise hide or inflate the next engine's peak.
/// </param>
public abstract record Workload(string Name, double Gflop, bool InQuick, bool OwnProcess)
{
    /// <summary>Images per run, for img/s (0: not a network workload).</summary>
    public virtual int Images => 0;

    /// <summary>How many timed runs at least, and the time budget that adds more.</summary>
    public virtual RepetitionPlan Plan(bool quick) => quick ? RepetitionPlan.Quick : RepetitionPlan.Full;
}

/// <summary>How long to warm up and how many runs to time; the median of the timed runs is reported.</summary>
public sealed record RepetitionPlan(int MinWarmup, double WarmupSeconds, int MaxWarmup, int MinReps, double BudgetSeconds, int MaxReps)
{
    public static RepetitionPlan Full { get; } = new(2, 0.5, 50, 10, 2.0, 200);

    public static RepetitionPlan Quick { get; } = new(1, 0.1, 5, 3, 0.3, 20);

    /// <summary>Networks of hundreds of milliseconds to seconds per run.</summary>
    public static RepetitionPlan Heavy { get; } = new(2, 0.0, 2, 5, 3.0, 20);
}

/// <summary>C[M×N] = A[M×K] · B[K×N], row-major, no transposes, C overwritten (β = 0).</summary>
public sealed record GemmWorkload(int M, int K, int N, bool Quick)
    : Workload($"sgemm {M}x{K}x{N} (MxKxN)", 2.0 * M * K * N / 1e9, Quick, OwnProcess: false)
{
    public override RepetitionPlan Plan(bool quick) =>
        !quick && Gflop > 50 ? RepetitionPlan.Heavy : base.Plan(quick);
}

/// <summary>
/// conv2d on (N, C, H, W) with K output channels and an R×S kernel. Forward runs without autograd; fwd+bwd
/// computes dW, db and (unless <see cref="NoInputGrad"/>, as for a first layer) dX from a fixed dY.
/// </summary>
public sealed record ConvWorkload(string Layer, int N, int C, int H, int W, int K, int R, int S, int Stride, int Pad, bool Bias, bool NoInputGrad, bool Backward, bool Quick)
    : Workload(
        $"conv {Layer}: N{N} C{C} {H}x{W} K{K} {R}x{S}{(Stride > 1 ? $" s{Stride}" : "")}{(Pad > 0 ? $" p{Pad}" : "")}{(Bias ? " +bias" : "")} {(Backward ? NoInputGrad ? "fwd+bwd (no dX)" : "fwd+bwd" : "fwd")}",
        Flops(N, C, K, R, S, (H + (2 * Pad) - R) / Stride + 1, (W + (2 * Pad) - S) / Stride + 1, Backward, NoInputGrad),
        Quick,
        OwnProcess: false)
{
    public int OutH => (H + (2 * Pad) - R) / Stride + 1;

    public int OutW => (W + (2 * Pad) - S) / Stride + 1;

    /// <summary>Nominal FLOPs (padded taps included, as perf-baseline §2a): forward 2·N·K·C·R·S·P·Q; fwd+bwd 3× (2× without dX).</summary>
    private static double Flops(int n, int c, int k, int r, int s, int p, int q, bool backward, bool noInputGrad)
    {
        double forward = 2.0 * n * k * c * r * s * p * q / 1e9;
        return !backward ? forward : noInputGrad ? 2 * forward : 3 * forward;
    }
}

/// <summary>max_pool2d 2×2 stride 2 on (N, C, H, W); forward without autograd, or forward + backward from a fixed dY.</summary>
public sealed record MaxPoolWorkload(int N, int C, int H, int W, bool Backward)
    : Workload($"max_pool2d 2x2 s2 ({N},{C},{H},{W}) {(Backward ? "fwd+bwd" : "fwd")}", 0, true, OwnProcess: false);

/// <summary>batch_norm in training mode (batch statistics, running stats updated, affine) on (N, C, H, W).</summary>
public sealed record BatchNormWorkload(int N, int C, int H, int W, bool Backward)
    : Workload($"batch_norm train ({N},{C},{H},{W}) {(Backward ? "fwd+bwd" : "fwd")}", 0, true, OwnProcess: false)
{
    /// <summary>Floats in x (and in y, dy, dx).</summary>
    public long Floats => (long)N * C * H * W;

    /// <summary>
    /// The DRAM traffic of a two-pass batch norm (docs/performance.md, "Batch norm fwd+bwd: … the byte budget"): the
    /// forward reads x once and writes y (read 1 + write 1); the backward reads dy and x and writes dx (read 2 + write 1).
    /// </summary>
    public (double ReadOneWriteOne, double ReadTwoWriteOne) Bytes => (2.0 * Floats * 4, Backward ? 3.0 * Floats * 4 : 0);
}

/// <summary>
/// SharpCnn only: the memory bandwidth the batch-norm rows live on, measured in the same run. Each repetition reads
/// <see cref="Reads"/> tensors of <see cref="Floats"/> floats and writes one with non-temporal stores (dst = a, or
/// dst = a + b), the threads taking contiguous halves, as the batch-norm forward (read x, write y) and backward (read
/// dy and x, write dx) do. Three sets of sources take turns, so the L3 (32 MiB) never holds the next repetition's input:
/// the rate is DRAM's. The report turns it into the batch-norm rows' DRAM bound (<see cref="Report.BoundNotes"/>).
/// The name contains "batch_norm", so <c>--only batch_norm</c> runs them with the rows they bound.
/// </summary>
public sealed record MemoryStreamWorkload(int Reads, long Floats)
    : Workload($"memory stream {Floats * 4 / 1e6:0.0} MB: read {Reads} + streaming write 1 (batch_norm bound)", 0, true, OwnProcess: false)
{
    /// <summary>Bytes moved per repetition: the reads and the write.</summary>
    public double Bytes => (Reads + 1) * Floats * 4.0;
}

/// <summary>The whole networks: LeNet-5 (modern form) and torchvision's ResNet-18.</summary>
public enum NetworkTask
{
    /// <summary>LeNet-5 training step on random data: zero grads, forward, cross-entropy, backward, SGD (momentum 0.9).</summary>
    LeNetTrainStep,

    /// <summary>One epoch of LeNet-5 on the 60,000 MNIST training images, shuffled, batching included.</summary>
    LeNetMnistEpoch,

    /// <summary>ResNet-18 in eval mode without autograd on random 224×224 images.</summary>
    ResNet18Inference,

    /// <summary>ResNet-18 training step: zero grads, forward, cross-entropy, backward, SGD (momentum 0.9).</summary>
    ResNet18TrainStep,
}

/// <summary>A whole-network workload, run in its own process per engine and thread count.</summary>
public sealed record NetworkWorkload(NetworkTask Task, int Batch, bool Quick)
    : Workload(Label(Task, Batch), Flops(Task, Batch), Quick, OwnProcess: true)
{
    /// <summary>LeNet-5 forward MACs per image: conv1 6·28·28·25 + conv2 16·10·10·150 + FC 400·120 + 120·84 + 84·10.</summary>
    public const double LeNetMacs = 117_600 + 240_000 + 48_000 + 10_080 + 840;

    /// <summary>LeNet-5 conv1 MACs per image (its dX is not computed in training).</summary>
    public const double LeNetConv1Macs = 117_600;

    /// <summary>ResNet-18 forward MACs per 224×224 image (perf-baseline §2e: 3.628 GFLOP).</summary>
    public const double ResNet18Macs = 1.814e9;

    /// <summary>ResNet-18 conv1 (7×7, 3→64, 112×112) MACs per image: its dX is not computed in training.</summary>
    public const double ResNet18Conv1Macs = 64.0 * 3 * 49 * 112 * 112;

    /// <summary>Training steps in one MNIST epoch at this batch size (60,000 images, last batch partial).</summary>
    public int Steps => Task == NetworkTask.LeNetMnistEpoch ? (60_000 + Batch - 1) / Batch : 1;

    public override int Images => Task == NetworkTask.LeNetMnistEpoch ? 60_000 : Batch;

    public override RepetitionPlan Plan(bool quick) => Task switch
    {
        // One epoch is the measurement; the engine warms up on a few batches first.
        NetworkTask.LeNetMnistEpoch => new RepetitionPlan(0, 0, 0, 1, 0, 1),
        NetworkTask.LeNetTrainStep => base.Plan(quick),
        _ => quick ? RepetitionPlan.Quick with { MinReps = 3, BudgetSeconds = 0 } : RepetitionPlan.Heavy,
    };

    private static string Label(NetworkTask task, int batch) => task switch
    {
        NetworkTask.LeNetTrainStep => $"lenet5 train step b{batch} (SGD momentum)",
        NetworkTask.LeNetMnistEpoch => $"lenet5 MNIST epoch b{batch} (60k images, SGD momentum)",
        NetworkTask.ResNet18Inference => $"resnet18 inference b{batch} (eval, no grad)",
        NetworkTask.ResNet18TrainStep => $"resnet18 train step b{batch} (SGD momentum)",
        _ => throw new ArgumentOutOfRangeException(nameof(task)),
    };

    // Training = forward + dX + dW (3× forward) less the first layer's dX.
    private static double Flops(NetworkTask task, int batch) => task switch
    {
        NetworkTask.LeNetTrainStep => 2 * batch * ((3 * LeNetMacs) - LeNetConv1Macs) / 1e9,
        NetworkTask.LeNetMnistEpoch => 2 * 60_000 * ((3 * LeNetMacs) - LeNetConv1Macs) / 1e9,
        NetworkTask.ResNet18Inference => 2 * batch * ResNet18Macs / 1e9,
        NetworkTask.ResNet18TrainStep => 2 * batch * ((3 * ResNet18Macs) - ResNet18Conv1Macs) / 1e9,
        _ => 0,
    };
}

/// <summary>The workload list, in the order of the issue: GEMM, layers, pooling/normalisation, networks.</summary>
public static class Workloads
{
    public static IReadOnlyList<Workload> All { get; } = Build();

    private static List<Workload> Build()
    {
        var list = new List<Workload>
        {
            new GemmWorkload(256, 256, 256, Quick: true),
            new GemmWorkload(1024, 1024, 1024, Quick: true),
            new GemmWorkload(4096, 4096, 4096, Quick: false),
            new GemmWorkload(64, 576, 100352, Quick: false),
        };

        // perf-baseline §2a: (label, N, C, H=W, K, kernel, stride, pad, bias, no dX, in --quick).
        (string Layer, int N, int C, int Hw, int K, int R, int Stride, int Pad, bool Bias, bool NoDx, bool Quick)[] convs =
        [
            ("MNIST conv1", 64, 1, 28, 32, 5, 1, 2, true, true, true),
            ("MNIST conv2", 64, 32, 14, 64, 5, 1, 2, true, false, true),
            ("3x3", 64, 32, 14, 64, 3, 1, 1, true, false, false),
            ("ResNet conv1", 32, 3, 224, 64, 7, 2, 3, false, true, false),
            ("ResNet layer1", 32, 64, 56, 64, 3, 1, 1, false, false, false),
            ("ResNet layer2", 32, 128, 28, 128, 3, 1, 1, false, false, false),
            ("ResNet layer3", 32, 256, 14, 256, 3, 1, 1, false, false, false),
            ("ResNet layer4", 32, 512, 7, 512, 3, 1, 1, false, false, false),
            ("layer2 downsample", 32, 64, 56, 128, 3, 2, 1, false, false, false),
            ("bottleneck 1x1", 32, 256, 56, 64, 1, 1, 0, false, false, false),
            ("batch 1", 1, 64, 56, 64, 3, 1, 1, false, false, true),
        ];
        foreach (var c in convs)
        {
            foreach (bool backward in new[] { false, true })
            {
                list.Add(new ConvWorkload(c.Layer, c.N, c.C, c.Hw, c.Hw, c.K, c.R, c.R, c.Stride, c.Pad, c.Bias, c.NoDx, backward, c.Quick));
            }
        }

        list.Add(new MaxPoolWorkload(64, 32, 28, 28, Backward: false));
        list.Add(new MaxPoolWorkload(64, 32, 28, 28, Backward: true));
        list.Add(new MemoryStreamWorkload(1, 32L * 64 * 56 * 56));
        list.Add(new MemoryStreamWorkload(2, 32L * 64 * 56 * 56));
        list.Add(new BatchNormWorkload(32, 64, 56, 56, Backward: false));
        list.Add(new BatchNormWorkload(32, 64, 56, 56, Backward: true));
        list.Add(new NetworkWorkload(NetworkTask.LeNetTrainStep, 64, Quick: true));
        list.Add(new NetworkWorkload(NetworkTask.LeNetMnistEpoch, 64, Quick: false));
        list.Add(new NetworkWorkload(NetworkTask.ResNet18Inference, 1, Quick: true));
        list.Add(new NetworkWorkload(NetworkTask.ResNet18Inference, 16, Quick: false));
        list.Add(new NetworkWorkload(NetworkTask.ResNet18TrainStep, 16, Quick: false));
        return list;
    }
}
