using System.Buffers.Binary;
using System.Globalization;
using SharpCnn.Nn;

namespace SharpCnn.Serialization;

/// <summary>
/// What a training checkpoint records besides tensors: which model, where training stood, and how to
/// reproduce the rest of the run.
/// </summary>
public sealed record CheckpointInfo
{
    /// <summary>The model's architecture name as the model zoo knows it (e.g. <c>"lenet5"</c>).</summary>
    public required string ModelName { get; init; }

    /// <summary>Completed epochs (a checkpoint taken mid-epoch has <see cref="BatchInEpoch"/> &gt; 0).</summary>
    public int Epoch { get; init; }

    /// <summary>Batches already taken in the unfinished epoch (0 at an epoch boundary).</summary>
    public int BatchInEpoch { get; init; }

    /// <summary>Optimizer steps taken so far.</summary>
    public long GlobalStep { get; init; }

    /// <summary>The run's seed.</summary>
    public ulong Seed { get; init; }

    /// <summary>The library generator's state (four words) when the checkpoint was taken.</summary>
    public ulong[] RngState { get; init; } = [];

    /// <summary>SHA-256 (hex) of the training data, or a fingerprint of it; empty when unknown.</summary>
    public string DataSha256 { get; init; } = "";

    /// <summary>Best test accuracy (fraction in [0, 1]) seen so far; NaN when none was measured.</summary>
    public double BestAccuracy { get; init; } = double.NaN;

    /// <summary>The run's hyper-parameters as a JSON object (free form).</summary>
    public string HyperParameters { get; init; } = "{}";

    /// <summary>Further string entries (e.g. optimizer and scheduler scalars as JSON), stored with an <c>extra.</c> prefix.</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();
}

/// <summary>A checkpoint as read from disk, validated: metadata and tensors grouped by owner.</summary>
/// <param name="Info">The metadata.</param>
/// <param name="Model">The model's state dict.</param>
/// <param name="Optimizer">The optimizer's tensors (keys without the <c>optimizer.</c> prefix).</param>
/// <param name="Scheduler">The scheduler's tensors (keys without the <c>scheduler.</c> prefix).</param>
public sealed record CheckpointData(
    CheckpointInfo Info,
    OrderedDictionary<string, Tensor> Model,
    OrderedDictionary<string, Tensor> Optimizer,
    OrderedDictionary<string, Tensor> Scheduler);

/// <summary>
/// Training checkpoints as one safetensors file: tensors named <c>model.*</c>, <c>optimizer.*</c> and
/// <c>scheduler.*</c>, and metadata strings (format version, model name, epoch, step, seed, RNG state,
/// data SHA-256, best accuracy, hyper-parameters as JSON). Files are written atomically; loading checks
/// everything before the model is touched.
/// </summary>
/// <remarks>
/// Keys ending in <c>num_batches_tracked</c> are written as I64, as PyTorch stores them, so the model part
/// matches a torch state dict; I64, F64 and F32 tensors are all read back as float tensors.
/// </remarks>
public static class Checkpoint
{
    /// <summary>The value of the <c>format</c> metadata entry.</summary>
    public const string FormatName = "sharpcnn-checkpoint";

    /// <summary>The format version written by this code; files with another version are refused.</summary>
    public const int FormatVersion = 1;

    private const string ModelPrefix = "model.";
    private const string OptimizerPrefix = "optimizer.";
    private const string SchedulerPrefix = "scheduler.";
    private const string ExtraPrefix = "extra.";

    /// <summary>Writes a checkpoint atomically (a failure leaves any previous file at <paramref name="path"/> intact).</summary>
    /// <param name="path">The target file; its directory must exist.</param>
    /// <param name="info">The metadata.</param>
    /// <param name="model">The model's state dict (e.g. <see cref="Module.StateDict"/>).</param>
    /// <param name="optimizer">Optimizer tensors, if any.</param>
    /// <param name="scheduler">Scheduler tensors, if any.</param>
    public static void Save(
        string path,
        CheckpointInfo info,
        IEnumerable<KeyValuePair<string, Tensor>> model,
        IEnumerable<KeyValuePair<string, Tensor>>? optimizer = null,
        IEnumerable<KeyValuePair<string, Tensor>>? scheduler = null)
    {
        ArgumentNullException.ThrowIfNull(info);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(info.ModelName, nameof(info));
        if (info.RngState.Length is not (0 or 4))
        {
            throw new ArgumentException($"RngState must hold 4 words (or none); got {info.RngState.Length}.", nameof(info));
        }

        var tensors = new List<SafetensorsTensor>();
        Add(tensors, ModelPrefix, model);
        Add(tensors, OptimizerPrefix, optimizer ?? []);
        Add(tensors, SchedulerPrefix, scheduler ?? []);
        Dictionary<string, string> metadata = ToMetadata(info);
        AtomicFile.Write(path, stream => Safetensors.Write(CheckpointFaultInjection.Wrap(stream), tensors, metadata));
    }

    /// <summary>
    /// Copies a checkpoint file to <paramref name="destination"/> atomically (temp file beside it, flushed, renamed), so
    /// the destination is always either its old or its new complete contents. The source is not validated.
    /// </summary>
    public static void CopyFile(string source, string destination)
    {
        ArgumentException.ThrowIfNullOrEmpty(source);
        ArgumentException.ThrowIfNullOrEmpty(destination);
        AtomicFile.Write(destination, stream =>
        {
            using FileStream from = File.OpenRead(source);
            from.CopyTo(CheckpointFaultInjection.Wrap(stream));
        });
    }

    /// <summary>Saves <paramref name="model"/>'s state dict with the given metadata and optimizer/scheduler tensors.</summary>
    public static void Save(
        string path,
        CheckpointInfo info,
        Module model,
        IEnumerable<KeyValuePair<string, Tensor>>? optimizer = null,
        IEnumerable<KeyValuePair<string, Tensor>>? scheduler = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        Save(path, info, model.StateDict(), optimizer, scheduler);
    }

    /// <summary>Reads and validates a checkpoint without applying it to anything.</summary>
    /// <exception cref="InvalidDataException">The file is not a valid checkpoint (truncated, wrong format or version, bad metadata); the message names the file.</exception>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    public static CheckpointData Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Checkpoint \"{path}\" does not exist.", path);
        }

        SafetensorsFile file;
        try
        {
            file = Safetensors.Read(path);
        }
        catch (SafetensorsFormatException e)
        {
            throw new InvalidDataException($"\"{path}\" is not a readable checkpoint (truncated or corrupt?): {e.Message}", e);
        }

        CheckpointInfo info = FromMetadata(file.Metadata, path);
        var model = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        var optimizer = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        var scheduler = new OrderedDictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (SafetensorsTensor t in file.Tensors.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            (OrderedDictionary<string, Tensor> target, string prefix) =
                t.Name.StartsWith(ModelPrefix, StringComparison.Ordinal) ? (model, ModelPrefix)
                : t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) ? (optimizer, OptimizerPrefix)
                : t.Name.StartsWith(SchedulerPrefix, StringComparison.Ordinal) ? (scheduler, SchedulerPrefix)
                : throw new InvalidDataException($"Checkpoint \"{path}\" holds tensor \"{t.Name}\", which belongs to neither model., optimizer. nor scheduler.");
            target.Add(t.Name[prefix.Length..], ToTensor(t, path));
        }

        // Keys come back sorted, not in module order; LoadStateDict matches by key, so order is immaterial.
        return new CheckpointData(info, model, optimizer, scheduler);
    }

    /// <summary>
    /// Reads a checkpoint, checks that it was written for <paramref name="modelName"/>, and loads its model
    /// state into <paramref name="model"/>. Every check happens before the model is changed.
    /// </summary>
    /// <exception cref="InvalidDataException">The file is invalid, was made for another architecture, or its
    /// tensors do not fit the model (missing/unexpected keys, shapes).</exception>
    public static CheckpointData Load(string path, Module model, string modelName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(modelName);
        CheckpointData data = Read(path);
        if (!string.Equals(data.Info.ModelName, modelName, StringComparison.Ordinal))
        {
            throw new InvalidDataException(
                $"Checkpoint \"{path}\" was saved from model \"{data.Info.ModelName}\", but the model being loaded is \"{modelName}\".");
        }

        model.LoadStateDict(data.Model);
        return data;
    }

    /// <summary>Hex SHA-256 over the contents of <paramref name="files"/>, in the order given (a fingerprint of training data).</summary>
    public static string Sha256OfFiles(IEnumerable<string> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        var buffer = new byte[1 << 16];
        foreach (string f in files)
        {
            using FileStream s = File.OpenRead(f);
            int n;
            while ((n = s.Read(buffer)) > 0)
            {
                hash.AppendData(buffer, 0, n);
            }
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Add(List<SafetensorsTensor> tensors, string prefix, IEnumerable<KeyValuePair<string, Tensor>> items)
    {
        foreach ((string key, Tensor value) in items)
        {
            ArgumentNullException.ThrowIfNull(value, key);
            long[] shape = [.. value.Shape.Select(d => (long)d)];
            if (key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            {
                long[] values = [.. value.ToArray().Select(v => (long)v)];
                tensors.Add(SafetensorsTensor.FromInt64s(prefix + key, shape, values));
            }
            else
            {
                tensors.Add(SafetensorsTensor.FromFloats(prefix + key, shape, value.Data));
            }
        }
    }

    private static Tensor ToTensor(SafetensorsTensor t, string path)
    {
        int[] shape = [.. t.Shape.Select(d => checked((int)d))];
        float[] values;
        switch (t.Dtype)
        {
            case SafetensorsDtype.F32:
                values = t.ToFloats();
                break;
            case SafetensorsDtype.I64:
                values = [.. t.ToInt64s().Select(v => (float)v)];
                break;
            case SafetensorsDtype.F64:
                values = new float[t.Data.Length / sizeof(double)];
                for (int i = 0; i < values.Length; i++)
                {
                    values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(t.Data.AsSpan(i * sizeof(double)));
                }

                break;
            default:
                throw new InvalidDataException($"Checkpoint \"{path}\": tensor \"{t.Name}\" has dtype {t.Dtype.ToFileName()}; only F32, F64 and I64 can be loaded.");
        }

        return new Tensor(values, shape);
    }

    private static Dictionary<string, string> ToMetadata(CheckpointInfo info)
    {
        var m = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["format"] = FormatName,
            ["format_version"] = FormatVersion.ToString(CultureInfo.InvariantCulture),
            ["model"] = info.ModelName,
            ["epoch"] = info.Epoch.ToString(CultureInfo.InvariantCulture),
            ["batch_in_epoch"] = info.BatchInEpoch.ToString(CultureInfo.InvariantCulture),
            ["global_step"] = info.GlobalStep.ToString(CultureInfo.InvariantCulture),
            ["seed"] = info.Seed.ToString(CultureInfo.InvariantCulture),
            ["rng_state"] = string.Join(",", info.RngState.Select(w => w.ToString("x16", CultureInfo.InvariantCulture))),
            ["data_sha256"] = info.DataSha256,
            ["best_accuracy"] = info.BestAccuracy.ToString("R", CultureInfo.InvariantCulture),
            ["hyperparameters"] = info.HyperParameters,
        };
        foreach ((string key, string value) in info.Extra)
        {
            m[ExtraPrefix + key] = value;
        }

        return m;
    }

    private static CheckpointInfo FromMetadata(IReadOnlyDictionary<string, string> m, string path)
    {
        string Get(string key) => m.TryGetValue(key, out string? v)
            ? v
            : throw new InvalidDataException($"Checkpoint \"{path}\" lacks the metadata entry \"{key}\".");

        T Parse<T>(string key)
            where T : ISpanParsable<T>
        {
            string v = Get(key);
            return T.TryParse(v, CultureInfo.InvariantCulture, out T? result)
                ? result
                : throw new InvalidDataException($"Checkpoint \"{path}\": metadata \"{key}\" = \"{v}\" is not a valid {typeof(T).Name}.");
        }

        if (!m.TryGetValue("format", out string? format) || format != FormatName)
        {
            throw new InvalidDataException($"\"{path}\" is a safetensors file but not a SharpCnn checkpoint (metadata \"format\" is {(format is null ? "missing" : $"\"{format}\"")}, expected \"{FormatName}\").");
        }

        int version = Parse<int>("format_version");
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"Checkpoint \"{path}\" has format version {version}; this build reads version {FormatVersion}.");
        }

        string rng = Get("rng_state");
        ulong[] words = rng.Length == 0 ? [] : [.. rng.Split(',').Select(w => ulong.TryParse(w, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong x)
            ? x
            : throw new InvalidDataException($"Checkpoint \"{path}\": rng_state \"{rng}\" is not four hex words."))];
        if (words.Length is not (0 or 4))
        {
            throw new InvalidDataException($"Checkpoint \"{path}\": rng_state has {words.Length} words, expected 4.");
        }

        var extra = m.Where(kv => kv.Key.StartsWith(ExtraPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[ExtraPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        var info = new CheckpointInfo
        {
            ModelName = Get("model"),
            Epoch = Parse<int>("epoch"),
            BatchInEpoch = Parse<int>("batch_in_epoch"),
            GlobalStep = Parse<long>("global_step"),
            Seed = Parse<ulong>("seed"),
            RngState = words,
            DataSha256 = Get("data_sha256"),
            BestAccuracy = Parse<double>("best_accuracy"),
            HyperParameters = Get("hyperparameters"),
            Extra = extra,
        };
        if (info.ModelName.Length == 0 || info.Epoch < 0 || info.BatchInEpoch < 0 || info.GlobalStep < 0)
        {
            throw new InvalidDataException($"Checkpoint \"{path}\" has invalid metadata: model \"{info.ModelName}\", epoch {info.Epoch}, batch {info.BatchInEpoch}, step {info.GlobalStep}.");
        }

        return info;
    }
}
