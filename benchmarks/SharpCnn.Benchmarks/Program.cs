using System.Diagnostics;
using SharpCnn;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using Gemm = SharpCnn.Kernels.Gemm;
using KernelParallel = SharpCnn.Kernels.KernelParallel;

// Stopwatch benchmarks: medians of repeated runs after a warm-up. Compare only against peers run on the
// same machine in the same session (this box is noisy). Usage: dotnet run -c Release -- [threads]
int threads = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : Environment.ProcessorCount;
KernelParallel.MaxThreads = threads;
Console.WriteLine($"threads {threads}, Vector512 {System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated}, GEMM variant {Gemm.SelectedVariant}");

foreach (int size in new[] { 256, 512, 1024 })
{
    var a = new float[size * size];
    var b = new float[size * size];
    var c = new float[size * size];
    double ms = Median(() => Gemm.Multiply(false, false, size, size, size, a, size, b, size, c, size, accumulate: false), 5);
    Console.WriteLine($"sgemm {size}³: {ms:F2} ms = {2.0 * size * size * size / ms / 1e6:F0} GF/s");
}

// LeNet-5 (modern form) train step, batch 64, SGD with Nesterov momentum.
var model = new Sequential(
    new Conv2d(1, 6, 5, padding: 2), new ReLU(), new MaxPool2d(2),
    new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(400, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, 10));
var opt = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9, nesterov: true);
Tensor x = Tensor.Randn(new Generator(1), 64, 1, 28, 28);
Tensor y = Tensor.FromArray(Enumerable.Range(0, 64).Select(i => (float)(i % 10)).ToArray());
double step = Median(() =>
{
    opt.ZeroGrad();
    Tensor loss = F.CrossEntropy(model.Forward(x), y);
    loss.Backward();
    opt.Step();
}, 30);
Console.WriteLine($"LeNet-5 train step b64: {step:F2} ms = {64 / step * 1000:F0} img/s");

static double Median(Action action, int reps)
{
    for (int i = 0; i < 3; i++)
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
