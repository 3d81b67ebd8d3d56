using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.Json;
using SharpCnn.Vision.Models;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>The command-line settings of a suite run.</summary>
public sealed record BenchOptions
{
    public IReadOnlyList<int> Threads { get; init; } = [1, 2];

    public bool Quick { get; init; }

    public IReadOnlyList<string> Only { get; init; } = [];

    public IReadOnlyList<string>? Engines { get; init; }

    public string? JsonPath { get; init; }

    public bool List { get; init; }

    public bool Help { get; init; }

    /// <summary>FMA peak of one core in GFLOP/s for "% of peak"; 0 until measured (<see cref="PeakProbe"/>) or given with --peak.</summary>
    public double PeakGflopsPerThread { get; init; }

    /// <summary>Where <see cref="PeakGflopsPerThread"/> comes from.</summary>
    public string PeakBasis { get; init; } = "given with --peak";

    public string? ChildWorkload { get; init; }

    /// <summary>A zoo model to profile module by module (<see cref="ModelProfiler"/>) instead of running workloads.</summary>
    public string? Profile { get; init; }

    /// <summary>Batch sizes for <see cref="Profile"/> (default 1 and 16).</summary>
    public IReadOnlyList<int> Batches { get; init; } = [1, 16];

    /// <summary>Whether the profile hooks every module (unfused path) rather than leaving convolutions and batch norms alone.</summary>
    public bool ProfileLeaves { get; init; }

    /// <summary>Timed passes per profile.</summary>
    public int Repeats { get; init; } = 10;

    public string? ChildEngine { get; init; }

    /// <summary>How many more times a whole-network child runs when other processes disturbed it (<see cref="Report.Disturbed"/>).</summary>
    public int Retries { get; init; } = 2;

    public bool Matches(Workload w) =>
        Only.Count == 0 || Only.Any(p => w.Name.Contains(p, StringComparison.OrdinalIgnoreCase));
}

/// <summary>One row of the report: a workload at a thread count, with each engine's result or why it has none.</summary>
public sealed record BenchRow(Workload Workload, int Threads, Dictionary<string, Measurement> Results, Dictionary<string, string> Skipped)
{
    /// <summary>The load averages when the row started (the machine may be shared).</summary>
    public string LoadAverage { get; } = MachineInfo.LoadAverage();
}

/// <summary>
/// Runs every selected workload for every engine and thread count, in the same run, and reports medians and
/// ratios (peer time ÷ SharpCnn time: above 1 means SharpCnn is faster).
/// </summary>
public static class BenchSuite
{
    private const string ResultPrefix = "@@bench-result ";

    public const string Usage = """
        usage: ./sharpcnn bench [--threads 1,2] [--quick] [--only PATTERN[,PATTERN...]] [--json FILE] [--engines sharpcnn,libtorch,ort] [--list]
          --threads     thread counts to run, comma-separated (default 1,2)
          --quick       fewer repetitions and only the smaller workloads (a smoke test)
          --only        run the workloads whose name contains one of the patterns (case-insensitive)
          --json        also write every row and the machine information to FILE
          --engines     run only these engines
          --list        print the workload names and exit
          --peak GF     FMA peak of one core in GFLOP/s for the "% of peak" column (default: measured at start)
          --retries N   run a whole-network row's child process up to N more times when other processes took a
                        quarter of a core or more while it ran, keeping the least disturbed run (default 2)
        ./sharpcnn bench --profile MODEL [--batch 1,16] [--threads 1,2] [--profile-leaves] [--repeats N]
          --profile     time a zoo model's inference (eval, no grad) module by module and convolution by convolution
                        (kernel variant, fused epilogue, GF/s); SharpCnn alone. MODEL-train (e.g. resnet18-train)
                        times its training step instead (SGD momentum): every forward op, backward rule, leaf
                        accumulation and conv kernel (fwd, bwd-data, bwd-weight), thread counts side by side
          --batch       batch sizes to profile (default 1,16)
          --profile-leaves  hook every module (times each conv and batch norm, but runs the unfused path)
          --repeats     timed passes per profile, medians reported (default 10)
        """;

    /// <summary>Parses <paramref name="args"/> and runs; returns the process exit code.</summary>
    /// <param name="args">The command line after the program's own prefix.</param>
    /// <param name="engines">The engines, SharpCnn first (the ratios divide by it).</param>
    /// <param name="childPrefix">Arguments that make this program run the suite again (for child processes).</param>
    /// <param name="notes">Lines printed under the table (e.g. why a peer could not load).</param>
    public static int Run(string[] args, IReadOnlyList<IEngine> engines, string[] childPrefix, IReadOnlyList<string>? notes = null)
    {
        BenchOptions options;
        try
        {
            options = Parse(args);
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine($"bench: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(Usage);
            return 0;
        }

        if (options.List)
        {
            foreach (Workload w in Workloads.All)
            {
                Console.WriteLine($"{w.Name}{(w.InQuick ? "  [quick]" : "")}");
            }

            return 0;
        }

        if (options.Profile is { } trained && trained.EndsWith("-train", StringComparison.OrdinalIgnoreCase))
        {
            ModelZooEntry entry;
            try
            {
                entry = ModelZoo.Find(trained[..^"-train".Length]);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"bench --profile: {e.Message}");
                return 2;
            }

            return TrainProfiler.Run(entry, options.Batches, options.Threads, options.Repeats);
        }

        if (options.Profile is { } profiled)
        {
            return ModelProfiler.Run(profiled, options.Batches, options.Threads, options.ProfileLeaves, options.Repeats);
        }

        var context = new BenchContext(BenchContext.FindRepoRoot(), options.Quick);
        if (options.Engines is { } wanted)
        {
            engines = [.. engines.Where(e => wanted.Contains(e.Key, StringComparer.OrdinalIgnoreCase))];
        }

        return options.ChildWorkload is not null
            ? RunChild(options, engines, context)
            : RunParent(options, engines, context, childPrefix, notes ?? []);
    }

    private static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        var only = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--threads":
                    o = o with { Threads = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(ParseThreads)] };
                    break;
                case "--quick":
                    o = o with { Quick = true };
                    break;
                case "--only":
                    only.AddRange(Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "--json":
                    o = o with { JsonPath = Value() };
                    break;
                case "--engines":
                    o = o with { Engines = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) };
                    break;
                case "--list":
                    o = o with { List = true };
                    break;
                case "--peak":
                    o = o with { PeakGflopsPerThread = double.Parse(Value(), CultureInfo.InvariantCulture) };
                    break;
                case "--profile":
                    o = o with { Profile = Value() };
                    break;
                case "--batch":
                    o = o with { Batches = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries).Select(ParseThreads)] };
                    break;
                case "--profile-leaves":
                    o = o with { ProfileLeaves = true };
                    break;
                case "--repeats":
                    o = o with { Repeats = ParseThreads(Value()) };
                    break;
                case "--retries":
                    o = o with { Retries = int.TryParse(Value(), NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : throw new ArgumentException($"--retries expects a count, got '{args[i]}'") };
                    break;
                case "--child":
                    o = o with { ChildWorkload = Value() };
                    break;
                case "--engine":
                    o = o with { ChildEngine = Value() };
                    break;
                case "--help" or "-h":
                    o = o with { Help = true };
                    break;
                default:
                    throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }

        return o with { Only = only };
    }

    private static int ParseThreads(string s) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int t) && t > 0
            ? t
            : throw new ArgumentException($"--threads, --batch and --repeats expect positive integers, got '{s}'");

    private static int RunParent(BenchOptions options, IReadOnlyList<IEngine> engines, BenchContext context, string[] childPrefix, IReadOnlyList<string> notes)
    {
        List<Workload> selected = [.. Workloads.All.Where(w => (!options.Quick || w.InQuick) && options.Matches(w))];
        if (selected.Count == 0)
        {
            Console.Error.WriteLine($"bench: no workload matches {string.Join(", ", options.Only)} (--list shows them)");
            return 2;
        }

        if (options.PeakGflopsPerThread <= 0)
        {
            (double peak, string basis) = PeakProbe.Measure();
            options = options with { PeakGflopsPerThread = peak, PeakBasis = basis };
        }

        var machine = MachineInfo.Collect(context.RepoRoot, engines);
        Console.Error.WriteLine($"bench: {selected.Count} workloads x threads {string.Join(",", options.Threads)} x {string.Join(", ", engines.Select(e => e.Name))}; " +
            $"load average {machine.LoadAverageStart}; peak {options.PeakGflopsPerThread:0} GFLOP/s per thread ({options.PeakBasis}); {(options.Quick ? "quick" : "full")} run");

        var rows = new List<BenchRow>();
        int total = selected.Count * options.Threads.Count;
        foreach (Workload workload in selected)
        {
            foreach (int threads in options.Threads)
            {
                var row = new BenchRow(workload, threads, [], []);
                var active = new List<IEngine>();
                foreach (IEngine engine in engines)
                {
                    if (engine.WhyNot(workload, context) is { } why)
                    {
                        row.Skipped[engine.Key] = why;
                    }
                    else
                    {
                        active.Add(engine);
                    }
                }

                if (workload.OwnProcess)
                {
                    foreach (IEngine engine in active)
                    {
                        Guard(row, engine, workload, () => row.Results[engine.Key] = RunInChildUndisturbed(workload, engine, threads, options, childPrefix));
                    }
                }
                else
                {
                    RunInProcess(row, active, options, context);
                }

                rows.Add(row);
                Console.Error.WriteLine($"[{rows.Count}/{total}] {Report.ProgressLine(row, engines)}");
            }
        }

        machine = machine with { LoadAverageEnd = MachineInfo.LoadAverage() };
        string table = Report.Markdown(rows, engines, options);
        Console.WriteLine();
        Console.WriteLine(Report.Header(machine, options));
        Console.WriteLine();
        Console.WriteLine(table);
        foreach (string note in notes.Concat(Report.SkipNotes(rows, engines)).Concat(Report.BoundNotes(rows, engines)))
        {
            Console.WriteLine(note);
        }

        if (options.JsonPath is { } path)
        {
            Report.WriteJson(path, rows, engines, machine, options);
            Console.Error.WriteLine($"bench: wrote {Path.GetFullPath(path)}");
        }

        return 0;
    }

    /// <summary>One engine failing on one workload must not end the whole run: the row says so.</summary>
    private static void Guard(BenchRow row, IEngine engine, Workload workload, Action action)
    {
        try
        {
            action();
        }
#pragma warning disable CA1031 // Reported in the row and on stderr, then the run goes on.
        catch (Exception e)
#pragma warning restore CA1031
        {
            row.Skipped[engine.Key] = $"failed: {e.GetType().Name}: {FirstLine(e.Message)}";
            Console.Error.WriteLine($"  {engine.Name} failed on {workload.Name}: {e}");
        }
    }

    /// <summary>Kernel-sized workloads: all engines prepared in this process and timed in interleaved rounds.</summary>
    private static void RunInProcess(BenchRow row, List<IEngine> active, BenchOptions options, BenchContext context)
    {
        var prepared = new List<(IEngine Engine, IBenchRun Run)>();
        try
        {
            foreach (IEngine engine in active)
            {
                Guard(row, engine, row.Workload, () =>
                {
                    engine.Initialize(row.Threads);
                    prepared.Add((engine, engine.Prepare(row.Workload, row.Threads, context)));
                });
            }

            // Each engine's thread-count setting is its own (KernelParallel.MaxThreads, torch.set_num_threads),
            // so interleaving them does not disturb either.
            RepetitionPlan plan = row.Workload.Plan(options.Quick);
            Measurement[]? results = null;
            try
            {
                results = Timing.MeasureInterleaved([.. prepared.Select(p => p.Run)], plan, options.Quick ? 1 : 3);
            }
#pragma warning disable CA1031 // Find out which engine failed by timing each alone.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            for (int i = 0; i < prepared.Count; i++)
            {
                (IEngine engine, IBenchRun run) = prepared[i];
                Guard(row, engine, row.Workload, () =>
                    row.Results[engine.Key] = (results?[i] ?? Timing.Measure(run, plan)) with { Note = run.Finish() });
            }
        }
        finally
        {
            foreach ((IEngine _, IBenchRun run) in prepared)
            {
                run.Dispose();
            }
        }
    }

    /// <summary>
    /// A child run started once the machine is quiet (other processes below a tenth of a core, waiting 3 s at most),
    /// and run again, up to <see cref="BenchOptions.Retries"/> times, while other processes took a quarter of a core or
    /// more during it; the least disturbed run is kept. The same rule for every engine, so no engine's row keeps a time
    /// measured with a core missing when another's does not.
    /// </summary>
    private static Measurement RunInChildUndisturbed(Workload workload, IEngine engine, int threads, BenchOptions options, string[] childPrefix)
    {
        CpuSample.WaitForQuiet(0.1, 3);
        Measurement best = RunInChild(workload, engine, threads, options, childPrefix);
        int attempts = 1;
        while (attempts <= options.Retries && Report.Disturbed(best))
        {
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {engine.Name}, {workload.Name}, {threads}T: other processes used {best.OtherCores:0.00} cores (steal {best.StealCores:0.00}) during the run ({FormatMs(best.MedianMs)} ms); again"));
            CpuSample.WaitForQuiet(0.1, 3);
            Measurement again = RunInChild(workload, engine, threads, options, childPrefix);
            attempts++;
            if (Load(again) < Load(best))
            {
                best = again;
            }
        }

        return best with { Attempts = attempts };

        static double Load(Measurement m) => m.OtherCores + (double.IsNaN(m.StealCores) ? 0 : m.StealCores);
        static string FormatMs(double ms) => Report.FormatMs(ms);
    }

    private static Measurement RunInChild(Workload workload, IEngine engine, int threads, BenchOptions options, string[] childPrefix)
    {
        string host = Environment.ProcessPath ?? "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            psi.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (string a in childPrefix.Concat(["--child", workload.Name, "--engine", engine.Key, "--threads", threads.ToString(CultureInfo.InvariantCulture)]))
        {
            psi.ArgumentList.Add(a);
        }

        if (options.Quick)
        {
            psi.ArgumentList.Add("--quick");
        }

        using Process child = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {host}");
        string? result = null;
        while (child.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith(ResultPrefix, StringComparison.Ordinal))
            {
                result = line[ResultPrefix.Length..];
            }
            else
            {
                Console.Error.WriteLine($"  | {line}");
            }
        }

        child.WaitForExit();
        if (child.ExitCode != 0 || result is null)
        {
            throw new InvalidOperationException($"child process for {engine.Name} exited with code {child.ExitCode} and no result");
        }

        using var doc = JsonDocument.Parse(result);
        JsonElement r = doc.RootElement;
        double D(string name) => r.GetProperty(name).ValueKind == JsonValueKind.Number ? r.GetProperty(name).GetDouble() : double.NaN;
        return new Measurement(D("median_ms"), D("min_ms"), D("p25_ms"), D("p75_ms"), r.GetProperty("reps").GetInt32(), r.GetProperty("warmup").GetInt32())
        {
            PeakRssMb = D("peak_rss_mb"),
            PeakAboveBaselineMb = D("peak_above_baseline_mb"),
            Note = r.TryGetProperty("note", out JsonElement n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null,
            CpuCores = D("cpu_cores"),
            OtherCores = D("other_processes_cores"),
            StealCores = D("steal_cores"),
        };
    }

    /// <summary>The child side: one workload, one engine, one thread count; the result goes to stdout as one JSON line.</summary>
    private static int RunChild(BenchOptions options, IReadOnlyList<IEngine> engines, BenchContext context)
    {
        Workload workload = Workloads.All.Single(w => w.Name == options.ChildWorkload);
        IEngine engine = engines.Single(e => e.Key == options.ChildEngine);
        int threads = options.Threads.Single();
        engine.Initialize(threads);
        GC.Collect();
        double baseline = ProcessMemory.RssMb;
        Measurement m;
        double peak;
        using (IBenchRun run = engine.Prepare(workload, threads, context))
        {
            CpuSample start = default;
            m = Timing.Measure(run, workload.Plan(options.Quick), () => start = CpuSample.Take());
            CpuShare cpu = CpuSample.Take().Since(start);
            peak = ProcessMemory.PeakRssMb; // before Finish: its evaluation pass is not part of the workload
            m = m with { Note = run.Finish(), CpuCores = cpu.OwnCores, OtherCores = cpu.OtherCores, StealCores = cpu.StealCores };
        }

        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            Report.WriteMeasurement(json, m with { PeakRssMb = peak, PeakAboveBaselineMb = peak - baseline });
            json.WriteEndObject();
        }

        Console.WriteLine(ResultPrefix + System.Text.Encoding.UTF8.GetString(stream.ToArray()));
        return 0;
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
