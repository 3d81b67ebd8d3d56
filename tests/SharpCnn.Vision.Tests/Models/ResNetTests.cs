using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

public class ResNetTests
{
    public static TheoryData<string, long> Counts() => new()
    {
        { "resnet18", 11_689_512 },
        { "resnet34", 21_797_672 },
        { "resnet50", 25_557_032 },
        { "resnet101", 44_549_160 },
    };

    internal static ResNet Create(string name, int numClasses = 1000, int inChannels = 3) => name switch
    {
        "resnet18" => ResNet.ResNet18(numClasses, inChannels),
        "resnet34" => ResNet.ResNet34(numClasses, inChannels),
        "resnet50" => ResNet.ResNet50(numClasses, inChannels),
        "resnet101" => ResNet.ResNet101(numClasses, inChannels),
        "resnet152" => ResNet.ResNet152(numClasses, inChannels),
        _ => throw new ArgumentException(name, nameof(name)),
    };

    private static Tensor Infer(Module model, Tensor x)
    {
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            return model.Forward(x);
        }
    }

    [Theory]
    [MemberData(nameof(Counts))]
    public void ResNet_ParameterCount_MatchesTorchvision(string name, long expected)
    {
        ResNet model = Create(name);
        Assert.Equal(expected, model.ParameterCount());
        Assert.Equal(expected, model.ParameterCount(trainableOnly: true));
    }

    [Fact]
    public void ResNet18_StateDictKeys_AreTorchvisionsInOrder()
    {
        var keys = ResNet.ResNet18().StateDict().Keys.ToList();
        Assert.Equal(122, keys.Count);
        Assert.Equal(
            ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked",
             "layer1.0.conv1.weight", "layer1.0.bn1.weight"],
            keys[..8]);
        Assert.Equal(["layer4.1.bn2.num_batches_tracked", "fc.weight", "fc.bias"], keys[^3..]);
        Assert.Contains("layer2.0.downsample.0.weight", keys);
        Assert.Contains("layer2.0.downsample.1.running_var", keys);
        Assert.DoesNotContain("layer1.0.downsample.0.weight", keys);
        Assert.DoesNotContain("layer2.0.downsample.0.bias", keys);
        Assert.DoesNotContain("conv1.bias", keys);
        // Within a block torchvision registers conv1, bn1, conv2, bn2, downsample.
        Assert.True(keys.IndexOf("layer2.0.bn2.num_batches_tracked") < keys.IndexOf("layer2.0.downsample.0.weight"));
    }

    [Fact]
    public void ResNet50_StateDict_BottleneckShapesAndStrideOn3x3()
    {
        ResNet model = ResNet.ResNet50();
        OrderedDictionary<string, Tensor> state = model.StateDict();
        Assert.Equal(320, state.Count);
        Assert.Equal([64, 64, 1, 1], state["layer1.0.conv1.weight"].Shape);
        Assert.Equal([256, 64, 1, 1], state["layer1.0.conv3.weight"].Shape);
        Assert.Equal([256, 64, 1, 1], state["layer1.0.downsample.0.weight"].Shape);
        Assert.Equal([512, 256, 1, 1], state["layer2.0.downsample.0.weight"].Shape);
        Assert.Equal([1000, 2048], state["fc.weight"].Shape);
        Assert.Equal("fc.bias", state.Keys.Last());

        // v1.5: the stride sits on the 3×3 convolution of the first bottleneck of a stage.
        var modules = model.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        Assert.Equal(new Size2(1, 1), ((Conv2d)modules["layer2.0.conv1"]).Stride);
        Assert.Equal(new Size2(2, 2), ((Conv2d)modules["layer2.0.conv2"]).Stride);
        Assert.Equal(new Size2(2, 2), ((Conv2d)modules["layer2.0.downsample.0"]).Stride);
        Assert.Equal(1e-5, ((BatchNorm2d)modules["layer3.5.bn3"]).Eps);
        Assert.Equal(0.1, ((BatchNorm2d)modules["layer3.5.bn3"]).Momentum);
    }

    [Fact]
    public void ResNet18And50_Forward224_GivesLogits()
    {
        var g = new Generator(3);
        Assert.Equal([2, 1000], Infer(ResNet.ResNet18(), Tensor.Randn(g, 2, 3, 224, 224)).Shape);
        Assert.Equal([1, 1000], Infer(ResNet.ResNet50(), Tensor.Randn(g, 1, 3, 224, 224)).Shape);
    }

    [Fact]
    public void ResNet152_ParameterCountAndForward224()
    {
        ResNet model = ResNet.ResNet152();
        Assert.Equal(60_192_808, model.ParameterCount());
        Assert.Equal(60_192_808, model.ParameterCount(trainableOnly: true));
        Tensor y = Infer(model, Tensor.Randn(new Generator(4), 1, 3, 224, 224));
        Assert.Equal([1, 1000], y.Shape);
        Assert.All(y.ToArray(), v => Assert.True(float.IsFinite(v)));
    }

    [Theory]
    [InlineData("resnet34")]
    [InlineData("resnet50")]
    public void ResNet_NumClassesAndInChannels_Honoured(string name)
    {
        ResNet model = Create(name, numClasses: 7, inChannels: 1);
        Assert.Equal([64, 1, 7, 7], model.StateDict()["conv1.weight"].Shape);
        Assert.Equal(7, model.StateDict()["fc.bias"].Numel);
        Assert.Equal([2, 7], Infer(model, Tensor.Randn(new Generator(5), 2, 1, 64, 48)).Shape);
    }

    [Fact]
    public void ResNet_BadArguments_Throw()
    {
        Assert.Contains("numClasses", Assert.Throws<ArgumentOutOfRangeException>(() => ResNet.ResNet18(numClasses: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("inChannels", Assert.Throws<ArgumentOutOfRangeException>(() => ResNet.ResNet50(inChannels: -1)).Message, StringComparison.Ordinal);
        Assert.Contains("four positive", Assert.Throws<ArgumentException>(() => new ResNet(ResNetBlockKind.Basic, [2, 2, 2])).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new ResNet(ResNetBlockKind.Basic, [2, 0, 2, 2]));
    }

    [Fact]
    public void ResNet_Init_KaimingFanOutConvsAndUnitNorms()
    {
        OrderedDictionary<string, Tensor> state = ResNet.ResNet18().StateDict();

        // kaiming_normal(fan_out, relu) for layer1.0.conv1: std = √2 / √(64·3·3).
        float[] w = state["layer1.0.conv1.weight"].ToArray();
        double std = Math.Sqrt(w.Sum(v => (double)v * v) / w.Length);
        Assert.InRange(std, 0.95 * Math.Sqrt(2.0 / 576), 1.05 * Math.Sqrt(2.0 / 576));
        Assert.All(state["layer3.1.bn2.weight"].ToArray(), v => Assert.Equal(1f, v));
        Assert.All(state["layer3.1.bn2.bias"].ToArray(), v => Assert.Equal(0f, v));

        // The fc layer keeps PyTorch's default U(±1/√512).
        Assert.All(state["fc.weight"].ToArray(), v => Assert.InRange(v, -1 / MathF.Sqrt(512), 1 / MathF.Sqrt(512)));
    }

    [Fact]
    public void ResNet_ZeroInitResidual_ZeroesLastNormOfEachBlockOnly()
    {
        OrderedDictionary<string, Tensor> basic = ResNet.ResNet18(zeroInitResidual: true).StateDict();
        Assert.All(basic.Where(kv => kv.Key.EndsWith("bn2.weight", StringComparison.Ordinal)), kv => Assert.All(kv.Value.ToArray(), v => Assert.Equal(0f, v)));
        Assert.All(basic["layer1.0.bn1.weight"].ToArray(), v => Assert.Equal(1f, v));
        Assert.All(basic["layer2.0.downsample.1.weight"].ToArray(), v => Assert.Equal(1f, v));

        OrderedDictionary<string, Tensor> bottleneck = ResNet.ResNet50(zeroInitResidual: true).StateDict();
        Assert.All(bottleneck["layer4.2.bn3.weight"].ToArray(), v => Assert.Equal(0f, v));
        Assert.All(bottleneck["layer4.2.bn2.weight"].ToArray(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void ResNet18_Backward_ReachesEveryParameter()
    {
        ResNet model = ResNet.ResNet18(numClasses: 4);
        Tensor x = Tensor.Randn(new Generator(6), 2, 3, 32, 32);
        F.CrossEntropy(model.Forward(x), Tensor.FromArray([1f, 3f])).Backward();
        Assert.All(model.NamedParameters(), p => Assert.True(p.Parameter.Grad is not null, $"{p.Name} has no gradient"));
    }
}
