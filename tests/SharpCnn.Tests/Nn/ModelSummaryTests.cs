using System.Text.Json;
using SharpCnn.Nn;

namespace SharpCnn.Tests.Nn;

public class ModelSummaryTests
{
    /// <summary>The same layers as SharpCnn.Vision's LeNet5 (which this project does not reference).</summary>
    private sealed class LeNet : Module
    {
        private readonly Sequential _features;
        private readonly Sequential _classifier;

        public LeNet()
        {
            _features = Add("features", new Sequential(
                new Conv2d(1, 6, 5, padding: 2), new ReLU(), new MaxPool2d(2),
                new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2)));
            _classifier = Add("classifier", new Sequential(
                new Flatten(), new Linear(400, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, 10)));
        }

        public override Tensor Forward(Tensor input) => input.Apply(_features).Apply(_classifier);
    }

    /// <summary>One conv used in both branches, a Linear over a sequence, and a BatchNorm to watch.</summary>
    private sealed class Branchy : Module
    {
        private readonly Conv2d _conv;
        private readonly BatchNorm2d _bn;
        private readonly Linear _proj;

        public Branchy()
        {
            _conv = Add("conv", new Conv2d(4, 4, 3, padding: 1, groups: 2, bias: false));
            _bn = Add("bn", new BatchNorm2d(4));
            _proj = Add("proj", new Linear(5, 3));
        }

        // (1, 4, 5, 5) → conv twice → (1, 4, 5, 5) → view as 20 rows of 5 → Linear → (1, 20, 3).
        public override Tensor Forward(Tensor input)
        {
            Tensor a = input.Apply(_conv).Apply(_bn);
            Tensor b = a.Apply(_conv);
            return (a + b).Reshape(1, 20, 5).Apply(_proj);
        }
    }

    [Fact]
    public void Create_LeNet_RowsMacsParamsByHand()
    {
        ModelSummary s = ModelSummary.Create(new LeNet(), 1, 28, 28);
        Assert.Equal(
            ["features.0", "features.1", "features.2", "features.3", "features.4", "features.5",
             "classifier.0", "classifier.1", "classifier.2", "classifier.3", "classifier.4", "classifier.5"],
            s.Rows.Select(r => r.Name));
        Assert.Equal(["Conv2d", "ReLU", "MaxPool2d"], s.Rows.Take(3).Select(r => r.Type));
        Assert.Equal([1, 6, 28, 28], s.Rows[0].OutputShape);
        Assert.Equal([1, 400], s.Rows[6].OutputShape);
        Assert.All(s.Rows, r => Assert.Equal(2, r.Depth));

        // conv1 6·1·5·5·28·28, conv2 16·6·5·5·10·10, then 400·120, 120·84, 84·10.
        Assert.Equal([117_600L, 0, 0, 240_000, 0, 0, 0, 48_000, 0, 10_080, 0, 840], s.Rows.Select(r => r.Macs));
        Assert.Equal(416_520L, s.TotalMacs);
        Assert.Equal([156L, 0, 0, 2_416, 0, 0, 0, 48_120, 0, 10_164, 0, 850], s.Rows.Select(r => r.Params));
        Assert.Equal((61_706L, 61_706L, 0L), (s.TotalParams, s.TrainableParams, s.NonTrainableParams));
        Assert.Equal([1, 1, 28, 28], s.InputShape);

        // Leaf outputs: 2·4704 + 1176 + 2·1600 + 2·400 + 2·120 + 2·84 + 10 = 15,002 floats.
        Assert.Equal(15_002L * 4, s.ActivationBytes);
        Assert.Equal(61_706L * 4, s.ParamBytes);
    }

    [Fact]
    public void Create_SharedModule_CountedPerCall_ParamsOnce()
    {
        ModelSummary s = ModelSummary.Create(new Branchy(), 4, 5, 5);
        Assert.Equal(["conv", "bn", "conv", "proj"], s.Rows.Select(r => r.Name));
        Assert.Equal([false, false, true, false], s.Rows.Select(r => r.Repeated));

        // Grouped conv: C_out·(C_in/groups)·kH·kW·H·W = 4·2·3·3·5·5 = 1800 per call; Linear on 20 rows: 20·5·3 = 300.
        Assert.Equal([1_800L, 0, 1_800, 300], s.Rows.Select(r => r.Macs));
        Assert.Equal(3_900L, s.TotalMacs);
        Assert.Equal([72L, 8, 0, 18], s.Rows.Select(r => r.Params));
        Assert.Equal(98L, s.TotalParams);
        Assert.Equal([1, 20, 3], s.Rows[3].OutputShape);
        Assert.Contains("(recursive)", s.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_Conv1dStridedAndLeafModel()
    {
        // L_out = ⌊(10 + 2 − 3) / 2⌋ + 1 = 5; MACs = 8·3·3·5.
        ModelSummary s = ModelSummary.Create(new Conv1d(3, 8, 3, stride: 2, padding: 1), 3, 10);
        ModelSummaryRow row = Assert.Single(s.Rows);
        Assert.Equal(("", "Conv1d", 0, 360L), (row.Name, row.Type, row.Depth, row.Macs));
        Assert.Equal([1, 8, 5], row.OutputShape);
        Assert.Contains("(model)", s.Format(), StringComparison.Ordinal);
    }

    [Fact]
    public void Create_RestoresTrainingFlags_LeavesStatsAndHooksAlone()
    {
        var model = new Branchy();
        Module bn = model.NamedModules().Single(m => m.Name == "bn").Module;
        bn.Eval();   // mixed modes: the model trains, its batch norm is frozen
        float[] stats = [.. bn.StateDict().Values.SelectMany(t => t.ToArray())];

        ModelSummary s = ModelSummary.Create(model, 4, 5, 5);

        Assert.True(model.Training);
        Assert.False(bn.Training);
        Assert.True(model.NamedModules().Single(m => m.Name == "conv").Module.Training);
        Assert.Equal(stats, bn.StateDict().Values.SelectMany(t => t.ToArray()));
        int rows = s.Rows.Count;
        model.Call(Tensor.Zeros(1, 4, 5, 5));
        Assert.Equal(rows, s.Rows.Count);   // the hooks are gone
    }

    [Fact]
    public void Create_FrozenParameters_NonTrainable()
    {
        var model = new LeNet();
        foreach ((string name, Parameter p) in model.NamedParameters().Where(p => p.Name.StartsWith("features.", StringComparison.Ordinal)))
        {
            p.RequiresGrad = false;
        }

        ModelSummary s = ModelSummary.Create(model, 1, 28, 28);
        Assert.Equal((61_706L, 156L + 2_416, 61_706L - 156 - 2_416), (s.TotalParams, s.NonTrainableParams, s.TrainableParams));
    }

    [Fact]
    public void Create_InputTheModelCannotTake_ArgumentExceptionNamesModelShapeAndCause_RestoresMode()
    {
        var model = new LeNet();
        var e = Assert.Throws<ArgumentException>(() => ModelSummary.Create(model, 3, 28, 28));
        Assert.Contains("LeNet cannot take input (1, 3, 28, 28)", e.Message, StringComparison.Ordinal);
        Assert.Contains("Conv2d expected input", e.Message, StringComparison.Ordinal);
        Assert.NotNull(e.InnerException);
        Assert.True(model.Training);

        var e2 = Assert.Throws<ArgumentException>(() => ModelSummary.Create(model, 1, 32, 32));
        Assert.Contains("(1, 1, 32, 32)", e2.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new int[0])]
    [InlineData(new[] { 1, 0, 28 })]
    public void Create_BadShape_Throws(int[] shape) =>
        Assert.Throws<ArgumentException>(() => ModelSummary.Create(new LeNet(), shape));

    [Fact]
    public void Format_TableAndTotals()
    {
        string text = ModelSummary.Create(new LeNet(), 1, 28, 28).Format();
        string[] lines = text.Split('\n');
        Assert.Equal("LeNet, input [1, 1, 28, 28]", lines[0]);
        Assert.Matches(@"^Layer\s+Type\s+Output shape\s+Params\s+MACs$", lines[2]);
        Assert.Matches(@"^features\.0\s+Conv2d\s+\[1, 6, 28, 28\]\s+156\s+117,600$", lines[4]);
        Assert.Contains("Total params: 61,706\n", text, StringComparison.Ordinal);
        Assert.Contains("Trainable params: 61,706\n", text, StringComparison.Ordinal);
        Assert.Contains("Non-trainable params: 0\n", text, StringComparison.Ordinal);
        Assert.Contains("Total MACs: 416,520\n", text, StringComparison.Ordinal);
        Assert.Contains("Total mult-adds (M): 0.42\n", text, StringComparison.Ordinal);
        Assert.Contains("Activation memory (one image): 0.06 MB\n", text, StringComparison.Ordinal);
        Assert.Contains("Params size: 0.25 MB\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void ToJson_ParsesWithAllFields()
    {
        using var doc = JsonDocument.Parse(ModelSummary.Create(new LeNet(), 1, 28, 28).ToJson());
        JsonElement root = doc.RootElement;
        Assert.Equal("LeNet", root.GetProperty("model").GetString());
        Assert.Equal([1, 1, 28, 28], root.GetProperty("input").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(61_706, root.GetProperty("total_params").GetInt64());
        Assert.Equal(61_706, root.GetProperty("trainable_params").GetInt64());
        Assert.Equal(0, root.GetProperty("non_trainable_params").GetInt64());
        Assert.Equal(416_520, root.GetProperty("macs").GetInt64());
        Assert.Equal(60_008, root.GetProperty("activation_bytes").GetInt64());
        JsonElement first = root.GetProperty("layers")[0];
        Assert.Equal(12, root.GetProperty("layers").GetArrayLength());
        Assert.Equal(("features.0", "Conv2d", 156, 117_600), (first.GetProperty("name").GetString(), first.GetProperty("type").GetString(), first.GetProperty("params").GetInt64(), first.GetProperty("macs").GetInt64()));
        Assert.Equal([1, 6, 28, 28], first.GetProperty("output_shape").EnumerateArray().Select(e => e.GetInt32()));
    }
}
