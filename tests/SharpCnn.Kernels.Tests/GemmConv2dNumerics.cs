namespace SharpCnn.Kernels.Tests;

/// <summary>Random data and the float-vs-double comparison every kernel test uses.</summary>
internal static class GemmConv2dNumerics
{
    /// <summary>Unit roundoff of float32, 2⁻²⁴.</summary>
    public const double Unit = 1.0 / (1 << 24);

    public static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var values = new float[length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return values;
    }

    public static double[] ToDouble(float[] values) => Array.ConvertAll(values, v => (double)v);

    public static double[] Abs(double[] values) => Array.ConvertAll(values, Math.Abs);

    /// <summary>
    /// Asserts |actual − expected| ≤ 1e-5 + 1e-4·|expected| + γ_terms·magnitude elementwise, where
    /// <paramref name="magnitude"/> is the same computation on absolute values (Σ|a·b|, in double) and
    /// γ_t = t·u / (1 − t·u). Any float32 summation of t products, in any order, with or without FMA, stays within
    /// γ_t·Σ|a·b| of the exact sum (Higham, Accuracy and Stability of Numerical Algorithms, §3.1), so this bound
    /// grows with k (the bound is k·u; typical errors are √k·u) yet a wrong index or a missed term, which errs by
    /// a whole |a·b|, still fails.
    /// </summary>
    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<double> expected,
        ReadOnlySpan<double> magnitude, long terms, string context)
    {
        Assert.Equal(expected.Length, actual.Length);
        double t = (terms + 2) * Unit;
        double gamma = t / (1 - t);
        for (int i = 0; i < expected.Length; i++)
        {
            double tolerance = 1e-5 + (1e-4 * Math.Abs(expected[i])) + (gamma * magnitude[i]);
            double error = Math.Abs(actual[i] - expected[i]);
            if (!(error <= tolerance))
            {
                Assert.Fail($"{context}: element {i} is {actual[i]} but the reference gives {expected[i]} (|error| {error:E3} > tolerance {tolerance:E3}).");
            }
        }
    }

    /// <summary>
    /// Checks a conv backward pass (dx, dw, db) against the double reference, with the summation bound taken from the
    /// number of terms each output of that pass adds.
    /// </summary>
    public static void AssertBackwardMatchesReference(Conv2dGeometry g, double[] xd, double[] wd, double[] dyd,
        float[] dx, float[] dw, float[] db, string label)
    {
        var edx = new double[dx.Length];
        var mdx = new double[dx.Length];
        Conv2dReference.BackwardData<double>(dyd, wd, g, edx);
        Conv2dReference.BackwardData<double>(Abs(dyd), Abs(wd), g, mdx);
        AssertClose(dx, edx, mdx, (long)g.OutChannelsPerGroup * g.KernelH * g.KernelW, $"{label} backward-data");

        var edw = new double[dw.Length];
        var edb = new double[db.Length];
        var mdw = new double[dw.Length];
        var mdb = new double[db.Length];
        Conv2dReference.BackwardWeight<double>(dyd, xd, g, edw, edb);
        Conv2dReference.BackwardWeight<double>(Abs(dyd), Abs(xd), g, mdw, mdb);
        long terms = (long)g.Batch * g.OutHeight * g.OutWidth;
        AssertClose(dw, edw, mdw, terms, $"{label} backward-weight");
        AssertClose(db, edb, mdb, terms, $"{label} bias-grad");
    }
}
