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

        // One more step on the last thread count with every parallel job logged: per op, its jobs' blocks and how long
        // the caller waited at the end of each job for a helper's last block.
        KernelParallel.MaxThreads = threads[^1];
        var ops = new List<OpTiming>();
        var log = new List<(int Count, int Blocks, long Ticks, long WaitTicks)>();
        KernelParallelStats.Log = log;
        Step(model, input, labels, optimizer, timed: true, null, [], ops);
        KernelParallelStats.Log = null;
        PrintJobs(threads[^1], ops, log);

        var profiles = new List<StepProfile>();
        for (int ti = 0; ti < threads.Count; ti++)
        {
            var profile = new StepProfile();
            foreach (string key in order)
            {
                profile.Order.Add(key);
                if (!runs[ti].TryGetValue(key, out List<double>? list) || list.Count == 0)
                {
                    continue;
                }

                // The parallel part comes from the same step as the row's minimum (every timed step has the same rows).
                int best = list.IndexOf(list.Min());
                profile.Rows[key] = list[best];
                foreach (string prefix in (string[])["par|", "cpu|"])
                {
                    if (runs[ti].TryGetValue(prefix + key, out List<double>? extra) && extra.Count == list.Count)
                    {
                        // CPU time is taken as its own minimum: load inflates it only through the caches.
                        profile.Rows[prefix + key] = prefix == "cpu|" ? extra.Min() : extra[best];
                    }
                }

                profile.Counts[key] = counts.GetValueOrDefault(key);
            }

            profiles.Add(profile);
        }

        return profiles;
    }

    /// <summary>One training step; when timed, the per-step sum of every row (null when not timed).</summary>
    private static Dictionary<string, double>? Step(Module model, Tensor input, Tensor labels, SGD optimizer, bool timed,
        Dictionary<string, int>? counts, List<string> order, List<OpTiming>? opsOut = null)
    {
        var step = new Dictionary<string, double>();
        void Add(string key, double ms, double parallelMs = -1, double cpuMs = -1)
        {
            if (cpuMs >= 0)
            {
                string cpu = "cpu|" + key;
                step[cpu] = step.GetValueOrDefault(cpu) + cpuMs;
            }

            if (!step.TryAdd(key, ms))
            {
                step[key] += ms;
            }

            if (parallelMs >= 0)
            {
                string par = "par|" + key;
                step[par] = step.GetValueOrDefault(par) + parallelMs;
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
        KernelParallelStats.Enabled = timed;
        KernelParallelStats.CpuClock = timed && OperatingSystem.IsLinux() ? ThreadCpuNanoseconds : null;
        long[] par = new long[6];
        long t0 = Stopwatch.GetTimestamp();
        long t1, t2, t3, t4;
        par[0] = KernelParallelStats.Ticks;
        using (TensorScope.Begin())
        {
            optimizer.RecycleGradients();
            par[1] = KernelParallelStats.Ticks;
            t1 = Stopwatch.GetTimestamp();
            Conv2dTimings.Enabled = timed;
            OpTimings.Enabled = timed;
            Tensor loss = F.CrossEntropy(model.Call(input), labels);
            t2 = Stopwatch.GetTimestamp();
            par[2] = KernelParallelStats.Ticks;
            loss.Backward();
            t3 = Stopwatch.GetTimestamp();
            par[3] = KernelParallelStats.Ticks;
            OpTimings.Enabled = false;
            Conv2dTimings.Enabled = false;
            optimizer.Step();
            t4 = Stopwatch.GetTimestamp();
            par[4] = KernelParallelStats.Ticks;
        }

        long t5 = Stopwatch.GetTimestamp();
        par[5] = KernelParallelStats.Ticks;
        KernelParallelStats.Enabled = false;
        KernelParallelStats.CpuClock = null;
        if (!timed)
        {
            return null;
        }

        static double Ms(long a, long b) => Stopwatch.GetElapsedTime(a, b).TotalMilliseconds;
        double Par(int a, int b) => (par[b] - par[a]) * 1000.0 / Stopwatch.Frequency;
        Add("step", Ms(t0, t5), Par(0, 5));
        Add("recycle gradients", Ms(t0, t1), Par(0, 1));
        Add("forward + loss", Ms(t1, t2), Par(1, 2));
        Add("backward", Ms(t2, t3), Par(2, 3));
        Add("optimizer step", Ms(t3, t4), Par(3, 4));
        Add("scope end", Ms(t4, t5), Par(4, 5));

        IReadOnlyList<OpTiming> opList = OpTimings.Drain();
        opsOut?.AddRange(opList);
        Add("all recorded ops (forward, backward, sums)", opList.Sum(o => o.Milliseconds + o.SumMilliseconds),
            opList.Sum(o => o.ParallelMilliseconds), opList.Sum(o => o.CpuMilliseconds));
        foreach (OpTiming op in opList)
        {
            string name = op.Name.EndsWith("Backward", StringComparison.Ordinal) ? op.Name[..^"Backward".Length] : op.Name;
            switch (op.Phase)
            {
                case OpPhase.Forward:
                    Add($"fwd {name}", op.Milliseconds, op.ParallelMilliseconds, op.CpuMilliseconds);
                    break;
                case OpPhase.Backward:
                    // The parallel time of a node is mostly its rule's; the sums after it are split elementwise adds.
                    Add($"bwd {name}", op.Milliseconds, op.ParallelMilliseconds, op.CpuMilliseconds);
                    Add("bwd sums into pending gradients + release", op.SumMilliseconds);
                    break;
                default:
                    Add("bwd AccumulateGrad (into leaf .Grad)", op.Milliseconds, op.ParallelMilliseconds, op.CpuMilliseconds);
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

    /// <summary>Per op of one logged step: its parallel jobs (items/blocks, ms) and the caller's wait at their ends.</summary>
    private static void PrintJobs(int threads, List<OpTiming> ops, List<(int Count, int Blocks, long Ticks, long WaitTicks)> log)
    {
        static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
        Console.WriteLine();
        Console.WriteLine($"parallel jobs of one {threads}-thread step, per op (items/blocks ms, caller's wait at the job's end in brackets when ≥ 0.02 ms):");
        int next = 0;
        double allJobs = 0, allWait = 0;
        foreach (OpTiming op in ops)
        {
            if (op.ParallelJobs == 0)
            {
                continue;
            }

            var jobs = log.Skip(next).Take(op.ParallelJobs).ToList();
            next += op.ParallelJobs;
            double inJobs = jobs.Sum(j => Ms(j.Ticks)), wait = jobs.Sum(j => Ms(j.WaitTicks));
            allJobs += inJobs;
            allWait += wait;
            string list = string.Join(" ", jobs.Select(j => string.Create(CultureInfo.InvariantCulture,
                $"{j.Count}/{j.Blocks}:{Ms(j.Ticks):F2}{(Ms(j.WaitTicks) >= 0.02 ? $"[{Ms(j.WaitTicks):F2}]" : "")}")));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{op.Phase.ToString()[..3]} #{op.ForwardIndex,-3} {op.Name,-26} {op.Milliseconds + op.SumMilliseconds,8:F2} ms, in jobs {inJobs,8:F2}, waited {wait,6:F2}: {list}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"all ops: {allJobs:F1} ms in parallel jobs, caller waited {allWait:F1} ms at their ends ({log.Count - next} jobs outside ops: optimizer)"));
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
            $" {"speed-up",8} {"% of " + threads[^1] + "T",8} {"lost ms",8} {"serial " + threads[^1] + "T",10}" +
            string.Concat(threads.Select(t => $" {"cpu " + t + "T",9}")) + $" {"cpu ratio",9}";

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
                    $" {(b > 0 ? a / b : 0),8:F2} {(step > 0 ? 100 * b / step : 0),8:F1} {lost,8:F2}" +
                    (last.Rows.TryGetValue("par|" + key, out double par) ? $" {b - par,10:F2}" : $" {"",10}") +
                    (first.Rows.TryGetValue("cpu|" + key, out double cpuFirst)
                        ? string.Concat(results.Select(r => $" {r.Rows.GetValueOrDefault("cpu|" + key),9:F2}")) + $" {last.Rows.GetValueOrDefault("cpu|" + key) / cpuFirst,9:F2}"
                        : ""));
            }
        }

        Console.WriteLine();
        Table(first.Order.Where(k => !k.StartsWith("layer ", StringComparison.Ordinal) && !k.StartsWith("par|", StringComparison.Ordinal)
            && !k.StartsWith("cpu|", StringComparison.Ordinal)));
        Console.WriteLine();
        Console.WriteLine("convolutions by layer shape (n = calls per step, summed):");
        Table(first.Order.Where(k => k.StartsWith("layer ", StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal));
    }

    /// <summary>clock_gettime(CLOCK_THREAD_CPUTIME_ID): the calling thread's CPU time, exact to the nanosecond (Linux).</summary>
    private static long ThreadCpuNanoseconds() => ClockGetTime(3, out Timespec t) == 0 ? (t.Seconds * 1_000_000_000) + t.Nanoseconds : 0;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out Timespec time);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
