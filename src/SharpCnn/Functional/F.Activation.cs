using SharpCnn.Autograd;
using SharpCnn.Kernels;

namespace SharpCnn.Functional;

public static partial class F
{
    /// <summary>max(0, x). The gradient at exactly 0 is 0, as PyTorch.</summary>
    public static Tensor Relu(Tensor input) => Pointwise(input, Elementwise.Relu, Elementwise.ReluBackward, fromOutput: false, "ReluBackward");

    /// <summary>
    /// <c>Relu(a + b)</c> for two tensors of the same shape in one pass (a ResNet block's residual add and ReLU), bit
    /// for bit the composition, without the intermediate sum: ∂L/∂a = ∂L/∂b = g·[y &gt; 0].
    /// </summary>
    /// <exception cref="ArgumentException">The shapes differ (no broadcasting here; use <c>(a + b).Relu()</c>).</exception>
    public static Tensor AddRelu(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (!Shapes.Equal(a.ShapeSpan, b.ShapeSpan))
        {
            throw new ArgumentException($"AddRelu expected two tensors of the same shape but got {Shapes.Format(a.ShapeSpan)} and {Shapes.Format(b.ShapeSpan)}.", nameof(b));
        }

        Tensor output = Tensor.Uninitialized(a.ShapeSpan);
        Elementwise.AddRelu(a.Data, b.Data, output.Data);
        return Graph.Record(output, "AddReluBackward", [a, b], g =>
        {
            Tensor gx = Tensor.Uninitialized(output.ShapeSpan);
            Elementwise.ReluBackward(g.Data, output.Data, gx.Data);
            return [gx, gx];
        });
    }

    /// <summary>x for x &gt; 0, else slope·x (PyTorch's default slope 0.01).</summary>
    public static Tensor LeakyRelu(Tensor input, float negativeSlope = 0.01f) => Pointwise(
        input,
        (x, y) => Elementwise.LeakyRelu(x, negativeSlope, y),
        (g, x, gx) => Elementwise.LeakyReluBackward(g, x, negativeSlope, gx),
        fromOutput: false,
        "LeakyReluBackward");

    /// <summary>1 / (1 + e^−x); ∂y/∂x = y(1 − y).</summary>
    public static Tensor Sigmoid(Tensor input) => Pointwise(input, Elementwise.Sigmoid, Elementwise.SigmoidBackward, fromOutput: true, "SigmoidBackward");

    /// <summary>tanh x; ∂y/∂x = 1 − y².</summary>
    public static Tensor Tanh(Tensor input) => Pointwise(input, Elementwise.Tanh, Elementwise.TanhBackward, fromOutput: true, "TanhBackward");

    /// <summary>
    /// GELU: x·Φ(x) with the exact normal CDF (PyTorch's default), or with <paramref name="approximate"/> = "tanh",
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
    /// </summary>
    public static Tensor Gelu(Tensor input, string approximate = "none")
    {
        ArgumentNullException.ThrowIfNull(input);
        bool tanh = approximate switch
        {
            "none" => false,
            "tanh" => true,
            _ => throw new ArgumentException($"Gelu: approximate must be \"none\" or \"tanh\", got \"{approximate}\".", nameof(approximate)),
        };
        return tanh
            ? Pointwise(input, Elementwise.GeluTanh, Elementwise.GeluTanhBackward, fromOutput: false, "GeluBackward")
            : Pointwise(input, Elementwise.Gelu, Elementwise.GeluBackward, fromOutput: false, "GeluBackward");
    }

    /// <summary>
    /// Zeroes each element with probability <paramref name="p"/> and scales the rest by 1/(1−p) in training;
    /// the identity otherwise. The mask comes from <paramref name="generator"/> (default: the library generator).
    /// </summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (p < 0 || p > 1 || double.IsNaN(p))
        {
            throw new ArgumentOutOfRangeException(nameof(p), $"Dropout probability must be in [0, 1], got {p}.");
        }

        if (!training || p == 0)
        {
            return input;
        }

        Generator rng = generator ?? Generator.Default;
        Tensor mask = Tensor.Uninitialized(input.ShapeSpan);
        Span<float> m = mask.Data;
        float scale = p == 1 ? 0f : (float)(1.0 / (1.0 - p));
        for (int i = 0; i < m.Length; i++)
        {
            m[i] = rng.NextDouble() >= p ? scale : 0f;
        }

        Tensor y = Tensor.Uninitialized(input.ShapeSpan);
        Elementwise.Mul(input.Data, m, y.Data);
        return Graph.Record(y, input, (g, _) =>
        {
            Tensor gx = Tensor.Uninitialized(g.ShapeSpan);
            Elementwise.Mul(g.Data, mask.Data, gx.Data);
            return [gx];
        }, "DropoutBackward");
    }

    /// <summary>Merges dimensions startDim..endDim (default: all but the batch dimension).</summary>
    public static Tensor Flatten(Tensor input, int startDim = 1, int endDim = -1)
    {
        ArgumentNullException.ThrowIfNull(input);
        return input.Flatten(startDim, endDim);
    }

    /// <summary>
    /// An elementwise op y = f(x) whose gradient kernel reads either the input or the output
    /// (<paramref name="fromOutput"/>: sigmoid and tanh differentiate most cheaply from y).
    /// </summary>
    private static Tensor Pointwise(Tensor input, UnaryKernel forward, PointwiseBackward backward, bool fromOutput, string name)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor y = Tensor.Uninitialized(input.ShapeSpan);
        forward(input.Data, y.Data);
        return Graph.Record(y, input, (g, x) =>
        {
            Tensor gx = Tensor.Uninitialized(x.ShapeSpan);
            backward(g.Data, fromOutput ? y.Data : x.Data, gx.Data);
            return [gx];
        }, name);
    }

    private delegate void PointwiseBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> saved, Span<float> gradInput);
}
