using SharpCnn.Nn;
using SharpCnn.Serialization;

namespace SharpCnn.Tests.Training;

public sealed class CheckpointTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-ckpt-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A module with a weight, a bias and a PyTorch-style integer buffer.</summary>
    private sealed class Tiny : Module
    {
        public Tiny(float start, int outFeatures = 3)
        {
            Weight = AddParameter("weight", Tensor.Arange(start, start + (outFeatures * 2)).Reshape(outFeatures, 2))!;
            Bias = AddParameter("bias", Tensor.Full([outFeatures], start))!;
            Tracked = AddBuffer("num_batches_tracked", Tensor.Scalar(start + 5));
        }

        public Parameter Weight { get; }

        public Parameter Bias { get; }

        public Tensor Tracked { get; }

        public override Tensor Forward(Tensor input) => input;
    }

    private static CheckpointInfo Info(string model = "tiny") => new()
    {
        ModelName = model,
        Epoch = 2,
        BatchInEpoch = 7,
        GlobalStep = 1234,
        Seed = 42,
        RngState = [1, 2, 3, ulong.MaxValue],
        DataSha256 = new string('a', 64),
        BestAccuracy = 0.9912,
        HyperParameters = """{"lr":0.05}""",
        Extra = new Dictionary<string, string> { ["scheduler"] = """{"step":1234}""" },
    };

    [Fact]
    public void RoundTrip_ModelOptimizerMetadata_Restored()
    {
        string path = Path.Combine(_dir, "a.safetensors");
        var source = new Tiny(1);
        var momentum = new Dictionary<string, Tensor> { ["0.momentum_buffer"] = Tensor.Full([3, 2], 0.5f) };
        Checkpoint.Save(path, Info(), source, momentum);

        var target = new Tiny(100);
        CheckpointData data = Checkpoint.Load(path, target, "tiny");
        Assert.Equal(source.Weight.ToArray(), target.Weight.ToArray());
        Assert.Equal(source.Bias.ToArray(), target.Bias.ToArray());
        Assert.Equal(6f, target.Tracked.Item());
        Assert.Equal(Info() with { Extra = data.Info.Extra, RngState = data.Info.RngState }, data.Info);
        Assert.Equal(Info().RngState, data.Info.RngState);
        Assert.Equal("""{"step":1234}""", data.Info.Extra["scheduler"]);
        Assert.Equal(Enumerable.Repeat(0.5f, 6), data.Optimizer["0.momentum_buffer"].ToArray());
        Assert.Empty(data.Scheduler);
    }

    [Fact]
    public void Save_NumBatchesTracked_WrittenAsInt64()
    {
        string path = Path.Combine(_dir, "b.safetensors");
        Checkpoint.Save(path, Info(), new Tiny(1));
        SafetensorsFile file = Safetensors.Read(path);
        Assert.Equal(SafetensorsDtype.I64, file["model.num_batches_tracked"].Dtype);
        Assert.Equal([6L], file["model.num_batches_tracked"].ToInt64s());
        Assert.Equal(SafetensorsDtype.F32, file["model.weight"].Dtype);
    }

    [Fact]
    public void Load_Truncated_ClearErrorAndModelUntouched()
    {
        string path = Path.Combine(_dir, "c.safetensors");
        Checkpoint.Save(path, Info(), new Tiny(1));
        byte[] bytes = File.ReadAllBytes(path);
        foreach (int keep in new[] { 0, 5, 8, 40, bytes.Length / 2, bytes.Length - 1 })
        {
            File.WriteAllBytes(path, bytes[..keep]);
            var target = new Tiny(100);
            float[] before = target.Weight.ToArray();
            var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, target, "tiny"));
            Assert.Contains("not a readable checkpoint", e.Message, StringComparison.Ordinal);
            Assert.Equal(before, target.Weight.ToArray());
        }
    }

    [Fact]
    public void Load_OtherArchitecture_ErrorNamesBoth()
    {
        string path = Path.Combine(_dir, "d.safetensors");
        Checkpoint.Save(path, Info("mlp"), new Tiny(1));
        var target = new Tiny(100);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, target, "lenet5"));
        Assert.Contains("\"mlp\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("\"lenet5\"", e.Message, StringComparison.Ordinal);
        Assert.Equal(100f, target.Bias[0]);
    }

    [Fact]
    public void Load_ShapeMismatch_ModelUntouched()
    {
        string path = Path.Combine(_dir, "e.safetensors");
        Checkpoint.Save(path, Info(), new Tiny(1, outFeatures: 4));
        var target = new Tiny(100);
        Assert.Throws<InvalidDataException>(() => Checkpoint.Load(path, target, "tiny"));
        Assert.Equal(100f, target.Weight[0, 0]);
    }

    [Fact]
    public void Read_PlainSafetensors_NotACheckpoint()
    {
        string path = Path.Combine(_dir, "f.safetensors");
        Safetensors.Save(path, [SafetensorsTensor.FromFloats("weight", [1], [1f])]);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.Read(path));
        Assert.Contains("not a SharpCnn checkpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Read_Missing_FileNotFound() =>
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Read(Path.Combine(_dir, "nope.safetensors")));

    [Fact]
    public void Save_Overwrite_LeavesNoTempFiles()
    {
        string path = Path.Combine(_dir, "g.safetensors");
        Checkpoint.Save(path, Info(), new Tiny(1));
        Checkpoint.Save(path, Info() with { Epoch = 3 }, new Tiny(2));
        Assert.Equal(3, Checkpoint.Read(path).Info.Epoch);
        Assert.Single(Directory.GetFiles(_dir));
    }
}
