using SharpCnn.Nn;

namespace SharpCnn.Tests.Nn;

/// <summary>
/// The summary's MAC convention against torchvision's published figure (1.814 GFLOPS, i.e. MACs), on a ResNet-18
/// built here from core layers in torchvision's layout (the zoo's ResNet lives in SharpCnn.Vision).
/// </summary>
public class ModelSummaryResNetTests
{
    private sealed class BasicBlock : Module
    {
        private readonly Conv2d _conv1;
        private readonly BatchNorm2d _bn1;
        private readonly ReLU _relu;
        private readonly Conv2d _conv2;
        private readonly BatchNorm2d _bn2;
        private readonly Sequential? _downsample;

        public BasicBlock(int inPlanes, int planes, int stride)
        {
            _conv1 = Add("conv1", new Conv2d(inPlanes, planes, 3, stride, 1, bias: false));
            _bn1 = Add("bn1", new BatchNorm2d(planes));
            _relu = Add("relu", new ReLU());
            _conv2 = Add("conv2", new Conv2d(planes, planes, 3, 1, 1, bias: false));
            _bn2 = Add("bn2", new BatchNorm2d(planes));
            if (stride != 1 || inPlanes != planes)
            {
                _downsample = Add("downsample", new Sequential(new Conv2d(inPlanes, planes, 1, stride, bias: false), new BatchNorm2d(planes)));
            }
        }

        public override Tensor Forward(Tensor input)
        {
            Tensor identity = _downsample is null ? input : input.Apply(_downsample);
            // As torchvision, one ReLU module called twice.
            return (input.Apply(_conv1).Apply(_bn1).Apply(_relu).Apply(_conv2).Apply(_bn2) + identity).Apply(_relu);
        }
    }

    private sealed class ResNet18 : Module
    {
        private readonly Sequential _stem;
        private readonly Sequential _layers;
        private readonly Linear _fc;

        public ResNet18()
        {
            _stem = new Sequential(
                Add("conv1", new Conv2d(3, 64, 7, 2, 3, bias: false)),
                Add("bn1", new BatchNorm2d(64)),
                Add("relu", new ReLU()),
                Add("maxpool", new MaxPool2d(3, 2, 1)));
            _layers = new Sequential(
                Add("layer1", new Sequential(new BasicBlock(64, 64, 1), new BasicBlock(64, 64, 1))),
                Add("layer2", new Sequential(new BasicBlock(64, 128, 2), new BasicBlock(128, 128, 1))),
                Add("layer3", new Sequential(new BasicBlock(128, 256, 2), new BasicBlock(256, 256, 1))),
                Add("layer4", new Sequential(new BasicBlock(256, 512, 2), new BasicBlock(512, 512, 1))));
            _fc = Add("fc", new Linear(512, 1000));
        }

        public override Tensor Forward(Tensor input) =>
            input.Apply(_stem).Apply(_layers).AdaptiveAvgPool2d(1).Flatten(1).Apply(_fc);
    }

    [Fact]
    public void Create_ResNet18At224_TorchvisionMacsAndParams()
    {
        // By hand: the convolutions are 1,813,561,344 MACs and fc 512·1000 = 512,000; torchvision publishes 1.814 GFLOPS.
        ModelSummary s = ModelSummary.Create(new ResNet18(), 3, 224, 224);
        Assert.Equal(1_814_073_344L, s.TotalMacs);
        Assert.Equal(11_689_512L, s.TotalParams);
        Assert.Equal([1, 64, 112, 112], s.Rows.First(r => r.Name == "conv1").OutputShape);
        Assert.Equal(("layer4.1.relu", true), (s.Rows[^2].Name, s.Rows[^2].Repeated));
        Assert.Contains("Total mult-adds (G): 1.81", s.Format(), StringComparison.Ordinal);
    }
}
