using System.Text;

namespace SharpCnn.Nn;

/// <summary>A key whose tensor cannot be copied into the module: its shape differs, or its dtype cannot be converted.</summary>
/// <param name="Key">The state-dict key.</param>
/// <param name="ModelShape">The shape in the module.</param>
/// <param name="SourceShape">The shape in the state dict or file.</param>
/// <param name="Message">One line saying what differs, in PyTorch's words for a size mismatch.</param>
public sealed record StateDictMismatch(string Key, IReadOnlyList<int> ModelShape, IReadOnlyList<long> SourceShape, string Message)
{
    /// <inheritdoc/>
    public override string ToString() => Message;
}

/// <summary>
/// What <see cref="Module.LoadStateDict(IReadOnlyDictionary{string, Tensor}, bool)"/> (or the file overloads) found
/// when matching a state dict against a module, as PyTorch's <c>_IncompatibleKeys</c> plus the size mismatches.
/// </summary>
/// <remarks>
/// Deconstructs as <c>(missing, unexpected)</c>, the pair the dictionary overload used to return.
/// </remarks>
public sealed class StateDictLoadResult
{
    /// <summary>Creates a report.</summary>
    public StateDictLoadResult(
        IReadOnlyList<string> missing,
        IReadOnlyList<string> unexpected,
        IReadOnlyList<StateDictMismatch> mismatched,
        IReadOnlyList<string> skippedOptional)
    {
        ArgumentNullException.ThrowIfNull(missing);
        ArgumentNullException.ThrowIfNull(unexpected);
        ArgumentNullException.ThrowIfNull(mismatched);
        ArgumentNullException.ThrowIfNull(skippedOptional);
        (Missing, Unexpected, Mismatched, SkippedOptional) = (missing, unexpected, mismatched, skippedOptional);
    }

    /// <summary>The module's keys the source lacks (required ones only), in state-dict order.</summary>
    public IReadOnlyList<string> Missing { get; }

    /// <summary>The source's keys the module does not have.</summary>
    public IReadOnlyList<string> Unexpected { get; }

    /// <summary>Keys present on both sides whose tensor cannot be copied (shape or dtype).</summary>
    public IReadOnlyList<StateDictMismatch> Mismatched { get; }

    /// <summary>
    /// Optional keys (<c>num_batches_tracked</c>, when loading a file) the source lacks; those buffers were left
    /// unchanged.
    /// </summary>
    public IReadOnlyList<string> SkippedOptional { get; }

    /// <summary>True when nothing is missing, unexpected or mismatched (skipped optional keys allowed).</summary>
    public bool IsComplete => Missing.Count == 0 && Unexpected.Count == 0 && Mismatched.Count == 0;

    /// <summary>The missing and unexpected keys.</summary>
    public void Deconstruct(out IReadOnlyList<string> missing, out IReadOnlyList<string> unexpected) =>
        (missing, unexpected) = (Missing, Unexpected);

    /// <summary>
    /// Every category that is not empty, one per line (<c>Missing key(s) in state_dict: "fc.bias"</c>,
    /// <c>Unexpected key(s) …</c>, one <c>size mismatch for …</c> line per mismatch, skipped optional keys);
    /// <c>All keys matched successfully</c> when there is nothing to say, as PyTorch.
    /// </summary>
    public override string ToString()
    {
        string text = Format(includeKeys: true, includeSkipped: true, indent: "");
        return text.Length == 0 ? "All keys matched successfully" : text;
    }

    /// <summary>The lines of the report; <paramref name="includeKeys"/> false leaves out missing and unexpected keys.</summary>
    internal string Format(bool includeKeys, bool includeSkipped, string indent)
    {
        var lines = new List<string>();
        if (includeKeys && Missing.Count > 0)
        {
            lines.Add("Missing key(s) in state_dict: " + Quote(Missing));
        }

        if (includeKeys && Unexpected.Count > 0)
        {
            lines.Add("Unexpected key(s) in state_dict: " + Quote(Unexpected));
        }

        lines.AddRange(Mismatched.Select(m => m.Message));
        if (includeSkipped && SkippedOptional.Count > 0)
        {
            lines.Add("Optional key(s) not in the source, left unchanged: " + Quote(SkippedOptional));
        }

        var sb = new StringBuilder();
        foreach (string line in lines)
        {
            sb.Append(sb.Length > 0 ? "\n" : "").Append(indent).Append(line);
        }

        return sb.ToString();
    }

    private static string Quote(IEnumerable<string> keys) => string.Join(", ", keys.Select(k => $"\"{k}\""));
}
