using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>The Markdown table, the progress lines and the JSON file.</summary>
public static class Report
{
    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    public static string Header(MachineInfo m, BenchOptions o) =>
        $"Machine: {m.Cpu}, {m.LogicalCores} logical cores, {m.Os}, {m.Runtime}, {m.TieredCompilation}. " +
        $"Started {m.StartedUtc:yyyy-MM-dd HH:mm} UTC at commit {m.GitCommit}; load average (1/5/15 min) {m.LoadAverageStart} at start, {m.LoadAverageEnd} at end.\n" +
        $"Engines: {string.Join("; ", m.Engines)}.\n" +
        $"{(o.Quick ? "Quick run (fewer repetitions, small workloads). " : "")}Load: the 1-minute load average when the row started (2 cores: above 2, other processes competed for them). Times are medians after warm-up; ratio = peer time / SharpCnn time (above 1: SharpCnn is faster). " +
        $"% of peak against {o.PeakGflopsPerThread.ToString("0", s_inv)} GFLOP/s per thread ({o.PeakBasis}). Peak MB: VmHWM of a process that ran only that network " +
        "(runtime and engine libraries included); +model run: that peak minus the RSS once the engine was loaded, before the model was built. " +
        $"A whole-network child during which other processes took {DisturbedCores.ToString("0.00", s_inv)} core or more ran again (--retries {o.Retries}); one still disturbed is marked so under the table.";

    public static string Markdown(IReadOnlyList<BenchRow> rows, IReadOnlyList<IEngine> engines, BenchOptions o)
    {
        IEngine baseEngine = engines[0];
        IEngine[] peers = [.. engines.Skip(1)];
        bool anyMemory = rows.Any(r => r.Workload.OwnProcess);
        var sb = new StringBuilder();
        var header = new List<string> { "workload", "thr", "load" };
        header.AddRange(engines.Select(e => $"{e.Name} ms"));
        header.AddRange(peers.Select(p => $"{p.Name} / {baseEngine.Name}"));
        header.Add($"{baseEngine.Name} GF/s (% peak)");
        header.AddRange(peers.Select(p => $"{p.Name} GF/s"));
        if (anyMemory)
        {
            header.Add($"peak MB, +model run ({string.Join(" / ", engines.Select(e => e.Name))})");
        }

        sb.Append("| ").AppendJoin(" | ", header).AppendLine(" |");
        sb.Append('|').AppendJoin("", header.Select((_, i) => i < 1 ? "---|" : "---:|")).AppendLine();
        foreach (BenchRow row in rows)
        {
            var cells = new List<string> { row.Workload.Name, row.Threads.ToString(s_inv), row.LoadAverage.Split(' ')[0] };
            cells.AddRange(engines.Select(e => TimeCell(row, e)));
            row.Results.TryGetValue(baseEngine.Key, out Measurement? b);
            cells.AddRange(peers.Select(p => row.Results.TryGetValue(p.Key, out Measurement? m) && b is not null ? $"{m.MedianMs / b.MedianMs:0.00}x" : ""));
            cells.Add(b is null || row.Workload.Gflop <= 0 ? "" : $"{Gflops(row.Workload, b):0} ({100 * Gflops(row.Workload, b) / (o.PeakGflopsPerThread * row.Threads):0}%)");
            cells.AddRange(peers.Select(p => row.Results.TryGetValue(p.Key, out Measurement? m) && row.Workload.Gflop > 0 ? $"{Gflops(row.Workload, m):0}" : ""));
            if (anyMemory)
            {
                cells.Add(!row.Workload.OwnProcess ? "" : string.Join(" / ", engines.Select(e =>
                    row.Results.TryGetValue(e.Key, out Measurement? m) && !double.IsNaN(m.PeakRssMb) ? $"{m.PeakRssMb:0} (+{m.PeakAboveBaselineMb:0})" : "–")));
            }

            sb.Append("| ").AppendJoin(" | ", cells).AppendLine(" |");
        }

        return sb.ToString();
    }

    /// <summary>Footnotes: each distinct reason an engine skipped rows, and the notes the runs returned.</summary>
    public static IEnumerable<string> SkipNotes(IReadOnlyList<BenchRow> rows, IReadOnlyList<IEngine> engines)
    {
        foreach (IEngine e in engines)
        {
            foreach (var reason in rows.Where(r => r.Skipped.TryGetValue(e.Key, out string? why) && why.Length > 0)
                .GroupBy(r => r.Skipped[e.Key]))
            {
                yield return $"- {e.Name} skipped {reason.Count()} row(s): {reason.Key}";
            }
        }

        foreach (BenchRow r in rows)
        {
            foreach (IEngine e in engines)
            {
                if (r.Results.TryGetValue(e.Key, out Measurement? m) && m.Note is { } note)
                {
                    yield return $"- {r.Workload.Name}, {r.Threads} thread(s), {e.Name}: {note}";
                }

                if (m is not null && Disturbed(m))
                {
                    yield return string.Create(s_inv, $"- {r.Workload.Name}, {r.Threads} thread(s), {e.Name}: **disturbed**: other processes used {m.OtherCores:0.00} cores " +
                        $"(steal {m.StealCores:0.00}) while it ran, in the least disturbed of {m.Attempts} attempt(s); it used {m.CpuCores:0.00} cores itself. Not a clean {r.Threads}-thread time.");
                }
            }
        }
    }

    /// <summary>
    /// The memory rows' bandwidth and, for each batch-norm row whose thread count also ran both memory rows, its DRAM
    /// bound: the row's bytes at the streams' rates (forward: read 1 + write 1; backward: read 2 + write 1), next to
    /// SharpCnn's time and the time 3× the first peer's median would need.
    /// </summary>
    public static IEnumerable<string> BoundNotes(IReadOnlyList<BenchRow> rows, IReadOnlyList<IEngine> engines)
    {
        string key = engines[0].Key;
        foreach (BenchRow r in rows)
        {
            if (r.Workload is MemoryStreamWorkload m && r.Results.TryGetValue(key, out Measurement? s))
            {
                yield return string.Create(s_inv, $"- {m.Name}, {r.Threads} thread(s): {m.Bytes / 1e6:0.0} MB at {GBps(m.Bytes, s.MedianMs):0.0} GB/s (median; {GBps(m.Bytes, s.P25Ms):0.0} at the 25th percentile)");
            }
        }

        foreach (BenchRow r in rows)
        {
            if (r.Workload is not BatchNormWorkload bn || !r.Results.TryGetValue(key, out Measurement? ours) || DramBoundMs(r, rows, key, best: false) is not { } bound)
            {
                continue;
            }

            (double b1, double b2) = bn.Bytes;
            double best = DramBoundMs(r, rows, key, best: true) ?? double.NaN;
            string peer = "";
            if (engines.Skip(1).FirstOrDefault(e => r.Results.ContainsKey(e.Key)) is { } p)
            {
                double need = r.Results[p.Key].MedianMs / 3;
                peer = string.Create(s_inv, $"; 3× {p.Name} (median {FormatMs(r.Results[p.Key].MedianMs)} ms) needs ≤ {FormatMs(need)} ms, {(need < bound ? "below" : "above")} the bound");
            }

            yield return string.Create(s_inv, $"- {bn.Name}, {r.Threads} thread(s): DRAM bound {FormatMs(bound)} ms ({(b1 + b2) / 1e6:0.0} MB at the memory rows' median rates; " +
                $"{FormatMs(best)} ms at their 25th percentiles); {engines[0].Name} median {FormatMs(ours.MedianMs)} ms = {ours.MedianMs / bound:0.00}× the bound, " +
                $"25th percentile {FormatMs(ours.P25Ms)} ms = {ours.P25Ms / best:0.00}× that bound, min {FormatMs(ours.MinMs)} ms{peer}");
        }
    }

    /// <summary>A batch-norm row's bytes at the memory rows' rates for the same thread count (medians, or with <paramref name="best"/> 25th percentiles: a minimum over hundreds of repetitions picks outliers); null without both rows.</summary>
    public static double? DramBoundMs(BenchRow row, IReadOnlyList<BenchRow> rows, string key, bool best)
    {
        if (row.Workload is not BatchNormWorkload bn)
        {
            return null;
        }

        double? Rate(int reads) =>
            rows.FirstOrDefault(r => r.Threads == row.Threads && r.Workload is MemoryStreamWorkload m && m.Reads == reads && r.Results.ContainsKey(key)) is { } mr
                ? ((MemoryStreamWorkload)mr.Workload).Bytes / (best ? mr.Results[key].P25Ms : mr.Results[key].MedianMs)
                : null;
        (double b1, double b2) = bn.Bytes;
        return Rate(1) is { } r1 && Rate(2) is { } r2 ? (b1 / r1) + (b2 / r2) : null;
    }

    private static double GBps(double bytes, double ms) => bytes / ms / 1e6;

    /// <summary>
    /// Other processes or the hypervisor took at least <see cref="DisturbedCores"/> cores while a child run was timed: on
    /// 2 cores a 2-thread run then had about one (the 12:45 run's ResNet-18 batch-1 row: docs/performance.md, "Batch 1 on two threads").
    /// </summary>
    public static bool Disturbed(Measurement m) => m.OtherCores + (double.IsNaN(m.StealCores) ? 0 : m.StealCores) >= DisturbedCores;

    /// <summary>The share of one core that other processes may take during a child run before it counts as disturbed.</summary>
    public const double DisturbedCores = 0.25;

    public static string ProgressLine(BenchRow row, IReadOnlyList<IEngine> engines)
    {
        row.Results.TryGetValue(engines[0].Key, out Measurement? b);
        var parts = engines.Select(e =>
            row.Results.TryGetValue(e.Key, out Measurement? m)
                ? $"{e.Name} {FormatMs(m.MedianMs)} ms" + (b is not null && e != engines[0] ? $" ({m.MedianMs / b.MedianMs:0.00}x)" : "")
                    + (double.IsNaN(m.CpuCores) ? "" : string.Create(s_inv, $" [cpu {m.CpuCores:0.00}, others {m.OtherCores:0.00}{(m.Attempts > 1 ? $", {m.Attempts} tries" : "")}]"))
                : row.Skipped.TryGetValue(e.Key, out string? why) && why.Length > 0 ? $"{e.Name} skipped" : null)
            .Where(p => p is not null);
        return $"{row.Workload.Name}, {row.Threads}T: {string.Join(" | ", parts)}";
    }

    public static void WriteJson(string path, IReadOnlyList<BenchRow> rows, IReadOnlyList<IEngine> engines, MachineInfo m, BenchOptions o)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        using FileStream file = File.Create(path);
        using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        json.WriteStartObject();
        json.WriteStartObject("machine");
        json.WriteString("cpu", m.Cpu);
        json.WriteNumber("logical_cores", m.LogicalCores);
        json.WriteString("load_average_start", m.LoadAverageStart);
        json.WriteString("load_average_end", m.LoadAverageEnd);
        json.WriteString("dotnet", m.Runtime);
        json.WriteString("os", m.Os);
        json.WriteString("date_utc", m.StartedUtc.ToString("yyyy-MM-ddTHH:mm:ssZ", s_inv));
        json.WriteString("git_commit", m.GitCommit);
        json.WriteString("jit", m.TieredCompilation);
        json.WriteStartArray("engines");
        foreach (string e in m.Engines)
        {
            json.WriteStringValue(e);
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.WriteStartObject("settings");
        json.WriteBoolean("quick", o.Quick);
        json.WriteString("threads", string.Join(',', o.Threads));
        json.WriteString("only", string.Join(',', o.Only));
        json.WriteNumber("peak_gflops_per_thread", Math.Round(o.PeakGflopsPerThread, 1));
        json.WriteString("peak_basis", o.PeakBasis);
        json.WriteString("ratio", "peer median / SharpCnn median (above 1: SharpCnn faster)");
        json.WriteEndObject();
        json.WriteStartArray("rows");
        foreach (BenchRow row in rows)
        {
            json.WriteStartObject();
            json.WriteString("workload", row.Workload.Name);
            json.WriteString("kind", row.Workload.GetType().Name.Replace("Workload", "", StringComparison.Ordinal));
            json.WriteNumber("threads", row.Threads);
            json.WriteString("load_average", row.LoadAverage);
            WriteNumber(json, "gflop", row.Workload.Gflop > 0 ? row.Workload.Gflop : double.NaN);
            if (row.Workload.Images > 0)
            {
                json.WriteNumber("images", row.Workload.Images);
            }

            row.Results.TryGetValue(engines[0].Key, out Measurement? b);
            foreach (IEngine e in engines)
            {
                json.WritePropertyName(e.Key);
                if (row.Results.TryGetValue(e.Key, out Measurement? r))
                {
                    json.WriteStartObject();
                    WriteMeasurement(json, r);
                    if (row.Workload.Gflop > 0)
                    {
                        json.WriteNumber("gflops", Math.Round(Gflops(row.Workload, r), 2));
                        json.WriteNumber("percent_of_peak", Math.Round(100 * Gflops(row.Workload, r) / (o.PeakGflopsPerThread * row.Threads), 1));
                    }

                    if (row.Workload.Images > 0)
                    {
                        json.WriteNumber("images_per_s", Math.Round(row.Workload.Images / (r.MedianMs / 1000), 1));
                    }

                    if (b is not null && e != engines[0])
                    {
                        json.WriteNumber("ratio_to_sharpcnn", Math.Round(r.MedianMs / b.MedianMs, 3));
                    }

                    if (row.Workload is MemoryStreamWorkload mw)
                    {
                        json.WriteNumber("gbytes_per_s", Math.Round(GBps(mw.Bytes, r.MedianMs), 2));
                        json.WriteNumber("gbytes_per_s_p25", Math.Round(GBps(mw.Bytes, r.P25Ms), 2));
                    }

                    if (e == engines[0] && DramBoundMs(row, rows, e.Key, best: false) is { } bound)
                    {
                        json.WriteNumber("dram_bound_ms", Math.Round(bound, 4));
                        json.WriteNumber("dram_bound_p25_ms", Math.Round(DramBoundMs(row, rows, e.Key, best: true) ?? double.NaN, 4));
                    }

                    json.WriteEndObject();
                }
                else
                {
                    json.WriteStartObject();
                    json.WriteString("skipped", row.Skipped.TryGetValue(e.Key, out string? why) && why.Length > 0 ? why : "not applicable");
                    json.WriteEndObject();
                }
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        json.Flush();
        file.WriteByte((byte)'\n');
    }

    public static void WriteMeasurement(Utf8JsonWriter json, Measurement m)
    {
        WriteNumber(json, "median_ms", m.MedianMs);
        WriteNumber(json, "min_ms", m.MinMs);
        WriteNumber(json, "p25_ms", m.P25Ms);
        WriteNumber(json, "p75_ms", m.P75Ms);
        json.WriteNumber("reps", m.Reps);
        json.WriteNumber("warmup", m.Warmup);
        WriteNumber(json, "peak_rss_mb", m.PeakRssMb);
        WriteNumber(json, "peak_above_baseline_mb", m.PeakAboveBaselineMb);
        WriteNumber(json, "cpu_cores", m.CpuCores);
        WriteNumber(json, "other_processes_cores", m.OtherCores);
        WriteNumber(json, "steal_cores", m.StealCores);
        json.WriteNumber("attempts", m.Attempts);
        if (m.Note is not null)
        {
            json.WriteString("note", m.Note);
        }
    }

    private static void WriteNumber(Utf8JsonWriter json, string name, double value)
    {
        if (double.IsFinite(value))
        {
            json.WriteNumber(name, Math.Round(value, 4));
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static double Gflops(Workload w, Measurement m) => w.Gflop / (m.MedianMs / 1000);

    private static string TimeCell(BenchRow row, IEngine e) =>
        row.Results.TryGetValue(e.Key, out Measurement? m) ? FormatMs(m.MedianMs)
        : row.Skipped.TryGetValue(e.Key, out string? why) && why.Length > 0 ? "skipped" : "";

    public static string FormatMs(double ms) => ms switch
    {
        < 1 => ms.ToString("0.000", s_inv),
        < 10 => ms.ToString("0.00", s_inv),
        < 100 => ms.ToString("0.0", s_inv),
        _ => ms.ToString("#,0", s_inv),
    };
}
