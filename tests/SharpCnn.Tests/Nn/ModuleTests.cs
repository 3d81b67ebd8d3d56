using SharpCnn.Functional;
using SharpCnn.Nn;

namespace SharpCnn.Tests.Nn;

public class ModuleTests
{
    private sealed class Tiny : Module
    {
        private readonly Sequential _features;
        private readonly Linear _fc;

        public Tiny()
        {
            _features = Add("features", new Sequential(new Conv2d(1, 2, 3, padding: 1), new BatchNorm2d(2), new ReLU(), new MaxPool2d(2)));
            _fc = Add("fc", new Linear(8, 3));
        }

        public override Tensor Forward(Tensor input) => input.Apply(_features).Flatten(1).Apply(_fc);
    }

    [Fact]
    public void StateDict_KeysInTorchOrder()
    {
        Assert.Equal(
            ["features.0.weight", "features.0.bias", "features.1.weight", "features.1.bias", "features.1.running_mean",
             "features.1.running_var", "features.1.num_batches_tracked", "fc.weight", "fc.bias"],
            new Tiny().StateDict().Keys);
    }

    [Fact]
    public void LoadStateDict_RoundTrip_CopiesValues()
    {
        var a = new Tiny();
        var b = new Tiny();
        var state = a.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        b.LoadStateDict(state);
        Tensor x = Tensor.Randn(new Generator(3), 2, 1, 4, 4);
        a.Eval();
        b.Eval();
        Assert.Equal(a.Forward(x).ToArray(), b.Forward(x).ToArray());
    }

    [Fact]
    public void LoadStateDict_Strict_NamesMissingUnexpectedAndMismatched_AndChangesNothing()
    {
        var m = new Tiny();
        float[] before = m.StateDict()["fc.weight"].ToArray();
        var state = m.StateDict().ToDictionary(kv => kv.Key, kv => (Tensor)Tensor.Zeros(kv.Value.Shape));
        state.Remove("fc.bias");
        state["extra.weight"] = Tensor.Zeros(1);
        state["features.0.weight"] = Tensor.Zeros(2, 1, 5, 5);
        var e = Assert.Throws<InvalidDataException>(() => m.LoadStateDict(state));
        Assert.Contains("Missing key(s) in state_dict: \"fc.bias\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("Unexpected key(s) in state_dict: \"extra.weight\"", e.Message, StringComparison.Ordinal);
        Assert.Contains("size mismatch for features.0.weight", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, m.StateDict()["fc.weight"].ToArray());
    }

    [Fact]
    public void LoadStateDict_NonStrict_ReportsKeys()
    {
        var m = new Tiny();
        var state = m.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value);
        state.Remove("fc.bias");
        (IReadOnlyList<string> missing, IReadOnlyList<string> unexpected) = m.LoadStateDict(state, strict: false);
        Assert.Equal(["fc.bias"], missing);
        Assert.Empty(unexpected);
    }

    [Fact]
    public void ToString_PrintsTreeLikeTorch()
    {
        string expected = """
            Tiny(
              (features): Sequential(
                (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
                (1): BatchNorm2d(2, eps=1E-05, momentum=0.1, affine=True, track_running_stats=True)
                (2): ReLU()
                (3): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
              )
              (fc): Linear(in_features=8, out_features=3, bias=True)
            )
            """;
        Assert.Equal(expected.Replace("\r", "", StringComparison.Ordinal), new Tiny().ToString());
    }

    [Fact]
    public void TrainEval_PropagatesToChildren()
    {
        var m = new Tiny();
        m.Eval();
        Assert.All(m.NamedModules(), x => Assert.False(x.Module.Training));
        m.Train();
        Assert.All(m.NamedModules(), x => Assert.True(x.Module.Training));
    }

    [Fact]
    public void BatchNorm_RunningStats_FollowTorchMomentumRule()
    {
        var bn = new BatchNorm1d(1);
        Tensor x = Tensor.FromArray([1f, 2f, 3f, 6f], 4, 1);
        bn.Forward(x);
        // mean 3, unbiased var (4+1+0+9)/3 = 14/3; running = 0.9·init + 0.1·batch.
        Assert.Equal(0.3f, bn.RunningMean!.Item(), 6);
        Assert.Equal((0.9f * 1f) + (0.1f * 14f / 3f), bn.RunningVar!.Item(), 6);
        Assert.Equal(1f, bn.NumBatchesTracked!.Item());
        bn.Eval();
        Tensor y = bn.Forward(Tensor.FromArray([0.3f], 1, 1));
        Assert.Equal(0f, y.Item(), 6);
    }

    [Fact]
    public void Dropout_TrainScalesEvalIdentity()
    {
        var d = new Dropout(0.5, new Generator(1));
        Tensor x = Tensor.Ones(1000);
        float[] y = d.Forward(x).ToArray();
        Assert.All(y, v => Assert.True(v == 0f || v == 2f));
        Assert.InRange(y.Count(v => v == 0f), 400, 600);
        d.Eval();
        Assert.Same(x, d.Forward(x));
    }

    [Fact]
    public void Conv2d_WrongInputChannels_MessageNamesShapes()
    {
        var conv = new Conv2d(3, 8, 3);
        var e = Assert.Throws<ArgumentException>(() => conv.Forward(Tensor.Zeros(64, 1, 28, 28)));
        Assert.Contains("expected input (N, 3, H, W)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(64, 1, 28, 28)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Conv2d_SamePadding_KeepsSize()
    {
        var conv = new Conv2d(2, 3, (4, 3), padding: "same", dilation: 2);
        Assert.Equal(new[] { 1, 3, 9, 7 }, conv.Forward(Tensor.Zeros(1, 2, 9, 7)).Shape);
    }

    [Fact]
    public void Conv2d_DefaultInit_WithinTorchBound()
    {
        var conv = new Conv2d(4, 8, 3);
        float bound = 1f / MathF.Sqrt(4 * 9);
        Assert.All(conv.Weight.ToArray(), v => Assert.InRange(v, -bound, bound));
        Assert.All(conv.Bias!.ToArray(), v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void MaxPool2d_CeilModeOutputSizes_MatchTorch()
    {
        // torch: MaxPool2d(3, 2, ceil_mode=True) on 6×6 → 3×3; MaxPool2d(2, 2, padding=1, ceil_mode=True) on 5×5 → 3×3.
        Assert.Equal(new[] { 1, 1, 3, 3 }, F.MaxPool2d(Tensor.Zeros(1, 1, 6, 6), 3, 2, ceilMode: true).Shape);
        Assert.Equal(new[] { 1, 1, 3, 3 }, F.MaxPool2d(Tensor.Zeros(1, 1, 5, 5), 2, 2, 1, ceilMode: true).Shape);
        Assert.Equal(new[] { 1, 1, 2, 2 }, F.MaxPool2d(Tensor.Zeros(1, 1, 6, 6), 3, 2).Shape);
    }

    [Fact]
    public void CrossEntropy_TargetOutOfRange_NamesIndexAndValue()
    {
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Zeros(2, 10), Tensor.FromArray([3f, 10f])));
        Assert.Contains("target 10 at index 1", e.Message, StringComparison.Ordinal);
    }
}
