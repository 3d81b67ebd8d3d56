using SharpCnn.Functional;
using SharpCnn.Nn;

namespace SharpCnn;

// Fluent forms of common F.* calls, so models read in dataflow order: x.Apply(conv).Relu().AdaptiveAvgPool2d(1).
public partial class Tensor
{
    /// <summary>Same as <see cref="F.Relu"/>.</summary>
    public Tensor Relu() => F.Relu(this);

    /// <summary>Same as <see cref="F.Sigmoid"/>.</summary>
    public Tensor Sigmoid() => F.Sigmoid(this);

    /// <summary>Same as <see cref="F.Tanh"/>.</summary>
    public Tensor Tanh() => F.Tanh(this);

    /// <summary>Same as <see cref="F.Gelu"/>.</summary>
    public Tensor Gelu(string approximate = "none") => F.Gelu(this, approximate);

    /// <summary>Same as <see cref="F.Softmax"/>.</summary>
    public Tensor Softmax(int dim) => F.Softmax(this, dim);

    /// <summary>Same as <see cref="F.LogSoftmax"/>.</summary>
    public Tensor LogSoftmax(int dim) => F.LogSoftmax(this, dim);

    /// <summary>Same as <see cref="F.AdaptiveAvgPool2d"/>.</summary>
    public Tensor AdaptiveAvgPool2d(Size2 outputSize) => F.AdaptiveAvgPool2d(this, outputSize);
}
