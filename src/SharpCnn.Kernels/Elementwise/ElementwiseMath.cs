using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// Vector-friendly float math shared by the operators. Scalar and vector versions use the same formula so
/// their NaN and infinity behaviour agree.
/// </summary>
internal static class ElementwiseMath
{
    // Abramowitz & Stegun 7.1.26: erfc(a) ≈ t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·e^(−a²), t = 1/(1 + p·a),
    // a ≥ 0, |error| ≤ 1.5e-7. Evaluating erfc (not 1 − erf) keeps GELU accurate for negative x.
    private const float P = 0.3275911f;
    private const float A1 = 0.254829592f;
    private const float A2 = -0.284496736f;
    private const float A3 = 1.421413741f;
    private const float A4 = -1.453152027f;
    private const float A5 = 1.061405429f;
    private const float InvSqrt2 = 0.70710678118654752f;

    /// <summary>1/√(2π), the standard normal density at 0.</summary>
    public const float InvSqrt2Pi = 0.39894228040143268f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x)
    {
        float t = MathF.Exp(-2f * MathF.Abs(x));
        return MathF.CopySign((1f - t) / (1f + t), x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        Vector256<float> t = Vector256.Exp(Vector256.Create(-2f) * Vector256.Abs(x));
        return Vector256.CopySign((Vector256<float>.One - t) / (Vector256<float>.One + t), x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        Vector512<float> t = Vector512.Exp(Vector512.Create(-2f) * Vector512.Abs(x));
        return Vector512.CopySign((Vector512<float>.One - t) / (Vector512<float>.One + t), x);
    }

    /// <summary>Standard normal CDF Φ(x) = ½·erfc(−x/√2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Phi(float x)
    {
        float a = MathF.Abs(x) * InvSqrt2;
        float t = 1f / (1f + (P * a));
        float q = 0.5f * t * (A1 + (t * (A2 + (t * (A3 + (t * (A4 + (t * A5)))))))) * MathF.Exp(-a * a);
        return x >= 0f ? 1f - q : q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Phi(Vector256<float> x)
    {
        Vector256<float> one = Vector256<float>.One;
        Vector256<float> a = Vector256.Abs(x) * Vector256.Create(InvSqrt2);
        Vector256<float> t = one / (one + (Vector256.Create(P) * a));
        Vector256<float> poly = Vector256.Create(A5);
        poly = Vector256.Create(A4) + (t * poly);
        poly = Vector256.Create(A3) + (t * poly);
        poly = Vector256.Create(A2) + (t * poly);
        poly = Vector256.Create(A1) + (t * poly);
        Vector256<float> q = Vector256.Create(0.5f) * t * poly * Vector256.Exp(-(a * a));
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), one - q, q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Phi(Vector512<float> x)
    {
        Vector512<float> one = Vector512<float>.One;
        Vector512<float> a = Vector512.Abs(x) * Vector512.Create(InvSqrt2);
        Vector512<float> t = one / (one + (Vector512.Create(P) * a));
        Vector512<float> poly = Vector512.Create(A5);
        poly = Vector512.Create(A4) + (t * poly);
        poly = Vector512.Create(A3) + (t * poly);
        poly = Vector512.Create(A2) + (t * poly);
        poly = Vector512.Create(A1) + (t * poly);
        Vector512<float> q = Vector512.Create(0.5f) * t * poly * Vector512.Exp(-(a * a));
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), one - q, q);
    }
}
