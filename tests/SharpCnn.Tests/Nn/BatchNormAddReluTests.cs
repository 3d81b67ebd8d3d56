using SharpCnn.Functional;
using SharpCnn.Nn;
using Conv2d = SharpCnn.Nn.Conv2d;

namespace SharpCnn.Tests.Nn;

/// <summary>
/// <see cref="BatchNormBase.CallAddRelu"/> and <see cref="F.BatchNormAddRelu"/> (batch norm, residual add and ReLU
/// as one training op) against the chain they replace, <c>F.AddRelu(bn.Call(x), r)</c>, bit for bit; the fallback
/// rules (forward hooks, evaluation); argument errors. Gradients against central differences are in the op catalog
/// (<c>BatchNormAddRelu*</c>).
/// </summary>
public class BatchNormAddReluTests
{
    public static TheoryData<int[], double?, bool> Cases() => new()
    {
        { [3, 5, 7, 9], 0.1, true },     // ragged 2-d maps
        { [16, 4, 3, 3], null, true },   // cumulative average (momentum = null)
        { [6, 3], 0.3, false },          // BatchNorm1d on (N, C), residual without gradient
        { [2, 3, 5], 0.1, true },        // BatchNorm1d on (N, C, L)
        { [2, 9, 33, 35], 0.1, true },   // nine channels: the whole-channel split at 2 threads
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void CallAddRelu_Training_BitwiseEqualsCallThenAddRelu(int[] shape, double? momentum, bool residualGrad)
    {
        (BatchNormBase fused, BatchNormBase plain) = (Make(shape, momentum, seed: 1), Make(shape, momentum, seed: 1));
        Tensor x1 = Leaf(Tensor.Randn(new Generator(2), shape));
        Tensor x2 = Leaf(x1.Detach().Clone());
        Tensor r1 = Tensor.Randn(new Generator(3), shape);
        Tensor r2 = r1.Clone();
        r1.RequiresGrad = residualGrad;
        r2.RequiresGrad = residualGrad;
        Tensor g = Tensor.Randn(new Generator(4), shape);
        for (int call = 0; call < 2; call++)
        {
            Tensor y1 = fused.CallAddRelu(x1, r1);
            Tensor y2 = F.AddRelu(plain.Call(x2), r2);
            Assert.Equal("BatchNormAddReluBackward", y1.GradFn?.Name);
            Assert.Equal(y2.ToArray(), y1.ToArray());
            Assert.Contains(y1.ToArray(), v => v == 0f);
            y1.Backward(g);
            y2.Backward(g);
        }

        AssertSame(plain, fused, "after two steps");
        Assert.Equal(x2.Grad!.ToArray(), x1.Grad!.ToArray());
        Assert.Equal(residualGrad, r1.Grad is not null);
        if (residualGrad)
        {
            Assert.Equal(r2.Grad!.ToArray(), r1.Grad!.ToArray());
        }
    }

    [Fact]
    public void BatchNormAddRelu_InputAlsoResidual_GradientsOfBothPathsAdd()
    {
        int[] shape = [4, 3, 5, 5];
        Tensor x1 = Leaf(Tensor.Randn(new Generator(5), shape));
        Tensor x2 = Leaf(x1.Detach().Clone());
        Tensor w = Tensor.FromArray([1.5f, -0.5f, 0.7f]);
        Tensor b = Tensor.FromArray([0.1f, 0.2f, -0.3f]);
        Tensor g = Tensor.Randn(new Generator(6), shape);
        Tensor y1 = F.BatchNormAddRelu(x1, x1, null, null, w, b, training: true);
        Tensor y2 = F.AddRelu(F.BatchNorm(x2, null, null, w, b, training: true), x2);
        Assert.Equal(y2.ToArray(), y1.ToArray());
        y1.Backward(g);
        y2.Backward(g);
        Assert.Equal(x2.Grad!.ToArray(), x1.Grad!.ToArray());
    }

    [Fact]
    public void CallAddRelu_WithForwardHook_RunsChainAndHookSeesBatchNormOutput()
    {
        int[] shape = [2, 4, 6, 6];
        (BatchNormBase hooked, BatchNormBase plain) = (Make(shape, 0.1, seed: 7), Make(shape, 0.1, seed: 7));
        Tensor x = Leaf(Tensor.Randn(new Generator(8), shape));
        Tensor r = Leaf(Tensor.Randn(new Generator(9), shape));
        Tensor? seen = null;
        using (hooked.RegisterForwardHook((_, _, o) => seen = o))
        {
            Tensor y = hooked.CallAddRelu(x, r);
            Assert.Equal("AddReluBackward", y.GradFn?.Name);
            Assert.NotNull(seen);
            Assert.Equal("BatchNormBackward", seen.GradFn?.Name);
            Assert.Contains(seen.ToArray(), v => v < 0f);   // the batch-norm output, before the add and ReLU
            Assert.Equal(F.AddRelu(plain.Call(x), r).ToArray(), y.ToArray());
        }

        AssertSame(plain, hooked, "hooked", grads: false);
        Assert.Equal("BatchNormAddReluBackward", hooked.CallAddRelu(x, r).GradFn?.Name);   // hook removed: fused again
    }

    [Fact]
    public void CallAddRelu_Eval_EqualsComposition()
    {
        int[] shape = [3, 4, 5, 5];
        BatchNormBase bn = Make(shape, 0.1, seed: 10);
        bn.Call(Tensor.Randn(new Generator(11), shape));   // running statistics away from (0, 1)
        bn.Eval();
        Tensor x = Leaf(Tensor.Randn(new Generator(12), shape));
        Tensor r = Tensor.Randn(new Generator(13), shape);
        Tensor y = bn.CallAddRelu(x, r);
        Assert.Equal("AddReluBackward", y.GradFn?.Name);
        Assert.Equal(F.AddRelu(bn.Call(x), r).ToArray(), y.ToArray());
    }

    [Fact]
    public void CallWithBatchNorm_TrainingWithResidual_UsesFusedOpAndHooksFallBack()
    {
        var conv = new Conv2d(4, 4, 3, padding: 1, bias: false);
        var bn = new BatchNorm2d(4);
        Tensor x = Leaf(Tensor.Randn(new Generator(14), 2, 4, 7, 7));
        Tensor r = Tensor.Randn(new Generator(15), 2, 4, 7, 7);
        Tensor fused = conv.CallWithBatchNorm(x, bn, r, relu: true);
        Assert.Equal("BatchNormAddReluBackward", fused.GradFn?.Name);
        Assert.Equal("BatchNormReluBackward", conv.CallWithBatchNorm(x, bn, relu: true).GradFn?.Name);
        Assert.Equal("AddBackward", conv.CallWithBatchNorm(x, bn, r).GradFn?.Name);
        using (bn.RegisterForwardHook((_, _, _) => { }))
        {
            Assert.Equal("AddReluBackward", conv.CallWithBatchNorm(x, bn, r, relu: true).GradFn?.Name);
            Assert.Equal("ReluBackward", conv.CallWithBatchNorm(x, bn, relu: true).GradFn?.Name);
        }
    }

    [Fact]
    public void CallAddRelu_ResidualOfOtherShape_ThrowsAndLeavesRunningStatisticsAlone()
    {
        var bn = new BatchNorm2d(3);
        Tensor x = Tensor.Randn(new Generator(16), 2, 3, 4, 4);
        var ex = Assert.Throws<ArgumentException>(() => bn.CallAddRelu(x, Tensor.Zeros(2, 3, 4, 5)));
        Assert.Contains("(2, 3, 4, 5)", ex.Message, StringComparison.Ordinal);
        Assert.Equal(0f, bn.NumBatchesTracked!.ToArray()[0]);
        Assert.Equal(new float[3], bn.RunningMean!.ToArray());
        ex = Assert.Throws<ArgumentException>(() => F.BatchNormAddRelu(x, Tensor.Zeros(2, 3, 16), null, null, training: true));
        Assert.Contains("(2, 3, 16)", ex.Message, StringComparison.Ordinal);
    }

    private static Tensor Leaf(Tensor t)
    {
        t.RequiresGrad = true;
        return t;
    }

    private static BatchNormBase Make(int[] shape, double? momentum, ulong seed)
    {
        int c = shape[1];
        BatchNormBase bn = shape.Length == 4 ? new BatchNorm2d(c, momentum: momentum) : new BatchNorm1d(c, momentum: momentum);
        var gen = new Generator(seed);
        float[] noise = Tensor.Randn(gen, 2, c).ToArray();
        for (int o = 0; o < c; o++)
        {
            bn.Weight!.Data[o] = 0.8f + (0.3f * noise[o]);
            bn.Bias!.Data[o] = 0.2f * noise[c + o];
        }

        bn.Train();
        return bn;
    }

    private static void AssertSame(BatchNormBase expected, BatchNormBase actual, string what, bool grads = true)
    {
        foreach ((string key, Tensor t) in expected.StateDict())
        {
            Assert.True(t.ToArray().AsSpan().SequenceEqual(actual.StateDict()[key].ToArray()), $"{what}: {key} differs");
        }

        if (grads)
        {
            Assert.Equal(expected.Weight!.Grad!.ToArray(), actual.Weight!.Grad!.ToArray());
            Assert.Equal(expected.Bias!.Grad!.ToArray(), actual.Bias!.Grad!.ToArray());
        }
    }
}
