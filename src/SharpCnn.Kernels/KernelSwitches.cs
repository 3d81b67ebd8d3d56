namespace SharpCnn.Kernels;

/// <summary>
/// The names listed in the environment variable <c>SHARPCNN_KERNEL</c> (comma-separated), read once per process: the
/// variants it forces and the A/B switches it turns on (for example <c>SHARPCNN_KERNEL=GemmNoSteal,BatchNormNoPrefetch</c>).
/// </summary>
internal static class KernelSwitches
{
    private static readonly Lazy<string[]> s_names = new(() =>
        Environment.GetEnvironmentVariable("SHARPCNN_KERNEL")?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? []);

    /// <summary>Gets the names, in the order given.</summary>
    public static IReadOnlyList<string> All => s_names.Value;

    /// <summary>Tells whether <c>SHARPCNN_KERNEL</c> names <paramref name="name"/>.</summary>
    public static bool Names(string name) => Array.IndexOf(s_names.Value, name) >= 0;
}
