using SharpCnn.Nn;

namespace SharpCnn.Vision.Models;

/// <summary>A multilayer perceptron baseline: Flatten, then 784-512-256-numClasses with ReLU (535,818 parameters for MNIST).</summary>
/// <remarks>State-dict keys: <c>layers.{1,3,5}.{weight,bias}</c>.</remarks>
public sealed class Mlp : Module
{
    private readonly Sequential _layers;

    /// <summary>Creates the network for inputs of <paramref name="inFeatures"/> values per sample (any shape after the batch dimension).</summary>
    public Mlp(int numClasses = 10, int inFeatures = 28 * 28, int hidden1 = 512, int hidden2 = 256)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        _layers = Add("layers", new Sequential(
            new Flatten(),                              // N×784
            new Linear(inFeatures, hidden1),
            new ReLU(),
            new Linear(hidden1, hidden2),
            new ReLU(),
            new Linear(hidden2, numClasses)));          // N×numClasses
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input.Apply(_layers);
}
