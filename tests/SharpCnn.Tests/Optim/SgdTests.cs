using SharpCnn.Nn;
using SharpCnn.Optim;
using static SharpCnn.Tests.Optim.OptimTestData;

namespace SharpCnn.Tests.Optim;

public class SgdTests
{
    /// <summary>PyTorch's SGD rule worked in double precision.</summary>
    private static double[] Reference(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool maximize, int steps = 3)
    {
        double[] p = (double[])Initial.Clone();
        double[] buf = new double[p.Length];
        for (int s = 0; s < steps; s++)
        {
            for (int i = 0; i < p.Length; i++)
            {
                double g = maximize ? -Grads[s][i] : Grads[s][i];
                g += weightDecay * p[i];
                if (momentum != 0)
                {
                    buf[i] = s == 0 ? g : (momentum * buf[i]) + ((1 - dampening) * g);
                    g = nesterov ? g + (momentum * buf[i]) : buf[i];
                }

                p[i] -= lr * g;
            }
        }

        return p;
    }

    [Fact]
    public void Step_PlainFirstStep_IsPMinusLrTimesGrad()
    {
        Parameter p = NewParameter();
        var sgd = new SGD([p], lr: 0.1);
        RunSteps(sgd, p, steps: 1);
        // 1 − 0.1·0.5, −2 − 0.1·(−1), 0.5 − 0.1·2
        AssertClose([0.95, -1.9, 0.3], p.Data);
    }

    [Theory]
    [InlineData(0.1, 0.0, 0.0, 0.0, false, false)] // plain
    [InlineData(0.1, 0.9, 0.0, 0.0, false, false)] // momentum
    [InlineData(0.1, 0.9, 0.5, 0.0, false, false)] // momentum with dampening
    [InlineData(0.1, 0.9, 0.0, 0.0, true, false)] // Nesterov
    [InlineData(0.05, 0.0, 0.0, 0.01, false, false)] // weight decay
    [InlineData(0.05, 0.8, 0.1, 0.02, false, false)] // momentum, dampening and weight decay
    [InlineData(0.05, 0.9, 0.0, 0.1, true, false)] // Nesterov with weight decay
    [InlineData(0.1, 0.9, 0.0, 0.0, false, true)] // maximize
    public void Step_ThreeSteps_MatchesPyTorchFormula(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool maximize)
    {
        Parameter p = NewParameter();
        var sgd = new SGD([p], lr, momentum, dampening, weightDecay, nesterov, maximize);
        RunSteps(sgd, p);
        AssertClose(Reference(lr, momentum, dampening, weightDecay, nesterov, maximize), p.Data);
    }

    [Fact]
    public void Step_MomentumSecondStep_MatchesHandWorkedValue()
    {
        Parameter p = NewParameter([1.0]);
        var sgd = new SGD([p], lr: 0.1, momentum: 0.9, dampening: 0.5);
        SetGrad(p, [1.0]);
        sgd.Step(); // buf = 1, p = 1 − 0.1 = 0.9
        SetGrad(p, [2.0]);
        sgd.Step(); // buf = 0.9·1 + 0.5·2 = 1.9, p = 0.9 − 0.19 = 0.71
        AssertClose([0.71], p.Data);
    }

    [Fact]
    public void Step_ParameterWithoutGrad_IsUntouchedAndHasNoState()
    {
        Parameter a = NewParameter();
        Parameter b = NewParameter();
        var sgd = new SGD([a, b], lr: 0.1, momentum: 0.9);
        SetGrad(a, Grads[0]);
        sgd.Step();
        AssertClose(Initial, b.Data);
        Assert.DoesNotContain(sgd.StateDict().Keys, k => k.StartsWith("state.1.", StringComparison.Ordinal));
        Assert.Contains("state.0.momentum_buffer", sgd.StateDict().Keys);
    }

    [Fact]
    public void ZeroGrad_AfterStep_SetsGradsToNull()
    {
        Parameter p = NewParameter();
        var sgd = new SGD([p], lr: 0.1);
        SetGrad(p, Grads[0]);
        sgd.ZeroGrad();
        Assert.Null(p.Grad);
    }

    [Fact]
    public void Step_ParamGroupsWithOwnLr_UsesEachGroupsRate()
    {
        Parameter a = NewParameter();
        Parameter b = NewParameter();
        var sgd = new SGD([new ParamGroup([a]), new ParamGroup([b], lr: 0.01)], lr: 0.1);
        Assert.Equal(0.1, sgd.ParamGroups[0].Lr);
        Assert.Equal(0.01, sgd.ParamGroups[1].Lr);
        SetGrad(a, Grads[0]);
        SetGrad(b, Grads[0]);
        sgd.Step();
        AssertClose([0.95, -1.9, 0.3], a.Data);
        AssertClose([0.995, -1.99, 0.48], b.Data);
    }

    [Fact]
    public void Lr_Set_ChangesEveryGroup()
    {
        var sgd = new SGD([new ParamGroup([NewParameter()]), new ParamGroup([NewParameter()], lr: 0.5)], lr: 0.1);
        sgd.Lr = 0.2;
        Assert.All(sgd.ParamGroups, g => Assert.Equal(0.2, g.Lr));
    }

    [Fact]
    public void Constructor_NesterovWithoutMomentum_ThrowsNamingValues()
    {
        var ex = Assert.Throws<ArgumentException>(() => new SGD([NewParameter()], lr: 0.1, nesterov: true));
        Assert.Contains("momentum 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NesterovWithDampening_Throws() =>
        Assert.Throws<ArgumentException>(() => new SGD([NewParameter()], lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));

    [Theory]
    [InlineData(-0.1, 0.0, 0.0)]
    [InlineData(0.1, -0.5, 0.0)]
    [InlineData(0.1, 0.0, -1.0)]
    [InlineData(double.NaN, 0.0, 0.0)]
    public void Constructor_NegativeOrNaNArgument_ThrowsWithValue(double lr, double momentum, double weightDecay)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new SGD([NewParameter()], lr, momentum, weightDecay: weightDecay));
        Assert.Contains("SGD: invalid", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_EmptyParameterList_Throws() =>
        Assert.Throws<ArgumentException>(() => new SGD(Array.Empty<Parameter>(), lr: 0.1));

    [Fact]
    public void Constructor_ParameterTwice_Throws()
    {
        Parameter p = NewParameter();
        Assert.Throws<ArgumentException>(() => new SGD([new ParamGroup([p]), new ParamGroup([p])], lr: 0.1));
    }

    [Fact]
    public void Step_GradShapeMismatch_ThrowsNamingShapes()
    {
        Parameter p = NewParameter();
        var sgd = new SGD([p], lr: 0.1);
        p.Grad = Tensor.Zeros(2);
        var ex = Assert.Throws<InvalidOperationException>(sgd.Step);
        Assert.Contains("(2)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(3)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Step_ParameterRequiringGrad_RecordsNoGraph()
    {
        Parameter p = NewParameter();
        var sgd = new SGD([p], lr: 0.1, momentum: 0.9);
        RunSteps(sgd, p);
        Assert.True(p.IsLeaf);
        Assert.True(p.RequiresGrad);
    }
}
