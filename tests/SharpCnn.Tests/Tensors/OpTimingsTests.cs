using SharpCnn.Autograd;
using SharpCnn.Functional;
using SharpCnn.Nn;

namespace SharpCnn.Tests.Tensors;

public class OpTimingsTests
{
    [Fact]
    public void OpTimings_Enabled_RecordsForwardOpsBackwardRulesAndLeafAccumulation()
    {
        var w = new Parameter(Tensor.Randn(new Generator(1), 3, 4));
        Tensor x = Tensor.Randn(new Generator(2), 2, 4);
        OpTimings.Drain();
        try
        {
            OpTimings.Enabled = true;
            Tensor loss = F.Linear(x, w).Relu().Sum();
            loss.Backward();
        }
        finally
        {
            OpTimings.Enabled = false;
        }

        F.Linear(x, w).Sum().Backward(); // off: not recorded
        IReadOnlyList<OpTiming> records = OpTimings.Drain();

        // Forward in call order with their indices; backward in reverse, each carrying its forward op's index.
        OpTiming[] forward = [.. records.Where(r => r.Phase == OpPhase.Forward)];
        OpTiming[] backward = [.. records.Where(r => r.Phase == OpPhase.Backward)];
        Assert.Equal(["LinearBackward", "ReluBackward", "SumBackward"], forward.Select(r => r.Name));
        Assert.Equal([0, 1, 2], forward.Select(r => r.ForwardIndex));
        Assert.Equal(["SumBackward", "ReluBackward", "LinearBackward"], backward.Select(r => r.Name));
        Assert.Equal([2, 1, 0], backward.Select(r => r.ForwardIndex));
        Assert.Single(records, r => r.Phase == OpPhase.AccumulateGrad);
        Assert.All(records, r => Assert.True(r.Milliseconds >= 0 && r.SumMilliseconds >= 0 && r.CpuMilliseconds == 0));
        Assert.Empty(OpTimings.Drain());
    }

    [Fact]
    public void OpTimings_EnabledOnAnotherThread_RecordsNothingHere()
    {
        OpTimings.Drain();
        var t = new Thread(() => OpTimings.Enabled = true);
        t.Start();
        t.Join();
        try
        {
            var w = new Parameter(Tensor.Randn(new Generator(1), 3));
            (w * w).Sum().Backward();
        }
        finally
        {
            OpTimings.Enabled = false;
        }

        Assert.Empty(OpTimings.Drain());
    }
}
