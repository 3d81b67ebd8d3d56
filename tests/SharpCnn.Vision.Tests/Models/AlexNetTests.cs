using SharpCnn.Nn;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

public class AlexNetTests
{
    // The paper's model draws 61M normal samples at construction; build it once for the tests that read it.
    private static readonly Lazy<AlexNet> s_paper = new(() => AlexNet.Paper());

    [Fact]
    public void AlexNet_Default_ParameterCountAndKeysMatchTorchvision()
    {
        var model = new AlexNet();
        Assert.False(model.IsPaper);
        Assert.Equal(61_100_840, model.ParameterCount());
        Assert.Equal(
            ["features.0.weight", "features.0.bias", "features.3.weight", "features.3.bias", "features.6.weight", "features.6.bias",
             "features.8.weight", "features.8.bias", "features.10.weight", "features.10.bias",
             "classifier.1.weight", "classifier.1.bias", "classifier.4.weight", "classifier.4.bias", "classifier.6.weight", "classifier.6.bias"],
            model.StateDict().Keys);
        OrderedDictionary<string, Tensor> state = model.StateDict();
        Assert.Equal([64, 3, 11, 11], state["features.0.weight"].Shape);
        Assert.Equal([192, 64, 5, 5], state["features.3.weight"].Shape);
        Assert.Equal([4096, 9216], state["classifier.1.weight"].Shape);
        Assert.Equal([1000, 4096], state["classifier.6.weight"].Shape);
        Assert.IsType<Dropout>(((Sequential)model.NamedChildren().Single(c => c.Name == "classifier").Module)[0]);
    }

    [Fact]
    public void AlexNet_Forward224_GivesLogitsPerClass()
    {
        var model = new AlexNet();
        Tensor y = ModelTestKit.EvalForward(model, Tensor.Randn(new Generator(1), 1, 3, 224, 224));

        Assert.Equal([1, 1000], y.Shape);
        Assert.All(y.Data.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void AlexNet_NumClassesAndInChannels_AreHonoured()
    {
        var model = new AlexNet(numClasses: 7, inChannels: 1, dropout: 0.2f);
        Assert.Equal([64, 1, 11, 11], model.StateDict()["features.0.weight"].Shape);
        Assert.Equal([7, 4096], model.StateDict()["classifier.6.weight"].Shape);
        // 63×63 is the smallest input that survives the three 3/2 pools; the adaptive pool lifts 1×1 to 6×6.
        Assert.Equal([2, 7], model.Forward(Tensor.Randn(new Generator(2), 2, 1, 63, 63)).Shape);
    }

    [Fact]
    public void AlexNet_BadArguments_ThrowWithTheirName()
    {
        Assert.Contains("numClasses must be positive, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new AlexNet(numClasses: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("inChannels must be positive, got -1", Assert.Throws<ArgumentOutOfRangeException>(() => AlexNet.Paper(inChannels: -1)).Message, StringComparison.Ordinal);
        Assert.Contains("dropout must be in [0, 1]", Assert.Throws<ArgumentOutOfRangeException>(() => new AlexNet(dropout: 1.5f)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AlexNetPaper_ParameterCount_MatchesTheLayerFormulas()
    {
        AlexNet model = s_paper.Value;
        Assert.True(model.IsPaper);

        // Σ (C_out·C_in/groups·k² + C_out) over the convolutions and (in·out + out) over the FC layers.
        static long Conv(long cin, long cout, long k, long groups) => (cout * (cin / groups) * k * k) + cout;
        static long Fc(long fin, long fout) => (fin * fout) + fout;
        long expected = Conv(3, 96, 11, 1) + Conv(96, 256, 5, 2) + Conv(256, 384, 3, 1) + Conv(384, 384, 3, 2) + Conv(384, 256, 3, 2)
            + Fc(9216, 4096) + Fc(4096, 4096) + Fc(4096, 1000);
        Assert.Equal(60_965_224, expected);
        Assert.Equal(expected, model.ParameterCount());

        OrderedDictionary<string, Tensor> state = model.StateDict();
        Assert.Equal("features.0.weight", state.Keys.First());
        Assert.Equal("classifier.6.bias", state.Keys.Last());
        Assert.Equal([96, 3, 11, 11], state["features.0.weight"].Shape);
        Assert.Equal([256, 48, 5, 5], state["features.4.weight"].Shape);   // two towers: groups = 2
        Assert.Equal([384, 256, 3, 3], state["features.8.weight"].Shape);  // conv3 sees both towers
        Assert.Equal([384, 192, 3, 3], state["features.10.weight"].Shape);
        Assert.Equal([256, 192, 3, 3], state["features.12.weight"].Shape);
        Assert.Equal([4096, 9216], state["classifier.0.weight"].Shape);

        // Section 5: biases 1 in conv2, conv4, conv5 and the hidden FC layers, 0 elsewhere; weights N(0, 0.01²).
        Assert.All(state["features.4.bias"].Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(state["classifier.3.bias"].Data.ToArray(), v => Assert.Equal(1f, v));
        Assert.All(state["features.0.bias"].Data.ToArray(), v => Assert.Equal(0f, v));
        Assert.All(state["features.8.bias"].Data.ToArray(), v => Assert.Equal(0f, v));
        float[] w = state["features.8.weight"].Data.ToArray();
        double std = Math.Sqrt(w.Average(v => (double)v * v));
        Assert.InRange(std, 0.0099, 0.0101);
    }

    [Fact]
    public void AlexNetPaper_Forward227_GivesLogitsPerClass()
    {
        AlexNet model = s_paper.Value;
        Tensor y = ModelTestKit.EvalForward(model, Tensor.Randn(new Generator(3), 1, 3, 227, 227));

        Assert.Equal([1, 1000], y.Shape);
    }

    [Fact]
    public void AlexNetPaper_ResponseNorm_IsThePapersFormula()
    {
        // b_c = a_c / (2 + 1e-4·Σ_{c' = c−2..c+2} a_{c'}²)^0.75 with α not divided by n (Section 3.3).
        Module lrn = ((Sequential)s_paper.Value.NamedChildren().First().Module)[2];
        Assert.IsType<LocalResponseNorm>(lrn);
        const int C = 7;
        Tensor a = Tensor.Randn(new Generator(4), 1, C, 1, 1) * 30f;
        float[] b = a.Apply(lrn).Data.ToArray();
        float[] x = a.Data.ToArray();
        for (int c = 0; c < C; c++)
        {
            double sum = 0;
            for (int j = Math.Max(0, c - 2); j <= Math.Min(C - 1, c + 2); j++)
            {
                sum += (double)x[j] * x[j];
            }

            double expected = x[c] / Math.Pow(2 + (1e-4 * sum), 0.75);
            Assert.Equal(expected, b[c], 1e-4 * Math.Max(1, Math.Abs(expected)));
        }
    }
}
