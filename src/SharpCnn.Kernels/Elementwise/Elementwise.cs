namespace SharpCnn.Kernels;

/// <summary>
/// Elementwise activations, their gradients and arithmetic over float spans (any shape, flattened). Each
/// method runs an operator struct through <see cref="ElementwiseDriver"/>; the destination may be the
/// source itself (in place). Backward methods overwrite gradInput = gradOutput·f′, computed from the
/// forward input <c>x</c> or output <c>y</c> as named.
/// </summary>
public static class Elementwise
{
    /// <summary>y = ReLU, max(x, 0).</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Relu(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new ReluOperator());

    /// <summary>y = sigmoid.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new SigmoidOperator());

    /// <summary>y = tanh.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new TanhOperator());

    /// <summary>y = exact GELU x·Φ(x).</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new GeluOperator());

    /// <summary>y = tanh-approximate GELU.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void GeluTanh(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new GeluTanhOperator());

    /// <summary>y = e^x.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new ExpOperator());

    /// <summary>y = natural log.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Log(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new LogOperator());

    /// <summary>y = square root.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Sqrt(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new SqrtOperator());

    /// <summary>y = −x.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Neg(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new NegOperator());

    /// <summary>y = |x|.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, same length.</param>
    public static void Abs(ReadOnlySpan<float> x, Span<float> y) => ElementwiseDriver.Unary(x, y, new AbsOperator());

    /// <summary>y = x if x &gt; 0 else slope·x.</summary>
    /// <param name="x">Input.</param>
    /// <param name="slope">Negative slope (PyTorch default 0.01).</param>
    /// <param name="y">Output, same length.</param>
    public static void LeakyRelu(ReadOnlySpan<float> x, float slope, Span<float> y) => ElementwiseDriver.Unary(x, y, new LeakyReluOperator(slope));

    /// <summary>gradInput = g where x > 0, else 0, from the forward input <paramref name="x"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="x">Forward input.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void ReluBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> x, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, x, gradInput, new ReluBackwardOperator());

    /// <summary>gradInput = g·y·(1 − y), from the forward output <paramref name="y"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="y">Forward output.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void SigmoidBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> y, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, y, gradInput, new SigmoidBackwardOperator());

    /// <summary>gradInput = g·(1 − y²), from the forward output <paramref name="y"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="y">Forward output.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void TanhBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> y, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, y, gradInput, new TanhBackwardOperator());

    /// <summary>gradInput = g·(Φ(x) + x·φ(x)), from the forward input <paramref name="x"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="x">Forward input.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void GeluBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> x, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, x, gradInput, new GeluBackwardOperator());

    /// <summary>gradInput = derivative of the tanh approximation, from the forward input <paramref name="x"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="x">Forward input.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void GeluTanhBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> x, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, x, gradInput, new GeluTanhBackwardOperator());

    /// <summary>gradInput = g·y, from the forward output <paramref name="y"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="y">Forward output.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void ExpBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> y, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, y, gradInput, new MulOperator());

    /// <summary>gradInput = g / x, from the forward input <paramref name="x"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="x">Forward input.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void LogBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> x, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, x, gradInput, new LogBackwardOperator());

    /// <summary>gradInput = g / (2y), from the forward output <paramref name="y"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="y">Forward output.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void SqrtBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> y, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, y, gradInput, new SqrtBackwardOperator());

    /// <summary>gradInput = g·sign(x), from the forward input <paramref name="x"/>.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="x">Forward input.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void AbsBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> x, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, x, gradInput, new AbsBackwardOperator());

    /// <summary>gradInput = gradOutput where x &gt; 0, else slope·gradOutput.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="x">Forward input.</param>
    /// <param name="slope">Negative slope.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void LeakyReluBackward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> x, float slope, Span<float> gradInput) =>
        ElementwiseDriver.Binary(gradOutput, x, gradInput, new LeakyReluBackwardOperator(slope));

    /// <summary>gradInput = −gradOutput.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void NegBackward(ReadOnlySpan<float> gradOutput, Span<float> gradInput) => ElementwiseDriver.Unary(gradOutput, gradInput, new NegOperator());

    /// <summary>z = max(x + y, 0), bit for bit <see cref="Add(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> then <see cref="Relu"/>, in one pass.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand, same length.</param>
    /// <param name="z">Output, same length (may be x or y).</param>
    public static void AddRelu(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z) => ElementwiseDriver.Binary(x, y, z, new AddReluOperator());

    /// <summary>z = x + y elementwise.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand, same length.</param>
    /// <param name="z">Output, same length.</param>
    public static void Add(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z) => ElementwiseDriver.Binary(x, y, z, new AddOperator());

    /// <summary>z = x + y with a scalar y.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Scalar second operand.</param>
    /// <param name="z">Output, same length as x.</param>
    public static void Add(ReadOnlySpan<float> x, float y, Span<float> z) => ElementwiseDriver.BinaryScalar(x, y, z, new AddOperator());

    /// <summary>z = x − y elementwise.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand, same length.</param>
    /// <param name="z">Output, same length.</param>
    public static void Sub(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z) => ElementwiseDriver.Binary(x, y, z, new SubOperator());

    /// <summary>z = x − y with a scalar y.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Scalar second operand.</param>
    /// <param name="z">Output, same length as x.</param>
    public static void Sub(ReadOnlySpan<float> x, float y, Span<float> z) => ElementwiseDriver.BinaryScalar(x, y, z, new SubOperator());

    /// <summary>z = x · y elementwise.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand, same length.</param>
    /// <param name="z">Output, same length.</param>
    public static void Mul(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z) => ElementwiseDriver.Binary(x, y, z, new MulOperator());

    /// <summary>z = x · y with a scalar y.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Scalar second operand.</param>
    /// <param name="z">Output, same length as x.</param>
    public static void Mul(ReadOnlySpan<float> x, float y, Span<float> z) => ElementwiseDriver.BinaryScalar(x, y, z, new MulOperator());

    /// <summary>z = x / y elementwise.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand, same length.</param>
    /// <param name="z">Output, same length.</param>
    public static void Div(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z) => ElementwiseDriver.Binary(x, y, z, new DivOperator());

    /// <summary>z = x / y with a scalar y.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Scalar second operand.</param>
    /// <param name="z">Output, same length as x.</param>
    public static void Div(ReadOnlySpan<float> x, float y, Span<float> z) => ElementwiseDriver.BinaryScalar(x, y, z, new DivOperator());

    /// <summary>y += alpha·x (in place on y), the optimizer update.</summary>
    /// <param name="x">Addend.</param>
    /// <param name="alpha">Scale of x.</param>
    /// <param name="y">Accumulator, updated in place.</param>
    public static void AddScaled(ReadOnlySpan<float> x, float alpha, Span<float> y) => ElementwiseDriver.Binary(y, x, y, new AddScaledOperator(alpha));
}
