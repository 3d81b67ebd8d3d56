using SharpCnn.Functional;
using SharpCnn.Nn;
using static SharpCnn.Init.Init;

namespace SharpCnn.Vision.Models;

/// <summary>
/// The CIFAR-10 residual networks of He et al. (2015, "Deep Residual Learning for Image Recognition", §4.2):
/// depth 6n + 2 = a 3×3 convolution with 16 filters, three stages of n basic blocks with 16, 32 and 64 filters on
/// 32×32, 16×16 and 8×8 maps (the first block of stages 2 and 3 has stride 2), global average pooling and a linear
/// layer. The shortcuts are parameter-free (the paper's option A): the identity, subsampled and zero-padded in
/// channels where the shape changes (<see cref="ZeroPadShortcut"/>).
/// </summary>
/// <remarks>
/// <para>Input (N, inChannels, 32, 32); output logits (N, numClasses). Parameters for 10 classes: ResNet-20 269,722;
/// -32 464,154; -44 658,586; -56 853,018; -110 1,727,962.</para>
/// <para>State-dict keys are those of the widely used akamaster/pytorch_resnet_cifar10 implementation, so its
/// checkpoints load (after stripping DataParallel's <c>module.</c> prefix): <c>conv1</c>, <c>bn1</c>,
/// <c>layer1</c> … <c>layer3</c> (each block <c>layerK.i.conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>), <c>linear</c>.
/// Convolutions have no bias.</para>
/// <para>Initialisation as that implementation: convolution and linear weights kaiming_normal (fan_in, gain √2),
/// the linear bias PyTorch's default, batch norms γ = 1, β = 0. Its final pool is <c>avg_pool2d(out, W)</c>; this
/// uses a global average pool, which is the same for square maps.</para>
/// </remarks>
public sealed class CifarResNet : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Sequential _layer1;
    private readonly Sequential _layer2;
    private readonly Sequential _layer3;
    private readonly Linear _linear;
    private int _inplanes = 16;

    /// <summary>Creates the network of the given depth.</summary>
    /// <param name="depth">Total weighted layers, 6n + 2 with n ≥ 1 (20, 32, 44, 56, 110, 1202, …).</param>
    /// <param name="numClasses">Output logits (default 10).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <exception cref="ArgumentOutOfRangeException">depth is not 6n + 2, or numClasses or inChannels is not positive.</exception>
    public CifarResNet(int depth, int numClasses = 10, int inChannels = 3)
    {
        ModelChecks.Positive(nameof(CifarResNet), numClasses, inChannels);
        if (depth < 8 || (depth - 2) % 6 != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(depth), depth,
                $"CifarResNet depth must be 6n + 2 with n ≥ 1 (8, 14, 20, 32, 44, 56, 110, …), got {depth}.");
        }

        Depth = depth;
        NumClasses = numClasses;
        int n = (depth - 2) / 6;
        _conv1 = Add("conv1", new Conv2d(inChannels, 16, 3, padding: 1, bias: false));
        _bn1 = Add("bn1", new BatchNorm2d(16));
        _layer1 = Add("layer1", MakeLayer(16, n, stride: 1));
        _layer2 = Add("layer2", MakeLayer(32, n, stride: 2));
        _layer3 = Add("layer3", MakeLayer(64, n, stride: 2));
        _linear = Add("linear", new Linear(64, numClasses));

        foreach ((_, Module m) in NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                    KaimingNormal(conv.Weight);
                    break;
                case Linear linear:
                    KaimingNormal(linear.Weight);
                    break;
            }
        }
    }

    /// <summary>The depth, 6n + 2.</summary>
    public int Depth { get; }

    /// <summary>Number of output logits.</summary>
    public int NumClasses { get; }

    /// <summary>ResNet-20 (n = 3), 269,722 parameters for 10 classes.</summary>
    public static CifarResNet ResNet20(int numClasses = 10, int inChannels = 3) => new(20, numClasses, inChannels);

    /// <summary>ResNet-32 (n = 5), 464,154 parameters for 10 classes.</summary>
    public static CifarResNet ResNet32(int numClasses = 10, int inChannels = 3) => new(32, numClasses, inChannels);

    /// <summary>ResNet-44 (n = 7), 658,586 parameters for 10 classes.</summary>
    public static CifarResNet ResNet44(int numClasses = 10, int inChannels = 3) => new(44, numClasses, inChannels);

    /// <summary>ResNet-56 (n = 9), 853,018 parameters for 10 classes.</summary>
    public static CifarResNet ResNet56(int numClasses = 10, int inChannels = 3) => new(56, numClasses, inChannels);

    /// <summary>ResNet-110 (n = 18), 1,727,962 parameters for 10 classes.</summary>
    public static CifarResNet ResNet110(int numClasses = 10, int inChannels = 3) => new(110, numClasses, inChannels);

    /// <summary>Logits (N, numClasses) for images (N, inChannels, H, W); shapes below are for 32×32.</summary>
    public override Tensor Forward(Tensor input) =>
        _conv1.CallWithBatchNorm(input, _bn1, relu: true)     // N×16×32×32 (batch norm folded at inference)
             .Apply(_layer1)                                  // N×16×32×32
             .Apply(_layer2)                                  // N×32×16×16
             .Apply(_layer3)                                  // N×64×8×8
             .AdaptiveAvgPool2d(1).Flatten(1).Apply(_linear); // N×numClasses

    private Sequential MakeLayer(int planes, int blocks, int stride)
    {
        var layer = new Sequential();
        for (int i = 0; i < blocks; i++)
        {
            layer.Append(new CifarBasicBlock(_inplanes, planes, i == 0 ? stride : 1));
            _inplanes = planes;
        }

        return layer;
    }
}

/// <summary>
/// The basic block of the CIFAR ResNets: y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)), two 3×3
/// convolutions without bias, the first carrying the stride; the shortcut is the identity or, when the shape
/// changes, the parameter-free <see cref="ZeroPadShortcut"/>.
/// </summary>
/// <remarks>Keys: <c>conv1</c>, <c>bn1</c>, <c>conv2</c>, <c>bn2</c>; the shortcut (child <c>shortcut</c>) has none.</remarks>
public sealed class CifarBasicBlock : Module
{
    private readonly Conv2d _conv1;
    private readonly BatchNorm2d _bn1;
    private readonly Conv2d _conv2;
    private readonly BatchNorm2d _bn2;
    private readonly Module _shortcut;

    /// <summary>Creates the block: (N, inplanes, H, W) → (N, planes, ⌈H/stride⌉, ⌈W/stride⌉).</summary>
    /// <param name="inplanes">Input channels.</param>
    /// <param name="planes">Output channels (at least <paramref name="inplanes"/>).</param>
    /// <param name="stride">Stride of the first convolution and of the shortcut's subsampling.</param>
    public CifarBasicBlock(int inplanes, int planes, int stride = 1)
    {
        _conv1 = Add("conv1", new Conv2d(inplanes, planes, 3, stride: stride, padding: 1, bias: false));
        _bn1 = Add("bn1", new BatchNorm2d(planes));
        _conv2 = Add("conv2", new Conv2d(planes, planes, 3, padding: 1, bias: false));
        _bn2 = Add("bn2", new BatchNorm2d(planes));
        _shortcut = Add<Module>("shortcut", stride != 1 || inplanes != planes ? new ZeroPadShortcut(inplanes, planes, stride) : new Identity());
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        // conv → bn → ReLU, then conv → bn, + shortcut, ReLU; at inference each batch norm is folded into its
        // convolution and the add and ReLUs fused into the stores (Conv2d.CallWithBatchNorm).
        Tensor shortcut = input.Apply(_shortcut);
        Tensor hidden = _conv1.CallWithBatchNorm(input, _bn1, relu: true);
        return _conv2.CallWithBatchNorm(hidden, _bn2, shortcut, relu: true);
    }
}

/// <summary>
/// The parameter-free shortcut of He et al. (2015), option A: (N, C_in, H, W) → (N, C_out, ⌈H/stride⌉, ⌈W/stride⌉)
/// keeps every stride-th row and column (<c>x[:, :, ::s, ::s]</c>) and pads the channels with zeros, half of
/// C_out − C_in before and the rest after (for C_out = 2·C_in that is C_out/4 on each side, as
/// akamaster/pytorch_resnet_cifar10's <c>LambdaLayer</c>). The gradient flows to the kept positions only.
/// </summary>
public sealed class ZeroPadShortcut : Module
{
    /// <summary>Creates the shortcut.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or outChannels &lt; inChannels.</exception>
    public ZeroPadShortcut(int inChannels, int outChannels, int stride)
    {
        if (inChannels <= 0 || stride <= 0 || outChannels < inChannels)
        {
            throw new ArgumentOutOfRangeException(nameof(outChannels),
                $"ZeroPadShortcut needs inChannels > 0, stride > 0 and outChannels ≥ inChannels, got inChannels={inChannels}, outChannels={outChannels}, stride={stride}.");
        }

        (InChannels, OutChannels, Stride) = (inChannels, outChannels, stride);
    }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Output channels.</summary>
    public int OutChannels { get; }

    /// <summary>Subsampling step along H and W.</summary>
    public int Stride { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Size(1) != InChannels)
        {
            throw new ArgumentException($"ZeroPadShortcut expected input (N, {InChannels}, H, W) but got ({string.Join(", ", input.Shape)}).", nameof(input));
        }

        // x[:, :, ::s, ::s] is a 1×1 average pool with stride s: each window holds one element, so the
        // gradient is routed back unchanged to the kept positions and is zero elsewhere.
        Tensor x = Stride == 1 ? input : F.AvgPool2d(input, 1, stride: Stride);
        int before = (OutChannels - InChannels) / 2;
        int after = OutChannels - InChannels - before;
        if (before + after == 0)
        {
            return x;
        }

        // The zero blocks are constants (no grad), so Cat's backward hands them nothing.
        (int n, int h, int w) = (x.Size(0), x.Size(2), x.Size(3));
        var parts = new List<Tensor>(3);
        if (before > 0)
        {
            parts.Add(Tensor.Zeros(n, before, h, w));
        }

        parts.Add(x);
        parts.Add(Tensor.Zeros(n, after, h, w));
        return Tensor.Cat(parts, 1);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"in_channels={InChannels}, out_channels={OutChannels}, stride={Stride}";
}
