namespace SharpCnn.Serialization;

/// <summary>The contents of a safetensors file: its tensors in data order and its string metadata.</summary>
public sealed class SafetensorsFile
{
    private readonly Dictionary<string, SafetensorsTensor> _byName;

    /// <summary>Creates a file model; names must be unique.</summary>
    /// <exception cref="ArgumentException">Two tensors share a name.</exception>
    public SafetensorsFile(IReadOnlyList<SafetensorsTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        _byName = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        foreach (SafetensorsTensor t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (!_byName.TryAdd(t.Name, t))
            {
                throw new ArgumentException($"Tensor name '{t.Name}' appears more than once; names must be unique.", nameof(tensors));
            }
        }

        // Copies, so the file model cannot change under a caller that keeps the inputs.
        Tensors = tensors.ToArray().AsReadOnly();
        Metadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal).AsReadOnly();
    }

    /// <summary>The tensors, in the order of their byte ranges in the file.</summary>
    public IReadOnlyList<SafetensorsTensor> Tensors { get; }

    /// <summary>The <c>__metadata__</c> entries; empty when the file has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensor with the given name.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name; the message lists a few that exist.</exception>
    public SafetensorsTensor this[string name] =>
        _byName.TryGetValue(name, out SafetensorsTensor? t)
            ? t
            : throw new KeyNotFoundException(
                $"No tensor named '{name}' in this safetensors file; it has {_byName.Count} tensors" +
                (_byName.Count == 0 ? "." : $", e.g. {string.Join(", ", _byName.Keys.Take(5).Select(k => $"'{k}'"))}."));

    /// <summary>Looks a tensor up by name.</summary>
    public bool TryGetTensor(string name, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out SafetensorsTensor tensor) =>
        _byName.TryGetValue(name, out tensor);
}
