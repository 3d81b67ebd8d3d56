using SharpCnn.Serialization;

namespace SharpCnn.Nn;

public abstract partial class Module
{
    private const string NumBatchesTracked = "num_batches_tracked";

    /// <summary>
    /// Copies values from <paramref name="state"/> into this module's parameters and buffers. Everything is
    /// checked before anything is copied, so a failed load leaves the module unchanged.
    /// </summary>
    /// <param name="state">Tensors by dotted key.</param>
    /// <param name="strict">When true (the default), missing and unexpected keys are errors, as PyTorch.</param>
    /// <returns>The report: missing and unexpected keys (both empty after a strict load); nothing mismatched.</returns>
    /// <exception cref="InvalidDataException">Keys are missing or unexpected (strict), or a shape differs (always, as
    /// PyTorch); the message lists every problem.</exception>
    public StateDictLoadResult LoadStateDict(IReadOnlyDictionary<string, Tensor> state, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(state);
        return LoadCore(
            state.Keys,
            (key, target) =>
            {
                Tensor source = state[key];
                return source.ShapeSpan.SequenceEqual(target.ShapeSpan)
                    ? null
                    : SizeMismatch(key, target, [.. source.Shape.Select(d => (long)d)]);
            },
            (key, target) => state[key].Data.CopyTo(target.Data),
            strict,
            optional: static _ => false);
    }

    /// <summary>
    /// Loads a safetensors file with PyTorch's key names (e.g. torchvision weights saved with
    /// <c>safetensors.torch.save_file(model.state_dict(), path)</c>). F32, F64, F16 and BF16 tensors are converted to
    /// float32; <c>num_batches_tracked</c> may also be I64 or I32. Keys ending in <c>num_batches_tracked</c> are
    /// optional: when the file lacks them the buffers are left unchanged and listed in
    /// <see cref="StateDictLoadResult.SkippedOptional"/> (torchvision's published files sometimes omit them).
    /// The file is validated and every key checked before anything is copied.
    /// </summary>
    /// <param name="path">The safetensors file.</param>
    /// <param name="strict">When true (the default), missing (non-optional) and unexpected keys are errors.</param>
    /// <returns>The report of missing, unexpected and skipped optional keys.</returns>
    /// <exception cref="InvalidDataException">Keys are missing or unexpected (strict), or a tensor's shape or dtype
    /// does not fit (always); the message lists every problem.</exception>
    /// <exception cref="SafetensorsFormatException">The file is not valid safetensors.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public StateDictLoadResult LoadStateDict(string path, bool strict = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return LoadStateDict(Safetensors.Read(path), strict);
    }

    /// <summary>Loads an already read safetensors file; see <see cref="LoadStateDict(string, bool)"/>.</summary>
    public StateDictLoadResult LoadStateDict(SafetensorsFile file, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(file);
        return LoadCore(
            file.Tensors.Select(t => t.Name),
            (key, target) =>
            {
                SafetensorsTensor source = file[key];
                if (!source.Shape.SequenceEqual(target.Shape.Select(d => (long)d)))
                {
                    return SizeMismatch(key, target, source.Shape);
                }

                bool integersAllowed = IsOptionalKey(key);
                return SafetensorsConversions.CanConvert(source.Dtype, integersAllowed)
                    ? null
                    : new StateDictMismatch(key, target.Shape, source.Shape,
                        $"dtype mismatch for {key}: the file holds {source.Dtype.ToFileName()}, which cannot be loaded into a float32 " +
                        $"{(integersAllowed ? "buffer (F32, F64, F16, BF16, I64 and I32 can)" : "tensor (F32, F64, F16 and BF16 can)")}.");
            },
            (key, target) => SafetensorsConversions.ToSingles(file[key], target.Data),
            strict,
            IsOptionalKey);
    }

    private static bool IsOptionalKey(string key) =>
        key == NumBatchesTracked || key.EndsWith("." + NumBatchesTracked, StringComparison.Ordinal);

    private static StateDictMismatch SizeMismatch(string key, Tensor target, long[] sourceShape) =>
        new(key, target.Shape, sourceShape,
            $"size mismatch for {key}: copying a tensor with shape ({string.Join(", ", sourceShape)}) from the checkpoint, " +
            $"the shape in the current model is {Shapes.Format(target.ShapeSpan)}.");

    /// <summary>Matches keys, checks each pair with <paramref name="check"/>, and copies only when all is well.</summary>
    private StateDictLoadResult LoadCore(
        IEnumerable<string> sourceKeys,
        Func<string, Tensor, StateDictMismatch?> check,
        Action<string, Tensor> copy,
        bool strict,
        Func<string, bool> optional)
    {
        OrderedDictionary<string, Tensor> own = StateDict();
        List<string> sourceOrder = [.. sourceKeys];
        var present = new HashSet<string>(sourceOrder, StringComparer.Ordinal);
        var absent = own.Keys.Where(k => !present.Contains(k)).ToList();
        var missing = absent.Where(k => !optional(k)).ToList();
        var skipped = absent.Where(optional).ToList();
        var unexpected = sourceOrder.Where(k => !own.ContainsKey(k)).ToList();
        var mismatched = new List<StateDictMismatch>();
        foreach ((string key, Tensor target) in own)
        {
            if (present.Contains(key) && check(key, target) is { } problem)
            {
                mismatched.Add(problem);
            }
        }

        var result = new StateDictLoadResult(missing, unexpected, mismatched, skipped);
        if (mismatched.Count > 0 || (strict && (missing.Count > 0 || unexpected.Count > 0)))
        {
            throw new InvalidDataException($"Error(s) in loading state_dict for {GetType().Name}:\n" +
                result.Format(includeKeys: strict, includeSkipped: false, indent: "    "));
        }

        foreach ((string key, Tensor target) in own)
        {
            if (present.Contains(key))
            {
                copy(key, target);
            }
        }

        return result;
    }
}
