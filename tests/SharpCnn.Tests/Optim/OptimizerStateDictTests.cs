using SharpCnn.Nn;
using SharpCnn.Optim;
using static SharpCnn.Tests.Optim.OptimTestData;

namespace SharpCnn.Tests.Optim;

public class OptimizerStateDictTests
{
    private static Optimizer Make(string kind, Parameter[] ps) => kind switch
    {
        "sgd" => new SGD([new ParamGroup([ps[0]]), new ParamGroup([ps[1]], lr: 0.0123456789)], lr: 0.1, momentum: 0.9, weightDecay: 0.01),
        "nesterov" => new SGD(ps, lr: 0.07, momentum: 0.8, nesterov: true),
        "adam" => new Adam(ps, lr: 0.0123456789, weightDecay: 0.1),
        "amsgrad" => new Adam(ps, lr: 0.1, betas: (0.8, 0.95), amsgrad: true),
        _ => new AdamW(ps, lr: 0.1 / 3),
    };

    [Theory]
    [InlineData("sgd")]
    [InlineData("nesterov")]
    [InlineData("adam")]
    [InlineData("amsgrad")]
    [InlineData("adamw")]
    public void LoadStateDict_RoundTrip_NextStepIsBitExact(string kind)
    {
        Parameter[] a = [NewParameter(), NewParameter([0.3, 0.2, -0.1])];
        Optimizer first = Make(kind, a);
        for (int s = 0; s < 2; s++)
        {
            SetGrad(a[0], Grads[s]);
            SetGrad(a[1], Grads[s + 1]);
            first.Step();
        }

        IReadOnlyDictionary<string, Tensor> saved = first.StateDict();
        Parameter[] b = [NewParameter(), NewParameter()];
        a[0].Data.CopyTo(b[0].Data);
        a[1].Data.CopyTo(b[1].Data);
        Optimizer second = Make(kind, b);
        second.LoadStateDict(saved);

        foreach (Parameter[] ps in new[] { a, b })
        {
            SetGrad(ps[0], Grads[2]);
            SetGrad(ps[1], Grads[0]);
        }

        first.Step();
        second.Step();
        Assert.Equal(a[0].ToArray(), b[0].ToArray());
        Assert.Equal(a[1].ToArray(), b[1].ToArray());
    }

    [Fact]
    public void StateDict_Adam_HasPyTorchStyleKeys()
    {
        Parameter p = NewParameter();
        var adam = new Adam([p]);
        RunSteps(adam, p, 1);
        IReadOnlyDictionary<string, Tensor> dict = adam.StateDict();
        Assert.Equal(
            ["param_groups.0.beta1", "param_groups.0.beta2", "param_groups.0.lr", "param_groups.0.params", "param_groups.0.weight_decay",
             "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.step"],
            dict.Keys.Order(StringComparer.Ordinal));
        Assert.Equal([3], dict["state.0.exp_avg"].Shape);
    }

    [Fact]
    public void StateDict_AfterMoreSteps_IsASnapshot()
    {
        Parameter p = NewParameter();
        var sgd = new SGD([p], lr: 0.1, momentum: 0.9);
        RunSteps(sgd, p, 1);
        float[] before = sgd.StateDict()["state.0.momentum_buffer"].ToArray();
        Tensor snapshot = sgd.StateDict()["state.0.momentum_buffer"];
        SetGrad(p, Grads[1]);
        sgd.Step();
        Assert.Equal(before, snapshot.ToArray());
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(1.0 / 3)]
    [InlineData(3.14159265358979e-7)]
    [InlineData(0.0)]
    public void LoadStateDict_Lr_RestoredExactly(double lr)
    {
        var first = new SGD([NewParameter()], lr: 1);
        first.Lr = lr;
        first.ParamGroups[0].InitialLr = lr * 7;
        var second = new SGD([NewParameter()], lr: 1);
        second.LoadStateDict(first.StateDict());
        Assert.Equal(lr, second.Lr);
        Assert.Equal(lr * 7, second.ParamGroups[0].InitialLr);
    }

    [Fact]
    public void LoadStateDict_WrongBufferShape_ThrowsNamingKey()
    {
        var sgd = new SGD([NewParameter()], lr: 0.1, momentum: 0.9);
        var dict = new Dictionary<string, Tensor>(sgd.StateDict()) { ["state.0.momentum_buffer"] = Tensor.Zeros(4) };
        var ex = Assert.Throws<InvalidDataException>(() => sgd.LoadStateDict(dict));
        Assert.Contains("'state.0.momentum_buffer'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("(4)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("state.5.momentum_buffer")]
    [InlineData("state.0.exp_avg")]
    [InlineData("param_groups.0.beta1")]
    [InlineData("param_groups.3.lr")]
    [InlineData("optimizer.lr")]
    [InlineData("state.x.momentum_buffer")]
    public void LoadStateDict_UnknownKey_ThrowsNamingKey(string key)
    {
        var sgd = new SGD([NewParameter()], lr: 0.1, momentum: 0.9);
        var dict = new Dictionary<string, Tensor>(sgd.StateDict()) { [key] = Tensor.Zeros(3) };
        var ex = Assert.Throws<InvalidDataException>(() => sgd.LoadStateDict(dict));
        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("param_groups.0.lr")]
    [InlineData("param_groups.0.params")]
    [InlineData("state.0.exp_avg_sq")]
    public void LoadStateDict_MissingKey_ThrowsNamingKey(string key)
    {
        Parameter p = NewParameter();
        var adam = new Adam([p]);
        RunSteps(adam, p, 1);
        var dict = new Dictionary<string, Tensor>(adam.StateDict());
        dict.Remove(key);
        var ex = Assert.Throws<InvalidDataException>(() => adam.LoadStateDict(dict));
        Assert.Contains($"'{key}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadStateDict_Invalid_LeavesStateUnchanged()
    {
        Parameter p = NewParameter();
        var adam = new Adam([p], lr: 0.1);
        RunSteps(adam, p, 2);
        IReadOnlyDictionary<string, Tensor> before = adam.StateDict();
        var broken = new Dictionary<string, Tensor>(before) { ["param_groups.0.lr"] = Tensor.Scalar(5) };
        broken["state.0.step"] = Tensor.Scalar(9);
        Assert.Throws<InvalidDataException>(() => adam.LoadStateDict(broken));
        Assert.Equal(0.1, adam.Lr);
        Assert.Equal(2f, adam.StateDict()["state.0.step"].Item());
    }

    [Fact]
    public void LoadStateDict_DifferentGrouping_Throws()
    {
        var two = new SGD([new ParamGroup([NewParameter(), NewParameter()])], lr: 0.1);
        var split = new SGD([new ParamGroup([NewParameter()]), new ParamGroup([NewParameter()])], lr: 0.1);
        var ex = Assert.Throws<InvalidDataException>(() => split.LoadStateDict(two.StateDict()));
        Assert.Contains("param_groups.0.params", ex.Message, StringComparison.Ordinal);
    }
}
