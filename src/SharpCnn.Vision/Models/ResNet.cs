using SharpCnn.Init;
using SharpCnn.Nn;
using static SharpCnn.Init.Init;

namespace SharpCnn.Vision.Models;

/// <summary>The residual block a <see cref="ResNet"/> is built from.</summary>
public enum ResNetBlockKind
{
    /// <summary>Two 3×3 convolutions (<see cref="BasicBlock"/>, expansion 1): ResNet-18 and -34.</summary>
    Basic,

    /// <summary>1×1 → 3×3 → 1×1 convolutions (<see cref="Bottleneck"/>, expansion 4): ResNet-50, -101 and -152.</summary>
    Bottleneck,
}

/// <summary>
/// Deep residual network for ImageNet (He et al., 2015, "Deep Residual Learning for Image Recognition", Table 1),
/// exactly as torchvision's <c>resnet18</c> … <c>resnet152</c>: the v1.5 variant, whose bottleneck puts the stride
/// on its 3×3 convolution rather than on the first 1×1 (more accurate, a little slower), with projection shortcuts
/// (1×1 convolution + batch norm, option B of the paper) wherever the shape changes.
/// </summary>
/// <remarks>
/// <para>Input (N, inChannels, H, W), usually 224×224; output logits (N, numClasses). Any H, W ≥ 1 works: the
/// network downsamples by 32 and ends in a global average pool.</para>
/// <para>State-dict keys are torchvision's, in its order: <c>conv1</c>, <c>bn1</c>, <c>layer1</c> … <c>layer4</c>
/// (each block <c>layerK.i.conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>, for bottlenecks <c>conv3</c>, <c>bn3</c>,
/// and <c>layerK.i.downsample.0</c> (1×1 conv) / <c>.1</c> (batch norm) on the first block of a stage), then
/// <c>fc</c>. Convolutions have no bias; batch norms use eps 1e-5 and momentum 0.1.</para>
/// <para>Initialisation as torchvision: convolutions kaiming_normal (fan_out, relu), batch norms γ = 1 and β = 0,
/// the final linear layer keeps PyTorch's default. Parameters: ResNet-18 11,689,512; -34 21,797,672; -50 25,557,032;
/// -101 44,549,160; -152 60,192,808 (1000 classes).</para>
/// </remarks>
public sealed class ResNet : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly MaxPool2d _maxpool;
    private readonly Sequential _layer1;
    private readonly Sequential _layer2;
    private readonly Sequential _layer3;
    private readonly Sequential _layer4;
    private readonly Linear _fc;
    private int _inplanes = 64;

    /// <summary>Creates a ResNet from its block kind and the number of blocks in each of the four stages.</summary>
    /// <param name="block">Basic (two 3×3) or bottleneck (1×1, 3×3, 1×1) blocks.</param>
    /// <param name="layers">Blocks per stage, four positive numbers (ResNet-50: [3, 4, 6, 3]).</param>
    /// <param name="numClasses">Output logits (default 1000).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="zeroInitResidual">
    /// When true, the last batch norm of every block starts with γ = 0, so each residual branch starts as zero
    /// and every block as the identity (Goyal et al., 2017), as torchvision's <c>zero_init_residual</c>.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">numClasses, inChannels or a stage's block count is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="layers"/> does not have four entries.</exception>
    public ResNet(ResNetBlockKind block, IReadOnlyList<int> layers, int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ModelChecks.Positive(nameof(ResNet), numClasses, inChannels);
        if (layers.Count != 4 || layers.Any(n => n <= 0))
        {
            throw new ArgumentException($"ResNet expects four positive block counts (one per stage) but got [{string.Join(", ", layers)}].", nameof(layers));
        }

        if (block is not (ResNetBlockKind.Basic or ResNetBlockKind.Bottleneck))
        {
            throw new ArgumentOutOfRangeException(nameof(block), block, $"ResNet: unknown block kind {block}; expected Basic or Bottleneck.");
        }

        Block = block;
        NumClasses = numClasses;
        int expansion = block == ResNetBlockKind.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;
        _conv1 = Add("conv1", new Conv2d(inChannels, 64, 7, stride: 2, padding: 3, bias: false));
        _bn1 = Add("bn1", new BatchNorm2d(64));
        _maxpool = Add("maxpool", new MaxPool2d(3, stride: 2, padding: 1));
        _layer1 = Add("layer1", MakeLayer(block, 64, layers[0], stride: 1));
        _layer2 = Add("layer2", MakeLayer(block, 128, layers[1], stride: 2));
        _layer3 = Add("layer3", MakeLayer(block, 256, layers[2], stride: 2));
        _layer4 = Add("layer4", MakeLayer(block, 512, layers[3], stride: 2));
        _fc = Add("fc", new Linear(512 * expansion, numClasses));

        foreach ((_, Module m) in NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                    KaimingNormal(conv.Weight, mode: FanMode.FanOut, nonlinearity: "relu");
                    break;
                case BatchNorm2d bn:
                    Ones(bn.Weight!);
                    Zeros(bn.Bias!);
                    break;
            }
        }

        // A second pass, as torchvision: the first one set every γ to 1.
        if (zeroInitResidual)
        {
            foreach ((_, Module m) in NamedModules())
            {
                (m as BasicBlock)?.ZeroInitLastNorm();
                (m as Bottleneck)?.ZeroInitLastNorm();
            }
        }
    }

    /// <summary>The block kind.</summary>
    public ResNetBlockKind Block { get; }

    /// <summary>Number of output logits.</summary>
    public int NumClasses { get; }

    /// <summary>ResNet-18: basic blocks [2, 2, 2, 2], 11,689,512 parameters for 1000 classes.</summary>
    public static ResNet ResNet18(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlockKind.Basic, [2, 2, 2, 2], numClasses, inChannels, zeroInitResidual);

    /// <summary>ResNet-34: basic blocks [3, 4, 6, 3], 21,797,672 parameters for 1000 classes.</summary>
    public static ResNet ResNet34(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlockKind.Basic, [3, 4, 6, 3], numClasses, inChannels, zeroInitResidual);

    /// <summary>ResNet-50: bottleneck blocks [3, 4, 6, 3], 25,557,032 parameters for 1000 classes.</summary>
    public static ResNet ResNet50(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlockKind.Bottleneck, [3, 4, 6, 3], numClasses, inChannels, zeroInitResidual);

    /// <summary>ResNet-101: bottleneck blocks [3, 4, 23, 3], 44,549,160 parameters for 1000 classes.</summary>
    public static ResNet ResNet101(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlockKind.Bottleneck, [3, 4, 23, 3], numClasses, inChannels, zeroInitResidual);

    /// <summary>ResNet-152: bottleneck blocks [3, 8, 36, 3], 60,192,808 parameters for 1000 classes.</summary>
    public static ResNet ResNet152(int numClasses = 1000, int inChannels = 3, bool zeroInitResidual = false) =>
        new(ResNetBlockKind.Bottleneck, [3, 8, 36, 3], numClasses, inChannels, zeroInitResidual);

    /// <summary>Logits (N, numClasses) for images (N, inChannels, H, W); shapes below are for 224×224 and ResNet-18/34 (×4 channels for bottlenecks).</summary>
    /// <remarks>
    /// Each convolution runs with its batch norm through <see cref="Conv2d.CallWithBatchNorm"/>: in evaluation without
    /// gradients the batch norm is folded into the convolution and the ReLU (and a block's residual add) fused
    /// into its store; in training it is the plain conv → batch norm → ReLU chain.
    /// </remarks>
    public override Tensor Forward(Tensor input) =>
        _conv1.CallWithBatchNorm(input, _bn1, relu: true).Apply(_maxpool)  // N×64×56×56
             .Apply(_layer1)                                      // N×64×56×56
             .Apply(_layer2)                                      // N×128×28×28
             .Apply(_layer3)                                      // N×256×14×14
             .Apply(_layer4)                                      // N×512×7×7
             .AdaptiveAvgPool2d(1).Flatten(1).Apply(_fc);         // N×numClasses

    /// <summary>
    /// One stage: the first block takes the stride and, when the shape changes, a projection shortcut
    /// (1×1 conv with the stride, then batch norm), as torchvision's <c>_make_layer</c>.
    /// </summary>
    private Sequential MakeLayer(ResNetBlockKind block, int planes, int blocks, int stride)
    {
        int expansion = block == ResNetBlockKind.Basic ? BasicBlock.Expansion : Bottleneck.Expansion;
        Sequential? downsample = null;
        if (stride != 1 || _inplanes != planes * expansion)
        {
            downsample = new Sequential(
                new Conv2d(_inplanes, planes * expansion, 1, stride: stride, bias: false),
                new BatchNorm2d(planes * expansion));
        }

        var layer = new Sequential();
        for (int i = 0; i < blocks; i++)
        {
            layer.Append(block == ResNetBlockKind.Basic
                ? new BasicBlock(_inplanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null)
                : new Bottleneck(_inplanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null));
            _inplanes = planes * expansion;
        }

        return layer;
    }
}

/// <summary>
/// The residual block of ResNet-18/34: y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), two 3×3
/// convolutions without bias, the first carrying the stride. The shortcut is the identity, or
/// the downsample projection when the shape changes.
/// </summary>
/// <remarks>Keys: <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c> and, with a projection, <c>downsample.*</c>.</remarks>
public sealed class BasicBlock : Module
{
    /// <summary>Output channels per <c>planes</c> (1).</summary>
    public const int Expansion = 1;

    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Conv2d _conv2;
    private readonly BatchNorm2d _bn2;
    private readonly Module? _downsample;

    /// <summary>Creates the block: (N, inplanes, H, W) → (N, planes, H/stride, W/stride).</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Output channels.</param>
    /// <param name="stride">Stride of the first convolution.</param>
    /// <param name="downsample">The shortcut when the shape changes (null: identity).</param>
    public BasicBlock(int inplanes, int planes, int stride = 1, Module? downsample = null)
    {
        _conv1 = Add("conv1", new Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false));
        _bn1 = Add("bn1", new BatchNorm2d(planes));
        _conv2 = Add("conv2", new Conv2d(planes, planes, 3, padding: 1, bias: false));
        _bn2 = Add("bn2", new BatchNorm2d(planes));
        if (downsample is not null)
        {
            _downsample = Add("downsample", downsample);
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor identity = ResNetShortcut.Apply(_downsample, input);
        Tensor hidden = _conv1.CallWithBatchNorm(input, _bn1, relu: true);
        return _conv2.CallWithBatchNorm(hidden, _bn2, identity, relu: true);   // bn2, residual add and ReLU fused at inference
    }

    internal void ZeroInitLastNorm() => Zeros(_bn2.Weight!);
}

/// <summary>
/// The bottleneck block of ResNet-50/101/152 in torchvision's v1.5 form:
/// y = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)) with conv1 1×1 (planes),
/// conv2 3×3 carrying the stride (planes), conv3 1×1 (4·planes). The paper and v1 put the stride on conv1 instead.
/// </summary>
/// <remarks>Keys: <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>, <c>conv3</c>, <c>bn3</c> and, with a projection, <c>downsample.*</c>.</remarks>
public sealed class Bottleneck : Module
{
    /// <summary>Output channels per <c>planes</c> (4).</summary>
    public const int Expansion = 4;

    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Conv2d _conv2;
    private readonly BatchNorm2d _bn2;
    private readonly Conv2d _conv3;
    private readonly BatchNorm2d _bn3;
    private readonly Module? _downsample;

    /// <summary>Creates the block: (N, inplanes, H, W) → (N, 4·planes, H/stride, W/stride).</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Width of the inner convolutions; the output has 4·planes channels.</param>
    /// <param name="stride">Stride of the 3×3 convolution.</param>
    /// <param name="downsample">The shortcut when the shape changes (null: identity).</param>
    public Bottleneck(int inplanes, int planes, int stride = 1, Module? downsample = null)
    {
        _conv1 = Add("conv1", new Conv2d(inplanes, planes, 1, bias: false));
        _bn1 = Add("bn1", new BatchNorm2d(planes));
        _conv2 = Add("conv2", new Conv2d(planes, planes, 3, stride: stride, padding: 1, bias: false));
        _bn2 = Add("bn2", new BatchNorm2d(planes));
        _conv3 = Add("conv3", new Conv2d(planes, planes * Expansion, 1, bias: false));
        _bn3 = Add("bn3", new BatchNorm2d(planes * Expansion));
        if (downsample is not null)
        {
            _downsample = Add("downsample", downsample);
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor identity = ResNetShortcut.Apply(_downsample, input);
        Tensor hidden = _conv2.CallWithBatchNorm(_conv1.CallWithBatchNorm(input, _bn1, relu: true), _bn2, relu: true);
        return _conv3.CallWithBatchNorm(hidden, _bn3, identity, relu: true);   // bn3, residual add and ReLU fused at inference
    }

    internal void ZeroInitLastNorm() => Zeros(_bn3.Weight!);
}

/// <summary>The shortcut of a residual block: identity, or the downsample projection.</summary>
internal static class ResNetShortcut
{
    /// <summary>
    /// <paramref name="downsample"/>(input), or input when null. The projection torchvision builds (a Sequential of a
    /// 1×1 Conv2d and a BatchNorm2d, without hooks) runs through <see cref="Conv2d.CallWithBatchNorm"/> so that it is
    /// folded at inference; in training that is the same two calls the Sequential makes.
    /// </summary>
    public static Tensor Apply(Module? downsample, Tensor input) => downsample switch
    {
        null => input,
        Sequential { Count: 2, HasForwardHooks: false } s when s[0] is Conv2d conv && s[1] is BatchNormBase bn => conv.CallWithBatchNorm(input, bn),
        _ => input.Apply(downsample),
    };
}

/// <summary>Argument checks shared by the model constructors.</summary>
internal static class ModelChecks
{
    public static void Positive(string model, int numClasses, int inChannels)
    {
        if (numClasses <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, $"{model}: numClasses must be positive, got {numClasses}.");
        }

        if (inChannels <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, $"{model}: inChannels must be positive, got {inChannels}.");
        }
    }
}
