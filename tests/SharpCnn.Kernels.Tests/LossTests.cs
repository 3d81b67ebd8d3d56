namespace SharpCnn.Kernels.Tests;

public class LossTests
{
    [Theory]
    [InlineData(1, 5, 1, false)]
    [InlineData(3, 7, 1, true)]
    [InlineData(2, 4, 3, false)]
    [InlineData(2, 1, 5, true)]
    [InlineData(4, 19, 2, true)]
    public void Softmax_ForwardBackward_MatchReference(int outer, int dim, int inner, bool log)
    {
        int len = outer * dim * inner;
        float[] x = TestUtil.Random(len, 1, -8f, 8f);
        x[0] += 60f; // large logits must not overflow
        var y = new float[len];
        float[] g = TestUtil.Random(len, 2);
        var gi = new float[len];
        if (log)
        {
            LogSoftmax.Forward(x, outer, dim, inner, y);
            LogSoftmax.Backward(g, y, outer, dim, inner, gi);
        }
        else
        {
            Softmax.Forward(x, outer, dim, inner, y);
            Softmax.Backward(g, y, outer, dim, inner, gi);
        }

        var yr = new double[len];
        LossReference.SoftmaxForward<double>(TestUtil.ToDouble(x), outer, dim, inner, log, yr);
        TestUtil.AssertClose(y, yr, "y");
        var gir = new double[len];
        LossReference.SoftmaxBackward<double>(TestUtil.ToDouble(g), TestUtil.ToDouble(x), outer, dim, inner, log, gir);
        TestUtil.AssertClose(gi, gir, "gi");

        double[] xs0 = TestUtil.ToDouble(TestUtil.Random(len, 3));
        TestUtil.CheckGradient(
            xs0,
            len,
            xs =>
            {
                var yy = new double[len];
                LossReference.SoftmaxForward<double>(xs, outer, dim, inner, log, yy);
                return yy;
            },
            (xs, r) =>
            {
                var gg = new double[len];
                LossReference.SoftmaxBackward<double>(r, xs, outer, dim, inner, log, gg);
                return gg;
            });
    }

    [Theory]
    [InlineData(0f)]
    [InlineData(0.1f)]
    [InlineData(1f)]
    public void CrossEntropy_WithIgnoreAndSmoothing_MatchesReference(float eps)
    {
        const int Rows = 6, Classes = 5;
        float[] z = TestUtil.Random(Rows * Classes, 4, -5f, 5f);
        int[] t = [0, 4, -100, 2, 3, 1];
        var loss = new float[Rows];
        CrossEntropy.Forward(z, t, Rows, Classes, -100, eps, loss);
        var lossR = new double[Rows];
        LossReference.CrossEntropyForward<double>(TestUtil.ToDouble(z), t, Rows, Classes, -100, eps, lossR);
        TestUtil.AssertClose(loss, lossR, "loss");
        Assert.Equal(0f, loss[2]);

        float[] gl = [0.2f, 0.2f, 0.2f, 0.2f, 0.2f, -1f];
        var gz = new float[Rows * Classes];
        CrossEntropy.Backward(z, t, Rows, Classes, -100, eps, gl, gz);
        var gzr = new double[Rows * Classes];
        LossReference.CrossEntropyBackward<double>(TestUtil.ToDouble(z), t, Rows, Classes, -100, eps, TestUtil.ToDouble(gl), gzr);
        TestUtil.AssertClose(gz, gzr, "grad");

        TestUtil.CheckGradient(
            TestUtil.ToDouble(z),
            Rows,
            zs =>
            {
                var l = new double[Rows];
                LossReference.CrossEntropyForward<double>(zs, t, Rows, Classes, -100, eps, l);
                return l;
            },
            (zs, r) =>
            {
                var g = new double[zs.Length];
                LossReference.CrossEntropyBackward<double>(zs, t, Rows, Classes, -100, eps, r, g);
                return g;
            });
    }

    [Fact]
    public void CrossEntropy_KnownValue_MatchesPyTorch()
    {
        // torch.nn.functional.cross_entropy(torch.tensor([[1., 2., 3.]]), torch.tensor([0])) = 2.4076059644
        var loss = new float[1];
        CrossEntropy.Forward([1f, 2f, 3f], [0], 1, 3, -100, 0f, loss);
        Assert.Equal(2.4076059644f, loss[0], 5);
    }

    [Fact]
    public void CrossEntropy_TargetOutOfRange_Throws() =>
        Assert.Throws<ArgumentException>(() => CrossEntropy.Forward([1f, 2f], [2], 1, 2, -100, 0f, new float[1]));

    [Fact]
    public void Nll_ForwardBackward_PicksTargetAndSkipsIgnored()
    {
        float[] logp = [-1f, -2f, -3f, -0.5f, -1.5f, -2.5f];
        int[] t = [2, -100];
        var loss = new float[2];
        NllLoss.Forward(logp, t, 2, 3, -100, loss);
        Assert.Equal([3f, 0f], loss);
        var g = new float[6];
        Array.Fill(g, 9f);
        NllLoss.Backward([0.5f, 0.5f], t, 2, 3, -100, g);
        Assert.Equal([0f, 0f, -0.5f, 0f, 0f, 0f], g);
    }

    [Fact]
    public void LogSoftmaxThenNll_EqualsCrossEntropy()
    {
        float[] z = TestUtil.Random(12, 8);
        int[] t = [1, 3, 0];
        var logp = new float[12];
        LogSoftmax.Forward(z, 3, 4, 1, logp);
        var nll = new float[3];
        NllLoss.Forward(logp, t, 3, 4, -100, nll);
        var ce = new float[3];
        CrossEntropy.Forward(z, t, 3, 4, -100, 0f, ce);
        TestUtil.AssertClose(nll, TestUtil.ToDouble(ce));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(70)]
    public void Mse_ForwardBackward_MatchDefinition(int n)
    {
        float[] x = TestUtil.Random(n, 1);
        float[] t = TestUtil.Random(n, 2);
        double expected = x.Zip(t, (a, b) => ((double)a - b) * ((double)a - b)).Sum() / n;
        Assert.Equal(expected, MseLoss.Forward(x, t), 5);
        var g = new float[n];
        MseLoss.Backward(x, t, 0.5f, g);
        TestUtil.AssertClose(g, x.Zip(t, (a, b) => 0.5 * 2 * ((double)a - b) / n).ToArray());
    }

    [Fact]
    public void Softmax_AllNegativeInfinityRow_IsNaN()
    {
        var y = new float[2];
        Softmax.Forward([float.NegativeInfinity, float.NegativeInfinity], 1, 2, 1, y);
        Assert.True(float.IsNaN(y[0]) && float.IsNaN(y[1]));
    }
}
