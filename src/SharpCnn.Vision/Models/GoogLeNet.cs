using System.Globalization;
using SharpCnn.Functional;
using SharpCnn.Init;
using SharpCnn.Nn;
using static SharpCnn.Init.Init;

namespace SharpCnn.Vision.Models;

/// <summary>Which GoogLeNet <see cref="GoogLeNet"/> builds.</summary>
public enum GoogLeNetVariant
{
    /// <summary>
    /// torchvision's <c>googlenet</c>: every convolution is a <see cref="BasicConv2d"/> (conv without bias, batch
    /// norm with eps 0.001, ReLU), and the "5×5" branch of <see cref="Inception"/> uses a 3×3 kernel (see there).
    /// 13,004,888 parameters with the auxiliary heads, 6,624,904 without (1000 classes).
    /// </summary>
    Torchvision,

    /// <summary>
    /// The network of the paper (Szegedy et al., 2014, Table 1 and Figure 3): convolutions with bias and ReLU and no
    /// batch norm, the true 5×5 branch, local response normalisation after the first pool and after the 3×3 stem
    /// convolution, and auxiliary heads that start with a 5×5/3 average pool. 6,998,552 parameters without the
    /// auxiliary heads, 13,378,280 with them (1000 classes).
    /// </summary>
    Paper,
}

/// <summary>What <see cref="GoogLeNet.ForwardOutputs"/> returns, as torchvision's <c>GoogLeNetOutputs</c>.</summary>
/// <param name="Logits">The main classifier's logits (N, numClasses).</param>
/// <param name="AuxLogits2">The second auxiliary head's logits (after inception 4d), or null outside training or without auxiliary heads.</param>
/// <param name="AuxLogits1">The first auxiliary head's logits (after inception 4a), or null outside training or without auxiliary heads.</param>
public sealed record GoogLeNetOutputs(Tensor Logits, Tensor? AuxLogits2, Tensor? AuxLogits1);

/// <summary>
/// GoogLeNet (Inception v1; Szegedy et al., 2014, "Going Deeper with Convolutions"), by default exactly as
/// torchvision's <c>googlenet</c>: a 7×7/2 convolution, max pool, 1×1 and 3×3 convolutions, max pool, nine
/// <see cref="Inception"/> modules in three groups separated by max pools, global average pooling, dropout and a
/// linear classifier, with two <see cref="InceptionAux"/> classifiers after inception 4a and 4d during training.
/// </summary>
/// <remarks>
/// <para>Input (N, inChannels, H, W), usually 224×224; output logits (N, numClasses). Max pools use ceil mode, as
/// torchvision and Caffe.</para>
/// <para>State-dict keys (torchvision variant) are torchvision's, in its order: <c>conv1.conv.weight</c>,
/// <c>conv1.bn.*</c>, <c>conv2</c>, <c>conv3</c>, <c>inception3a</c> … <c>inception5b</c> (each
/// <c>branch1.conv</c>/<c>.bn</c>, <c>branch2.0</c>, <c>branch2.1</c>, <c>branch3.0</c>, <c>branch3.1</c>,
/// <c>branch4.1</c>), <c>aux1</c> and <c>aux2</c> (<c>conv.conv</c>, <c>conv.bn</c>, <c>fc1</c>, <c>fc2</c>; only
/// with auxiliary heads), then <c>fc</c>. The paper variant keeps the same names with <c>conv.bias</c> in place of
/// the <c>bn</c> entries, so the two layouts differ only where the layers do.</para>
/// <para>Initialisation, torchvision variant: convolution and linear weights from a normal with std 0.01 truncated
/// to [−2, 2], batch norms γ = 1 and β = 0, linear biases PyTorch's default. Paper variant (no batch norm, so the
/// scale matters): as the BVLC Caffe reproduction, weights U(±√(3/fan_in)) (Caffe's "xavier"), convolution and
/// hidden-layer biases 0.2, classifier biases 0.</para>
/// <para>Training: <see cref="ForwardWithAuxiliary"/> gives the main logits and, in training mode with auxiliary
/// heads, both auxiliary logits with loss weight 0.3 each (the paper's §5), in torchvision's order aux1, aux2;
/// <see cref="SharpCnn.Training.Trainer"/> adds their weighted losses. <see cref="Forward"/> returns the main logits
/// only; in training mode with auxiliary heads it still runs them, as torchvision does, so batch-norm statistics
/// and the dropout random stream advance the same either way.</para>
/// </remarks>
public sealed class GoogLeNet : Module, IAuxiliaryOutputs
{
    /// <summary>The loss weight of each auxiliary classifier (0.3, the paper's §5).</summary>
    public const float AuxiliaryLossWeight = 0.3f;

    private readonly BasicConv2d _conv1;
    private readonly MaxPool2d _maxpool1;
    private readonly LocalResponseNorm? _lrn1;
    private readonly BasicConv2d _conv2;
    private readonly BasicConv2d _conv3;
    private readonly LocalResponseNorm? _lrn2;
    private readonly MaxPool2d _maxpool2;
    private readonly Inception _inception3a;
    private readonly Inception _inception3b;
    private readonly MaxPool2d _maxpool3;
    private readonly Inception _inception4a;
    private readonly Inception _inception4b;
    private readonly Inception _inception4c;
    private readonly Inception _inception4d;
    private readonly Inception _inception4e;
    private readonly MaxPool2d _maxpool4;
    private readonly Inception _inception5a;
    private readonly Inception _inception5b;
    private readonly InceptionAux? _aux1;
    private readonly InceptionAux? _aux2;
    private readonly AdaptiveAvgPool2d _avgpool;
    private readonly Dropout _dropout;
    private readonly Linear _fc;

    /// <summary>Creates the network.</summary>
    /// <param name="numClasses">Output logits (default 1000).</param>
    /// <param name="auxLogits">Whether to build the two auxiliary classifiers (they run in training mode only).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="variant">torchvision's layout (default) or the paper's.</param>
    /// <param name="transformInput">
    /// When true, re-normalises inputs given with the ImageNet mean and std to the mean 0.5, std 0.5 that Google's
    /// original weights expect (x·std/0.5 + (mean − 0.5)/0.5 per channel), as torchvision's <c>transform_input</c>;
    /// needs 3 input channels.
    /// </param>
    /// <param name="dropout">Drop probability before the classifier (torchvision 0.2; the paper used 0.4).</param>
    /// <param name="dropoutAux">Drop probability inside the auxiliary heads (0.7, as the paper).</param>
    /// <exception cref="ArgumentOutOfRangeException">numClasses or inChannels is not positive, a drop probability is outside [0, 1], or the variant is unknown.</exception>
    /// <exception cref="ArgumentException"><paramref name="transformInput"/> with inChannels ≠ 3.</exception>
    public GoogLeNet(int numClasses = 1000, bool auxLogits = true, int inChannels = 3, GoogLeNetVariant variant = GoogLeNetVariant.Torchvision,
                     bool transformInput = false, float dropout = 0.2f, float dropoutAux = 0.7f)
    {
        ModelChecks.Positive(nameof(GoogLeNet), numClasses, inChannels);
        if (variant is not (GoogLeNetVariant.Torchvision or GoogLeNetVariant.Paper))
        {
            throw new ArgumentOutOfRangeException(nameof(variant), variant, $"GoogLeNet: unknown variant {variant}; expected Torchvision or Paper.");
        }

        if (transformInput && inChannels != 3)
        {
            throw new ArgumentException($"GoogLeNet: transformInput re-normalises the three ImageNet channels, so it needs inChannels = 3, got {inChannels}.", nameof(transformInput));
        }

        CheckProbability(dropout, nameof(dropout));
        CheckProbability(dropoutAux, nameof(dropoutAux));
        (NumClasses, AuxLogits, Variant, TransformInput) = (numClasses, auxLogits, variant, transformInput);
        bool paper = variant == GoogLeNetVariant.Paper;
        _conv1 = Add("conv1", new BasicConv2d(inChannels, 64, 7, stride: 2, padding: 3, variant: variant));
        _maxpool1 = Add("maxpool1", new MaxPool2d(3, stride: 2, ceilMode: true));
        _lrn1 = paper ? Add("lrn1", new LocalResponseNorm(5, 1e-4, 0.75, 1)) : null;
        _conv2 = Add("conv2", new BasicConv2d(64, 64, 1, variant: variant));
        _conv3 = Add("conv3", new BasicConv2d(64, 192, 3, padding: 1, variant: variant));
        _lrn2 = paper ? Add("lrn2", new LocalResponseNorm(5, 1e-4, 0.75, 1)) : null;
        _maxpool2 = Add("maxpool2", new MaxPool2d(3, stride: 2, ceilMode: true));

        // Table 1: in, #1×1, #3×3 reduce, #3×3, #5×5 reduce, #5×5, pool proj.
        _inception3a = Add("inception3a", new Inception(192, 64, 96, 128, 16, 32, 32, variant));
        _inception3b = Add("inception3b", new Inception(256, 128, 128, 192, 32, 96, 64, variant));
        _maxpool3 = Add("maxpool3", new MaxPool2d(3, stride: 2, ceilMode: true));
        _inception4a = Add("inception4a", new Inception(480, 192, 96, 208, 16, 48, 64, variant));
        _inception4b = Add("inception4b", new Inception(512, 160, 112, 224, 24, 64, 64, variant));
        _inception4c = Add("inception4c", new Inception(512, 128, 128, 256, 24, 64, 64, variant));
        _inception4d = Add("inception4d", new Inception(512, 112, 144, 288, 32, 64, 64, variant));
        _inception4e = Add("inception4e", new Inception(528, 256, 160, 320, 32, 128, 128, variant));
        _maxpool4 = Add("maxpool4", new MaxPool2d(2, stride: 2, ceilMode: true));
        _inception5a = Add("inception5a", new Inception(832, 256, 160, 320, 32, 128, 128, variant));
        _inception5b = Add("inception5b", new Inception(832, 384, 192, 384, 48, 128, 128, variant));
        if (auxLogits)
        {
            _aux1 = Add("aux1", new InceptionAux(512, numClasses, dropoutAux, variant));
            _aux2 = Add("aux2", new InceptionAux(528, numClasses, dropoutAux, variant));
        }

        _avgpool = Add("avgpool", new AdaptiveAvgPool2d(1));
        _dropout = Add("dropout", new Dropout(ToDouble(dropout)));
        _fc = Add("fc", new Linear(1024, numClasses));
        Initialize(paper);
    }

    /// <summary>Number of output logits.</summary>
    public int NumClasses { get; }

    /// <summary>Whether the auxiliary classifiers exist.</summary>
    public bool AuxLogits { get; }

    /// <summary>The layout built.</summary>
    public GoogLeNetVariant Variant { get; }

    /// <summary>Whether inputs are re-normalised from ImageNet statistics to mean 0.5, std 0.5 first.</summary>
    public bool TransformInput { get; }

    /// <summary>The main logits (N, numClasses); in training mode with auxiliary heads those run too (their outputs are dropped).</summary>
    public override Tensor Forward(Tensor input) => ForwardOutputs(input).Logits;

    /// <summary>
    /// The main logits and, in training mode with auxiliary heads, both auxiliary logits with weight
    /// <see cref="AuxiliaryLossWeight"/> each, in the order aux1 (after 4a), aux2 (after 4d).
    /// </summary>
    public AuxiliaryForward ForwardWithAuxiliary(Tensor input)
    {
        GoogLeNetOutputs o = ForwardOutputs(input);
        return o.AuxLogits1 is null || o.AuxLogits2 is null
            ? new AuxiliaryForward(o.Logits, [])
            : new AuxiliaryForward(o.Logits, [new(o.AuxLogits1, AuxiliaryLossWeight), new(o.AuxLogits2, AuxiliaryLossWeight)]);
    }

    /// <summary>
    /// All outputs, as torchvision's training-mode result (logits, aux_logits2, aux_logits1); the auxiliary logits
    /// are null in evaluation mode or without auxiliary heads. Shapes below are for 224×224.
    /// </summary>
    public GoogLeNetOutputs ForwardOutputs(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor x = Renormalize(input)
            .Apply(_conv1)                              // N×64×112×112
            .Apply(_maxpool1).ApplyIfPresent(_lrn1)     // N×64×56×56
            .Apply(_conv2)                              // N×64×56×56
            .Apply(_conv3).ApplyIfPresent(_lrn2)        // N×192×56×56
            .Apply(_maxpool2)                           // N×192×28×28
            .Apply(_inception3a)                        // N×256×28×28
            .Apply(_inception3b)                        // N×480×28×28
            .Apply(_maxpool3)                           // N×480×14×14
            .Apply(_inception4a);                       // N×512×14×14
        Tensor? aux1 = Training && _aux1 is not null ? x.Apply(_aux1) : null;   // N×numClasses
        x = x.Apply(_inception4b)                       // N×512×14×14
             .Apply(_inception4c)                       // N×512×14×14
             .Apply(_inception4d);                      // N×528×14×14
        Tensor? aux2 = Training && _aux2 is not null ? x.Apply(_aux2) : null;   // N×numClasses
        Tensor logits = x
            .Apply(_inception4e)                        // N×832×14×14
            .Apply(_maxpool4)                           // N×832×7×7
            .Apply(_inception5a)                        // N×832×7×7
            .Apply(_inception5b)                        // N×1024×7×7
            .Apply(_avgpool).Flatten(1)                 // N×1024
            .Apply(_dropout).Apply(_fc);                // N×numClasses
        return new GoogLeNetOutputs(logits, aux2, aux1);
    }

    /// <summary>The double nearest the float's shortest decimal form, so 0.2f is used (and printed) as 0.2.</summary>
    internal static double ToDouble(float p) => double.Parse(p.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    private static void CheckProbability(float p, string name)
    {
        if (!(p is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(name, p, $"GoogLeNet: {name} must be a probability in [0, 1], got {p}.");
        }
    }

    /// <summary>torchvision's <c>_transform_input</c>: (p − mean)/std ↦ (p − 0.5)/0.5 per channel.</summary>
    internal Tensor Renormalize(Tensor x)
    {
        if (!TransformInput)
        {
            return x;
        }

        ReadOnlySpan<float> mean = [0.485f, 0.456f, 0.406f];
        ReadOnlySpan<float> std = [0.229f, 0.224f, 0.225f];
        var channels = new Tensor[3];
        for (int c = 0; c < 3; c++)
        {
            channels[c] = (x.Narrow(1, c, 1) * (std[c] / 0.5f)) + ((mean[c] - 0.5f) / 0.5f);
        }

        return Tensor.Cat(channels, 1);
    }

    private void Initialize(bool paper)
    {
        foreach ((_, Module m) in NamedModules())
        {
            switch (m)
            {
                case Conv2d conv when paper:
                    CaffeXavier(conv.Weight);
                    Constant(conv.Bias!, 0.2);
                    break;
                case Linear linear when paper:
                    CaffeXavier(linear.Weight);
                    Constant(linear.Bias!, 0.2);
                    break;
                case Conv2d conv:
                    TruncatedNormal(conv.Weight, 0, 0.01, -2, 2);
                    break;
                case Linear linear:
                    TruncatedNormal(linear.Weight, 0, 0.01, -2, 2);
                    break;
                case BatchNorm2d bn:
                    Ones(bn.Weight!);
                    Zeros(bn.Bias!);
                    break;
            }
        }

        if (paper)
        {
            // The classifiers (not the hidden 1024-unit layers) start with zero bias, as in the BVLC reproduction.
            foreach (Linear classifier in new[] { _fc, _aux1?.Classifier, _aux2?.Classifier }.OfType<Linear>())
            {
                Zeros(classifier.Bias!);
            }
        }

        // Caffe's "xavier" filler: U(±√(3/fan_in)), i.e. variance 1/fan_in (kaiming_uniform with gain 1).
        static void CaffeXavier(Tensor w) => KaimingUniform(w, mode: FanMode.FanIn, nonlinearity: "linear");
    }
}

/// <summary>
/// Convolution → batch norm → ReLU, torchvision's GoogLeNet building block: the convolution has no bias and the
/// batch norm eps 0.001 (keys <c>conv.weight</c>, <c>bn.*</c>). For <see cref="GoogLeNetVariant.Paper"/> it is the
/// paper's convolution with bias → ReLU (keys <c>conv.weight</c>, <c>conv.bias</c>).
/// </summary>
public sealed class BasicConv2d : Module
{
    private readonly Conv2d _conv;
    private readonly BatchNorm2d? _bn;

    /// <summary>Creates the block: (N, inChannels, H, W) → (N, outChannels, H_out, W_out) as <see cref="Conv2d"/>.</summary>
    public BasicConv2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Padding? padding = null,
                       GoogLeNetVariant variant = GoogLeNetVariant.Torchvision)
    {
        bool batchNorm = variant != GoogLeNetVariant.Paper;
        _conv = Add("conv", new Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias: !batchNorm));
        _bn = batchNorm ? Add("bn", new BatchNorm2d(outChannels, eps: 0.001)) : null;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Apply(_conv).ApplyIfPresent(_bn).Relu();
}

/// <summary>
/// The Inception module (Szegedy et al., 2014, Figure 2b): four parallel branches concatenated along channels —
/// a 1×1 convolution; 1×1 reduce → 3×3; 1×1 reduce → "5×5"; 3×3/1 max pool → 1×1 projection.
/// Output channels: #1×1 + #3×3 + #5×5 + pool proj, at the input's height and width.
/// </summary>
/// <remarks>
/// In the torchvision variant the "5×5" branch uses a 3×3 convolution (padding 1). That is a bug in torchvision
/// (pytorch/vision issue #906) kept on purpose: its pretrained ImageNet weights were trained with 3×3 kernels there
/// and would not load otherwise. The paper variant uses the real 5×5 (padding 2). Keys: <c>branch1</c>,
/// <c>branch2.{0,1}</c>, <c>branch3.{0,1}</c>, <c>branch4.1</c> (<c>branch4.0</c> is the parameter-free max pool).
/// </remarks>
public sealed class Inception : Module
{
    private readonly BasicConv2d _branch1;
    private readonly Sequential _branch2;
    private readonly Sequential _branch3;
    private readonly Sequential _branch4;

    /// <summary>Creates the module, arguments in Table 1's column order.</summary>
    /// <param name="inChannels">Input channels.</param>
    /// <param name="ch1x1">#1×1: filters of the 1×1 branch.</param>
    /// <param name="ch3x3Reduce">#3×3 reduce: 1×1 filters before the 3×3.</param>
    /// <param name="ch3x3">#3×3: filters of the 3×3 convolution.</param>
    /// <param name="ch5x5Reduce">#5×5 reduce: 1×1 filters before the 5×5.</param>
    /// <param name="ch5x5">#5×5: filters of the 5×5 convolution (3×3 in the torchvision variant).</param>
    /// <param name="poolProj">pool proj: 1×1 filters after the max pool.</param>
    /// <param name="variant">torchvision's layout (default) or the paper's.</param>
    public Inception(int inChannels, int ch1x1, int ch3x3Reduce, int ch3x3, int ch5x5Reduce, int ch5x5, int poolProj,
                     GoogLeNetVariant variant = GoogLeNetVariant.Torchvision)
    {
        // torchvision: kernel 3 where the paper has 5 (issue #906, see the remarks).
        (int k5, int p5) = variant == GoogLeNetVariant.Paper ? (5, 2) : (3, 1);
        _branch1 = Add("branch1", new BasicConv2d(inChannels, ch1x1, 1, variant: variant));
        _branch2 = Add("branch2", new Sequential(
            new BasicConv2d(inChannels, ch3x3Reduce, 1, variant: variant),
            new BasicConv2d(ch3x3Reduce, ch3x3, 3, padding: 1, variant: variant)));
        _branch3 = Add("branch3", new Sequential(
            new BasicConv2d(inChannels, ch5x5Reduce, 1, variant: variant),
            new BasicConv2d(ch5x5Reduce, ch5x5, k5, padding: p5, variant: variant)));
        _branch4 = Add("branch4", new Sequential(
            new MaxPool2d(3, stride: 1, padding: 1, ceilMode: true),
            new BasicConv2d(inChannels, poolProj, 1, variant: variant)));
        OutChannels = ch1x1 + ch3x3 + ch5x5 + poolProj;
    }

    /// <summary>Output channels: #1×1 + #3×3 + #5×5 + pool proj.</summary>
    public int OutChannels { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        Tensor.Cat([input.Apply(_branch1), input.Apply(_branch2), input.Apply(_branch3), input.Apply(_branch4)], 1);
}

/// <summary>
/// GoogLeNet's auxiliary classifier (the paper's §5): pool to 4×4, 1×1 convolution with 128 filters, a 1024-unit
/// fully connected layer with ReLU, dropout, and a linear classifier: (N, C, H, W) → (N, numClasses).
/// </summary>
/// <remarks>
/// torchvision variant: adaptive average pool to 4×4, <see cref="BasicConv2d"/> (keys <c>conv.conv</c>,
/// <c>conv.bn</c>), <c>fc1</c>, <c>fc2</c>. Paper variant: a 5×5/3 average pool (4×4 on the 14×14 maps of stage 4)
/// and a plain convolution with bias (keys <c>conv.conv.weight</c>, <c>conv.conv.bias</c>).
/// </remarks>
public sealed class InceptionAux : Module
{
    private readonly BasicConv2d _conv;
    private readonly Linear _fc1;
    private readonly Linear _fc2;
    private readonly Dropout _dropout;
    private readonly bool _paper;

    /// <summary>Creates the head.</summary>
    /// <param name="inChannels">Channels of the stage it reads (512 after 4a, 528 after 4d).</param>
    /// <param name="numClasses">Output logits.</param>
    /// <param name="dropout">Drop probability after the 1024-unit layer (default 0.7).</param>
    /// <param name="variant">torchvision's layout (default) or the paper's.</param>
    public InceptionAux(int inChannels, int numClasses, float dropout = 0.7f, GoogLeNetVariant variant = GoogLeNetVariant.Torchvision)
    {
        _paper = variant == GoogLeNetVariant.Paper;
        _conv = Add("conv", new BasicConv2d(inChannels, 128, 1, variant: variant));
        _fc1 = Add("fc1", new Linear(2048, 1024));
        _fc2 = Add("fc2", new Linear(1024, numClasses));
        _dropout = Add("dropout", new Dropout(GoogLeNet.ToDouble(dropout)));
    }

    /// <summary>The final linear layer (<c>fc2</c>).</summary>
    internal Linear Classifier => _fc2;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor pooled = _paper
            ? F.AvgPool2d(input, 5, stride: 3)   // N×C×4×4 on 14×14
            : input.AdaptiveAvgPool2d(4);       // N×C×4×4
        return pooled.Apply(_conv).Flatten(1)             // N×2048
                     .Apply(_fc1).Relu()                  // N×1024
                     .Apply(_dropout).Apply(_fc2);        // N×numClasses
    }
}

/// <summary>Applying a module that a variant may leave out.</summary>
internal static class OptionalModuleExtensions
{
    /// <summary><c>input.Apply(module)</c>, or <paramref name="input"/> itself when <paramref name="module"/> is null.</summary>
    public static Tensor ApplyIfPresent(this Tensor input, Module? module) => module is null ? input : input.Apply(module);
}
