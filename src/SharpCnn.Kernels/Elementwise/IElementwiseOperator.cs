using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// A unary elementwise operation y = f(x), in the style of TensorPrimitives: one scalar and two vector
/// implementations that must agree, NaN included. Run it with <see cref="ElementwiseDriver.Unary{TOp}"/>.
/// </summary>
public interface IUnaryOperator
{
    /// <summary>Applies the operation to one value.</summary>
    /// <param name="x">Input.</param>
    /// <returns>f(x).</returns>
    float Invoke(float x);

    /// <summary>Applies the operation to eight values.</summary>
    /// <param name="x">Input.</param>
    /// <returns>f(x) per lane.</returns>
    Vector256<float> Invoke(Vector256<float> x);

    /// <summary>Applies the operation to sixteen values.</summary>
    /// <param name="x">Input.</param>
    /// <returns>f(x) per lane.</returns>
    Vector512<float> Invoke(Vector512<float> x);
}

/// <summary>
/// A binary elementwise operation z = f(x, y) with scalar and vector implementations that must agree.
/// Backward rules are binary operators of (gradOutput, x) or (gradOutput, y).
/// </summary>
public interface IBinaryOperator
{
    /// <summary>Applies the operation to one pair.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand.</param>
    /// <returns>f(x, y).</returns>
    float Invoke(float x, float y);

    /// <summary>Applies the operation to eight pairs.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand.</param>
    /// <returns>f(x, y) per lane.</returns>
    Vector256<float> Invoke(Vector256<float> x, Vector256<float> y);

    /// <summary>Applies the operation to sixteen pairs.</summary>
    /// <param name="x">First operand.</param>
    /// <param name="y">Second operand.</param>
    /// <returns>f(x, y) per lane.</returns>
    Vector512<float> Invoke(Vector512<float> x, Vector512<float> y);
}
