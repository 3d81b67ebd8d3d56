using SharpCnn.Nn;
using SharpCnn.Optim;
using static SharpCnn.Tests.Optim.OptimTestData;

namespace SharpCnn.Tests.Optim;

public class AdamTests
{
    /// <summary>PyTorch's Adam/AdamW rule worked in double precision.</summary>
    private static double[] Reference(double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool decoupled)
    {
        double[] p = (double[])Initial.Clone();
        int n = p.Length;
        double[] m = new double[n], v = new double[n], vMax = new double[n];
        for (int t = 1; t <= 3; t++)
        {
            double bc1 = 1 - Math.Pow(beta1, t);
            double bc2 = 1 - Math.Pow(beta2, t);
            for (int i = 0; i < n; i++)
            {
                double g = Grads[t - 1][i];
                if (decoupled)
                {
                    p[i] *= 1 - (lr * weightDecay);
                }
                else
                {
                    g += weightDecay * p[i];
                }

                m[i] = (beta1 * m[i]) + ((1 - beta1) * g);
                v[i] = (beta2 * v[i]) + ((1 - beta2) * g * g);
                vMax[i] = Math.Max(vMax[i], v[i]);
                double second = amsgrad ? vMax[i] : v[i];
                double denom = (Math.Sqrt(second) / Math.Sqrt(bc2)) + eps;
                p[i] -= lr / bc1 * m[i] / denom;
            }
        }

        return p;
    }

    [Fact]
    public void Step_FirstStep_MovesByLrTimesSignOfGrad()
    {
        // m̂ = g and v̂ = g² on step 1, so the update is lr·g/(|g| + ε).
        Parameter p = NewParameter();
        var adam = new Adam([p], lr: 0.1);
        RunSteps(adam, p, steps: 1);
        AssertClose([0.9, -1.9, 0.4], p.Data);
    }

    [Theory]
    [InlineData(1e-3, 0.9, 0.999, 1e-8, 0.0, false)]
    [InlineData(0.1, 0.8, 0.99, 1e-3, 0.0, false)]
    [InlineData(0.1, 0.9, 0.999, 1e-8, 0.1, false)] // L2 decay in the gradient
    [InlineData(0.1, 0.9, 0.999, 1e-8, 0.0, true)] // AMSGrad
    [InlineData(0.05, 0.5, 0.9, 1e-6, 0.05, true)] // AMSGrad with decay
    public void AdamStep_ThreeSteps_MatchesPyTorchFormula(double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad)
    {
        Parameter p = NewParameter();
        var adam = new Adam([p], lr, (beta1, beta2), eps, weightDecay, amsgrad);
        RunSteps(adam, p);
        AssertClose(Reference(lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: false), p.Data);
    }

    [Theory]
    [InlineData(1e-3, 0.9, 0.999, 1e-8, 1e-2, false)]
    [InlineData(0.1, 0.9, 0.999, 1e-8, 0.5, false)]
    [InlineData(0.1, 0.8, 0.99, 1e-8, 0.5, true)]
    public void AdamWStep_ThreeSteps_MatchesPyTorchFormula(double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad)
    {
        Parameter p = NewParameter();
        var adamw = new AdamW([p], lr, (beta1, beta2), eps, weightDecay, amsgrad);
        RunSteps(adamw, p);
        AssertClose(Reference(lr, beta1, beta2, eps, weightDecay, amsgrad, decoupled: true), p.Data);
    }

    [Fact]
    public void AdamW_Defaults_AreThoseOfPyTorch()
    {
        var adamw = new AdamW([NewParameter()]);
        Assert.Equal(1e-3, adamw.Lr);
        Assert.Equal(1e-2, adamw.ParamGroups[0].WeightDecay);
        Assert.Equal(0.9, adamw.ParamGroups[0].Beta1);
        Assert.Equal(0.999, adamw.ParamGroups[0].Beta2);
        Assert.Equal(1e-8, adamw.Eps);
        Assert.Equal(0.0, new Adam([NewParameter()]).ParamGroups[0].WeightDecay);
    }

    [Fact]
    public void Step_AmsgradWithShrinkingGrad_KeepsMaximumSecondMoment()
    {
        Parameter p = NewParameter([0.0]);
        var adam = new Adam([p], lr: 0.1, amsgrad: true);
        SetGrad(p, [10.0]);
        adam.Step();
        SetGrad(p, [0.0]);
        adam.Step();
        float[] buffer = adam.StateDict()["state.0.max_exp_avg_sq"].ToArray();
        Assert.Equal(0.001f * 100f, buffer[0], 1e-6f); // (1 − β₂)·g² from step 1, kept although v decayed
    }

    [Fact]
    public void Step_ParameterWithoutGrad_IsUntouched()
    {
        Parameter a = NewParameter();
        Parameter b = NewParameter();
        var adam = new AdamW([a, b], lr: 0.1);
        SetGrad(a, Grads[0]);
        adam.Step();
        AssertClose(Initial, b.Data); // decoupled decay skips it too
        Assert.DoesNotContain(adam.StateDict().Keys, k => k.StartsWith("state.1.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1.0, 0.999)]
    [InlineData(0.9, -0.1)]
    public void Constructor_BetaOutOfRange_ThrowsWithValue(double beta1, double beta2)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new Adam([NewParameter()], betas: (beta1, beta2)));
        Assert.Contains("beta parameter", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_NegativeEps_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW([NewParameter()], eps: -1));

    [Fact]
    public void MomentumOption_AdamAndSgd_NameTheirMomentum()
    {
        Assert.Equal(MomentumOption.Beta1, new Adam([NewParameter()]).MomentumOption);
        Assert.Equal(MomentumOption.Momentum, new SGD([NewParameter()], 0.1).MomentumOption);
    }

    [Fact]
    public void Step_GroupBetasChanged_UsesNewBeta1()
    {
        Parameter a = NewParameter();
        var adam = new Adam([a], lr: 0.1);
        adam.ParamGroups[0].Beta1 = 0.5;
        RunSteps(adam, a);
        AssertClose(Reference(0.1, 0.5, 0.999, 1e-8, 0, false, false), a.Data);
    }

    [Fact]
    public void Step_StepCount_IsScalarState()
    {
        Parameter p = NewParameter();
        var adam = new Adam([p]);
        RunSteps(adam, p);
        Tensor step = adam.StateDict()["state.0.step"];
        Assert.Equal(0, step.Rank);
        Assert.Equal(3f, step.Item());
    }
}
