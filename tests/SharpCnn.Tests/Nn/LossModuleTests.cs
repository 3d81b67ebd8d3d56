using SharpCnn.Functional;
using SharpCnn.Nn;

namespace SharpCnn.Tests.Nn;

public class LossModuleTests
{
    private static readonly Tensor s_logits = Tensor.FromArray([0.5f, -1f, 2f, 0f, 1f, 1f], 2, 3);
    private static readonly Tensor s_target = Tensor.FromArray([2f, 0f]);

    [Fact]
    public void CrossEntropyLoss_EqualsFunctionalForm()
    {
        var loss = new CrossEntropyLoss(labelSmoothing: 0.1f, reduction: Reduction.Sum);
        Assert.Equal(F.CrossEntropy(s_logits, s_target, 0.1f, Reduction.Sum).Item(), loss.Forward(s_logits, s_target).Item());
        Assert.Equal("CrossEntropyLoss(reduction=sum, label_smoothing=0.1)", loss.ToString());
        Assert.Equal("CrossEntropyLoss()", new CrossEntropyLoss().ToString());
    }

    [Fact]
    public void CrossEntropyLoss_KnownValue_MatchesHandComputation()
    {
        // Row 0: log-sum-exp(0.5, −1, 2) − 2; row 1: log-sum-exp(0, 1, 1) − 0.
        double row0 = Math.Log(Math.Exp(0.5) + Math.Exp(-1) + Math.Exp(2)) - 2;
        double row1 = Math.Log(1 + (2 * Math.E));
        Assert.Equal((row0 + row1) / 2, new CrossEntropyLoss().Forward(s_logits, s_target).Item(), 5);
    }

    [Fact]
    public void NLLLoss_OnLogSoftmax_EqualsCrossEntropy()
    {
        float nll = new NLLLoss().Forward(F.LogSoftmax(s_logits, 1), s_target).Item();
        Assert.Equal(new CrossEntropyLoss().Forward(s_logits, s_target).Item(), nll, 6);
    }

    [Fact]
    public void MSELoss_Reductions()
    {
        Tensor a = Tensor.FromArray([1f, 2f, 3f]);
        Tensor b = Tensor.FromArray([1f, 0f, 0f]);
        Assert.Equal(13f / 3f, new MSELoss().Forward(a, b).Item(), 6);
        Assert.Equal(13f, new MSELoss(Reduction.Sum).Forward(a, b).Item(), 6);
        Assert.Equal(new float[] { 0, 4, 9 }, new MSELoss(Reduction.None).Forward(a, b).ToArray());
    }

    [Fact]
    public void CrossEntropyLoss_BadSmoothing_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new CrossEntropyLoss(labelSmoothing: 1.5f));
}
