using SharpCnn.Nn;
using SharpCnn.Vision.Models;
using NoGrad = SharpCnn.Autograd.Autograd;

namespace SharpCnn.Vision.Tests.Models;

/// <summary>
/// ResNet inference with the batch norms folded into the convolutions and the residual add and ReLUs fused into
/// their stores (eval, no grad) against the plain conv → batch norm → ReLU chain (eval with gradients recorded).
/// </summary>
/// <remarks>
/// Folding moves one rounding per weight (s·w is rounded once, instead of s multiplying the rounded sum), so the two
/// paths differ in the last bits of each convolution; the comparison uses the project's float32 kernel tolerance
/// |a − b| ≤ 1e-5 + 1e-4·|b| (docs/ARCHITECTURE §4), the bound every fast kernel meets against its reference.
/// </remarks>
public class ResNetInferenceFoldTests
{
    public static TheoryData<string> Blocks() => new() { "basic 64→64 (ResNet-18 layer1)", "basic 64→128 /2 + projection (layer2.0)", "bottleneck 64→256 + projection", "cifar 16→16 (ResNet-20)", "cifar 16→32 /2 (zero-pad shortcut)" };

    [Theory]
    [MemberData(nameof(Blocks))]
    public void Block_EvalNoGrad_FoldedMatchesUnfusedChain(string block)
    {
        (Module m, Tensor x) = block switch
        {
            "basic 64→64 (ResNet-18 layer1)" => ((Module)new BasicBlock(64, 64), Input(2, 64, 14)),
            "basic 64→128 /2 + projection (layer2.0)" => (new BasicBlock(64, 128, 2, new Sequential(new Conv2d(64, 128, 1, stride: 2, bias: false), new BatchNorm2d(128))), Input(2, 64, 15)),
            "bottleneck 64→256 + projection" => (new Bottleneck(64, 64, 1, new Sequential(new Conv2d(64, 256, 1, bias: false), new BatchNorm2d(256))), Input(1, 64, 9)),
            "cifar 16→16 (ResNet-20)" => (new CifarBasicBlock(16, 16), Input(3, 16, 32)),
            _ => (new CifarBasicBlock(16, 32, 2), Input(2, 16, 17)),
        };
        RandomizeNorms(m, seed: 5);
        AssertFoldedMatchesUnfused(m, x, block);
    }

    [Fact]
    public void ResNet18_EvalNoGrad_FoldedLogitsMatchUnfused()
    {
        ResNet model = ResNet.ResNet18(numClasses: 10);
        RandomizeNorms(model, seed: 6);
        AssertFoldedMatchesUnfused(model, Input(1, 3, 64), "resnet18");
    }

    [Fact]
    public void ResNet20_EvalNoGrad_FoldedLogitsMatchUnfused()
    {
        CifarResNet model = CifarResNet.ResNet20();
        RandomizeNorms(model, seed: 7);
        AssertFoldedMatchesUnfused(model, Input(2, 3, 32), "resnet20");
    }

    [Fact]
    public void ResNet20_LoadStateDictAfterInference_UsesNewWeights()
    {
        CifarResNet model = CifarResNet.ResNet20();
        CifarResNet other = CifarResNet.ResNet20();
        RandomizeNorms(model, seed: 8);
        RandomizeNorms(other, seed: 9);
        model.Eval();
        other.Eval();
        Tensor x = Input(2, 3, 32);
        float[] before, after, expected;
        using (NoGrad.NoGrad())
        {
            before = model.Call(x).ToArray();
            model.LoadStateDict(other.StateDict());
            after = model.Call(x).ToArray();
            expected = other.Call(x).ToArray();
        }

        Assert.NotEqual(before, after);
        Assert.Equal(expected, after);
    }

    [Fact]
    public void ResNet18_StateDictAndParameterCount_UnchangedByFolding()
    {
        ResNet model = ResNet.ResNet18();
        model.Eval();
        using (NoGrad.NoGrad())
        {
            model.Call(Input(1, 3, 32));
        }

        Assert.Equal(11_689_512, model.ParameterCount());
        Assert.Equal(122, model.StateDict().Count);
    }

    private static void AssertFoldedMatchesUnfused(Module m, Tensor x, string what)
    {
        m.Eval();
        Tensor unfused = m.Call(x);   // gradients recorded: the plain chain
        Assert.NotNull(unfused.GradFn);
        Tensor folded;
        using (NoGrad.NoGrad())
        {
            folded = m.Call(x);
        }

        float[] a = folded.ToArray(), b = unfused.ToArray();
        Assert.Equal(b.Length, a.Length);
        Assert.NotEqual(b, a);   // the fold really ran (it rounds differently)
        for (int i = 0; i < a.Length; i++)
        {
            Assert.True(Math.Abs(a[i] - b[i]) <= 1e-5 + (1e-4 * Math.Abs(b[i])), $"{what}: element {i} is {a[i]} folded, {b[i]} unfused");
        }
    }

    private static Tensor Input(int n, int c, int hw) => Tensor.Randn(new Generator(3), n, c, hw, hw);

    /// <summary>Non-trivial batch-norm parameters and running statistics (fresh ones are the identity map).</summary>
    private static void RandomizeNorms(Module model, ulong seed)
    {
        var gen = new Generator(seed);
        foreach ((_, Module m) in model.NamedModules())
        {
            if (m is BatchNorm2d bn)
            {
                int c = bn.NumFeatures;
                float[] noise = Tensor.Randn(gen, 4, c).ToArray();
                for (int o = 0; o < c; o++)
                {
                    bn.Weight!.Data[o] = 0.8f + (0.2f * noise[o]);
                    bn.Bias!.Data[o] = 0.1f * noise[c + o];
                    bn.RunningMean!.Data[o] = 0.1f * noise[(2 * c) + o];
                    bn.RunningVar!.Data[o] = 0.8f + (0.2f * Math.Abs(noise[(3 * c) + o]));
                }
            }
        }
    }
}
