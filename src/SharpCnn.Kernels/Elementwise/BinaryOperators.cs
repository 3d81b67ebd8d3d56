using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>max(x + y, 0) with ReLU's rule (a negative sum → 0; NaN kept): the residual add and ReLU of a ResNet block.</summary>
public readonly struct AddReluOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x, float y)
    {
        float s = x + y;
        return s < 0f ? 0f : s;
    }

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y)
    {
        Vector256<float> s = x + y;
        return Vector256.ConditionalSelect(Vector256.LessThan(s, Vector256<float>.Zero), Vector256<float>.Zero, s);
    }

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y)
    {
        Vector512<float> s = x + y;
        return Vector512.ConditionalSelect(Vector512.LessThan(s, Vector512<float>.Zero), Vector512<float>.Zero, s);
    }
}

/// <summary>x + y.</summary>
public readonly struct AddOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x, float y) => x + y;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x + y;

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x + y;
}

/// <summary>x − y.</summary>
public readonly struct SubOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x, float y) => x - y;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x - y;

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x - y;
}

/// <summary>x · y.</summary>
public readonly struct MulOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x, float y) => x * y;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x * y;

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x * y;
}

/// <summary>x / y (IEEE: x/0 is ±∞ or NaN).</summary>
public readonly struct DivOperator : IBinaryOperator
{
    /// <inheritdoc/>
    public float Invoke(float x, float y) => x / y;

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x / y;

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x / y;
}

/// <summary>y + a·x (axpy), with y the first operand; used in place by optimizers.</summary>
/// <param name="alpha">Scale a of the second operand.</param>
public readonly struct AddScaledOperator(float alpha) : IBinaryOperator
{
    private readonly float _alpha = alpha;

    /// <inheritdoc/>
    public float Invoke(float x, float y) => x + (_alpha * y);

    /// <inheritdoc/>
    public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) => x + (Vector256.Create(_alpha) * y);

    /// <inheritdoc/>
    public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) => x + (Vector512.Create(_alpha) * y);
}
