using SharpCnn.Nn;
using NnInit = SharpCnn.Init.Init;

namespace SharpCnn.Vision.Models;

/// <summary>
/// AlexNet (Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural Networks",
/// NIPS 2012). The constructor builds torchvision's <c>alexnet</c> exactly: the single-tower variant of
/// Krizhevsky's "One weird trick for parallelizing convolutional neural networks" (2014), with
/// 64-192-384-256-256 filters, no response normalisation and no channel groups; 61,100,840 parameters for
/// 1000 classes. <see cref="Paper"/> builds the 2012 paper's two-tower network instead.
/// </summary>
/// <remarks>
/// <para>
/// Input (N, inChannels, 224, 224) → output (N, numClasses) logits. The adaptive average pool to 6×6 makes
/// the classifier accept other input sizes (at least 63×63), as torchvision's does; at 224×224 it is an identity.
/// </para>
/// <para>
/// State-dict keys are torchvision's: <c>features.{0,3,6,8,10}.{weight,bias}</c> for the convolutions and
/// <c>classifier.{1,4,6}.{weight,bias}</c> for the fully connected layers. Parameters keep PyTorch's default
/// initialisation, as torchvision's AlexNet does.
/// </para>
/// </remarks>
public sealed class AlexNet : Module
{
    private readonly Sequential _features;
    private readonly AdaptiveAvgPool2d _avgpool;
    private readonly Sequential _classifier;

    /// <summary>Creates torchvision's AlexNet for (N, <paramref name="inChannels"/>, 224, 224) inputs.</summary>
    /// <param name="numClasses">Number of output logits (default 1000, ImageNet).</param>
    /// <param name="inChannels">Input channels (default 3, RGB).</param>
    /// <param name="dropout">Drop probability of the two dropout layers (default 0.5).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> or <paramref name="inChannels"/> is not positive, or <paramref name="dropout"/> is outside [0, 1].</exception>
    public AlexNet(int numClasses = 1000, int inChannels = 3, float dropout = 0.5f)
        : this(paper: false, numClasses, inChannels, dropout)
    {
    }

    private AlexNet(bool paper, int numClasses, int inChannels, float dropout)
    {
        CheckPositive(numClasses, nameof(numClasses));
        CheckPositive(inChannels, nameof(inChannels));
        if (!(dropout is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(dropout), dropout, $"AlexNet: dropout must be in [0, 1], got {dropout}.");
        }

        IsPaper = paper;
        if (paper)
        {
            // Section 3.3: b = a / (k + α·Σ a²)^β over n = 5 adjacent maps with k = 2, α = 1e-4, β = 0.75.
            // PyTorch's LocalResponseNorm divides α by the window size, so α·n reproduces the paper's α exactly.
            const double PaperAlpha = 1e-4;
            const int Size = 5;
            _features = Add("features", new Sequential(
                new Conv2d(inChannels, 96, 11, stride: 4),                   // N×96×55×55 (from 227×227)
                new ReLU(),
                new LocalResponseNorm(Size, alpha: PaperAlpha * Size, beta: 0.75, k: 2),
                new MaxPool2d(3, stride: 2),                                 // N×96×27×27
                new Conv2d(96, 256, 5, padding: 2, groups: 2),               // N×256×27×27
                new ReLU(),
                new LocalResponseNorm(Size, alpha: PaperAlpha * Size, beta: 0.75, k: 2),
                new MaxPool2d(3, stride: 2),                                 // N×256×13×13
                new Conv2d(256, 384, 3, padding: 1),                         // N×384×13×13
                new ReLU(),
                new Conv2d(384, 384, 3, padding: 1, groups: 2),              // N×384×13×13
                new ReLU(),
                new Conv2d(384, 256, 3, padding: 1, groups: 2),              // N×256×13×13
                new ReLU(),
                new MaxPool2d(3, stride: 2)));                               // N×256×6×6
            _avgpool = Add("avgpool", new AdaptiveAvgPool2d(6));             // N×256×6×6
            _classifier = Add("classifier", new Sequential(
                new Linear(256 * 6 * 6, 4096),                               // N×4096
                new ReLU(),
                new Dropout(dropout),
                new Linear(4096, 4096),                                      // N×4096
                new ReLU(),
                new Dropout(dropout),
                new Linear(4096, numClasses)));                              // N×numClasses
            InitPaper();
        }
        else
        {
            _features = Add("features", new Sequential(
                new Conv2d(inChannels, 64, 11, stride: 4, padding: 2),       // N×64×55×55
                new ReLU(),
                new MaxPool2d(3, stride: 2),                                 // N×64×27×27
                new Conv2d(64, 192, 5, padding: 2),                          // N×192×27×27
                new ReLU(),
                new MaxPool2d(3, stride: 2),                                 // N×192×13×13
                new Conv2d(192, 384, 3, padding: 1),                         // N×384×13×13
                new ReLU(),
                new Conv2d(384, 256, 3, padding: 1),                         // N×256×13×13
                new ReLU(),
                new Conv2d(256, 256, 3, padding: 1),                         // N×256×13×13
                new ReLU(),
                new MaxPool2d(3, stride: 2)));                               // N×256×6×6
            _avgpool = Add("avgpool", new AdaptiveAvgPool2d(6));             // N×256×6×6
            _classifier = Add("classifier", new Sequential(
                new Dropout(dropout),
                new Linear(256 * 6 * 6, 4096),                               // N×4096
                new ReLU(),
                new Dropout(dropout),
                new Linear(4096, 4096),                                      // N×4096
                new ReLU(),
                new Linear(4096, numClasses)));                              // N×numClasses
        }
    }

    /// <summary>True for the 2012 paper's network built by <see cref="Paper"/>; false for torchvision's.</summary>
    public bool IsPaper { get; }

    /// <summary>
    /// The network of the 2012 paper (Figure 2, Sections 3–5), for (N, <paramref name="inChannels"/>, 227, 227)
    /// inputs: 60,965,224 parameters for 1000 classes.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Layers, with the paper's two-GPU split kept as channel groups: conv1 96@11×11 stride 4; ReLU; local response
    /// normalisation; overlapping max pool 3/2; conv2 256@5×5 pad 2 in 2 groups; ReLU; response normalisation;
    /// max pool 3/2; conv3 384@3×3 pad 1 across both halves; conv4 384@3×3 and conv5 256@3×3, pad 1, in 2 groups,
    /// each followed by a ReLU; max pool 3/2; then fully connected 4096-4096-numClasses with dropout on the
    /// outputs of the two hidden layers (Section 4.2).
    /// </para>
    /// <para>
    /// Input size: the paper says 224×224, but (224 − 11)/4 + 1 is not a whole number; 227×227 gives the 55×55
    /// maps of its Figure 2 with no padding, so this model expects 227×227. The 6×6 adaptive average pool (an
    /// identity at 227) is kept from torchvision so other sizes still run; at 224 the last maps are 5×5.
    /// </para>
    /// <para>
    /// Response normalisation (Section 3.3) is b_c = a_c / (k + α·Σ a²)^β over n = 5 neighbouring maps with k = 2,
    /// α = 1e-4, β = 0.75. <see cref="LocalResponseNorm"/> follows PyTorch and divides α by the window size, so
    /// it is given α·n = 5e-4, which reproduces the paper's formula exactly. The window runs over all 96 (256)
    /// maps of the layer, as the paper's formula is written.
    /// </para>
    /// <para>
    /// Initialisation follows Section 5: weights from N(0, 0.01²); biases 1 in conv2, conv4, conv5 and the two
    /// hidden fully connected layers, 0 elsewhere. State-dict keys: <c>features.{0,4,8,10,12}</c> for the
    /// convolutions, <c>classifier.{0,3,6}</c> for the fully connected layers.
    /// </para>
    /// </remarks>
    /// <param name="numClasses">Number of output logits (default 1000).</param>
    /// <param name="inChannels">Input channels (default 3).</param>
    /// <param name="dropout">Drop probability of the two dropout layers (default 0.5, the paper's).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> or <paramref name="inChannels"/> is not positive, or <paramref name="dropout"/> is outside [0, 1].</exception>
    public static AlexNet Paper(int numClasses = 1000, int inChannels = 3, float dropout = 0.5f) =>
        new(paper: true, numClasses, inChannels, dropout);

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        input.Apply(_features)          // N×256×6×6
             .Apply(_avgpool)           // N×256×6×6
             .Flatten(1)                // N×9216
             .Apply(_classifier);       // N×numClasses

    private void InitPaper()
    {
        // Biases start at 1 in conv2, conv4, conv5 (features.4, .10, .12) and the hidden FC layers
        // (classifier.0, .3) "to accelerate the early stages of learning by providing the ReLUs with positive inputs".
        string[] biasOne = ["features.4.bias", "features.10.bias", "features.12.bias", "classifier.0.bias", "classifier.3.bias"];
        foreach ((string name, Parameter p) in NamedParameters())
        {
            if (name.EndsWith(".weight", StringComparison.Ordinal))
            {
                NnInit.Normal(p, 0, 0.01);
            }
            else
            {
                NnInit.Constant(p, biasOne.Contains(name) ? 1 : 0);
            }
        }
    }

    private static void CheckPositive(int value, string name)
    {
        if (value <= 0)
        {
            throw new ArgumentOutOfRangeException(name, value, $"AlexNet: {name} must be positive, got {value}.");
        }
    }
}
