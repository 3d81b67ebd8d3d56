using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>
/// Plain scalar twins of the elementwise operators, generic so tests run them in double. Backward
/// functions return gradOutput·f′ written straight from the derivative.
/// </summary>
public static class ElementwiseReference
{
    /// <summary>max(x, 0), NaN propagating.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>ReLU(x).</returns>
    public static T Relu<T>(T x)
        where T : IFloatingPointIeee754<T> => x < T.Zero ? T.Zero : x;

    /// <summary>g·[x &gt; 0].</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T ReluBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T> => x > T.Zero ? g : T.Zero;

    /// <summary>x if x &gt; 0 else slope·x.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <param name="slope">Negative slope.</param>
    /// <returns>LeakyReLU(x).</returns>
    public static T LeakyRelu<T>(T x, T slope)
        where T : IFloatingPointIeee754<T> => x > T.Zero ? x : slope * x;

    /// <summary>g if x &gt; 0 else slope·g.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <param name="slope">Negative slope.</param>
    /// <returns>Input gradient.</returns>
    public static T LeakyReluBackward<T>(T g, T x, T slope)
        where T : IFloatingPointIeee754<T> => x > T.Zero ? g : slope * g;

    /// <summary>1 / (1 + e^(−x)).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>σ(x).</returns>
    public static T Sigmoid<T>(T x)
        where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

    /// <summary>g·σ(x)·(1 − σ(x)).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T SigmoidBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T>
    {
        T s = Sigmoid(x);
        return g * s * (T.One - s);
    }

    /// <summary>tanh x.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>tanh(x).</returns>
    public static T Tanh<T>(T x)
        where T : IFloatingPointIeee754<T> => T.Tanh(x);

    /// <summary>g·(1 − tanh²x).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T TanhBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T>
    {
        T t = T.Tanh(x);
        return g * (T.One - (t * t));
    }

    /// <summary>Exact GELU: x·Φ(x) = ½x·erfc(−x/√2).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>GELU(x).</returns>
    public static T Gelu<T>(T x)
        where T : IFloatingPointIeee754<T> => x * Phi(x);

    /// <summary>g·(Φ(x) + x·φ(x)).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T GeluBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T>
    {
        T pdf = T.Exp(-(x * x) / T.CreateChecked(2)) / T.Sqrt(T.CreateChecked(2) * T.Pi);
        return g * (Phi(x) + (x * pdf));
    }

    /// <summary>½x·(1 + tanh(√(2/π)·(x + 0.044715x³))).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>Tanh-approximate GELU.</returns>
    public static T GeluTanh<T>(T x)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateChecked(0.5);
        return half * x * (T.One + T.Tanh(GeluTanhInner(x)));
    }

    /// <summary>Derivative of <see cref="GeluTanh{T}"/> times g.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T GeluTanhBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T>
    {
        T half = T.CreateChecked(0.5);
        T k0 = T.Sqrt(T.CreateChecked(2) / T.Pi);
        T k1 = T.CreateChecked(0.044715);
        T t = T.Tanh(GeluTanhInner(x));
        T du = k0 * (T.One + (T.CreateChecked(3) * k1 * x * x));
        return g * ((half * (T.One + t)) + (half * x * (T.One - (t * t)) * du));
    }

    /// <summary>e^x.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>exp(x).</returns>
    public static T Exp<T>(T x)
        where T : IFloatingPointIeee754<T> => T.Exp(x);

    /// <summary>g·e^x.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T ExpBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T> => g * T.Exp(x);

    /// <summary>ln x.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>log(x).</returns>
    public static T Log<T>(T x)
        where T : IFloatingPointIeee754<T> => T.Log(x);

    /// <summary>g / x.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T LogBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T> => g / x;

    /// <summary>√x.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>sqrt(x).</returns>
    public static T Sqrt<T>(T x)
        where T : IFloatingPointIeee754<T> => T.Sqrt(x);

    /// <summary>g / (2√x).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T SqrtBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T> => g / (T.CreateChecked(2) * T.Sqrt(x));

    /// <summary>|x|.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>abs(x).</returns>
    public static T Abs<T>(T x)
        where T : IFloatingPointIeee754<T> => T.Abs(x);

    /// <summary>g·sign(x), sign(0) = 0.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Input.</param>
    /// <returns>Input gradient.</returns>
    public static T AbsBackward<T>(T g, T x)
        where T : IFloatingPointIeee754<T> => x > T.Zero ? g : x < T.Zero ? -g : T.Zero;

    /// <summary>Standard normal CDF Φ(x) = ½·erfc(−x/√2).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>Φ(x).</returns>
    public static T Phi<T>(T x)
        where T : IFloatingPointIeee754<T> => T.CreateChecked(0.5) * Erfc(-x / T.Sqrt(T.CreateChecked(2)));

    /// <summary>
    /// Complementary error function to near double precision: the Maclaurin series of erf for |x| &lt; 2.5,
    /// the continued fraction erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + (3/2)/(x + …)))) beyond.
    /// </summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>erfc(x).</returns>
    public static T Erfc<T>(T x)
        where T : IFloatingPointIeee754<T>
    {
        if (T.IsNaN(x))
        {
            return x;
        }

        T two = T.CreateChecked(2);
        T a = T.Abs(x);
        if (a < T.CreateChecked(2.5))
        {
            return T.One - Erf(x);
        }

        T f = a;
        for (int k = 120; k >= 1; k--)
        {
            f = a + (T.CreateChecked(k) / two / f);
        }

        T tail = T.Exp(-(a * a)) / (T.Sqrt(T.Pi) * f);
        return x > T.Zero ? tail : two - tail;
    }

    /// <summary>Error function (see <see cref="Erfc{T}"/> for the method).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <returns>erf(x).</returns>
    public static T Erf<T>(T x)
        where T : IFloatingPointIeee754<T>
    {
        if (T.Abs(x) >= T.CreateChecked(2.5))
        {
            return T.One - Erfc(x);
        }

        // erf x = 2/√π · Σ (−1)^n x^(2n+1) / (n!·(2n+1))
        T term = x;
        T sum = x;
        T x2 = x * x;
        for (int n = 1; n < 200; n++)
        {
            term = term * -x2 / T.CreateChecked(n);
            T add = term / T.CreateChecked((2 * n) + 1);
            sum += add;
            if (T.Abs(add) <= T.Abs(sum) * T.CreateChecked(1e-17))
            {
                break;
            }
        }

        return T.CreateChecked(2) / T.Sqrt(T.Pi) * sum;
    }

    private static T GeluTanhInner<T>(T x)
        where T : IFloatingPointIeee754<T> =>
        T.Sqrt(T.CreateChecked(2) / T.Pi) * (x + (T.CreateChecked(0.044715) * x * x * x));
}
