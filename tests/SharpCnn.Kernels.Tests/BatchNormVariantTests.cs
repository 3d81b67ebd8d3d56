namespace SharpCnn.Kernels.Tests;

/// <summary>Both batch-norm variants, forced, against the double reference at ragged sizes, and the vector one's thread identity.</summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class BatchNormVariantTests
{
    // n, c, spatial, affine, offset: spatial covers the scalar tail only (1, 5, 15), whole vectors (16, 64), vector
    // blocks with tails (19, 33, 200), more than one 1024-float block (1100, 2053, 3136 = 56×56).
    public static TheoryData<int, int, int, bool, float> Sizes => new()
    {
        { 1, 3, 5, true, 0f },
        { 3, 2, 1, false, 0f },
        { 4, 5, 19, true, 0f },
        { 2, 1, 33, false, 0f },
        { 5, 9, 16, true, 0f },
        { 2, 8, 15, true, 0f },
        { 3, 4, 64, false, 0f },
        { 2, 3, 200, true, 0f },
        { 3, 2, 1100, true, 0f },
        { 2, 3, 2053, true, 0f },
        { 2, 10, 3136, true, 0f },
        { 4, 3, 1100, true, 100f },
        { 64, 2, 1, true, 3f },
    };

    [Theory]
    [MemberData(nameof(Sizes))]
    public void BatchNorm_EachVariant_MatchesReference(int n, int c, int spatial, bool affine, float offset)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 1, -3f, 5f).Select(v => v + offset).ToArray();
        float[] gamma = affine ? TestUtil.Random(c, 2, 0.5f, 2f) : [];
        float[] beta = affine ? TestUtil.Random(c, 3) : [];
        float[] go = TestUtil.Random(len, 4);
        var (yr, meanR, invR, gir, ggr, gbr) = BatchNormExpected.Of(x, gamma, beta, go, n, c, spatial);
        double m = n * spatial;
        double[] unbiasedR = invR.Select(v => ((1 / (v * v)) - 1e-5) * m / (m - 1)).ToArray();

        foreach ((bool scalar, bool stream) in new[] { (true, false), (false, false), (false, true) })
        {
            string what = scalar ? "scalar" : stream ? "vector, streaming stores" : "vector";
            var y = new float[len];
            var mean = new float[c];
            var inv = new float[c];
            var uvar = new float[c];
            var gi = new float[len];
            var gg = new float[c];
            var gb = new float[c];
            try
            {
                BatchNorm.ForceScalarOverride = scalar;
                BatchNormVector.StreamingFloatsOverride = stream ? 0 : null;
                Assert.Equal(scalar ? BatchNorm.ScalarVariantName : BatchNorm.VectorVariantName, BatchNorm.SelectedVariant);
                BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, y, mean, inv, uvar);
                BatchNorm.Backward(go, x, gamma, mean, inv, n, c, spatial, gi, affine ? gg : [], affine ? gb : []);
            }
            finally
            {
                BatchNorm.ForceScalarOverride = null;
                BatchNormVector.StreamingFloatsOverride = null;
            }

            TestUtil.AssertClose(y, yr, $"{what} y");
            TestUtil.AssertClose(mean, meanR, $"{what} mean");
            TestUtil.AssertClose(inv, invR, $"{what} invStd");
            TestUtil.AssertClose(uvar, unbiasedR, $"{what} unbiased var");
            TestUtil.AssertClose(gi, gir, $"{what} gi");
            if (affine)
            {
                TestUtil.AssertClose(gg, ggr, $"{what} gamma'");
                TestUtil.AssertClose(gb, gbr, $"{what} beta'");
            }
        }
    }

    [Theory]
    [InlineData(2, 3, 37, true)]
    [InlineData(3, 17, 1100, false)]
    [InlineData(1, 2, 1, true)]
    public void BatchNormInference_EachVariant_MatchesFormula(int n, int c, int spatial, bool affine)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 5);
        float[] rm = TestUtil.Random(c, 6);
        float[] rv = TestUtil.Random(c, 7, 0.2f, 3f);
        float[] gamma = affine ? TestUtil.Random(c, 8, 0.5f, 2f) : [];
        float[] beta = affine ? TestUtil.Random(c, 9) : [];
        var expected = new double[len];
        for (int i = 0; i < len; i++)
        {
            int ch = i / spatial % c;
            expected[i] = ((x[i] - rm[ch]) / Math.Sqrt(rv[ch] + 1e-5) * (affine ? gamma[ch] : 1.0)) + (affine ? beta[ch] : 0.0);
        }

        foreach (bool scalar in new[] { true, false })
        {
            var y = new float[len];
            try
            {
                BatchNorm.ForceScalarOverride = scalar;
                BatchNorm.ForwardInference(x, rm, rv, gamma, beta, n, c, spatial, 1e-5f, y);
            }
            finally
            {
                BatchNorm.ForceScalarOverride = null;
            }

            TestUtil.AssertClose(y, expected, scalar ? "scalar" : "vector");
        }
    }

    /// <summary>
    /// 1, 2 and 3 threads give the same bits; with 2 (c = 5) and 3 threads (c = 5, 9) the few-channel path splits
    /// planes instead of channels, so this also checks that both paths agree bit for bit.
    /// </summary>
    [Theory]
    [InlineData(32, 5, 700)]
    [InlineData(16, 9, 1100)]
    [InlineData(8, 16, 200)]
    [InlineData(40, 1, 1500)]
    public void BatchNormVector_ThreadCountsAndPaths_BitwiseIdentical(int n, int c, int spatial)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 11, -1f, 3f);
        float[] gamma = TestUtil.Random(c, 12);
        float[] beta = TestUtil.Random(c, 13);
        float[] go = TestUtil.Random(len, 14);
        float[] rm = TestUtil.Random(c, 15);
        float[] rv = TestUtil.Random(c, 16, 0.5f, 2f);
        float[][] Run(int threads, bool stream = false)
        {
            int keep = KernelParallel.MaxThreads;
            try
            {
                KernelParallel.MaxThreads = threads;
                BatchNorm.ForceScalarOverride = false;
                BatchNormVector.StreamingFloatsOverride = stream ? 0 : null;
                var y = new float[len];
                var mean = new float[c];
                var inv = new float[c];
                var uvar = new float[c];
                BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, y, mean, inv, uvar);
                var gi = new float[len];
                var gg = new float[c];
                var gb = new float[c];
                BatchNorm.Backward(go, x, gamma, mean, inv, n, c, spatial, gi, gg, gb);
                var ye = new float[len];
                BatchNorm.ForwardInference(x, rm, rv, gamma, beta, n, c, spatial, 1e-5f, ye);
                return [y, mean, inv, uvar, gi, gg, gb, ye];
            }
            finally
            {
                BatchNorm.ForceScalarOverride = null;
                BatchNormVector.StreamingFloatsOverride = null;
                KernelParallel.MaxThreads = keep;
            }
        }

        // Streaming stores change how outputs are written (aligned head, then non-temporal stores), never their bits.
        float[][] one = Run(1);
        foreach ((int threads, bool stream) in new[] { (2, false), (3, false), (1, true), (2, true) })
        {
            float[][] other = Run(threads, stream);
            for (int k = 0; k < one.Length; k++)
            {
                Assert.True(one[k].AsSpan().SequenceEqual(other[k]), $"output {k} differs between 1 thread and {threads} threads (streaming {stream})");
            }
        }
    }

    /// <summary>The fused ReLU equals batch norm followed by the ReLU kernels, bit for bit, in both variants and directions.</summary>
    [Theory]
    [InlineData(3, 5, 37, true)]
    [InlineData(2, 9, 1100, false)]
    [InlineData(16, 2, 49, true)]
    [InlineData(4, 3, 1, true)]
    public void BatchNormRelu_EachVariant_EqualsBatchNormThenRelu(int n, int c, int spatial, bool affine)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 21, -2f, 3f);
        float[] gamma = affine ? TestUtil.Random(c, 22, -1f, 2f) : [];
        float[] beta = affine ? TestUtil.Random(c, 23, -0.3f, 0.3f) : [];
        float[] go = TestUtil.Random(len, 24);
        float[] rm = TestUtil.Random(c, 25);
        float[] rv = TestUtil.Random(c, 26, 0.5f, 2f);
        foreach ((bool scalar, bool stream) in new[] { (true, false), (false, false), (false, true) })
        {
            try
            {
                BatchNorm.ForceScalarOverride = scalar;
                BatchNormVector.StreamingFloatsOverride = stream ? 0 : null;
                var z = new float[len];
                var mean = new float[c];
                var inv = new float[c];
                BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, z, mean, inv);
                var yComposed = new float[len];
                Elementwise.Relu(z, yComposed);
                var gz = new float[len];
                Elementwise.ReluBackward(go, z, gz);
                var giComposed = new float[len];
                var ggComposed = new float[c];
                var gbComposed = new float[c];
                BatchNorm.Backward(gz, x, gamma, mean, inv, n, c, spatial, giComposed, ggComposed, gbComposed);

                var y = new float[len];
                var mean2 = new float[c];
                var inv2 = new float[c];
                BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, y, mean2, inv2, relu: true);
                var gi = new float[len];
                var gg = new float[c];
                var gb = new float[c];
                BatchNorm.Backward(go, x, gamma, mean2, inv2, n, c, spatial, gi, gg, gb, reluOutput: y);
                string what = scalar ? "scalar" : stream ? "vector, streaming" : "vector";
                Assert.True(yComposed.AsSpan().SequenceEqual(y), $"{what}: forward");
                Assert.True(Array.Exists(y, v => v == 0f), $"{what}: no output clipped by the ReLU");
                Assert.True(giComposed.AsSpan().SequenceEqual(gi), $"{what}: input gradient");
                Assert.True(ggComposed.AsSpan().SequenceEqual(gg), $"{what}: gamma gradient");
                Assert.True(gbComposed.AsSpan().SequenceEqual(gb), $"{what}: beta gradient");

                var e = new float[len];
                BatchNorm.ForwardInference(x, rm, rv, gamma, beta, n, c, spatial, 1e-5f, e);
                Elementwise.Relu(e, e);
                var eFused = new float[len];
                BatchNorm.ForwardInference(x, rm, rv, gamma, beta, n, c, spatial, 1e-5f, eFused, relu: true);
                Assert.True(e.AsSpan().SequenceEqual(eFused), $"{what}: inference");
            }
            finally
            {
                BatchNorm.ForceScalarOverride = null;
                BatchNormVector.StreamingFloatsOverride = null;
            }
        }
    }

    /// <summary>
    /// The fused residual add (with and without ReLU) equals batch norm, then the add (+ ReLU) kernel, then their
    /// backward kernels, bit for bit: output, statistics, input, γ and β gradients, and the residual's gradient (the
    /// masked incoming gradient), in both variants, with streaming stores, and with the residual gradient at a
    /// different alignment from the input gradient (it then takes ordinary stores).
    /// </summary>
    [Theory]
    [InlineData(3, 5, 37, true, true)]
    [InlineData(2, 9, 1100, false, true)]
    [InlineData(16, 2, 49, true, true)]
    [InlineData(4, 3, 1, true, true)]
    [InlineData(2, 10, 3136, true, true)]
    [InlineData(3, 4, 77, true, false)]
    public void BatchNormAddRelu_EachVariant_EqualsBatchNormThenAddRelu(int n, int c, int spatial, bool affine, bool relu)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 31, -2f, 3f);
        float[] gamma = affine ? TestUtil.Random(c, 32, -1f, 2f) : [];
        float[] beta = affine ? TestUtil.Random(c, 33, -0.3f, 0.3f) : [];
        float[] r = TestUtil.Random(len, 34, -1.5f, 1.5f);
        float[] go = TestUtil.Random(len, 35);
        foreach ((bool scalar, bool stream, int shift) in new[] { (true, false, 0), (false, false, 0), (false, true, 0), (false, true, 1), (false, false, 3) })
        {
            string what = $"{(scalar ? "scalar" : stream ? "vector, streaming" : "vector")}, residual gradient shifted by {shift}";
            try
            {
                BatchNorm.ForceScalarOverride = scalar;
                BatchNormVector.StreamingFloatsOverride = stream ? 0 : null;
                var t = new float[len];
                var mean = new float[c];
                var inv = new float[c];
                var uvar = new float[c];
                BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, t, mean, inv, uvar);
                var yComposed = new float[len];
                if (relu)
                {
                    Elementwise.AddRelu(t, r, yComposed);
                }
                else
                {
                    Elementwise.Add(t, r, yComposed);
                }

                var gz = new float[len];
                if (relu)
                {
                    Elementwise.ReluBackward(go, yComposed, gz);
                }
                else
                {
                    go.CopyTo(gz, 0);
                }

                var giComposed = new float[len];
                var ggComposed = new float[c];
                var gbComposed = new float[c];
                BatchNorm.Backward(gz, x, gamma, mean, inv, n, c, spatial, giComposed, ggComposed, gbComposed);

                var y = new float[len];
                var mean2 = new float[c];
                var inv2 = new float[c];
                var uvar2 = new float[c];
                BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, y, mean2, inv2, uvar2, relu, r);
                var gi = new float[len];
                var gg = new float[c];
                var gb = new float[c];
                var grStore = new float[len + shift];
                Span<float> gr = grStore.AsSpan(shift, len);
                BatchNorm.Backward(go, x, gamma, mean2, inv2, n, c, spatial, gi, gg, gb, relu ? y : default, gr);
                Assert.True(yComposed.AsSpan().SequenceEqual(y), $"{what}: forward");
                Assert.True(mean.AsSpan().SequenceEqual(mean2) && inv.AsSpan().SequenceEqual(inv2) && uvar.AsSpan().SequenceEqual(uvar2), $"{what}: statistics");
                Assert.True(!relu || Array.Exists(y, v => v == 0f), $"{what}: no output clipped by the ReLU");
                Assert.True(giComposed.AsSpan().SequenceEqual(gi), $"{what}: input gradient");
                Assert.True(ggComposed.AsSpan().SequenceEqual(gg), $"{what}: gamma gradient");
                Assert.True(gbComposed.AsSpan().SequenceEqual(gb), $"{what}: beta gradient");
                Assert.True(gz.AsSpan().SequenceEqual(gr), $"{what}: residual gradient");
            }
            finally
            {
                BatchNorm.ForceScalarOverride = null;
                BatchNormVector.StreamingFloatsOverride = null;
            }
        }
    }

    /// <summary>The fused residual path gives the same bits for 1, 2 and 3 threads and either work split (c = 5 splits planes at 2 and 3 threads).</summary>
    [Theory]
    [InlineData(32, 5, 700)]
    [InlineData(8, 16, 203)]
    public void BatchNormAddRelu_ThreadCountsAndPaths_BitwiseIdentical(int n, int c, int spatial)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 41, -1f, 3f);
        float[] gamma = TestUtil.Random(c, 42);
        float[] beta = TestUtil.Random(c, 43);
        float[] r = TestUtil.Random(len, 44);
        float[] go = TestUtil.Random(len, 45);
        float[][] Run(int threads, bool stream)
        {
            int keep = KernelParallel.MaxThreads;
            try
            {
                KernelParallel.MaxThreads = threads;
                BatchNorm.ForceScalarOverride = false;
                BatchNormVector.StreamingFloatsOverride = stream ? 0 : null;
                var y = new float[len];
                var mean = new float[c];
                var inv = new float[c];
                var uvar = new float[c];
                BatchNorm.ForwardTraining(x, gamma, beta, n, c, spatial, 1e-5f, y, mean, inv, uvar, relu: true, residual: r);
                var gi = new float[len];
                var gg = new float[c];
                var gb = new float[c];
                var gr = new float[len];
                BatchNorm.Backward(go, x, gamma, mean, inv, n, c, spatial, gi, gg, gb, y, gr);
                return [y, mean, inv, uvar, gi, gg, gb, gr];
            }
            finally
            {
                BatchNorm.ForceScalarOverride = null;
                BatchNormVector.StreamingFloatsOverride = null;
                KernelParallel.MaxThreads = keep;
            }
        }

        float[][] one = Run(1, false);
        foreach ((int threads, bool stream) in new[] { (2, false), (3, false), (1, true), (2, true), (3, true) })
        {
            float[][] other = Run(threads, stream);
            for (int k = 0; k < one.Length; k++)
            {
                Assert.True(one[k].AsSpan().SequenceEqual(other[k]), $"output {k} differs between 1 thread and {threads} threads (streaming {stream})");
            }
        }
    }

    [Fact]
    public void BatchNormAddRelu_ResidualOfWrongLength_Throws()
    {
        var y = new float[24];
        var stats = new float[2];
        var ex = Assert.Throws<ArgumentException>(() => BatchNorm.ForwardTraining(new float[24], [], [], 3, 2, 4, 1e-5f, y, stats, new float[2], relu: true, residual: new float[23]));
        Assert.Contains("residual", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => BatchNorm.Backward(new float[24], new float[24], [], stats, stats, 3, 2, 4, y, [], [], y, new float[25]));
        Assert.Contains("gradResidual", ex.Message, StringComparison.Ordinal);
    }
}
