using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

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
