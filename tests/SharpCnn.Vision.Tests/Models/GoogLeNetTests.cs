using SharpCnn.Nn;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

public class GoogLeNetTests
{
    [Theory]
    [InlineData(GoogLeNetVariant.Torchvision, true, 13_004_888)]
    [InlineData(GoogLeNetVariant.Torchvision, false, 6_624_904)]
    [InlineData(GoogLeNetVariant.Paper, true, 13_378_280)]
    [InlineData(GoogLeNetVariant.Paper, false, 6_998_552)]
    public void GoogLeNet_ParameterCount_MatchesReference(GoogLeNetVariant variant, bool aux, long expected)
    {
        var model = new GoogLeNet(auxLogits: aux, variant: variant);
        Assert.Equal(expected, model.ParameterCount());
        Assert.Equal(expected, model.ParameterCount(trainableOnly: true));
    }

    [Fact]
    public void GoogLeNet_StateDictKeys_AreTorchvisionsInOrder()
    {
        OrderedDictionary<string, Tensor> state = new GoogLeNet().StateDict();
        var keys = state.Keys.ToList();
        Assert.Equal(["conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias", "conv1.bn.running_mean", "conv1.bn.running_var", "conv1.bn.num_batches_tracked", "conv2.conv.weight"], keys[..7]);
        Assert.Equal(["aux2.fc2.weight", "aux2.fc2.bias", "fc.weight", "fc.bias"], keys[^4..]);
        Assert.Equal([64, 3, 7, 7], state["conv1.conv.weight"].Shape);
        Assert.Equal([64, 192, 1, 1], state["inception3a.branch1.conv.weight"].Shape);
        Assert.Equal([128, 96, 3, 3], state["inception3a.branch2.1.conv.weight"].Shape);
        // torchvision's "5×5" branch is 3×3 (pytorch/vision#906).
        Assert.Equal([32, 16, 3, 3], state["inception3a.branch3.1.conv.weight"].Shape);
        Assert.Equal([32, 192, 1, 1], state["inception3a.branch4.1.conv.weight"].Shape);
        Assert.Equal([128, 512, 1, 1], state["aux1.conv.conv.weight"].Shape);
        Assert.Equal([128, 528, 1, 1], state["aux2.conv.conv.weight"].Shape);
        Assert.Equal([1024, 2048], state["aux1.fc1.weight"].Shape);
        Assert.Equal([1000, 1024], state["fc.weight"].Shape);
        Assert.Contains("inception5b.branch4.1.bn.running_var", keys);
        Assert.DoesNotContain(keys, k => k.EndsWith("conv.bias", StringComparison.Ordinal));

        var modules = new GoogLeNet().NamedModules().ToDictionary(m => m.Name, m => m.Module);
        Assert.Equal(0.001, ((BatchNorm2d)modules["inception4c.branch2.0.bn"]).Eps);
        Assert.True(((MaxPool2d)modules["maxpool1"]).CeilMode);
        Assert.True(((MaxPool2d)modules["inception4a.branch4.0"]).CeilMode);
        Assert.Equal(0.2, ((Dropout)modules["dropout"]).P);
        Assert.Equal(0.7, ((Dropout)modules["aux1.dropout"]).P);
    }

    [Fact]
    public void GoogLeNet_WithoutAux_HasNoAuxKeys()
    {
        var keys = new GoogLeNet(auxLogits: false).StateDict().Keys.ToList();
        Assert.DoesNotContain(keys, k => k.StartsWith("aux", StringComparison.Ordinal));
        Assert.Equal(["inception5b.branch4.1.bn.num_batches_tracked", "fc.weight", "fc.bias"], keys[^3..]);
    }

    [Fact]
    public void GoogLeNetPaper_Keys_ConvWithBiasNoNorm_True5x5()
    {
        OrderedDictionary<string, Tensor> state = new GoogLeNet(variant: GoogLeNetVariant.Paper).StateDict();
        Assert.Equal(["conv1.conv.weight", "conv1.conv.bias", "conv2.conv.weight", "conv2.conv.bias"], state.Keys.Take(4));
        Assert.DoesNotContain(state.Keys, k => k.Contains(".bn.", StringComparison.Ordinal));
        Assert.Equal([32, 16, 5, 5], state["inception3a.branch3.1.conv.weight"].Shape);
        Assert.Equal([128, 512, 1, 1], state["aux1.conv.conv.weight"].Shape);
        Assert.Equal(128, state["aux1.conv.conv.bias"].Numel);
        Assert.All(state["fc.bias"].ToArray(), v => Assert.Equal(0f, v));
        Assert.All(state["conv1.conv.bias"].ToArray(), v => Assert.Equal(0.2f, v));
    }

    [Theory]
    [InlineData(GoogLeNetVariant.Torchvision)]
    [InlineData(GoogLeNetVariant.Paper)]
    public void GoogLeNet_Eval224_ReturnsLogitsWithoutAux(GoogLeNetVariant variant)
    {
        var model = new GoogLeNet(variant: variant);
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            GoogLeNetOutputs o = model.ForwardOutputs(Tensor.Randn(new Generator(1), 1, 3, 224, 224));
            Assert.Equal([1, 1000], o.Logits.Shape);
            Assert.Null(o.AuxLogits1);
            Assert.Null(o.AuxLogits2);
            Assert.Empty(model.ForwardWithAuxiliary(Tensor.Randn(new Generator(1), 1, 3, 224, 224)).Auxiliary);
        }
    }

    [Theory]
    [InlineData(GoogLeNetVariant.Torchvision)]
    [InlineData(GoogLeNetVariant.Paper)]
    public void GoogLeNet_Training_ReturnsTwoAuxOutputsInTorchvisionOrder(GoogLeNetVariant variant)
    {
        var model = new GoogLeNet(numClasses: 5, variant: variant);
        Tensor x = Tensor.Randn(new Generator(2), 2, 3, 224, 224);
        AuxiliaryForward o;
        using (Autograd.Autograd.NoGrad())
        {
            o = model.ForwardWithAuxiliary(x);
        }

        Assert.Equal([2, 5], o.Output.Shape);
        Assert.Equal(2, o.Auxiliary.Count);
        Assert.All(o.Auxiliary, a => Assert.Equal([2, 5], a.Output.Shape));
        Assert.All(o.Auxiliary, a => Assert.Equal(0.3f, a.Weight));
        Assert.All(o.Auxiliary, a => Assert.NotSame(o.Output, a.Output));
    }

    [Fact]
    public void GoogLeNet_ForwardOutputs_TrainingWithAndWithoutAux()
    {
        Tensor x = Tensor.Randn(new Generator(3), 1, 3, 96, 96);
        using (Autograd.Autograd.NoGrad())
        {
            GoogLeNetOutputs withAux = new GoogLeNet(numClasses: 3).ForwardOutputs(x);
            Assert.Equal([1, 3], withAux.Logits.Shape);
            Assert.Equal([1, 3], withAux.AuxLogits1!.Shape);
            Assert.Equal([1, 3], withAux.AuxLogits2!.Shape);

            var noAux = new GoogLeNet(numClasses: 3, auxLogits: false);
            GoogLeNetOutputs without = noAux.ForwardOutputs(x);
            Assert.Null(without.AuxLogits1);
            Assert.Null(without.AuxLogits2);
            Assert.Empty(noAux.ForwardWithAuxiliary(x).Auxiliary);
            Assert.Equal([1, 3], noAux.Forward(x).Shape);
        }
    }

    [Fact]
    public void GoogLeNet_NumClassesAndInChannels_Honoured()
    {
        var model = new GoogLeNet(numClasses: 12, inChannels: 1);
        Assert.Equal([64, 1, 7, 7], model.StateDict()["conv1.conv.weight"].Shape);
        Assert.Equal([12, 1024], model.StateDict()["aux2.fc2.weight"].Shape);
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            Assert.Equal([2, 12], model.Forward(Tensor.Randn(new Generator(4), 2, 1, 64, 64)).Shape);
        }
    }

    [Fact]
    public void GoogLeNet_TransformInput_RenormalisesImageNetInputs()
    {
        // A pixel p given as (p − mean)/std must reach conv1 as (p − 0.5)/0.5, as torchvision's _transform_input.
        Tensor p = Tensor.Rand(new Generator(5), 2, 3, 4, 5);
        float[] mean = [0.485f, 0.456f, 0.406f];
        float[] std = [0.229f, 0.224f, 0.225f];
        Tensor imagenet = Tensor.Cat([.. Enumerable.Range(0, 3).Select(c => (p.Narrow(1, c, 1) - mean[c]) / std[c])], 1);
        Tensor half = (p - 0.5f) / 0.5f;
        var model = new GoogLeNet(numClasses: 4, auxLogits: false, transformInput: true);
        Assert.True(model.TransformInput);
        Assert.True(model.Renormalize(imagenet).AllClose(half, rtol: 1e-5f, atol: 1e-5f));
        Assert.Same(imagenet, new GoogLeNet(numClasses: 4, auxLogits: false).Renormalize(imagenet));
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            Assert.Equal([1, 4], model.Forward(Tensor.Randn(new Generator(6), 1, 3, 64, 64)).Shape);
        }
    }

    [Fact]
    public void GoogLeNet_BadArguments_Throw()
    {
        Assert.Contains("numClasses", Assert.Throws<ArgumentOutOfRangeException>(() => new GoogLeNet(numClasses: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("inChannels", Assert.Throws<ArgumentOutOfRangeException>(() => new GoogLeNet(inChannels: 0)).Message, StringComparison.Ordinal);
        Assert.Contains("inChannels = 3", Assert.Throws<ArgumentException>(() => new GoogLeNet(inChannels: 1, transformInput: true)).Message, StringComparison.Ordinal);
        Assert.Contains("dropout must be", Assert.Throws<ArgumentOutOfRangeException>(() => new GoogLeNet(dropout: 1.5f)).Message, StringComparison.Ordinal);
        Assert.Contains("dropoutAux", Assert.Throws<ArgumentOutOfRangeException>(() => new GoogLeNet(dropoutAux: float.NaN)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => new GoogLeNet(variant: (GoogLeNetVariant)7));
    }

    [Fact]
    public void Inception_OutputChannels_SumOfBranches()
    {
        var inception = new Inception(192, 64, 96, 128, 16, 32, 32);
        Assert.Equal(256, inception.OutChannels);
        using (Autograd.Autograd.NoGrad())
        {
            Assert.Equal([1, 256, 7, 9], inception.Forward(Tensor.Randn(new Generator(6), 1, 192, 7, 9)).Shape);
        }
    }
}
