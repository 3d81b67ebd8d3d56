namespace SharpCnn.Kernels.Tests;

/// <summary>Shared helpers: seeded data, float-vs-double comparison, central-difference gradient checks.</summary>
internal static class TestUtil
{
    public static float[] Random(int length, int seed, float lo = -2f, float hi = 2f)
    {
        var rng = new Random(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = lo + ((hi - lo) * (float)rng.NextDouble());
        }

        return a;
    }

    /// <summary>Values on a 1/16 grid so that ties happen and are exact in float and double alike.</summary>
    public static float[] RandomGrid(int length, int seed)
    {
        var rng = new Random(seed);
        var a = new float[length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = rng.Next(-32, 33) / 16f;
        }

        return a;
    }

    /// <summary>Distinct values spaced 0.05 apart in random order: no near-ties for max-pool gradients.</summary>
    public static double[] Distinct(int length, int seed)
    {
        var rng = new Random(seed);
        var a = new double[length];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (i - (length / 2)) * 0.05;
        }

        rng.Shuffle(a);
        return a;
    }

    public static double[] ToDouble(ReadOnlySpan<float> a)
    {
        var d = new double[a.Length];
        for (int i = 0; i < a.Length; i++)
        {
            d[i] = a[i];
        }

        return d;
    }

    /// <summary>|a − b| ≤ 1e-5 + 1e-4·|b| elementwise (ARCHITECTURE §4); NaN must match NaN.</summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected, string what = "")
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double a = actual[i];
            double b = expected[i];
            if (double.IsNaN(b) || double.IsNaN(a))
            {
                Assert.True(double.IsNaN(a) && double.IsNaN(b), $"{what}[{i}]: got {a}, expected {b}");
                continue;
            }

            if (double.IsInfinity(b) || double.IsInfinity(a))
            {
                Assert.True(a == b, $"{what}[{i}]: got {a}, expected {b}");
                continue;
            }

            Assert.True(Math.Abs(a - b) <= 1e-5 + (1e-4 * Math.Abs(b)), $"{what}[{i}]: got {a}, expected {b}");
        }
    }

    /// <summary>
    /// Checks an analytic gradient against central differences of L(x) = Σ r·f(x), all in double
    /// (eps 1e-6, |num − ana| ≤ 1e-5 + 1e-3·|num|).
    /// </summary>
    public static void CheckGradient(
        double[] x,
        int outputLength,
        Func<double[], double[]> forward,
        Func<double[], double[], double[]> backward,
        int seed = 7)
    {
        var rng = new Random(seed);
        var r = new double[outputLength];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = (2 * rng.NextDouble()) - 1;
        }

        double[] analytic = backward(x, r);
        Assert.Equal(x.Length, analytic.Length);
        const double Eps = 1e-6;
        for (int i = 0; i < x.Length; i++)
        {
            double keep = x[i];
            x[i] = keep + Eps;
            double lp = Dot(r, forward(x));
            x[i] = keep - Eps;
            double lm = Dot(r, forward(x));
            x[i] = keep;
            double numeric = (lp - lm) / (2 * Eps);
            Assert.True(
                Math.Abs(numeric - analytic[i]) <= 1e-5 + (1e-3 * Math.Abs(numeric)),
                $"d/dx[{i}]: numeric {numeric}, analytic {analytic[i]}");
        }
    }

    public static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }
}
