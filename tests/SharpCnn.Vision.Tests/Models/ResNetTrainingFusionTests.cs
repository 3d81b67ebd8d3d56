using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

/// <summary>
/// ResNet training with each block's batch norms fused with their ReLU (and the last one with the residual add,
/// <see cref="BatchNormBase.CallAddRelu"/>) against the same model with a forward hook on every batch norm, which
/// makes every one of them run the plain chain (batch norm, then <c>Relu</c> or <c>F.AddRelu</c>): the fused ops
/// keep every rounding of the chain, so losses, gradients, parameters and running statistics must agree bit for bit.
/// </summary>
public class ResNetTrainingFusionTests
{
    public static TheoryData<string> Models() => new() { "resnet18", "resnet20", "resnet50 bottleneck block" };

    [Theory]
    [MemberData(nameof(Models))]
    public void TrainingSteps_FusedBatchNormAddRelu_BitwiseEqualToUnfusedChain(string name)
    {
        (Module fused, Tensor x, Tensor labels) = Build(name);
        (Module plain, _, _) = Build(name);
        plain.LoadStateDict(fused.StateDict());
        int hooked = 0;
        foreach ((_, Module m) in plain.NamedModules())
        {
            if (m is BatchNormBase bn)
            {
                bn.RegisterForwardHook((_, _, _) => { });
                hooked++;
            }
        }

        Assert.True(hooked > 0);

        // The fused op really runs in the hook-free model: a block's output comes from it.
        string? blockOp = null;
        Module block = fused.NamedModules().First(p => p.Module is BasicBlock or Bottleneck or CifarBasicBlock).Module;
        using (block.RegisterForwardHook((_, _, y) => blockOp = y.GradFn?.Name))
        {
            Step(fused, x, labels, new SGD(fused.Parameters(), lr: 0.05, momentum: 0.9), out _);
        }

        Assert.Equal("BatchNormAddReluBackward", blockOp);
        plain.LoadStateDict(fused.StateDict());   // both start the comparison from the state after that step
        var optFused = new SGD(fused.Parameters(), lr: 0.05, momentum: 0.9);
        var optPlain = new SGD(plain.Parameters(), lr: 0.05, momentum: 0.9);
        for (int step = 0; step < 3; step++)
        {
            float lossFused = Step(fused, x, labels, optFused, out Dictionary<string, float[]> gradsFused);
            float lossPlain = Step(plain, x, labels, optPlain, out Dictionary<string, float[]> gradsPlain);
            Assert.Equal(lossPlain, lossFused);
            foreach ((string key, float[] g) in gradsPlain)
            {
                Assert.True(g.AsSpan().SequenceEqual(gradsFused[key]), $"step {step}: gradient of {key} differs");
            }

            foreach ((string key, Tensor t) in plain.StateDict())
            {
                Assert.True(t.ToArray().AsSpan().SequenceEqual(fused.StateDict()[key].ToArray()), $"step {step}: {key} differs");
            }
        }
    }

    private static (Module Model, Tensor X, Tensor Labels) Build(string name)
    {
        (Module model, Tensor x) = name switch
        {
            "resnet18" => ((Module)ResNet.ResNet18(numClasses: 5), Tensor.Randn(new Generator(11), 3, 3, 33, 33)),
            "resnet20" => (CifarResNet.ResNet20(numClasses: 5), Tensor.Randn(new Generator(12), 4, 3, 15, 15)),
            _ => (new Sequential(
                new Bottleneck(16, 8, 2, new Sequential(new Conv2d(16, 32, 1, stride: 2, bias: false), new BatchNorm2d(32))),
                new Bottleneck(32, 8),
                new AdaptiveAvgPool2d(1), new Flatten(), new Linear(32, 5)), Tensor.Randn(new Generator(13), 2, 16, 9, 9)),
        };
        model.Train();
        return (model, x, Tensor.FromArray(Enumerable.Range(0, x.Size(0)).Select(i => (float)(i % 5)).ToArray()));
    }

    private static float Step(Module model, Tensor x, Tensor labels, SGD optimizer, out Dictionary<string, float[]> grads)
    {
        optimizer.ZeroGrad();
        Tensor loss = F.CrossEntropy(model.Call(x), labels);
        loss.Backward();
        grads = model.NamedParameters().ToDictionary(p => p.Name, p => p.Parameter.Grad!.ToArray());
        optimizer.Step();
        return loss.Item();
    }
}
