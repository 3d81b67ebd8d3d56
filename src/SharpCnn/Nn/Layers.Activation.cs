using SharpCnn.Functional;

namespace SharpCnn.Nn;

/// <summary>max(0, x).</summary>
public sealed class ReLU : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Relu(input);
}

/// <summary>x for x &gt; 0, else negativeSlope·x.</summary>
public sealed class LeakyReLU(float negativeSlope = 0.01f) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.LeakyRelu(input, negativeSlope);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"negative_slope={negativeSlope}";
}

/// <summary>1 / (1 + e^−x).</summary>
public sealed class Sigmoid : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Sigmoid(input);
}

/// <summary>tanh x.</summary>
public sealed class Tanh : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Tanh(input);
}

/// <summary>x·Φ(x) (exact, or "tanh" approximation).</summary>
public sealed class GELU(string approximate = "none") : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Gelu(input, approximate);
}

/// <summary>Softmax along <c>dim</c>.</summary>
public sealed class Softmax(int dim) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Softmax(input, dim);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={dim}";
}

/// <summary>log(softmax(x)) along <c>dim</c>, computed stably.</summary>
public sealed class LogSoftmax(int dim) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.LogSoftmax(input, dim);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"dim={dim}";
}

/// <summary>Zeroes elements with probability p in training and rescales the rest by 1/(1−p); the identity in evaluation.</summary>
public sealed class Dropout : Module
{
    /// <summary>Creates the layer.</summary>
    /// <exception cref="ArgumentOutOfRangeException">p outside [0, 1].</exception>
    public Dropout(double p = 0.5, Generator? generator = null)
    {
        if (p < 0 || p > 1 || double.IsNaN(p))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1], got {p}.");
        }

        (P, Generator) = (p, generator);
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <summary>The generator for masks (null: the library's default).</summary>
    public Generator? Generator { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Dropout(input, P, Training, Generator);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"p={P}, inplace=False";
}

/// <summary>Merges dimensions startDim..endDim (default: all but the batch dimension).</summary>
public sealed class Flatten(int startDim = 1, int endDim = -1) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Flatten(input, startDim, endDim);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"start_dim={startDim}, end_dim={endDim}";
}
