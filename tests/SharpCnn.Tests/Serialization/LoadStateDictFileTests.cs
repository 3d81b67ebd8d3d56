using System.Buffers.Binary;
using SharpCnn.Nn;
using SharpCnn.Serialization;

namespace SharpCnn.Tests.Serialization;

/// <summary>Module.LoadStateDict from safetensors files with PyTorch key names, as torchvision weights are published.</summary>
public sealed class LoadStateDictFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-load-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Net : Module
    {
        private readonly Sequential _features;
        private readonly Linear _fc;

        public Net()
        {
            _features = Add("features", new Sequential(new Conv2d(1, 2, 3, padding: 1), new BatchNorm2d(2), new ReLU()));
            _fc = Add("fc", new Linear(4, 3));
        }

        public override Tensor Forward(Tensor input) => input.Apply(_features).Flatten(1).Apply(_fc);
    }

    /// <summary>The module's state as F32 tensors (num_batches_tracked as I64), each value replaced by key index + position / 100.</summary>
    private static List<SafetensorsTensor> TorchStyle(Module m)
    {
        var list = new List<SafetensorsTensor>();
        int k = 0;
        foreach ((string key, Tensor t) in m.StateDict())
        {
            long[] shape = [.. t.Shape.Select(d => (long)d)];
            k++;
            list.Add(key.EndsWith("num_batches_tracked", StringComparison.Ordinal)
                ? SafetensorsTensor.FromInt64s(key, shape, [100 + k])
                : SafetensorsTensor.FromFloats(key, shape, [.. Enumerable.Range(0, t.Numel).Select(i => k + (i / 100f))]));
        }

        return list;
    }

    private string Save(IEnumerable<SafetensorsTensor> tensors)
    {
        string path = Path.Combine(_dir, $"{Guid.NewGuid():N}.safetensors");
        Safetensors.Save(path, tensors);
        return path;
    }

    private static Dictionary<string, float[]> Snapshot(Module m) => m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());

    [Fact]
    public void LoadStateDict_File_AllKeys_CopiesValuesIncludingI64Buffer()
    {
        var m = new Net();
        List<SafetensorsTensor> tensors = TorchStyle(m);
        StateDictLoadResult r = m.LoadStateDict(Save(tensors));
        Assert.True(r.IsComplete);
        Assert.Empty(r.SkippedOptional);
        Assert.Equal("All keys matched successfully", r.ToString());
        Assert.Equal(tensors.Single(t => t.Name == "fc.bias").ToFloats(), m.StateDict()["fc.bias"].ToArray());
        Assert.Equal(107f, m.StateDict()["features.1.num_batches_tracked"].Item());
    }

    [Fact]
    public void LoadStateDict_File_MissingNumBatchesTracked_LoadsAndLeavesBufferUnchanged()
    {
        var m = new Net();
        m.StateDict()["features.1.num_batches_tracked"].Data[0] = 7;
        List<SafetensorsTensor> tensors = TorchStyle(m);
        tensors.RemoveAll(t => t.Name.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        StateDictLoadResult r = m.LoadStateDict(Save(tensors));
        Assert.True(r.IsComplete);
        Assert.Equal(["features.1.num_batches_tracked"], r.SkippedOptional);
        Assert.Contains("Optional key(s) not in the source, left unchanged: \"features.1.num_batches_tracked\"", r.ToString(), StringComparison.Ordinal);
        Assert.Equal(7f, m.StateDict()["features.1.num_batches_tracked"].Item());
        Assert.Equal(tensors.Single(t => t.Name == "features.1.running_var").ToFloats(), m.StateDict()["features.1.running_var"].ToArray());
    }

    [Fact]
    public void LoadStateDict_File_MissingUnexpectedMismatched_StrictThrowsFullReport_ChangesNothing()
    {
        var m = new Net();
        Dictionary<string, float[]> before = Snapshot(m);
        List<SafetensorsTensor> tensors = TorchStyle(m);
        tensors.RemoveAll(t => t.Name == "fc.bias");
        tensors.Add(SafetensorsTensor.FromFloats("classifier.weight", [1], [1f]));
        tensors[tensors.FindIndex(t => t.Name == "features.0.weight")] = SafetensorsTensor.FromFloats("features.0.weight", [2, 1, 5, 5], new float[50]);
        string path = Save(tensors);

        var e = Assert.Throws<InvalidDataException>(() => m.LoadStateDict(path));
        Assert.StartsWith("Error(s) in loading state_dict for Net:", e.Message, StringComparison.Ordinal);
        Assert.Contains("Missing key(s) in state_dict: \"fc.bias\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("Unexpected key(s) in state_dict: \"classifier.weight\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("size mismatch for features.0.weight: copying a tensor with shape (2, 1, 5, 5) from the checkpoint, the shape in the current model is (2, 1, 3, 3).", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(m));

        // Non-strict still refuses a size mismatch (as PyTorch), and still copies nothing.
        var e2 = Assert.Throws<InvalidDataException>(() => m.LoadStateDict(path, strict: false));
        Assert.Contains("size mismatch for features.0.weight", e2.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Missing", e2.Message, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(m));
    }

    [Fact]
    public void LoadStateDict_File_NonStrict_ReturnsReport_LoadsPresentKeys()
    {
        var m = new Net();
        List<SafetensorsTensor> tensors = TorchStyle(m);
        tensors.RemoveAll(t => t.Name.StartsWith("fc.", StringComparison.Ordinal));
        tensors.Add(SafetensorsTensor.FromFloats("head.bias", [3], [1f, 2f, 3f]));
        float[] fcBefore = m.StateDict()["fc.weight"].ToArray();

        StateDictLoadResult r = m.LoadStateDict(Save(tensors), strict: false);
        Assert.False(r.IsComplete);
        Assert.Equal(["fc.weight", "fc.bias"], r.Missing);
        Assert.Equal(["head.bias"], r.Unexpected);
        Assert.Empty(r.Mismatched);
        Assert.Equal(
            "Missing key(s) in state_dict: \"fc.weight\", \"fc.bias\"\nUnexpected key(s) in state_dict: \"head.bias\"",
            r.ToString());
        Assert.Equal(fcBefore, m.StateDict()["fc.weight"].ToArray());
        Assert.Equal(tensors.Single(t => t.Name == "features.0.bias").ToFloats(), m.StateDict()["features.0.bias"].ToArray());
    }

    [Theory]
    [InlineData(SafetensorsDtype.F64)]
    [InlineData(SafetensorsDtype.F16)]
    [InlineData(SafetensorsDtype.BF16)]
    public void LoadStateDict_File_OtherFloatDtypes_ConvertedToFloat32(SafetensorsDtype dtype)
    {
        var m = new Net();
        List<SafetensorsTensor> tensors = TorchStyle(m);
        float[] values = [0.5f, -1.25f, 3f];   // exact in every dtype
        tensors[tensors.FindIndex(t => t.Name == "fc.bias")] = Encode("fc.bias", dtype, values);
        m.LoadStateDict(Save(tensors));
        Assert.Equal(values, m.StateDict()["fc.bias"].ToArray());
    }

    [Fact]
    public void LoadStateDict_File_IntegerWeight_DtypeMismatch()
    {
        var m = new Net();
        List<SafetensorsTensor> tensors = TorchStyle(m);
        tensors[tensors.FindIndex(t => t.Name == "fc.bias")] = SafetensorsTensor.FromInt64s("fc.bias", [3], [1, 2, 3]);
        var e = Assert.Throws<InvalidDataException>(() => m.LoadStateDict(Save(tensors)));
        Assert.Contains("dtype mismatch for fc.bias: the file holds I64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadStateDict_Dictionary_NumBatchesTrackedStillRequired()
    {
        // The dictionary overload keeps PyTorch's strict rule; only file loading treats it as optional.
        var m = new Net();
        var state = m.StateDict().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        var e = Assert.Throws<InvalidDataException>(() => m.LoadStateDict(state));
        Assert.Contains("\"features.1.num_batches_tracked\"", e.Message, StringComparison.Ordinal);
    }

    private static SafetensorsTensor Encode(string name, SafetensorsDtype dtype, float[] values)
    {
        int size = dtype.SizeInBytes();
        var data = new byte[values.Length * size];
        for (int i = 0; i < values.Length; i++)
        {
            Span<byte> at = data.AsSpan(i * size);
            switch (dtype)
            {
                case SafetensorsDtype.F64:
                    BinaryPrimitives.WriteDoubleLittleEndian(at, values[i]);
                    break;
                case SafetensorsDtype.F16:
                    BinaryPrimitives.WriteHalfLittleEndian(at, (Half)values[i]);
                    break;
                default:
                    BinaryPrimitives.WriteUInt16LittleEndian(at, (ushort)(BitConverter.SingleToInt32Bits(values[i]) >> 16));
                    break;
            }
        }

        return new SafetensorsTensor(name, dtype, [values.Length], data);
    }
}
