using SharpCnn.Nn;

namespace SharpCnn.Vision.Models;

/// <summary>
/// One model of the zoo: its command-line name, what it is, the sample it was designed for and how to build it.
/// </summary>
/// <param name="Name">The name used by <c>--model</c>, checkpoints and <see cref="ModelZoo.Create"/>.</param>
/// <param name="Description">One line: the architecture and its source.</param>
/// <param name="Input">The sample shape (channels, height, width) of the paper or torchvision.</param>
/// <param name="Classes">The number of classes of the original task (1000 for ImageNet, 10 for MNIST/CIFAR-10).</param>
/// <param name="FixedSize">True when the model only takes <see cref="Input"/>'s height and width (no adaptive pooling).</param>
/// <param name="Factory">Builds the model for (numClasses, inChannels).</param>
public sealed record ModelZooEntry(string Name, string Description, (int C, int H, int W) Input, int Classes, bool FixedSize, Func<int, int, Module> Factory);

/// <summary>Creates models by name, as used by the command line (<c>--model</c>, <c>summary</c>) and checkpoints.</summary>
public static class ModelZoo
{
    private static readonly (int, int, int) s_mnist = (1, 28, 28);
    private static readonly (int, int, int) s_imageNet = (3, 224, 224);
    private static readonly (int, int, int) s_cifar = (3, 32, 32);

    private static readonly ModelZooEntry[] s_entries =
    [
        new("lenet5", "LeNet-5, modern form: ReLU, max pooling, padded C1 (61,706 parameters)", s_mnist, 10, true, (k, c) => new LeNet5(k, c)),
        new("lenet5-paper", "LeNet-5 of LeCun et al. 1998: 32×32, trainable subsampling, C3 table, RBF output (60,000)", (1, 32, 32), 10, true, (k, c) => new LeNet5Paper(k, c)),
        new("mlp", "Multilayer perceptron 784-512-256-10, the fully connected baseline", s_mnist, 10, true, (k, c) => new Mlp(k, c * 28 * 28)),
        new("alexnet", "AlexNet as torchvision (single tower, no LRN, 61,100,840)", s_imageNet, 1000, false, (k, c) => new AlexNet(k, c)),
        new("alexnet-paper", "AlexNet of Krizhevsky et al. 2012: two towers (groups 2), LRN, 227×227 (60,965,224)", (3, 227, 227), 1000, false, (k, c) => AlexNet.Paper(k, c)),
        new("vgg11", "VGG-11 (configuration A), torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg11(k, false, c)),
        new("vgg11_bn", "VGG-11 with batch norm, torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg11(k, true, c)),
        new("vgg13", "VGG-13 (configuration B), torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg13(k, false, c)),
        new("vgg13_bn", "VGG-13 with batch norm, torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg13(k, true, c)),
        new("vgg16", "VGG-16 (configuration D), torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg16(k, false, c)),
        new("vgg16_bn", "VGG-16 with batch norm, torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg16(k, true, c)),
        new("vgg19", "VGG-19 (configuration E), torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg19(k, false, c)),
        new("vgg19_bn", "VGG-19 with batch norm, torchvision", s_imageNet, 1000, false, (k, c) => Vgg.Vgg19(k, true, c)),
        new("googlenet", "GoogLeNet (Inception v1) as torchvision, with the two auxiliary heads in training", s_imageNet, 1000, false,
            (k, c) => new GoogLeNet(k, auxLogits: true, inChannels: c)),
        new("googlenet-paper", "GoogLeNet of Szegedy et al. 2014: 5×5 branch, biases, no batch norm, auxiliary heads", s_imageNet, 1000, false,
            (k, c) => new GoogLeNet(k, auxLogits: true, inChannels: c, variant: GoogLeNetVariant.Paper)),
        new("resnet18", "ResNet-18, torchvision", s_imageNet, 1000, false, (k, c) => ResNet.ResNet18(k, c)),
        new("resnet34", "ResNet-34, torchvision", s_imageNet, 1000, false, (k, c) => ResNet.ResNet34(k, c)),
        new("resnet50", "ResNet-50 v1.5 (stride on the 3×3), torchvision", s_imageNet, 1000, false, (k, c) => ResNet.ResNet50(k, c)),
        new("resnet101", "ResNet-101 v1.5, torchvision", s_imageNet, 1000, false, (k, c) => ResNet.ResNet101(k, c)),
        new("resnet152", "ResNet-152 v1.5, torchvision", s_imageNet, 1000, false, (k, c) => ResNet.ResNet152(k, c)),
        new("resnet20", "CIFAR ResNet-20 of He et al. §4.2, option-A shortcuts", s_cifar, 10, false, (k, c) => CifarResNet.ResNet20(k, c)),
        new("resnet32", "CIFAR ResNet-32, option A", s_cifar, 10, false, (k, c) => CifarResNet.ResNet32(k, c)),
        new("resnet44", "CIFAR ResNet-44, option A", s_cifar, 10, false, (k, c) => CifarResNet.ResNet44(k, c)),
        new("resnet56", "CIFAR ResNet-56, option A", s_cifar, 10, false, (k, c) => CifarResNet.ResNet56(k, c)),
        new("resnet110", "CIFAR ResNet-110, option A", s_cifar, 10, false, (k, c) => CifarResNet.ResNet110(k, c)),
    ];

    /// <summary>Every model, in the order the lecture meets them.</summary>
    public static IReadOnlyList<ModelZooEntry> Entries => s_entries;

    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = [.. s_entries.Select(e => e.Name)];

    /// <summary>The entry named <paramref name="name"/> (case-insensitive).</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static ModelZooEntry Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return s_entries.FirstOrDefault(e => string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"Unknown model \"{name}\"; known models: {string.Join(", ", Names)}.", nameof(name));
    }

    /// <summary>
    /// Creates model <paramref name="name"/> (case-insensitive) with freshly initialised weights. Without
    /// arguments it is the model of the original task (<see cref="ModelZooEntry.Classes"/> classes,
    /// <see cref="ModelZooEntry.Input"/>'s channels).
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static Module Create(string name, int? numClasses = null, int? inChannels = null)
    {
        ModelZooEntry entry = Find(name);
        return entry.Factory(numClasses ?? entry.Classes, inChannels ?? entry.Input.C);
    }

    /// <summary>
    /// The input one sample of model <paramref name="name"/> (case-insensitive) expects by default, as
    /// (channels, height, width): what <c>sharpcnn summary</c> feeds it when no <c>--input</c> is given.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static (int C, int H, int W) DefaultInput(string name) => Find(name).Input;
}
