namespace SharpCnn.Kernels.Tests;

public class NormTests
{
    [Theory]
    [InlineData(1, 3, 5, true)]
    [InlineData(2, 4, 7, true)]
    [InlineData(3, 2, 1, false)]
    [InlineData(4, 5, 19, true)]
    [InlineData(2, 1, 33, false)]
    public void BatchNorm_TrainingForwardBackward_MatchReference(int n, int c, int spatial, bool affine)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 1, -3f, 5f);
        float[] gamma = affine ? TestUtil.Random(c, 2, 0.5f, 2f) : [];
        float[] beta = affine ? TestUtil.Random(c, 3) : [];
        var y = new float[len];
        var mean = new float[c];
        var inv = new float[c];
        var uvar = new float[c];
        BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, y, mean, inv, uvar);

        var yr = new double[len];
        var meanR = new double[c];
        var invR = new double[c];
        NormReference.BatchNormForwardTraining<double>(TestUtil.ToDouble(x), TestUtil.ToDouble(gamma), TestUtil.ToDouble(beta), n, c, spatial, 1e-5, yr, meanR, invR);
        TestUtil.AssertClose(y, yr, "y");
        TestUtil.AssertClose(mean, meanR, "mean");
        TestUtil.AssertClose(inv, invR, "invStd");
        double m = n * spatial;
        TestUtil.AssertClose(uvar, invR.Select(v => ((1 / (v * v)) - 1e-5) * m / (m - 1)).ToArray(), "unbiased var");

        float[] go = TestUtil.Random(len, 4);
        var gi = new float[len];
        var gg = new float[c];
        var gb = new float[c];
        BatchNorm.Backward(go, x, gamma, mean, inv, n, c, spatial, gi, gg, gb);
        var gir = new double[len];
        var ggr = new double[c];
        var gbr = new double[c];
        NormReference.BatchNormBackward<double>(TestUtil.ToDouble(go), TestUtil.ToDouble(x), TestUtil.ToDouble(gamma), meanR, invR, n, c, spatial, gir, ggr, gbr);
        TestUtil.AssertClose(gi, gir, "gi");
        TestUtil.AssertClose(gg, ggr, "gamma'");
        TestUtil.AssertClose(gb, gbr, "beta'");
    }

    [Theory]
    [InlineData(2, 3, 4, true)]
    [InlineData(3, 2, 1, false)]
    public void BatchNormReference_Backward_MatchesCentralDifferences(int n, int c, int spatial, bool affine)
    {
        int len = n * c * spatial;
        double[] gamma = affine ? TestUtil.ToDouble(TestUtil.Random(c, 2, 0.5f, 2f)) : [];
        double[] beta = affine ? TestUtil.ToDouble(TestUtil.Random(c, 3)) : [];
        double[] x = TestUtil.ToDouble(TestUtil.Random(len, 5));
        TestUtil.CheckGradient(
            x,
            len,
            xs =>
            {
                var y = new double[len];
                NormReference.BatchNormForwardTraining<double>(xs, gamma, beta, n, c, spatial, 1e-5, y, new double[c], new double[c]);
                return y;
            },
            (xs, r) =>
            {
                var y = new double[len];
                var mean = new double[c];
                var inv = new double[c];
                NormReference.BatchNormForwardTraining<double>(xs, gamma, beta, n, c, spatial, 1e-5, y, mean, inv);
                var gi = new double[len];
                NormReference.BatchNormBackward<double>(r, xs, gamma, mean, inv, n, c, spatial, gi, new double[c], new double[c]);
                return gi;
            });

        if (affine)
        {
            // γ gradient: perturb γ instead of x.
            var mean0 = new double[c];
            var inv0 = new double[c];
            NormReference.BatchNormForwardTraining<double>(x, gamma, beta, n, c, spatial, 1e-5, new double[len], mean0, inv0);
            TestUtil.CheckGradient(
                gamma,
                len,
                gs =>
                {
                    var y = new double[len];
                    NormReference.BatchNormForwardTraining<double>(x, gs, beta, n, c, spatial, 1e-5, y, new double[c], new double[c]);
                    return y;
                },
                (gs, r) =>
                {
                    var gg = new double[c];
                    NormReference.BatchNormBackward<double>(r, x, gs, mean0, inv0, n, c, spatial, new double[len], gg, new double[c]);
                    return gg;
                });
        }
    }

    [Fact]
    public void BatchNorm_ThreadCounts_BitwiseEqual()
    {
        const int N = 8, C = 16, S = 200;
        float[] x = TestUtil.Random(N * C * S, 9);
        float[] gamma = TestUtil.Random(C, 10);
        float[] beta = TestUtil.Random(C, 11);
        float[] go = TestUtil.Random(N * C * S, 12);
        (float[] Y, float[] Mean, float[] Inv, float[] Gi, float[] Gg) Run(int threads)
        {
            int keep = KernelParallel.MaxThreads;
            try
            {
                KernelParallel.MaxThreads = threads;
                var y = new float[x.Length];
                var mean = new float[C];
                var inv = new float[C];
                BatchNorm.ForwardTraining(x, gamma, beta, N, C, S, 1e-5f, y, mean, inv);
                var gi = new float[x.Length];
                var gg = new float[C];
                BatchNorm.Backward(go, x, gamma, mean, inv, N, C, S, gi, gg, new float[C]);
                return (y, mean, inv, gi, gg);
            }
            finally
            {
                KernelParallel.MaxThreads = keep;
            }
        }

        var one = Run(1);
        var two = Run(2);
        Assert.Equal(one.Y, two.Y);
        Assert.Equal(one.Mean, two.Mean);
        Assert.Equal(one.Inv, two.Inv);
        Assert.Equal(one.Gi, two.Gi);
        Assert.Equal(one.Gg, two.Gg);
    }

    [Fact]
    public void BatchNorm_InferenceAndRunningStats_FollowPyTorch()
    {
        const int N = 2, C = 3, S = 5;
        float[] x = TestUtil.Random(N * C * S, 13);
        float[] rm = [0.1f, -0.2f, 0.3f];
        float[] rv = [1.5f, 0.5f, 2f];
        float[] gamma = [1f, 2f, 0.5f];
        float[] beta = [0f, 1f, -1f];
        var y = new float[x.Length];
        BatchNorm.ForwardInference(x, rm, rv, gamma, beta, N, C, S, 1e-5f, y);
        for (int i = 0; i < x.Length; i++)
        {
            int ch = i / S % C;
            double expected = ((x[i] - rm[ch]) / Math.Sqrt(rv[ch] + 1e-5) * gamma[ch]) + beta[ch];
            Assert.True(Math.Abs(y[i] - expected) <= 1e-5 + (1e-4 * Math.Abs(expected)));
        }

        float[] runMean = [0f, 0f, 0f];
        float[] runVar = [1f, 1f, 1f];
        BatchNorm.UpdateRunningStats([1f, 2f, 3f], [4f, 5f, 6f], 0.1f, runMean, runVar);
        Assert.Equal(0.1f, runMean[0], 6);
        Assert.Equal(0.3f, runMean[2], 6);
        Assert.Equal(1.3f, runVar[0], 6);
    }

    [Fact]
    public void BatchNorm_SingleValuePerChannel_Throws() =>
        Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTraining(new float[3], [], [], 1, 3, 1, 1e-5f, new float[3], new float[3], new float[3]));

    [Theory]
    [InlineData(1, 5, 3, 5)]
    [InlineData(2, 7, 4, 4)]
    [InlineData(2, 3, 2, 1)]
    [InlineData(1, 4, 6, 2)]
    [InlineData(3, 6, 1, 7)]
    public void Lrn_ForwardBackward_MatchReferenceAndCentralDifferences(int n, int c, int spatial, int size)
    {
        int len = n * c * spatial;
        const float Alpha = 0.3f, Beta = 0.75f, K = 1.5f;
        float[] x = TestUtil.Random(len, 21);
        var y = new float[len];
        LocalResponseNorm.Forward(x, n, c, spatial, size, Alpha, Beta, K, y);
        var yr = new double[len];
        NormReference.LrnForward<double>(TestUtil.ToDouble(x), n, c, spatial, size, Alpha, Beta, K, yr);
        TestUtil.AssertClose(y, yr, "lrn");

        float[] go = TestUtil.Random(len, 22);
        var gi = new float[len];
        LocalResponseNorm.Backward(go, x, n, c, spatial, size, Alpha, Beta, K, gi);
        var gir = new double[len];
        NormReference.LrnBackward<double>(TestUtil.ToDouble(go), TestUtil.ToDouble(x), n, c, spatial, size, Alpha, Beta, K, gir);
        TestUtil.AssertClose(gi, gir, "lrn'");

        TestUtil.CheckGradient(
            TestUtil.ToDouble(x),
            len,
            xs =>
            {
                var yy = new double[len];
                NormReference.LrnForward<double>(xs, n, c, spatial, size, Alpha, Beta, K, yy);
                return yy;
            },
            (xs, r) =>
            {
                var gg = new double[len];
                NormReference.LrnBackward<double>(r, xs, n, c, spatial, size, Alpha, Beta, K, gg);
                return gg;
            });
    }

    [Fact]
    public void Lrn_EvenSize_WindowIsAsymmetricLikePyTorch()
    {
        // size 2: window of channel c is [c − 1, c]; channel 0 sees only itself.
        float[] x = [1f, 2f, 3f];
        var y = new float[3];
        LocalResponseNorm.Forward(x, 1, 3, 1, 2, 1f, 1f, 0f, y);
        Assert.Equal(1f / (0.5f * 1f), y[0], 6);
        Assert.Equal(2f / (0.5f * 5f), y[1], 6);
        Assert.Equal(3f / (0.5f * 13f), y[2], 6);
    }
}
