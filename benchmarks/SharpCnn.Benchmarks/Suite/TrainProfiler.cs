using System.Diagnostics;
using System.Globalization;
using SharpCnn.Autograd;
using SharpCnn.Functional;
using SharpCnn.Kernels;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Vision.Models;
using Conv2dGeometry = SharpCnn.Kernels.Conv2dGeometry;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>
/// <c>./sharpcnn bench --profile MODEL-train</c>: where a training step (the bench's: a <see cref="TensorScope"/>,
/// <see cref="Optimizer.RecycleGradients"/>, forward, cross-entropy, backward, SGD with momentum) spends its time, op
/// by op (<see cref="OpTimings"/>: every recorded forward op, every backward rule, every leaf accumulation) and
/// convolution by convolution (<see cref="Conv2dTimings"/>: forward, backward-data and backward-weight kernels), for
/// each thread count side by side, so that what scales badly from 1 to 2 threads shows.
/// </summary>
/// <remarks>
/// Nothing is hooked, so the step runs the benchmark's path. A forward op is timed from the previous recorded op, so
/// its time includes the module calls around it. Each row: the minimum over the timed steps of its per-step sum.
/// </remarks>
public static class TrainProfiler
{
    /// <summary>Profiles the training step of <paramref name="entry"/> at each batch size and thread count and prints the tables.</summary>
    public static int Run(ModelZooEntry entry, IReadOnlyList<int> batches, IReadOnlyList<int> threads, int repeats)
    {
        Console.WriteLine($"profile {entry.Name} training step (TensorScope, RecycleGradients, forward, cross-entropy, backward, SGD momentum 0.9); " +
            $"load average {MachineInfo.LoadAverage()}; thread counts interleaved step by step on one model, minimum of {repeats} steps after 3 warm-up steps");
        foreach (int batch in batches)
        {
            List<StepProfile> results = Profile(entry, batch, threads, repeats);

            Print(entry, batch, threads, results);
        }

        Console.WriteLine($"load average at the end {MachineInfo.LoadAverage()}");
        return 0;
    }

    /// <summary>Ms per row label (minimum over the timed steps), rows in first-seen order, and calls per step.</summary>
    private sealed class StepProfile
    {
        public List<string> Order { get; } = [];

        public Dictionary<string, double> Rows { get; } = [];

        public Dictionary<string, int> Counts { get; } = [];
    }

    /// <summary>
    /// Runs the steps of all thread counts interleaved on one model (step r at 1 thread, then at 2, ...), so that a
    /// change of the machine's load hits every thread count alike; each row's figure is the minimum over the timed
    /// steps of its per-step sum (the least disturbed step; on a shared box medians mostly measure the load).
    /// </summary>
    private static List<StepProfile> Profile(ModelZooEntry entry, int batch, IReadOnlyList<int> threads, int repeats)
    {
        Module model = ModelZoo.Create(entry.Name).Train();
        Tensor input = Tensor.Randn(new Generator(1), batch, entry.Input.C, entry.Input.H, entry.Input.W);
        var rng = new Random(3);
        Tensor labels = Tensor.FromArray([.. Enumerable.Range(0, batch).Select(_ => (float)rng.Next(entry.Classes))]);
        var optimizer = new SGD(model.Parameters(), lr: 0.01, momentum: 0.9);

        var runs = threads.Select(_ => new Dictionary<string, List<double>>()).ToArray();
        var order = new List<string>();
        var counts = new Dictionary<string, int>();
        for (int r = -3; r < repeats; r++)
        {
            for (int ti = 0; ti < threads.Count; ti++)
            {
                KernelParallel.MaxThreads = threads[ti];
                Dictionary<string, double>? step = Step(model, input, labels, optimizer, timed: r >= 0, r == 0 && ti == 0 ? counts : null, order);
                if (step is null)
                {
                    continue;
                }

                foreach ((string key, double ms) in step)
                {
                    (runs[ti].TryGetValue(key, out List<double>? list) ? list : runs[ti][key] = []).Add(ms);
                }
            }
        }

        var profiles = new List<StepProfile>();
        for (int ti = 0; ti < threads.Count; ti++)
        {
            var profile = new StepProfile();
            foreach (string key in order)
            {
                profile.Order.Add(key);
                profile.Rows[key] = runs[ti].TryGetValue(key, out List<double>? list) ? list.Min() : 0;
                profile.Counts[key] = counts.GetValueOrDefault(key);
            }

            profiles.Add(profile);
        }

        return profiles;
    }

    /// <summary>One training step; when timed, the per-step sum of every row (null when not timed).</summary>
    private static Dictionary<string, double>? Step(Module model, Tensor input, Tensor labels, SGD optimizer, bool timed,
        Dictionary<string, int>? counts, List<string> order)
    {
        var step = new Dictionary<string, double>();
        void Add(string key, double ms)
        {
            if (!step.TryAdd(key, ms))
            {
                step[key] += ms;
            }

            if (counts is not null)
            {
                counts[key] = counts.GetValueOrDefault(key) + 1;
                if (!order.Contains(key))
                {
                    order.Add(key);
                }
            }
        }

        Conv2dTimings.Drain();
        OpTimings.Drain();
        long t0 = Stopwatch.GetTimestamp();
        long t1, t2, t3, t4;
        using (TensorScope.Begin())
        {
            optimizer.RecycleGradients();
            t1 = Stopwatch.GetTimestamp();
            Conv2dTimings.Enabled = timed;
            OpTimings.Enabled = timed;
            Tensor loss = F.CrossEntropy(model.Call(input), labels);
            t2 = Stopwatch.GetTimestamp();
            loss.Backward();
            t3 = Stopwatch.GetTimestamp();
            OpTimings.Enabled = false;
            Conv2dTimings.Enabled = false;
            optimizer.Step();
            t4 = Stopwatch.GetTimestamp();
        }

        long t5 = Stopwatch.GetTimestamp();
        if (!timed)
        {
            return null;
        }

        static double Ms(long a, long b) => Stopwatch.GetElapsedTime(a, b).TotalMilliseconds;
        Add("step", Ms(t0, t5));
        Add("recycle gradients", Ms(t0, t1));
        Add("forward + loss", Ms(t1, t2));
        Add("backward", Ms(t2, t3));
        Add("optimizer step", Ms(t3, t4));
        Add("scope end", Ms(t4, t5));

        foreach (OpTiming op in OpTimings.Drain())
        {
            string name = op.Name.EndsWith("Backward", StringComparison.Ordinal) ? op.Name[..^"Backward".Length] : op.Name;
            switch (op.Phase)
            {
                case OpPhase.Forward:
                    Add($"fwd {name}", op.Milliseconds);
                    break;
                case OpPhase.Backward:
                    Add($"bwd {name}", op.Milliseconds);
                    Add("bwd sums into pending gradients + release", op.SumMilliseconds);
                    break;
                default:
                    Add("bwd AccumulateGrad (into leaf .Grad)", op.Milliseconds);
                    break;
            }
        }

        foreach (Conv2dTiming c in Conv2dTimings.Drain())
        {
            string pass = c.Pass switch
            {
                Conv2dPass.Forward => "fwd",
                Conv2dPass.BackwardData => "bwd-data",
                _ => "bwd-weight",
            };
            Add($"  conv {pass} {c.Variant}", c.Milliseconds);
            Add($"layer {Shape(c.Geometry)} | {pass} {c.Variant}", c.Milliseconds);
        }

        return step;
    }

    private static string Shape(in Conv2dGeometry g) =>
        string.Create(CultureInfo.InvariantCulture, $"{g.InChannels,3}->{g.OutChannels,3} {g.Height,3}x{g.Width,-3} {g.KernelH}x{g.KernelW}/{g.StrideH}");

    private static void Print(ModelZooEntry entry, int batch, IReadOnlyList<int> threads, List<StepProfile> results)
    {
        StepProfile first = results[0], last = results[^1];
        double step = last.Rows.GetValueOrDefault("step");
        Console.WriteLine();
        Console.WriteLine($"== {entry.Name} training step, batch {batch}: " +
            string.Join(", ", threads.Select((t, i) => $"{t}T {results[i].Rows.GetValueOrDefault("step"):F1} ms")));
        string header = $"{"row",-58} {"n",4}" + string.Concat(threads.Select(t => $" {t + "T ms",10}")) +
            $" {"speed-up",8} {"% of " + threads[^1] + "T",8} {"lost ms",8}";

        void Table(IEnumerable<string> keys)
        {
            Console.WriteLine(header);
            foreach (string key in keys)
            {
                double a = first.Rows.GetValueOrDefault(key), b = last.Rows.GetValueOrDefault(key);
                // "lost": what this row costs on the last thread count beyond a perfect split of its first-count time.
                double lost = b - (a * threads[0] / threads[^1]);
                Console.WriteLine($"{key,-58} {first.Counts.GetValueOrDefault(key),4}" +
                    string.Concat(results.Select(r => $" {r.Rows.GetValueOrDefault(key),10:F3}")) +
                    $" {(b > 0 ? a / b : 0),8:F2} {(step > 0 ? 100 * b / step : 0),8:F1} {lost,8:F2}");
            }
        }

        Console.WriteLine();
        Table(first.Order.Where(k => !k.StartsWith("layer ", StringComparison.Ordinal)));
        Console.WriteLine();
        Console.WriteLine("convolutions by layer shape (n = calls per step, summed):");
        Table(first.Order.Where(k => k.StartsWith("layer ", StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal));
    }
}
