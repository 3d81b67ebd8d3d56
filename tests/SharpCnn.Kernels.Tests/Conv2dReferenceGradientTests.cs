namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The reference backward kernels against central differences of the reference forward, all in double:
/// with L = Σ r·y for a fixed random r, ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / 2ε for every input, weight and bias element.
/// </summary>
public class Conv2dReferenceGradientTests
{
    private const double Eps = 1e-6;
    private const double Atol = 1e-5;
    private const double Rtol = 1e-3;

    [Theory]
    [MemberData(nameof(Conv2dCases.SmallNames), MemberType = typeof(Conv2dCases))]
    public void ReferenceBackward_Config_MatchesCentralDifferences(string name)
    {
        Conv2dGeometry g = Conv2dCases.All[name];
        double[] x = GemmConv2dNumerics.ToDouble(GemmConv2dNumerics.Random((int)g.InputLength, 11));
        double[] w = GemmConv2dNumerics.ToDouble(GemmConv2dNumerics.Random((int)g.WeightLength, 12));
        double[] b = GemmConv2dNumerics.ToDouble(GemmConv2dNumerics.Random(g.OutChannels, 13));
        double[] r = GemmConv2dNumerics.ToDouble(GemmConv2dNumerics.Random((int)g.OutputLength, 14));

        // dL/dy = r, so the backward kernels fed r give the analytic gradients.
        var dx = new double[x.Length];
        var dw = new double[w.Length];
        var db = new double[b.Length];
        Conv2dReference.BackwardData<double>(r, w, g, dx);
        Conv2dReference.BackwardWeight<double>(r, x, g, dw, db);

        AssertNumeric(x, dx, () => Loss(x, w, b, r, g), $"{name} dL/dx");
        AssertNumeric(w, dw, () => Loss(x, w, b, r, g), $"{name} dL/dw");
        AssertNumeric(b, db, () => Loss(x, w, b, r, g), $"{name} dL/db");
    }

    private static double Loss(double[] x, double[] w, double[] b, double[] r, in Conv2dGeometry g)
    {
        var y = new double[g.OutputLength];
        Conv2dReference.Forward<double>(x, w, b, g, y);
        double sum = 0;
        for (int i = 0; i < y.Length; i++)
        {
            sum += r[i] * y[i];
        }

        return sum;
    }

    private static void AssertNumeric(double[] parameter, double[] analytic, Func<double> loss, string context)
    {
        for (int i = 0; i < parameter.Length; i++)
        {
            double saved = parameter[i];
            parameter[i] = saved + Eps;
            double plus = loss();
            parameter[i] = saved - Eps;
            double minus = loss();
            parameter[i] = saved;
            double numeric = (plus - minus) / (2 * Eps);
            double tolerance = Atol + (Rtol * Math.Abs(numeric));
            Assert.True(Math.Abs(analytic[i] - numeric) <= tolerance,
                $"{context}[{i}]: analytic {analytic[i]} vs central difference {numeric}.");
        }
    }
}
