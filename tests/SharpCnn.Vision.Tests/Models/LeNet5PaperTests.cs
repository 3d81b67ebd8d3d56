using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

public class LeNet5PaperTests
{
    [Fact]
    public void LeNet5Paper_TrainableParameters_AreExactly60000()
    {
        var model = new LeNet5Paper();
        Assert.Equal(60_000, model.ParameterCount());
        Assert.Equal(60_000, model.ParameterCount(trainableOnly: true));

        // Section II.B, layer by layer.
        long Layer(string name) => model.NamedParameters().Where(p => p.Name.StartsWith(name + ".", StringComparison.Ordinal)).Sum(p => (long)p.Parameter.Numel);
        Assert.Equal(156, Layer("c1"));
        Assert.Equal(12, Layer("s2"));
        Assert.Equal(1_516, Layer("c3"));
        Assert.Equal(32, Layer("s4"));
        Assert.Equal(48_120, Layer("c5"));
        Assert.Equal(10_164, Layer("f6"));

        Assert.Equal(
            ["c1.weight", "c1.bias", "s2.weight", "s2.bias", "c3.from3.weight", "c3.from3.bias", "c3.from4.weight", "c3.from4.bias",
             "c3.from6.weight", "c3.from6.bias", "s4.weight", "s4.bias", "c5.weight", "c5.bias", "f6.weight", "f6.bias", "rbf.centers"],
            model.StateDict().Keys);
        OrderedDictionary<string, Tensor> state = model.StateDict();
        Assert.Equal([6, 3, 5, 5], state["c3.from3.weight"].Shape);
        Assert.Equal([9, 4, 5, 5], state["c3.from4.weight"].Shape);
        Assert.Equal([1, 6, 5, 5], state["c3.from6.weight"].Shape);
    }

    [Fact]
    public void LeNet5Paper_Forward32_GivesNegatedDistances()
    {
        var model = new LeNet5Paper();
        Tensor y = model.Forward(Tensor.Randn(new Generator(1), 3, 1, 32, 32));
        Assert.Equal([3, 10], y.Shape);
        Assert.All(y.Data.ToArray(), v => Assert.True(v <= 0 && float.IsFinite(v)));
    }

    [Fact]
    public void LeNet5Paper_RbfCenters_AreAFixedPlusMinusOneBuffer()
    {
        var model = new LeNet5Paper();
        Tensor centers = model.StateDict()["rbf.centers"];
        Assert.Same(model.Rbf.Centers, centers);
        Assert.Equal([10, 84], centers.Shape);
        Assert.False(centers.RequiresGrad);
        Assert.DoesNotContain(model.Parameters(), p => ReferenceEquals(p, centers));
        Assert.Contains(model.NamedBuffers(), b => b.Name == "rbf.centers");
        float[] w = centers.Data.ToArray();
        Assert.All(w, v => Assert.True(v is 1f or -1f));

        // Deterministic Walsh–Hadamard code: w_ij = (−1)^popcount(i & j); 10 classes are at least 40 bits apart.
        Assert.Equal(w, LeNet5Paper.OutputCode(10).Data.ToArray());
        Assert.Equal(-1f, w[(3 * 84) + 1]);   // popcount(3 & 1) = 1
        Assert.Equal(1f, w[(3 * 84) + 4]);    // popcount(3 & 4) = 0
        int minDistance = int.MaxValue;
        for (int a = 0; a < 10; a++)
        {
            for (int b = a + 1; b < 10; b++)
            {
                minDistance = Math.Min(minDistance, Enumerable.Range(0, 84).Count(j => w[(a * 84) + j] != w[(b * 84) + j]));
            }
        }

        Assert.Equal(40, minDistance);

        // The output is −Σ_j (x_j − w_ij)²: F6's output sitting on centre 2 scores 0 there.
        var rbf = new EuclideanRbf(LeNet5Paper.OutputCode(4));
        Tensor at2 = LeNet5Paper.OutputCode(4).Narrow(0, 2, 1);
        float[] d = at2.Apply(rbf).Data.ToArray();
        Assert.Equal(0f, d[2]);
        Assert.All(d.Where((_, i) => i != 2), v => Assert.True(v > 0));
    }

    [Fact]
    public void LeNet5Paper_C3_FollowsTable1()
    {
        var c3 = (ConnectionTableConv2d)new LeNet5Paper().NamedChildren().Single(c => c.Name == "c3").Module;
        Assert.Equal(6, c3.InChannels);
        Assert.Equal(16, c3.OutChannels);

        // The paper's description: maps 0–5 take 3 contiguous S2 maps, 6–11 four contiguous (cyclically),
        // 12–14 four non-contiguous, 15 all six.
        int[] Inputs(int j) => [.. Enumerable.Range(0, 6).Where(i => c3.IsConnected(i, j))];
        for (int j = 0; j < 6; j++)
        {
            Assert.Equal(Enumerable.Range(j, 3).Select(i => i % 6).Order(), Inputs(j));
        }

        for (int j = 6; j < 12; j++)
        {
            Assert.Equal(Enumerable.Range(j - 6, 4).Select(i => i % 6).Order(), Inputs(j));
        }

        Assert.Equal([0, 1, 3, 4], Inputs(12));
        Assert.Equal([1, 2, 4, 5], Inputs(13));
        Assert.Equal([0, 2, 3, 5], Inputs(14));
        Assert.Equal([0, 1, 2, 3, 4, 5], Inputs(15));
        Assert.Equal(60, Enumerable.Range(0, 16).Sum(j => Inputs(j).Length));
    }

    [Fact]
    public void LeNet5Paper_C3Gradient_ReachesOnlyConnectedS2Maps()
    {
        var c3 = (ConnectionTableConv2d)new LeNet5Paper().NamedChildren().Single(c => c.Name == "c3").Module;
        for (int j = 0; j < 16; j++)
        {
            Tensor s2 = Tensor.Randn(new Generator((ulong)j), 2, 6, 14, 14);
            s2.RequiresGrad = true;
            s2.Apply(c3).Narrow(1, j, 1).Sum().Backward();
            Tensor grad = s2.Grad!;
            for (int i = 0; i < 6; i++)
            {
                float norm = grad.Narrow(1, i, 1).Abs().Sum().Item();
                if (LeNet5Paper.C3Connections[i][j] == 'X')
                {
                    Assert.True(norm > 0, $"C3 map {j} should depend on S2 map {i}.");
                }
                else
                {
                    Assert.True(norm == 0, $"C3 map {j} must not depend on S2 map {i}, gradient norm {norm}.");
                }
            }
        }
    }

    [Fact]
    public void ConnectionTableConv2d_UnsortedGroups_PutEachMapBack()
    {
        // Output 0 reads inputs 1 and 2, output 1 reads input 0: the one-input group runs first, then is reordered.
        var layer = new ConnectionTableConv2d([".X", "X.", "X."], 3);
        Assert.Equal((2 * 9) + 1 + (1 * 9) + 1, layer.ParameterCount());
        Tensor x = Tensor.Randn(new Generator(7), 2, 3, 6, 6);
        Tensor y = layer.Forward(x);
        (Conv2d one, IReadOnlyList<int> oneInputs) = layer.Groups[0];
        (Conv2d two, IReadOnlyList<int> twoInputs) = layer.Groups[1];
        Assert.Equal([0], oneInputs);
        Assert.Equal([1, 2], twoInputs);
        Tensor y0 = F.Conv2d(x.Narrow(1, 1, 2), two.Weight, two.Bias);
        Tensor y1 = F.Conv2d(x.Narrow(1, 0, 1), one.Weight, one.Bias);
        Assert.True(y.Narrow(1, 0, 1).AllClose(y0, 1e-5f, 1e-6f));
        Assert.True(y.Narrow(1, 1, 1).AllClose(y1, 1e-5f, 1e-6f));

        Assert.Throws<ArgumentException>(() => new ConnectionTableConv2d(["X.", "X."], 3));   // output 1 has no input
        Assert.Throws<ArgumentException>(() => new ConnectionTableConv2d(["X", "XX"], 3));    // ragged
        Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Zeros(1, 4, 6, 6)));
    }

    [Fact]
    public void LeNet5Paper_Squash_IsScaledTanh()
    {
        // Appendix A: f(1) = 1 and f(−1) = −1, which is why the RBF centres are ±1.
        float[] f = LeNet5Paper.Squash(Tensor.FromArray([-1f, 0f, 1f, 100f])).Data.ToArray();
        Assert.Equal(-1f, f[0], 1e-3f);
        Assert.Equal(0f, f[1]);
        Assert.Equal(1f, f[2], 1e-3f);
        Assert.Equal(1.7159f, f[3], 1e-4f);
    }

    [Fact]
    public void LeNet5Paper_NumClassesAndInChannels_AreHonoured()
    {
        var model = new LeNet5Paper(numClasses: 3, inChannels: 2);
        Assert.Equal(60_000 + 150, model.ParameterCount());   // C1 gains 6·25 weights; the RBF has none
        Assert.Equal([6, 2, 5, 5], model.StateDict()["c1.weight"].Shape);
        Assert.Equal([3, 84], model.StateDict()["rbf.centers"].Shape);
        Assert.Equal([2, 3], model.Forward(Tensor.Zeros(2, 2, 32, 32)).Shape);

        string message = Assert.Throws<ArgumentOutOfRangeException>(() => new LeNet5Paper(numClasses: 0)).Message;
        Assert.Contains("numClasses must be in 1..128", message, StringComparison.Ordinal);
        Assert.Contains("got 0", message, StringComparison.Ordinal);
        Assert.Contains("got 129", Assert.Throws<ArgumentOutOfRangeException>(() => new LeNet5Paper(numClasses: 129)).Message, StringComparison.Ordinal);
        Assert.Contains("inChannels must be positive, got 0", Assert.Throws<ArgumentOutOfRangeException>(() => new LeNet5Paper(inChannels: 0)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LeNet5Paper_TinySyntheticTask_LossFalls()
    {
        // Four classes: a bright 8×8 square in one quadrant of a noisy 32×32 image.
        using IDisposable seeded = Generator.UseAsDefault(new Generator(0));
        var model = new LeNet5Paper(numClasses: 4);
        var g = new Generator(11);
        const int N = 16;
        Tensor x = Tensor.Randn(g, N, 1, 32, 32) * 0.3f;
        var labels = new float[N];
        for (int n = 0; n < N; n++)
        {
            int c = n % 4;
            labels[n] = c;
            int top = 4 + (16 * (c / 2));
            int left = 4 + (16 * (c % 2));
            for (int r = top; r < top + 8; r++)
            {
                for (int col = left; col < left + 8; col++)
                {
                    x.Data[(((n * 32) + r) * 32) + col] += 1.5f;
                }
            }
        }

        Tensor y = Tensor.FromArray(labels);
        var opt = new SGD(model.Parameters(), lr: 0.002, momentum: 0.9);
        (float first, float last) = ModelTestKit.Fit(model, x, y, opt, 40);

        Assert.True(last < first * 0.2f, $"cross-entropy went from {first} to {last}");
    }
}
