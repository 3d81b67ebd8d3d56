using SharpCnn.Nn;
using NnInit = SharpCnn.Init.Init;

namespace SharpCnn.Vision.Models;

/// <summary>
/// VGG (Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015),
/// exactly as torchvision's <c>vgg11</c> … <c>vgg19_bn</c>: a stack of 3×3 convolutions (padding 1) and 2×2 max
/// pools given by one column of the paper's Table 1, then three fully connected layers.
/// </summary>
/// <remarks>
/// <para>
/// Input (N, inChannels, 224, 224) → output (N, numClasses) logits. The adaptive average pool to 7×7 makes the
/// classifier accept any input of at least 32×32 (five halvings); at 224×224 it is an identity.
/// </para>
/// <para>
/// State-dict keys are torchvision's: <c>features.N</c> numbers every layer of the column in order
/// (convolution, [batch norm,] ReLU, …, max pool), and <c>classifier.{0,3,6}</c> are the fully connected layers.
/// Initialisation is torchvision's: convolutions kaiming_normal (fan_out, relu) with zero bias, batch norm γ = 1
/// and β = 0, linear layers N(0, 0.01²) with zero bias.
/// </para>
/// </remarks>
public sealed class Vgg : Module
{
    /// <summary>Marks a 2×2 max pool with stride 2 in a configuration column; every other entry is a conv3 width.</summary>
    public const int M = 0;

    private readonly Sequential _features;
    private readonly AdaptiveAvgPool2d _avgpool;
    private readonly Sequential _classifier;

    /// <summary>Creates a VGG network from a configuration <paramref name="column"/> (conv3 widths and <see cref="M"/> markers).</summary>
    /// <param name="column">Layers in order: a positive number n is conv3-n followed by a ReLU, <see cref="M"/> a max pool.</param>
    /// <param name="numClasses">Number of output logits (default 1000, ImageNet).</param>
    /// <param name="batchNorm">Insert BatchNorm2d after every convolution, as torchvision's <c>vgg*_bn</c>.</param>
    /// <param name="inChannels">Input channels (default 3, RGB).</param>
    /// <param name="dropout">Drop probability of the two dropout layers (default 0.5).</param>
    /// <exception cref="ArgumentException">The column is empty, has no convolution, or holds a negative entry.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> or <paramref name="inChannels"/> is not positive, or <paramref name="dropout"/> is outside [0, 1].</exception>
    public Vgg(IReadOnlyList<int> column, int numClasses = 1000, bool batchNorm = false, int inChannels = 3, float dropout = 0.5f)
    {
        CheckColumn(column);
        CheckPositive(numClasses, nameof(numClasses));
        CheckPositive(inChannels, nameof(inChannels));
        if (!(dropout is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"Vgg: dropout must be in [0, 1], got {dropout}.");
        }

        _features = Add("features", MakeLayers(column, batchNorm, inChannels));
        _avgpool = Add("avgpool", new AdaptiveAvgPool2d(7));
        int width = column.Last(v => v > 0);
        _classifier = Add("classifier", new Sequential(
            new Linear(width * 7 * 7, 4096),    // N×4096
            new ReLU(),
            new Dropout(dropout),
            new Linear(4096, 4096),             // N×4096
            new ReLU(),
            new Dropout(dropout),
            new Linear(4096, numClasses)));     // N×numClasses
        InitWeights();
    }

    /// <summary>Table 1, column A (11 weight layers): 8 convolutions, 5 pools.</summary>
    public static IReadOnlyList<int> ColumnA { get; } =
        [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M];

    /// <summary>Table 1, column B (13 weight layers): 10 convolutions, 5 pools.</summary>
    public static IReadOnlyList<int> ColumnB { get; } =
        [64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M];

    /// <summary>Table 1, column D (16 weight layers): 13 convolutions, 5 pools.</summary>
    public static IReadOnlyList<int> ColumnD { get; } =
        [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M];

    /// <summary>Table 1, column E (19 weight layers): 16 convolutions, 5 pools.</summary>
    public static IReadOnlyList<int> ColumnE { get; } =
        [64, 64, M, 128, 128, M, 256, 256, 256, 256, M, 512, 512, 512, 512, M, 512, 512, 512, 512, M];

    /// <summary>VGG-11 (column A): 132,863,336 parameters for 1000 classes (132,868,840 with batch norm).</summary>
    /// <inheritdoc cref="Vgg(IReadOnlyList{int}, int, bool, int, float)"/>
    public static Vgg Vgg11(int numClasses = 1000, bool batchNorm = false, int inChannels = 3, float dropout = 0.5f) =>
        new(ColumnA, numClasses, batchNorm, inChannels, dropout);

    /// <summary>VGG-13 (column B): 133,047,848 parameters for 1000 classes (133,053,736 with batch norm).</summary>
    /// <inheritdoc cref="Vgg(IReadOnlyList{int}, int, bool, int, float)"/>
    public static Vgg Vgg13(int numClasses = 1000, bool batchNorm = false, int inChannels = 3, float dropout = 0.5f) =>
        new(ColumnB, numClasses, batchNorm, inChannels, dropout);

    /// <summary>VGG-16 (column D): 138,357,544 parameters for 1000 classes (138,365,992 with batch norm).</summary>
    /// <inheritdoc cref="Vgg(IReadOnlyList{int}, int, bool, int, float)"/>
    public static Vgg Vgg16(int numClasses = 1000, bool batchNorm = false, int inChannels = 3, float dropout = 0.5f) =>
        new(ColumnD, numClasses, batchNorm, inChannels, dropout);

    /// <summary>VGG-19 (column E): 143,667,240 parameters for 1000 classes (143,678,248 with batch norm).</summary>
    /// <inheritdoc cref="Vgg(IReadOnlyList{int}, int, bool, int, float)"/>
    public static Vgg Vgg19(int numClasses = 1000, bool batchNorm = false, int inChannels = 3, float dropout = 0.5f) =>
        new(ColumnE, numClasses, batchNorm, inChannels, dropout);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        input.Apply(_features)          // N×512×7×7 at 224×224
             .Apply(_avgpool)           // N×512×7×7
             .Flatten(1)                // N×25088
             .Apply(_classifier);       // N×numClasses

    /// <summary>
    /// The convolutional stack of a column, as torchvision's <c>make_layers</c>: for each width n, Conv2d(c, n, 3,
    /// padding 1), [BatchNorm2d(n),] ReLU; for each <see cref="M"/>, MaxPool2d(2, 2). Layers are numbered in that
    /// order and keep PyTorch's default initialisation (the <see cref="Vgg"/> constructor re-initialises them).
    /// </summary>
    /// <exception cref="ArgumentException">The column is empty, has no convolution, or holds a negative entry.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inChannels"/> is not positive.</exception>
    public static Sequential MakeLayers(IReadOnlyList<int> column, bool batchNorm = false, int inChannels = 3)
    {
        CheckColumn(column);
        CheckPositive(inChannels, nameof(inChannels));
        var layers = new Sequential();
        int channels = inChannels;
        foreach (int v in column)
        {
            if (v == M)
            {
                layers.Append(new MaxPool2d(2, stride: 2));
                continue;
            }

            layers.Append(new Conv2d(channels, v, 3, padding: 1));
            if (batchNorm)
            {
                layers.Append(new BatchNorm2d(v));
            }

            layers.Append(new ReLU());
            channels = v;
        }

        return layers;
    }

    private void InitWeights()
    {
        foreach ((_, Module m) in NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                    NnInit.KaimingNormal(conv.Weight, mode: Init.FanMode.FanOut, nonlinearity: "relu");
                    if (conv.Bias is not null)
                    {
                        NnInit.Zeros(conv.Bias);
                    }

                    break;
                case BatchNorm2d bn:
                    NnInit.Ones(bn.Weight!);
                    NnInit.Zeros(bn.Bias!);
                    break;
                case Linear linear:
                    NnInit.Normal(linear.Weight, 0, 0.01);
                    NnInit.Zeros(linear.Bias!);
                    break;
                default:
                    break;
            }
        }
    }

    private static void CheckColumn(IReadOnlyList<int> column)
    {
        ArgumentNullException.ThrowIfNull(column);
        if (!column.Any(v => v > 0) || column.Any(v => v < 0))
        {
            throw new ArgumentException(
                $"Vgg: a column needs at least one convolution width (> 0) and may otherwise hold only M (= {M}) markers, got [{string.Join(", ", column)}].",
                nameof(column));
        }
    }

    private static void CheckPositive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"Vgg: {name} must be positive, got {value}.");
        }
    }
}
