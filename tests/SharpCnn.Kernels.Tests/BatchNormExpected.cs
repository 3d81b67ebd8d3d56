namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The double-precision reference of one batch-norm training step (forward with batch statistics, eps 1e-5, then
/// backward) on float inputs: what every batch-norm kernel variant is compared against.
/// </summary>
internal sealed record BatchNormExpected(double[] Y, double[] Mean, double[] InvStd, double[] GradInput, double[] GradGamma, double[] GradBeta)
{
    /// <summary>Runs <see cref="NormReference"/>'s forward and backward on (N, C, spatial) data; empty gamma/beta = not affine.</summary>
    public static BatchNormExpected Of(float[] x, float[] gamma, float[] beta, float[] gradOutput, int n, int c, int spatial)
    {
        int len = n * c * spatial;
        double[] xd = TestUtil.ToDouble(x), gammaD = TestUtil.ToDouble(gamma);
        var y = new double[len];
        var mean = new double[c];
        var inv = new double[c];
        NormReference.BatchNormForwardTraining<double>(xd, gammaD, TestUtil.ToDouble(beta), n, c, spatial, 1e-5, y, mean, inv);
        var gi = new double[len];
        var gg = new double[c];
        var gb = new double[c];
        NormReference.BatchNormBackward<double>(TestUtil.ToDouble(gradOutput), xd, gammaD, mean, inv, n, c, spatial, gi, gg, gb);
        return new BatchNormExpected(y, mean, inv, gi, gg, gb);
    }
}
