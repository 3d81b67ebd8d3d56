using System.Diagnostics;
using System.Globalization;
using SharpCnn.Kernels;
using SharpCnn.Nn;
using SharpCnn.Vision.Models;
using Conv2dGeometry = SharpCnn.Kernels.Conv2dGeometry;
using Conv2dLayer = SharpCnn.Nn.Conv2d;
using NoGrad = SharpCnn.Autograd.Autograd;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>
/// <c>./sharpcnn bench --profile MODEL</c>: where an inference forward pass of a zoo model spends its time, module
/// by module (forward pre-hooks and hooks around each module) and convolution by convolution (the kernel variant
/// and fused epilogue of every <see cref="Kernels.Conv2d"/> forward, from <see cref="Conv2dTimings"/>).
/// </summary>
/// <remarks>
/// By default convolutions and batch norms carry no hooks, so the inference path runs as in the benchmark (a
/// hooked module is never fused: hooks must see its own output); their time shows in the kernel table and in the
/// enclosing block. <c>--profile-leaves</c> hooks every module, which times each layer of the unfused path.
/// Each module's time is the median over the timed passes of its inclusive wall time; "self" is that minus its
/// hooked children (for a block: the adds, ReLUs and fused calls it makes itself).
/// </remarks>
public static class ModelProfiler
{
    /// <summary>Profiles <paramref name="model"/> at each batch size and thread count and prints the tables.</summary>
    public static int Run(string model, IReadOnlyList<int> batches, IReadOnlyList<int> threads, bool leaves, int repeats)
    {
        ModelZooEntry entry;
        try
        {
            entry = ModelZoo.Find(model);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bench --profile: {e.Message}");
            return 2;
        }

        Console.WriteLine($"profile {entry.Name}: eval, no grad, {(leaves ? "every module hooked (unfused path)" : "conv/batch-norm unhooked (the benchmark's path)")}; " +
            $"load average {MachineInfo.LoadAverage()}; median of {repeats} passes after 3 warm-up passes");
        foreach (int t in threads)
        {
            foreach (int batch in batches)
            {
                KernelParallel.MaxThreads = t;
                Profile(entry, batch, t, leaves, repeats);
            }
        }

        return 0;
    }

    private static void Profile(ModelZooEntry entry, int batch, int threads, bool leaves, int repeats)
    {
        Module net = ModelZoo.Create(entry.Name).Eval();
        Tensor input = Tensor.Randn(new Generator(1), batch, entry.Input.C, entry.Input.H, entry.Input.W);
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        var order = new List<(string Name, Module Module, int Depth)>();
        foreach ((string name, Module m) in net.NamedModules())
        {
            // Without --profile-leaves, convolutions, batch norms and containers of only those (ResNet's downsample
            // projection) stay unhooked, so that they take the fused inference path.
            bool convOrNorm = m is Conv2dLayer or BatchNormBase
                || (m.NamedChildren().Any() && m.NamedChildren().All(c => c.Module is Conv2dLayer or BatchNormBase));
            if (name.Length > 0 && (leaves || !convOrNorm))
            {
                names[m] = name;
                order.Add((name, m, name.Count(c => c == '.')));
            }
        }

        // Per pass: inclusive time of each hooked module (a module called twice in a pass adds up).
        var pass = new Dictionary<string, double>();
        var stack = new Stack<long>();
        var handles = new List<IDisposable>();
        foreach ((_, Module m, _) in order)
        {
            handles.Add(m.RegisterForwardPreHook((_, _) => stack.Push(Stopwatch.GetTimestamp())));
            handles.Add(m.RegisterForwardHook((mod, _, _) =>
            {
                double ms = Stopwatch.GetElapsedTime(stack.Pop()).TotalMilliseconds;
                string key = names[mod];
                pass[key] = pass.GetValueOrDefault(key) + ms;
            }));
        }

        var moduleRuns = new Dictionary<string, List<double>>();
        var convRuns = new List<List<Conv2dTiming>>();
        var totals = new List<double>();
        JobCounters jobs = default;
        for (int r = -3; r < repeats; r++)
        {
            pass.Clear();
            Conv2dTimings.Drain();
            Conv2dTimings.Enabled = r >= 0;
            if (r == 0)
            {
                jobs = JobCounters.Read();
                KernelParallelStats.Enabled = true;
            }

            long start = Stopwatch.GetTimestamp();
            using (TensorScope.Begin())
            using (NoGrad.NoGrad())
            {
                net.Call(input);
            }

            double total = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            Conv2dTimings.Enabled = false;
            if (r < 0)
            {
                continue;
            }

            totals.Add(total);
            convRuns.Add([.. Conv2dTimings.Drain()]);
            foreach ((string key, double ms) in pass)
            {
                (moduleRuns.TryGetValue(key, out List<double>? list) ? list : moduleRuns[key] = []).Add(ms);
            }
        }

        KernelParallelStats.Enabled = false;
        jobs = JobCounters.Read() - jobs;
        foreach (IDisposable h in handles)
        {
            h.Dispose();
        }

        double totalMs = Median(totals);
        Console.WriteLine();
        Console.WriteLine($"== {entry.Name} batch {batch}, {threads} thread(s): forward {totalMs:F2} ms (median; hooks add a little)");
        if (threads > 1)
        {
            Console.WriteLine(jobs.Describe(repeats));

            // One more forward (no hooks) with every job logged: where the caller waited for a helper's last block.
            var log = new List<(int Count, int Blocks, long Ticks, long WaitTicks)>();
            KernelParallelStats.Log = log;
            KernelParallelStats.Enabled = true;
            using (TensorScope.Begin())
            using (NoGrad.NoGrad())
            {
                net.Call(input);
            }

            KernelParallelStats.Enabled = false;
            KernelParallelStats.Log = null;
            static double Ms(long ticks) => ticks * 1e3 / Stopwatch.Frequency;
            Console.WriteLine("one more forward, the 5 jobs with the longest caller wait at their end (job #: items/blocks, ms [wait ms]): " +
                string.Join(", ", log.Select((j, i) => (j, i)).OrderByDescending(x => x.j.WaitTicks).Take(5)
                    .Select(x => string.Create(CultureInfo.InvariantCulture, $"#{x.i}: {x.j.Count}/{x.j.Blocks}, {Ms(x.j.Ticks):F3} [{Ms(x.j.WaitTicks):F3}]"))));
        }

        Console.WriteLine($"{"module",-28} {"type",-16} {"ms",9} {"%",6} {"self ms",9}");
        var inclusive = moduleRuns.ToDictionary(kv => kv.Key, kv => Median(kv.Value));
        foreach ((string name, Module m, int depth) in order)
        {
            if (!inclusive.TryGetValue(name, out double ms))
            {
                continue;
            }

            double children = order.Where(o => o.Depth == depth + 1 && o.Name.StartsWith(name + ".", StringComparison.Ordinal))
                .Sum(o => inclusive.GetValueOrDefault(o.Name));
            string label = new string(' ', 2 * depth) + name;
            Console.WriteLine($"{label,-28} {m.GetType().Name,-16} {ms,9:F3} {100 * ms / totalMs,6:F1} {ms - children,9:F3}");
        }

        double top = order.Where(o => o.Depth == 0).Sum(o => inclusive.GetValueOrDefault(o.Name));
        Console.WriteLine($"{"(model's own ops)",-28} {"",-16} {totalMs - top,9:F3} {100 * (totalMs - top) / totalMs,6:F1}");

        // Convolutions in call order (the same in every pass): median time per call.
        if (convRuns.Count > 0 && convRuns[0].Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine($"{"#",3} {"conv (N C HxW -> K kxk /s)",-34} {"variant",-26} {"epilogue",-19} {"ms",8} {"GF/s",7}");
            double convTotal = 0;
            var perVariant = new Dictionary<string, double>();
            for (int i = 0; i < convRuns[0].Count; i++)
            {
                Conv2dTiming first = convRuns[0][i];
                double ms = Median([.. convRuns.Where(run => run.Count > i).Select(run => run[i].Milliseconds)]);
                Conv2dGeometry g = first.Geometry;
                double gflops = 2.0 * g.Batch * g.OutChannels * g.OutHeight * g.OutWidth * (g.InChannels / g.Groups) * g.KernelH * g.KernelW / (ms * 1e6);
                string shape = string.Create(CultureInfo.InvariantCulture, $"{g.Batch} {g.InChannels} {g.Height}x{g.Width} -> {g.OutChannels} {g.KernelH}x{g.KernelW} /{g.StrideH}");
                Console.WriteLine($"{i,3} {shape,-34} {first.Variant,-26} {first.Epilogue,-19} {ms,8:F3} {gflops,7:F0}");
                convTotal += ms;
                perVariant[first.Variant] = perVariant.GetValueOrDefault(first.Variant) + ms;
            }

            Console.WriteLine($"convolutions: {convTotal:F2} ms = {100 * convTotal / totalMs:F1}% of the forward; by variant: " +
                string.Join(", ", perVariant.OrderByDescending(kv => kv.Value).Select(kv => $"{kv.Key} {kv.Value:F2} ms")));
        }
    }

    private static double Median(List<double> values)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        values.Sort();
        return values.Count % 2 == 1 ? values[values.Count / 2] : (values[(values.Count / 2) - 1] + values[values.Count / 2]) / 2;
    }
}
