using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>ReLU: max(x, 0); NaN stays NaN (as <c>torch.relu</c>).</summary>
public readonly struct ReluOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => x < 0f ? 0f : x;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256<float>.Zero, x);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), Vector512<float>.Zero, x);
}

/// <summary>Leaky ReLU: x if x &gt; 0 else slope·x (PyTorch default slope 0.01).</summary>
/// <param name="slope">Negative slope.</param>
public readonly struct LeakyReluOperator(float slope) : IUnaryOperator
{
    private readonly float _slope = slope;

    /// <inheritdoc/>
    public float Invoke(float x) => x > 0f ? x : x * _slope;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), x, x * _slope);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), x, x * _slope);
}

/// <summary>Sigmoid: 1 / (1 + e^(−x)).</summary>
public readonly struct SigmoidOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => 1f / (1f + MathF.Exp(-x));

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-x));
}

/// <summary>Hyperbolic tangent, as sign(x)·(1 − e^(−2|x|)) / (1 + e^(−2|x|)).</summary>
public readonly struct TanhOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => ElementwiseMath.Tanh(x);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => ElementwiseMath.Tanh(x);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => ElementwiseMath.Tanh(x);
}

/// <summary>GELU, exact form (PyTorch default <c>approximate='none'</c>): x·Φ(x), Φ the normal CDF.</summary>
public readonly struct GeluOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => x * ElementwiseMath.Phi(x);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => x * ElementwiseMath.Phi(x);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => x * ElementwiseMath.Phi(x);
}

/// <summary>GELU, tanh approximation (<c>approximate='tanh'</c>): ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))).</summary>
public readonly struct GeluTanhOperator : IUnaryOperator
{
    internal const float K0 = 0.7978845608028654f;
    internal const float K1 = 0.044715f;

    /// <inheritdoc/>
    public float Invoke(float x) => 0.5f * x * (1f + ElementwiseMath.Tanh(K0 * (x + (K1 * x * x * x))));

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) =>
        Vector256.Create(0.5f) * x * (Vector256<float>.One + ElementwiseMath.Tanh(Vector256.Create(K0) * (x + (Vector256.Create(K1) * x * x * x))));

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) =>
        Vector512.Create(0.5f) * x * (Vector512<float>.One + ElementwiseMath.Tanh(Vector512.Create(K0) * (x + (Vector512.Create(K1) * x * x * x))));
}

/// <summary>e^x.</summary>
public readonly struct ExpOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => MathF.Exp(x);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Exp(x);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Exp(x);
}

/// <summary>Natural logarithm: log(0) = −∞, log of a negative number is NaN.</summary>
public readonly struct LogOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => MathF.Log(x);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Log(x);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Log(x);
}

/// <summary>Square root: NaN for negative input.</summary>
public readonly struct SqrtOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => MathF.Sqrt(x);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Sqrt(x);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Sqrt(x);
}

/// <summary>−x.</summary>
public readonly struct NegOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => -x;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => -x;

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => -x;
}

/// <summary>|x|.</summary>
public readonly struct AbsOperator : IUnaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x) => MathF.Abs(x);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x) => Vector256.Abs(x);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x) => Vector512.Abs(x);
}
