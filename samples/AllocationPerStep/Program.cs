// Managed allocation, GC count and time per training step, with and without a TensorScope, in one process:
// rounds alternate a plain loop (every tensor a new array, as before the pool) and the same loop inside a
// TensorScope, then the Trainer (which scopes each step) runs one epoch.
// Usage: dotnet run --project samples/AllocationPerStep -c Release [-- MODEL [BATCH [STEPS [ROUNDS]]]]
//        MODEL is a zoo name (default lenet5); KernelParallel threads from SHARPCNN_THREADS (default all cores).
using System.Diagnostics;
using SharpCnn;
using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Training;
using SharpCnn.Vision.Models;
using KernelParallel = SharpCnn.Kernels.KernelParallel;

string name = args.Length > 0 ? args[0] : "lenet5";
int batch = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 64;
int steps = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 50;
int rounds = args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 3;
if (Environment.GetEnvironmentVariable("SHARPCNN_THREADS") is string threads)
{
    KernelParallel.MaxThreads = int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture);
}

ModelZooEntry entry = ModelZoo.Find(name);
var g = new Generator(1);
Module model = ModelZoo.Create(name);
var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9, nesterov: true);
Tensor x = Tensor.Randn(g, batch, entry.Input.C, entry.Input.H, entry.Input.W);
Tensor y = Tensor.FromArray([.. Enumerable.Range(0, batch).Select(i => (float)(i % 10))]);
Console.WriteLine($"{name}, batch {batch}, {steps} steps per phase, KernelParallel threads {KernelParallel.MaxThreads}");

// 0: plain PyTorch-style loop; 1: the same in a TensorScope; 2: also reusing gradient buffers (as the Trainer).
void Step(int variant)
{
    using TensorScope scope = variant > 0 ? TensorScope.Begin() : default;   // default: no scope
    if (variant == 2)
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

string[] names = ["no scope", "TensorScope", "+ RecycleGradients"];
for (int i = 0; i < Math.Max(5, steps / 5); i++)
{
    Step(0);
    Step(1);
    Step(2);
}

for (int r = 0; r < rounds; r++)
{
    for (int variant = 0; variant < 3; variant++)
    {
        Measure(names[variant], steps, () => Step(variant));
    }
}

// The Trainer: one epoch of steps + warm-up over shuffled copies of the batch, measured after the warm-up.
int warmup = Math.Max(5, steps / 5);
int n = batch * (warmup + steps);
var data = new TensorDataset(Tensor.Randn(g, n, entry.Input.C, entry.Input.H, entry.Input.W), [.. Enumerable.Range(0, n).Select(i => i % 10)]);
var trainer = new Trainer(model, optimizer, null, new DataLoader(data, batch, shuffle: true, seed: 1), null, g, new TrainerOptions { ModelName = name });
var probe = new Probe(warmup);
trainer.Fit(probe);
probe.Report(steps);
Console.WriteLine($"pool: {TensorScope.PooledFloats * 4 / 1e6:F1} MB idle after the run");

static void Measure(string what, int steps, Action step)
{
    var times = new double[steps];
    (long bytes, int g0, int g1, int g2, TimeSpan cpu) = Counters();
    for (int i = 0; i < steps; i++)
    {
        long t = Stopwatch.GetTimestamp();
        step();
        times[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
    }

    Array.Sort(times);
    Print(what, steps, Counters(), (bytes, g0, g1, g2, cpu), times[steps / 2]);
}

static (long Bytes, int Gen0, int Gen1, int Gen2, TimeSpan Cpu) Counters() =>
    (GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
     Process.GetCurrentProcess().TotalProcessorTime);

static void Print(string what, int steps, (long Bytes, int Gen0, int Gen1, int Gen2, TimeSpan Cpu) end,
    (long Bytes, int Gen0, int Gen1, int Gen2, TimeSpan Cpu) start, double medianMs) =>
    Console.WriteLine($"  {what,-18} {(end.Bytes - start.Bytes) / (double)steps / 1e6,7:F3} MB/step, " +
        $"GCs gen0/1/2 {end.Gen0 - start.Gen0}/{end.Gen1 - start.Gen1}/{end.Gen2 - start.Gen2}, " +
        $"median {medianMs:F2} ms, CPU {(end.Cpu - start.Cpu).TotalMilliseconds / steps:F2} ms/step");

internal sealed class Probe(int warmup) : ITrainingObserver
{
    private (long Bytes, int Gen0, int Gen1, int Gen2, TimeSpan Cpu) _start;
    private (long Bytes, int Gen0, int Gen1, int Gen2, TimeSpan Cpu) _end;
    private readonly List<double> _times = [];
    private long _last;

    public void BatchEnded(BatchProgress progress)
    {
        long now = Stopwatch.GetTimestamp();
        if (progress.Batch == warmup)
        {
            _start = Now();
        }
        else if (progress.Batch > warmup)
        {
            _times.Add(Stopwatch.GetElapsedTime(_last, now).TotalMilliseconds);
            _end = Now();
        }

        _last = Stopwatch.GetTimestamp();
    }

    public void Report(int steps)
    {
        _times.Sort();
        Console.WriteLine($"  {"Trainer",-18} {(_end.Bytes - _start.Bytes) / (double)steps / 1e6,7:F3} MB/step, " +
            $"GCs gen0/1/2 {_end.Gen0 - _start.Gen0}/{_end.Gen1 - _start.Gen1}/{_end.Gen2 - _start.Gen2}, " +
            $"median {_times[_times.Count / 2]:F2} ms, CPU {(_end.Cpu - _start.Cpu).TotalMilliseconds / steps:F2} ms/step");
    }

    private static (long, int, int, int, TimeSpan) Now() =>
        (GC.GetTotalAllocatedBytes(precise: true), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2),
         Process.GetCurrentProcess().TotalProcessorTime);
}
