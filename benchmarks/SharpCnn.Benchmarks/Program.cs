using System.Diagnostics;
using SharpCnn;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Vision.Models;
using Conv2dGeometry = SharpCnn.Kernels.Conv2dGeometry;
using ConvKernel = SharpCnn.Kernels.Conv2d;
using Gemm = SharpCnn.Kernels.Gemm;
using KernelParallel = SharpCnn.Kernels.KernelParallel;
using Pool2d = SharpCnn.Kernels.Pool2d;
using Pool2dGeometry = SharpCnn.Kernels.Pool2dGeometry;

// Stopwatch benchmarks: medians of repeated runs after a warm-up. Compare only against peers run on the
// same machine in the same session (this box is noisy). Usage: dotnet run -c Release -- [threads] [models [NAME...]]
// `suite [options]` runs the workloads of `./sharpcnn bench` for SharpCnn alone (no peer packages needed);
// the peers (libtorch, ONNX Runtime) live in ../SharpCnn.Benchmarks.Peers, outside SharpCnn.slnx.
if (args is ["transforms-accuracy", .. string[] accuracyArgs])
{
    SharpCnn.Benchmarks.TransformBench.Accuracy(accuracyArgs);
    return;
}

if (args is ["transforms", .. string[] transformArgs])
{
    SharpCnn.Benchmarks.TransformBench.Run(transformArgs);
    return;
}

if (args is ["suite", .. string[] suiteArgs])
{
    Environment.ExitCode = SharpCnn.Benchmarks.Suite.BenchSuite.Run(suiteArgs, [new SharpCnn.Benchmarks.Suite.SharpCnnEngine()], ["suite"]);
    return;
}

int threads = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : Environment.ProcessorCount;
KernelParallel.MaxThreads = threads;
Console.WriteLine($"threads {threads}, Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, GEMM variant {Gemm.SelectedVariant}");
if (args.Length > 1 && args[1] == "models")
{
    // Zoo models: eval-mode forward of one image at the model's default input, no autograd.
    string[] names = args.Length > 2 ? args[2..] : ["resnet18", "resnet50", "googlenet", "alexnet", "vgg16", "resnet20"];
    foreach (string name in names)
    {
        ModelZooEntry entry = ModelZoo.Find(name);
        Module net = ModelZoo.Create(name).Eval();
        Tensor input = Tensor.Randn(new Generator(1), 1, entry.Input.C, entry.Input.H, entry.Input.W);
        double ms;
        using (SharpCnn.Autograd.Autograd.NoGrad())
        {
            ms = Median(() => net.Call(input), 15, warmup: 5);
        }

        Console.WriteLine($"{name} forward, batch 1, {entry.Input.C}x{entry.Input.H}x{entry.Input.W}: {ms:F1} ms (median of 15 after 5 warm-up runs)");
    }

    return;
}

foreach (int size in new[] { 256, 512, 1024 })
{
    var a = new float[size * size];
    var b = new float[size * size];
    var c = new float[size * size];
    double ms = Median(() => Gemm.Multiply(false, false, size, size, size, a, size, b, size, c, size, accumulate: false), 5);
    Console.WriteLine($"sgemm {size}³: {ms:F2} ms = {2.0 * size * size * size / ms / 1e6:F0} GF/s");
}

// Per-kernel breakdown of the LeNet-5 step at batch 64 (the kernels alone, no autograd or allocation).
// SHARPCNN_KERNEL=Conv2dIm2ColGemm,MaxPool2dScalar runs the variants that were the only ones before.
var conv1 = new Conv2dGeometry(64, 1, 28, 28, 6, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2);
var conv2 = new Conv2dGeometry(64, 6, 14, 14, 16, 5, 5);
var pool1 = new Pool2dGeometry(64, 6, 28, 28, 2, 2, 2, 2, 0, 0);
var pool2 = new Pool2dGeometry(64, 16, 10, 10, 2, 2, 2, 2, 0, 0);
Console.WriteLine($"conv variants: conv1 {ConvKernel.SelectedVariant(conv1)}, conv2 {ConvKernel.SelectedVariant(conv2)}; pool {Pool2d.SelectedMaxVariant(pool1)}");
BenchConv("conv1 1→6 5×5 pad 2, 28×28", conv1, backwardData: true); // not needed in training (input has no grad)
BenchConv("conv2 6→16 5×5, 14×14", conv2, backwardData: true);
// Two non-LeNet shapes that the selection rule also sends to the direct kernels (CIFAR-sized, stride 1, ≤16 outputs).
BenchConv("cifar 3→16 3×3 pad 1, 32×32", new Conv2dGeometry(64, 3, 32, 32, 16, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), backwardData: true);
BenchConv("cifar 16→16 3×3 pad 1, 32×32", new Conv2dGeometry(64, 16, 32, 32, 16, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), backwardData: true);
BenchPool("maxpool1 (64,6,28,28)", pool1);
BenchPool("maxpool2 (64,16,10,10)", pool2);
foreach ((int inF, int outF) in new[] { (400, 120), (120, 84), (84, 10) })
{
    var xin = new float[64 * inF];
    var w = new float[outF * inF];
    var yout = new float[64 * outF];
    var gx = new float[64 * inF];
    var gw = new float[outF * inF];
    double f = Median(() => Gemm.Multiply(false, true, 64, outF, inF, xin, inF, w, inF, yout, outF, accumulate: false), 50);
    double bd = Median(() => Gemm.Multiply(false, false, 64, inF, outF, yout, outF, w, inF, gx, inF, accumulate: false), 50);
    double bw = Median(() => Gemm.Multiply(true, false, outF, inF, 64, yout, outF, xin, inF, gw, inF, accumulate: false), 50);
    Console.WriteLine($"  linear {inF}→{outF}: fwd {f:F3} ms, bwd-data {bd:F3} ms, bwd-weight {bw:F3} ms");
}

// LeNet-5 (modern form) train step, batch 64, SGD with Nesterov momentum.
var model = new Sequential(
    new Conv2d(1, 6, 5, padding: 2), new ReLU(), new MaxPool2d(2),
    new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(400, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, 10));
var opt = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9, nesterov: true);
Tensor x = Tensor.Randn(new Generator(1), 64, 1, 28, 28);
Tensor y = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (float)(i % 10)).ToArray());
void TrainStep()
{
    opt.ZeroGrad();
    Tensor loss = F.CrossEntropy(model.Forward(x), y);
    loss.Backward();
    opt.Step();
}

double step = Median(TrainStep, 30, warmup: 20);
Console.WriteLine($"LeNet-5 train step b64: {step:F2} ms = {64 / step * 1000:F0} img/s");

// Managed allocation per step: tensors live on the GC heap (no pool yet), kernel workspaces come from ArrayPool.
long bytes0 = GC.GetTotalAllocatedBytes(precise: true);
int gen0 = GC.CollectionCount(0);
int gen2 = GC.CollectionCount(2);
const int AllocSteps = 50;
for (int i = 0; i < AllocSteps; i++)
{
    TrainStep();
}

Console.WriteLine($"  allocated {(GC.GetTotalAllocatedBytes(precise: true) - bytes0) / AllocSteps / 1e6:F2} MB per step; " +
    $"GCs over {AllocSteps} steps: gen0 {GC.CollectionCount(0) - gen0}, gen2 {GC.CollectionCount(2) - gen2}");

static void BenchConv(string name, Conv2dGeometry g, bool backwardData)
{
    var x = new float[g.InputLength];
    var w = new float[g.WeightLength];
    var b = new float[g.OutChannels];
    var y = new float[g.OutputLength];
    var dx = new float[g.InputLength];
    var dw = new float[g.WeightLength];
    var rng = new Random(1);
    for (int i = 0; i < x.Length; i++)
    {
        x[i] = rng.NextSingle() - 0.5f;
    }

    for (int i = 0; i < w.Length; i++)
    {
        w[i] = rng.NextSingle() - 0.5f;
    }

    double flop = 2.0 * g.OutputLength * g.WeightLength / g.OutChannels;
    double f = Median(() => ConvKernel.Forward(x, w, b, g, y), 20);
    double bd = backwardData ? Median(() => ConvKernel.BackwardData(y, w, g, dx), 20) : double.NaN;
    double bw = Median(() => ConvKernel.BackwardWeight(y, x, g, dw, b), 20);
    Console.WriteLine($"  {name}: fwd {f:F3} ms ({flop / f / 1e6:F0} GF/s), bwd-data {bd:F3} ms, bwd-weight {bw:F3} ms ({flop / bw / 1e6:F0} GF/s)");
}

static void BenchPool(string name, Pool2dGeometry g)
{
    var x = new float[g.InputLength];
    var rng = new Random(2);
    for (int i = 0; i < x.Length; i++)
    {
        x[i] = rng.NextSingle();
    }

    var y = new float[g.OutputLength];
    var arg = new int[g.OutputLength];
    var gi = new float[g.InputLength];
    double f = Median(() => Pool2d.MaxForward(x, g, y, arg), 50);
    double bk = Median(() => Pool2d.MaxBackward(y, arg, g, gi), 50);
    Console.WriteLine($"  {name}: fwd {f:F3} ms, bwd {bk:F3} ms");
}

// Warm-up also lets tiered JIT compilation reach its optimised code for kernels without AggressiveOptimization.
static double Median(Action action, int reps, int warmup = 3)
{
    for (int i = 0; i < warmup; i++)
    {
        action();
    }

    var times = new double[reps];
    for (int i = 0; i < reps; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        action();
        times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    Array.Sort(times);
    return times[reps / 2];
}
