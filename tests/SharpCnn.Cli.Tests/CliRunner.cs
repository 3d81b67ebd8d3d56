using SharpCnn.Serialization;

namespace SharpCnn.Cli.Tests;

/// <summary>What the CLI tests share: running a command line in-process and reading what a run left behind.</summary>
internal static class CliRunner
{
    /// <summary>Runs <c>sharpcnn ARGS</c> through the testable entry point; returns the exit code, stdout and stderr.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A checkpoint's model tensors by name.</summary>
    public static Dictionary<string, float[]> ModelTensors(string checkpoint) =>
        Checkpoint.Read(checkpoint).Model.ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    /// <summary>A run's metrics.csv without the seconds column (wall time differs between runs).</summary>
    public static string[] Rows(string runDir)
    {
        string[] lines = File.ReadAllLines(Path.Combine(runDir, "metrics.csv"));
        int seconds = Array.IndexOf(lines[0].Split(','), "seconds");
        return [.. lines.Select(l => string.Join(",", l.Split(',').Where((_, i) => i != seconds)))];
    }
}
