using System.Globalization;
using SharpCnn.Nn;
using SharpCnn.Serialization;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

/// <summary>
/// The model zoo against torchvision 0.14 (and a paper-written PyTorch ResNet-20): the same state-dict keys
/// and shapes, and the same eval-mode logits when both sides hold the same weights. The reference files are
/// written by <c>tests/golden/gen/make_torchvision.py</c>; this class reproduces its fill formula exactly.
/// </summary>
public sealed class TorchvisionGoldenTests
{
    private static readonly Lazy<SafetensorsFile> s_golden = new(() =>
        Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "golden", "torchvision", "logits.safetensors")));

    /// <summary>Every model the reference script covers, by its model-zoo name.</summary>
    public static TheoryData<string> Names { get; } = new(
        "alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
        "googlenet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnet20");

    private static float[] Golden(string key) => s_golden.Value[key].ToFloats();

    private static Module Create(string name) =>
        ModelZoo.Create(name, numClasses: (int)s_golden.Value[name + ".logits"].Shape[1], inChannels: 3);

    [Theory]
    [MemberData(nameof(Names))]
    public void StateDictKeysAndShapesEqualTorchvision(string name)
    {
        string[] expected = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "golden", "torchvision", "keys", name + ".txt"))
            .Where(l => l.Length > 0).ToArray();
        string[] actual = Create(name).StateDict()
            .Select(kv => $"{kv.Key}\t[{string.Join(", ", kv.Value.Shape)}]")
            .ToArray();
        string[] expectedNoDtype = expected.Select(l => l.Split('\t')).Select(p => $"{p[0]}\t{FormatShape(p[2])}").ToArray();
        Assert.Equal(expectedNoDtype, actual);
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void EvalLogitsEqualTorchvisionForTheSameWeights(string name)
    {
        double gain = Golden(name + ".gain")[0];
        int size = (int)Golden(name + ".input_size")[0];
        Module model = Create(name);
        int index = 0;
        foreach ((string key, Tensor t) in model.StateDict())
        {
            GoldenFill.Fill(key, index++, t.Shape, gain, t.Data);
        }

        model.Eval();
        Tensor logits;
        using (Autograd.Autograd.NoGrad())
        {
            logits = model.Forward(GoldenFill.Input(2, 3, size, size));
        }

        Assert.Equal([.. s_golden.Value[name + ".logits"].Shape.Select(d => (int)d)], logits.Shape);
        float[] a = logits.ToArray();
        float[] b = Golden(name + ".logits");
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4 + (1e-3 * Math.Abs(b[i])),
                $"{name} logit {i}: SharpCnn {a[i]}, torchvision {b[i]}");
        }
    }

    [Fact]
    public void TorchvisionStyleSafetensorsFile_LoadsByKeyName_AndGivesTheSameLogits()
    {
        // A file laid out as safetensors.torch.save_file(resnet18().state_dict()) writes it, minus the optional
        // num_batches_tracked entries, with tensors in the file's sorted order rather than the model's.
        const string Name = "resnet18";
        string[][] entries = [.. File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "golden", "torchvision", "keys", Name + ".txt"))
            .Where(l => l.Length > 0).Select(l => l.Split('\t'))];
        var tensors = new List<SafetensorsTensor>();
        for (int index = 0; index < entries.Length; index++)
        {
            string key = entries[index][0];
            int[] shape = [.. entries[index][2].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(d => int.Parse(d, CultureInfo.InvariantCulture))];
            if (!key.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            {
                float[] values = new float[shape.Aggregate(1, (a, d) => a * d)];
                GoldenFill.Fill(key, index, shape, Golden(Name + ".gain")[0], values);
                tensors.Add(SafetensorsTensor.FromFloats(key, [.. shape.Select(d => (long)d)], values));
            }
        }

        string path = Path.Combine(Directory.CreateTempSubdirectory("sharpcnn-tv-").FullName, "resnet18.safetensors");
        Safetensors.Save(path, tensors.OrderBy(t => t.Name, StringComparer.Ordinal));
        Module model = Create(Name);
        StateDictLoadResult result = model.LoadStateDict(path);
        Assert.Empty(result.Missing);
        Assert.Empty(result.Unexpected);
        Assert.Equal(20, result.SkippedOptional.Count);   // one num_batches_tracked per batch norm
        model.Eval();
        Tensor logits;
        using (Autograd.Autograd.NoGrad())
        {
            logits = model.Forward(GoldenFill.Input(2, 3, 224, 224));
        }

        float[] a = logits.ToArray();
        float[] b = Golden(Name + ".logits");
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-4 + (1e-3 * Math.Abs(b[i])), $"logit {i}: SharpCnn {a[i]}, torchvision {b[i]}");
        }

        Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
    }

    [Fact]
    public void FillFormulaMatchesThePythonScript()
    {
        float[] conv = new float[4 * 2 * 3 * 3];
        GoldenFill.Fill("w", 3, [4, 2, 3, 3], 2, conv);
        Assert.Equal(Golden("probe.conv_weight"), conv);
        float[] bn = new float[16];
        GoldenFill.Fill("bn.weight", 5, [16], 2, bn);
        Assert.Equal(Golden("probe.bn_weight"), bn);
        GoldenFill.Fill("bn.running_var", 7, [16], 2, bn);
        Assert.Equal(Golden("probe.running_var"), bn);
        Assert.Equal(Golden("probe.input"), GoldenFill.Input(64).Data.ToArray());
    }

    private static string FormatShape(string csv) =>
        "[" + string.Join(", ", csv.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture))) + "]";
}

/// <summary>The C# twin of <c>fill()</c> and <c>make_input()</c> in <c>tests/golden/gen/make_torchvision.py</c>.</summary>
internal static class GoldenFill
{
    private const ulong Mask = 0xFFFF_FFFF;
    private const int InputSalt = 1_000_003;

    /// <summary>u in [-0.5, 0.5): the script's 32-bit hash of (i, salt).</summary>
    public static double Uniform(long i, long salt)
    {
        ulong x = (((ulong)i * 0x9E3779B1UL) + ((((ulong)salt * 0x85EBCA77UL) + 0x165667B1UL) & Mask)) & Mask;
        x ^= x >> 15;
        x = (x * 0x2C1B3C6DUL) & Mask;
        x ^= x >> 12;
        x = (x * 0x297A2D39UL) & Mask;
        x ^= x >> 15;
        return (x / 4294967296.0) - 0.5;
    }

    public static void Fill(string key, int index, int[] shape, double gain, Span<float> values)
    {
        long count = shape.Aggregate(1L, (a, d) => a * d);
        Assert.Equal(count, values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            double u = Uniform(i, index);
            values[i] = (float)(key.EndsWith("num_batches_tracked", StringComparison.Ordinal) ? 0.0
                : key.EndsWith("running_var", StringComparison.Ordinal) ? 1.0 + (0.5 * u)
                : key.EndsWith("running_mean", StringComparison.Ordinal) ? 0.2 * u
                : key.EndsWith("bias", StringComparison.Ordinal) ? 0.2 * u
                : shape.Length == 1 ? 1.0 + (0.4 * u)
                : u * Math.Sqrt(12.0 * gain / (count / shape[0])));
        }
    }

    public static Tensor Input(params int[] shape)
    {
        var t = Tensor.Zeros(shape);
        Span<float> data = t.Data;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)(2.0 * Uniform(i, InputSalt));
        }

        return t;
    }
}
