using SharpCnn.Nn;

namespace SharpCnn.Vision.Models;

/// <summary>
/// LeNet-5 (LeCun et al., 1998) in its common modern form: ReLU instead of scaled tanh, max pooling instead of
/// trainable subsampling, a full C3 connection table, and a padded first convolution so 28×28 MNIST digits
/// need no resizing to 32×32. 61,706 parameters for 10 classes.
/// </summary>
/// <remarks>
/// State-dict keys follow the two-stage layout of torchvision models:
/// <c>features.{0,3}.{weight,bias}</c> for the convolutions and <c>classifier.{1,3,5}.{weight,bias}</c> for
/// the fully connected layers.
/// </remarks>
public sealed class LeNet5 : Module
{
    private readonly Sequential _features;
    private readonly Sequential _classifier;

    /// <summary>Creates the network for (N, <paramref name="inChannels"/>, 28, 28) inputs.</summary>
    public LeNet5(int numClasses = 10, int inChannels = 1)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inChannels);
        _features = Add("features", new Sequential(
            new Conv2d(inChannels, 6, 5, padding: 2),   // N×6×28×28
            new ReLU(),
            new MaxPool2d(2),                           // N×6×14×14
            new Conv2d(6, 16, 5),                       // N×16×10×10
            new ReLU(),
            new MaxPool2d(2)));                         // N×16×5×5
        _classifier = Add("classifier", new Sequential(
            new Flatten(),                              // N×400
            new Linear(16 * 5 * 5, 120),
            new ReLU(),
            new Linear(120, 84),
            new ReLU(),
            new Linear(84, numClasses)));               // N×numClasses
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Apply(_features).Apply(_classifier);
}
