using SharpCnn.Nn;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

/// <summary>
/// Every zoo model at its default input: the parameter count and the multiply-accumulates of one image, as
/// <see cref="ModelSummary"/> counts them (convolutions and linear layers only, torchvision's convention).
/// </summary>
public sealed class ModelZooTests
{
    /// <summary>
    /// (name, parameters, MACs). ImageNet figures are torchvision's published num_params and "GFLOPS" (which are
    /// MACs: AlexNet 0.71, VGG 7.61/11.31/15.47/19.63, GoogLeNet 1.50, ResNet 1.81/3.66/4.09/7.80/11.51); CIFAR
    /// ResNets are He et al.'s 0.27 M … 1.7 M with 40.6 M / 125.5 M MACs for ResNet-20/56; the paper forms are
    /// counted by hand from their layer tables (LeNet-5: 117,600 + 150,000 + 48,000 + 10,080; AlexNet at 227:
    /// 105.4 M + 223.9 M + 149.5 M + 112.1 M + 74.8 M + 58.6 M).
    /// </summary>
    public static TheoryData<string, long, long> Expected { get; } = new()
    {
        { "lenet5", 61_706, 416_520 },
        { "lenet5-paper", 60_000, 325_680 },
        { "mlp", 535_818, 535_040 },
        { "alexnet", 61_100_840, 714_188_480 },
        { "alexnet-paper", 60_965_224, 724_406_816 },
        { "vgg11", 132_863_336, 7_609_090_048 },
        { "vgg11_bn", 132_868_840, 7_609_090_048 },
        { "vgg13", 133_047_848, 11_308_466_176 },
        { "vgg13_bn", 133_053_736, 11_308_466_176 },
        { "vgg16", 138_357_544, 15_470_264_320 },
        { "vgg16_bn", 138_365_992, 15_470_264_320 },
        { "vgg19", 143_667_240, 19_632_062_464 },
        { "vgg19_bn", 143_678_248, 19_632_062_464 },
        { "googlenet", 13_004_888, 1_498_376_192 },
        { "googlenet-paper", 13_378_280, 1_582_671_872 },
        { "resnet18", 11_689_512, 1_814_073_344 },
        { "resnet34", 21_797_672, 3_663_761_408 },
        { "resnet50", 25_557_032, 4_089_184_256 },
        { "resnet101", 44_549_160, 7_801_405_440 },
        { "resnet152", 60_192_808, 11_513_626_624 },
        { "resnet20", 269_722, 40_551_040 },
        { "resnet32", 464_154, 68_862_592 },
        { "resnet44", 658_586, 97_174_144 },
        { "resnet56", 853_018, 125_485_696 },
        { "resnet110", 1_727_962, 252_887_680 },
    };

    [Theory]
    [MemberData(nameof(Expected))]
    public void Summary_AtTheDefaultInput_HasThePublishedParametersAndMacs(string name, long parameters, long macs)
    {
        ModelZooEntry entry = ModelZoo.Find(name);
        Module model = ModelZoo.Create(name);
        ModelSummary summary = ModelSummary.Create(model, entry.Input.C, entry.Input.H, entry.Input.W);
        Assert.Equal(parameters, summary.TotalParams);
        Assert.Equal(parameters, summary.TrainableParams);
        Assert.Equal(macs, summary.TotalMacs);
        Assert.Equal(entry.Classes, summary.Rows[^1].OutputShape[^1]);
        Assert.True(model.Training, "the summary restores training mode");
    }

    [Fact]
    public void EveryEntryIsCovered_AndNamesAreUnique()
    {
        Assert.Equal(ModelZoo.Names.Order(), Expected.Select(row => (string)row[0]).Order());
        Assert.Equal(ModelZoo.Names.Count, ModelZoo.Names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }

    [Fact]
    public void Create_HonoursClassesAndChannels_AndUnknownNamesListTheKnownOnes()
    {
        Tensor y;
        using (Autograd.Autograd.NoGrad())
        {
            y = ModelZoo.Create("ResNet18", numClasses: 7, inChannels: 1).Eval().Call(Tensor.Zeros(2, 1, 64, 64));
        }

        Assert.Equal([2, 7], y.Shape);
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("resnet"));
        Assert.Contains("resnet18", e.Message, StringComparison.Ordinal);
        Assert.Contains("lenet5-paper", e.Message, StringComparison.Ordinal);
    }
}
