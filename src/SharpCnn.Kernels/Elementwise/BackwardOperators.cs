using System.Runtime.Intrinsics;

// Backward operators name their operands (g, x) or (g, y) after the math rather than the interface's (x, y).
#pragma warning disable CA1725

namespace SharpCnn.Kernels;

/// <summary>ReLU backward from input: g if x &gt; 0 else 0 (x = 0 gives 0, as PyTorch's threshold_backward).</summary>
public readonly struct ReluBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float g, float x) => x <= 0f ? 0f : g;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.LessThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.Zero, g);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.LessThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.Zero, g);
}

/// <summary>Leaky ReLU backward from input: g if x &gt; 0 else slope·g.</summary>
/// <param name="slope">Negative slope.</param>
public readonly struct LeakyReluBackwardOperator(float slope) : IBinaryOperator
{
    private readonly float _slope = slope;

    /// <inheritdoc/>
    public float Invoke(float g, float x) => x > 0f ? g : g * _slope;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), g, g * _slope);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), g, g * _slope);
}

/// <summary>Sigmoid backward from output y: g·y·(1 − y).</summary>
public readonly struct SigmoidBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float g, float y) => g * y * (1f - y);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * y * (Vector256<float>.One - y);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * y * (Vector512<float>.One - y);
}

/// <summary>Tanh backward from output y: g·(1 − y²).</summary>
public readonly struct TanhBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float g, float y) => g * (1f - (y * y));

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g * (Vector256<float>.One - (y * y));

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g * (Vector512<float>.One - (y * y));
}

/// <summary>Exact GELU backward from input: g·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π).</summary>
public readonly struct GeluBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float g, float x) =>
        g * (ElementwiseMath.Phi(x) + (x * ElementwiseMath.InvSqrt2Pi * MathF.Exp(-0.5f * x * x)));

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) =>
        g * (ElementwiseMath.Phi(x) + (x * Vector256.Create(ElementwiseMath.InvSqrt2Pi) * Vector256.Exp(Vector256.Create(-0.5f) * x * x)));

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) =>
        g * (ElementwiseMath.Phi(x) + (x * Vector512.Create(ElementwiseMath.InvSqrt2Pi) * Vector512.Exp(Vector512.Create(-0.5f) * x * x)));
}

/// <summary>
/// Tanh-approximate GELU backward from input: with u = k0·(x + k1·x³), t = tanh u,
/// g·(½(1 + t) + ½x·(1 − t²)·k0·(1 + 3k1·x²)).
/// </summary>
public readonly struct GeluTanhBackwardOperator : IBinaryOperator
{
    private const float K0 = GeluTanhOperator.K0;
    private const float K1 = GeluTanhOperator.K1;

    /// <inheritdoc/>
    public float Invoke(float g, float x)
    {
        float t = ElementwiseMath.Tanh(K0 * (x + (K1 * x * x * x)));
        return g * ((0.5f * (1f + t)) + (0.5f * x * (1f - (t * t)) * K0 * (1f + (3f * K1 * x * x))));
    }

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x)
    {
        Vector256<float> one = Vector256<float>.One;
        Vector256<float> half = Vector256.Create(0.5f);
        Vector256<float> x2 = x * x;
        Vector256<float> t = ElementwiseMath.Tanh(Vector256.Create(K0) * (x + (Vector256.Create(K1) * x2 * x)));
        return g * ((half * (one + t)) + (half * x * (one - (t * t)) * Vector256.Create(K0) * (one + (Vector256.Create(3f * K1) * x2))));
    }

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x)
    {
        Vector512<float> one = Vector512<float>.One;
        Vector512<float> half = Vector512.Create(0.5f);
        Vector512<float> x2 = x * x;
        Vector512<float> t = ElementwiseMath.Tanh(Vector512.Create(K0) * (x + (Vector512.Create(K1) * x2 * x)));
        return g * ((half * (one + t)) + (half * x * (one - (t * t)) * Vector512.Create(K0) * (one + (Vector512.Create(3f * K1) * x2))));
    }
}

/// <summary>Log backward from input: g / x.</summary>
public readonly struct LogBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float g, float x) => g / x;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) => g / x;

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) => g / x;
}

/// <summary>Sqrt backward from output y: g / (2y).</summary>
public readonly struct SqrtBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float g, float y) => g / (2f * y);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> y) => g / (Vector256.Create(2f) * y);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> y) => g / (Vector512.Create(2f) * y);
}

/// <summary>Abs backward from input: g·sign(x), with sign(0) = 0 (and sign(NaN) taken as 0).</summary>
public readonly struct AbsBackwardOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float g, float x) => x > 0f ? g : x < 0f ? -g : 0f;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> g, Vector256<float> x) =>
        Vector256.ConditionalSelect(
            Vector256.GreaterThan(x, Vector256<float>.Zero),
            g,
            Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), -g, Vector256<float>.Zero));

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> g, Vector512<float> x) =>
        Vector512.ConditionalSelect(
            Vector512.GreaterThan(x, Vector512<float>.Zero),
            g,
            Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<float>.Zero), -g, Vector512<float>.Zero));
}
