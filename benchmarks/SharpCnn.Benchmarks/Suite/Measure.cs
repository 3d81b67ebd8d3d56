using System.Diagnostics;
using System.Globalization;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>The timing of one (workload, engine, threads): the median of the timed runs, with spread and memory.</summary>
public sealed record Measurement(double MedianMs, double MinMs, double P25Ms, double P75Ms, int Reps, int Warmup)
{
    /// <summary>Peak resident set of the (child) process, VmHWM, in MB; NaN when the workload ran in the shared process.</summary>
    public double PeakRssMb { get; init; } = double.NaN;

    /// <summary>VmHWM minus VmRSS once the engine was loaded and before the model was built, in MB.</summary>
    public double PeakAboveBaselineMb { get; init; } = double.NaN;

    public string? Note { get; init; }

    /// <summary>Cores the run's process used on average over its timed runs (child processes only; NaN otherwise).</summary>
    public double CpuCores { get; init; } = double.NaN;

    /// <summary>Cores that other processes used meanwhile (guest-wide busy time minus this process's).</summary>
    public double OtherCores { get; init; } = double.NaN;

    /// <summary>Cores the hypervisor took from this virtual machine meanwhile (steal time).</summary>
    public double StealCores { get; init; } = double.NaN;

    /// <summary>How many times the child ran (more than 1 when other processes disturbed the earlier runs; the least disturbed is kept).</summary>
    public int Attempts { get; init; } = 1;
}

public static class Timing
{
    /// <summary>Warms up, then times <paramref name="run"/> as <paramref name="plan"/> says.</summary>
    /// <remarks><paramref name="timed"/>, when given, is called once between the warm-up and the timed runs.</remarks>
    public static Measurement Measure(IBenchRun run, RepetitionPlan plan, Action? timed = null) => MeasureInterleaved([run], plan, rounds: 1, timed)[0];

    /// <summary>
    /// Warms each run up, then times them in <paramref name="rounds"/> rounds of blocks (A's reps, B's reps, A's,
    /// B's, ...), each round taking its share of <paramref name="plan"/>'s repetitions and budget. On a shared
    /// machine the load drifts within seconds; spreading every engine's samples over the whole window keeps the
    /// drift out of the ratios, while blocks (not single alternating reps) and a short pause between them keep
    /// one engine's spinning worker threads from running into the other's timed reps.
    /// </summary>
    public static Measurement[] MeasureInterleaved(IReadOnlyList<IBenchRun> runs, RepetitionPlan plan, int rounds, Action? timed = null)
    {
        var warmups = new int[runs.Count];
        for (int e = 0; e < runs.Count; e++)
        {
            Settle(runs.Count > 1);
            long start = Stopwatch.GetTimestamp();
            while (warmups[e] < plan.MaxWarmup && (warmups[e] < plan.MinWarmup || Stopwatch.GetElapsedTime(start).TotalSeconds < plan.WarmupSeconds))
            {
                runs[e].Run();
                warmups[e]++;
            }
        }

        timed?.Invoke();
        var times = runs.Select(_ => new List<double>()).ToArray();
        int minPerRound = (plan.MinReps + rounds - 1) / rounds;
        int maxPerRound = Math.Max(minPerRound, plan.MaxReps / rounds);
        double budgetPerRound = plan.BudgetSeconds * 1000 / rounds;
        for (int r = 0; r < rounds; r++)
        {
            for (int e = 0; e < runs.Count; e++)
            {
                Settle(runs.Count > 1);
                int count = 0;
                double total = 0;
                while (count < maxPerRound && (count < minPerRound || total < budgetPerRound))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    runs[e].Run();
                    double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                    times[e].Add(ms);
                    total += ms;
                    count++;
                }
            }
        }

        return [.. times.Select((t, e) =>
        {
            t.Sort();
            return new Measurement(Quantile(t, 0.5), t[0], Quantile(t, 0.25), Quantile(t, 0.75), t.Count, warmups[e]);
        })];
    }

    /// <summary>
    /// A blocking GC (garbage of an earlier run is not collected inside this one) and, between engines, a pause for their
    /// spinning workers to sleep: 50 ms, repeated (up to 1 s) while this process still used a tenth of a core or more
    /// in the last 50 ms with the timing thread asleep, i.e. while some engine's threads (libgomp's team spins before it
    /// sleeps; SharpCnn's helpers for 0.2 ms) still ran. The same rule before every engine's block.
    /// </summary>
    private static void Settle(bool pause)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        for (int i = 0; pause && i < 20; i++)
        {
            CpuSample start = CpuSample.Take();
            Thread.Sleep(50);
            if (!(CpuSample.Take().Since(start).OwnCores >= 0.1))
            {
                break;
            }
        }
    }

    private static double Quantile(List<double> sorted, double q)
    {
        double pos = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(pos);
        int hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + ((pos - lo) * (sorted[hi] - sorted[lo]));
    }
}

/// <summary>This process's memory as Linux reports it in /proc/self/status.</summary>
public static class ProcessMemory
{
    /// <summary>VmRSS in MB (NaN off Linux).</summary>
    public static double RssMb => Read("VmRSS:");

    /// <summary>VmHWM, the peak resident set since the process started, in MB (NaN off Linux).</summary>
    public static double PeakRssMb => Read("VmHWM:");

    private static double Read(string field)
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    string kb = line[field.Length..].Trim().Split(' ')[0];
                    return double.Parse(kb, CultureInfo.InvariantCulture) / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return double.NaN;
    }
}
