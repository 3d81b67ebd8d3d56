namespace SharpCnn.Benchmarks.Suite;

/// <summary>An implementation of the workloads: SharpCnn itself, or a peer (libtorch, ONNX Runtime).</summary>
public interface IEngine
{
    /// <summary>Column name in the table ("SharpCnn", "libtorch", "ORT").</summary>
    string Name { get; }

    /// <summary>Key in the JSON rows and on the child command line ("sharpcnn", "libtorch", "ort").</summary>
    string Key { get; }

    /// <summary>Versions and settings for the machine block of the report.</summary>
    string Description { get; }

    /// <summary>Null when the engine runs <paramref name="workload"/>; otherwise why it does not (shown in the table).</summary>
    string? WhyNot(Workload workload, BenchContext context);

    /// <summary>
    /// Loads the engine's native libraries and sets its thread count, before the memory baseline of a child
    /// process is read (so the baseline includes the engine's code but not the model).
    /// </summary>
    void Initialize(int threads);

    /// <summary>Builds inputs and model for one workload at one thread count; the returned runnable is timed.</summary>
    IBenchRun Prepare(Workload workload, int threads, BenchContext context);
}

/// <summary>A prepared workload: <see cref="Run"/> is what the stopwatch measures.</summary>
public interface IBenchRun : IDisposable
{
    /// <summary>One timed repetition.</summary>
    void Run();

    /// <summary>Called once after timing (not timed): a short note for the report, e.g. a test accuracy.</summary>
    string? Finish() => null;
}

/// <summary>Runs a delegate; for workloads without state to release.</summary>
public sealed class ActionRun(Action run, Action? dispose = null, Func<string?>? finish = null) : IBenchRun
{
    public void Run() => run();

    public string? Finish() => finish?.Invoke();

    public void Dispose() => dispose?.Invoke();
}

/// <summary>What every engine may need: where the repository and the caches are, and the mode.</summary>
public sealed record BenchContext(string RepoRoot, bool Quick)
{
    /// <summary>The MNIST folder filled by <c>./sharpcnn data get mnist</c>.</summary>
    public string MnistDir => Path.Combine(RepoRoot, "data", "mnist");

    /// <summary>Generated files (the ONNX ResNet-18), ignored by git.</summary>
    public string CacheDir => Path.Combine(RepoRoot, ".build", "bench-cache");

    public bool HasMnist =>
        File.Exists(Path.Combine(MnistDir, "train-images-idx3-ubyte")) && File.Exists(Path.Combine(MnistDir, "train-labels-idx1-ubyte")) &&
        File.Exists(Path.Combine(MnistDir, "t10k-images-idx3-ubyte")) && File.Exists(Path.Combine(MnistDir, "t10k-labels-idx1-ubyte"));

    /// <summary>The repository root: <c>SHARPCNN_REPO_ROOT</c> (set by the wrapper), else the first folder up from here holding SharpCnn.slnx.</summary>
    public static string FindRepoRoot()
    {
        string? fromEnv = Environment.GetEnvironmentVariable("SHARPCNN_REPO_ROOT");
        if (!string.IsNullOrEmpty(fromEnv))
        {
            return fromEnv;
        }

        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(start); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "SharpCnn.slnx")))
                {
                    return d.FullName;
                }
            }
        }

        return Directory.GetCurrentDirectory();
    }
}
