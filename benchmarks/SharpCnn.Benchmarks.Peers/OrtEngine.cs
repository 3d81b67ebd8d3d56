using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using SharpCnn.Benchmarks.Suite;

namespace SharpCnn.Benchmarks.Peers;

/// <summary>
/// ONNX Runtime (CPU, MLAS kernels) for the inference rows: ResNet-18 from an ONNX file that Debian's
/// python3-torch exports once into <c>.build/bench-cache</c> (SharpCnn has no ONNX exporter yet). Same
/// architecture and input shape as the other engines; the weights are random, which does not change the speed.
/// Session: all graph optimisations, sequential execution, intra-op threads = the row's thread count.
/// </summary>
internal sealed class OrtEngine : IEngine
{
    private const int Opset = 17;
    private static readonly Lock s_lock = new();
    private static string? s_modelPath;
    private static string? s_modelError;

    public string Name => "ORT";

    public string Key => "ort";

    public string Description => $"ONNX Runtime {OrtEnv.Instance().GetVersionString()} (CPU, ORT_ENABLE_ALL, model exported with opset {Opset})";

    public string? WhyNot(Workload workload, BenchContext context)
    {
        if (workload is not NetworkWorkload { Task: NetworkTask.ResNet18Inference })
        {
            return ""; // Inference engine: the layer, training and GEMM rows are not its business.
        }

        return EnsureModel(context, out string? error) is null ? $"no ONNX ResNet-18: {error}" : null;
    }

    public void Initialize(int threads) => OrtEnv.Instance();

    public IBenchRun Prepare(Workload workload, int threads, BenchContext context)
    {
        if (workload is not NetworkWorkload { Task: NetworkTask.ResNet18Inference } n)
        {
            throw new NotSupportedException(workload.Name);
        }

        string path = EnsureModel(context, out string? error) ?? throw new InvalidOperationException(error);
        var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        var session = new InferenceSession(path, options);
        float[] data = SharpCnn.Benchmarks.Suite.SharpCnnEngine.RandomArray(n.Batch * 3 * 224 * 224, 4);
        OrtValue input = OrtValue.CreateTensorValueFromMemory(data, [n.Batch, 3, 224, 224]);
        string[] inputNames = [session.InputNames[0]];
        string[] outputNames = [session.OutputNames[0]];
        var runOptions = new RunOptions();
        return new ActionRun(
            () =>
            {
                using IDisposableReadOnlyCollection<OrtValue> outputs = session.Run(runOptions, inputNames, [input], outputNames);
            },
            () =>
            {
                runOptions.Dispose();
                input.Dispose();
                session.Dispose();
                options.Dispose();
            });
    }

    /// <summary>The cached ONNX file, exported on first use with Debian's python3 (SHARPCNN_PYTHON overrides it); null and why when that is not possible.</summary>
    private static string? EnsureModel(BenchContext context, out string? error)
    {
        lock (s_lock)
        {
            string path = Path.Combine(context.CacheDir, $"resnet18-opset{Opset}-dynamic-batch.onnx");
            if (s_modelPath is null && s_modelError is null)
            {
                s_modelError = File.Exists(path) ? null : Export(path);
                s_modelPath = s_modelError is null ? path : null;
            }

            error = s_modelError;
            return s_modelPath;
        }
    }

    private static string? Export(string path)
    {
        string python = Environment.GetEnvironmentVariable("SHARPCNN_PYTHON") ?? "/usr/bin/python3";
        string script = Path.Combine(AppContext.BaseDirectory, "export_resnet18_onnx.py");
        if (!File.Exists(python))
        {
            return $"{python} not found (apt-get install python3-torch python3-torchvision, or set SHARPCNN_PYTHON)";
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string temp = path + ".tmp";
        var psi = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { script, temp, Opset.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(a);
        }

        Console.Error.WriteLine($"bench: exporting torchvision ResNet-18 to ONNX with {python} (once, into {path})");
        using Process p = Process.Start(psi)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 || !File.Exists(temp))
        {
            string last = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? $"exit code {p.ExitCode}";
            return last.Contains("No module named", StringComparison.Ordinal)
                ? $"{python} lacks torch/torchvision ({last.Trim()}; apt-get install python3-torch python3-torchvision)"
                : $"export failed: {last.Trim()}";
        }

        File.Move(temp, path, overwrite: true);
        Console.Error.WriteLine($"bench: {stdout.Result.Trim().Replace(temp, path, StringComparison.Ordinal)}");
        return null;
    }
}
