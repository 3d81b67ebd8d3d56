using System.Diagnostics;
using System.Runtime.InteropServices;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>What the numbers were measured on: they are only comparable within one run on one machine.</summary>
public sealed record MachineInfo(
    string Cpu,
    int LogicalCores,
    string LoadAverageStart,
    string Runtime,
    string Os,
    DateTime StartedUtc,
    string GitCommit,
    string TieredCompilation,
    IReadOnlyList<string> Engines)
{
    public string LoadAverageEnd { get; init; } = "";

    public static MachineInfo Collect(string repoRoot, IReadOnlyList<IEngine> engines) => new(
        CpuModel(),
        Environment.ProcessorCount,
        LoadAverage(),
        RuntimeInformation.FrameworkDescription,
        RuntimeInformation.OSDescription,
        DateTime.UtcNow,
        ReadGitCommit(repoRoot),
        Environment.GetEnvironmentVariable("DOTNET_TieredCompilation") is { } tc ? $"DOTNET_TieredCompilation={tc}" : "tiered compilation on (default)",
        [.. engines.Select(e => e.Description)]);

    /// <summary>The 1, 5 and 15 minute load averages from /proc/loadavg (what <c>uptime</c> shows).</summary>
    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string CpuModel()
    {
        try
        {
            string[] lines = [.. File.ReadLines("/proc/cpuinfo").TakeWhile(l => l.Length > 0)];
            string Field(string name) =>
                lines.FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && l[name.Length..].TrimStart().StartsWith(':')) is { } l
                    ? l[(l.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim()
                    : "?";
            bool avx512 = Field("flags").Split(' ').Contains("avx512f");
            return $"{Field("model name")} (family {Field("cpu family")} model {Field("model")}, {(avx512 ? "AVX-512" : "no AVX-512")})";
        }
        catch (IOException)
        {
            return RuntimeInformation.ProcessArchitecture.ToString();
        }
    }

    private static string ReadGitCommit(string repoRoot)
    {
        try
        {
            var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in new[] { "-C", repoRoot, "describe", "--always", "--dirty" })
            {
                psi.ArgumentList.Add(a);
            }

            using Process p = Process.Start(psi)!;
            string commit = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 ? commit : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
