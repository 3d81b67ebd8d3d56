using SharpCnn.Functional;

namespace SharpCnn.Tests.Tensors;

public class TensorTests
{
    [Fact]
    public void Creation_ShapesAndValues_AsTorch()
    {
        Assert.Equal(new[] { 2, 3 }, Tensor.Zeros(2, 3).Shape);
        Assert.All(Tensor.Ones(4).ToArray(), v => Assert.Equal(1f, v));
        Assert.All(Tensor.Full([2, 2], 7f).ToArray(), v => Assert.Equal(7f, v));
        Assert.Equal(new float[] { 0, 1, 2, 3 }, Tensor.Arange(4).ToArray());
        Assert.Equal(new float[] { 1, 1.5f, 2, 2.5f }, Tensor.Arange(1, 3, 0.5f).ToArray());
        Assert.Equal(5f, Tensor.Scalar(5).Item());
        Assert.Empty(Tensor.Scalar(5).Shape);
    }

    [Fact]
    public void Rand_SameSeed_SameValues()
    {
        float[] a = Tensor.Rand(new Generator(42), 100).ToArray();
        float[] b = Tensor.Rand(new Generator(42), 100).ToArray();
        float[] c = Tensor.Rand(new Generator(43), 100).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.All(a, v => Assert.InRange(v, 0f, 1f));
    }

    [Fact]
    public void Randn_LargeSample_HasUnitMoments()
    {
        float[] x = Tensor.Randn(new Generator(1), 100_000).ToArray();
        double mean = x.Average();
        double std = Math.Sqrt(x.Select(v => (v - mean) * (v - mean)).Average());
        Assert.InRange(mean, -0.02, 0.02);
        Assert.InRange(std, 0.98, 1.02);
    }

    [Fact]
    public void FillNormal_FollowsTheNormalDistribution_BothBoxMullerHalves()
    {
        // Compare the empirical CDF with Φ at a few points (Kolmogorov–Smirnov style), separately for the
        // cos and sin halves of every 16-value block so a broken half cannot hide behind the other.
        float[] x = new float[160_000];
        new Generator(11).FillNormal(x);
        foreach (int half in new[] { 0, 8 })
        {
            double[] sample = [.. x.Where((_, i) => i % 16 >= half && i % 16 < half + 8).Select(v => (double)v)];
            foreach (double z in new[] { -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0 })
            {
                double cdf = sample.Count(v => v <= z) / (double)sample.Length;
                double phi = 0.5 * (1 + Erf(z / Math.Sqrt(2)));
                Assert.True(Math.Abs(cdf - phi) < 0.006, $"half {half}: P(x ≤ {z}) = {cdf}, Φ = {phi}");
            }
        }
    }

    [Fact]
    public void FillNormal_DependsOnlyOnStateAndLength_AndAppliesMeanAndStd()
    {
        float[] whole = new float[37];
        float[] shortRun = new float[21];
        new Generator(3).FillNormal(whole);
        new Generator(3).FillNormal(shortRun);
        Assert.Equal(whole[..16], shortRun[..16]);   // full blocks agree
        Assert.Equal(whole[16..21], shortRun[16..]); // a partial block keeps the head of a whole one
        float[] scaled = new float[37];
        new Generator(3).FillNormal(scaled, mean: 2, std: 0.5);
        for (int i = 0; i < whole.Length; i++)
        {
            Assert.Equal(2 + (0.5 * whole[i]), scaled[i], 5e-6);
        }

        Assert.NotEqual(whole, Tensor.Randn(new Generator(4), 37).ToArray());
    }

    [Fact]
    public void UseAsDefault_ScopesTheDefaultToThisThread_AndNestedScopesRestore()
    {
        Generator processDefault = Generator.Default;
        var outer = new Generator(1);
        var inner = new Generator(2);
        using (Generator.UseAsDefault(outer))
        {
            Assert.Same(outer, Generator.Default);
            Generator? seenElsewhere = null;
            var other = new Thread(() => seenElsewhere = Generator.Default);
            other.Start();
            other.Join();
            Assert.Same(processDefault, seenElsewhere);
            IDisposable scope = Generator.UseAsDefault(inner);
            Assert.Same(inner, Generator.Default);
            Assert.Equal(Tensor.Randn(new Generator(2), 5).ToArray(), Tensor.Randn(5).ToArray());
            scope.Dispose();
            scope.Dispose();   // twice is harmless
            Assert.Same(outer, Generator.Default);
        }

        Assert.Same(processDefault, Generator.Default);
    }

    private static double Erf(double x)
    {
        // Abramowitz–Stegun 7.1.26, |error| < 1.5e-7: ample for a 0.006 tolerance.
        double t = 1 / (1 + (0.3275911 * Math.Abs(x)));
        double poly = ((((((((1.061405429 * t) - 1.453152027) * t) + 1.421413741) * t) - 0.284496736) * t) + 0.254829592) * t;
        double y = 1 - (poly * Math.Exp(-x * x));
        return Math.Sign(x) * y;
    }

    [Fact]
    public void Generator_StateRoundTrip_ContinuesSequence()
    {
        var g = new Generator(7);
        g.NextUInt64();
        ulong[] state = g.State;
        ulong expected = g.NextUInt64();
        var h = new Generator { State = state };
        Assert.Equal(expected, h.NextUInt64());
    }

    [Fact]
    public void FromArray_WrongLength_NamesBothSizes()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.FromArray([1f, 2f, 3f], 2, 2));
        Assert.Contains("3 values", e.Message, StringComparison.Ordinal);
        Assert.Contains("(2, 2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Reshape_InfersMinusOne_AndSharesStorage()
    {
        Tensor t = Tensor.Arange(6);
        Tensor r = t.Reshape(2, -1);
        Assert.Equal(new[] { 2, 3 }, r.Shape);
        r.Data[0] = 42;
        Assert.Equal(42f, t.Data[0]);
        Assert.Throws<ArgumentException>(() => t.Reshape(4, -1));
    }

    [Fact]
    public void ShapeOps_SqueezeUnsqueezeFlatten_AsTorch()
    {
        Tensor t = Tensor.Zeros(2, 1, 3, 1);
        Assert.Equal(new[] { 2, 3 }, t.Squeeze().Shape);
        Assert.Equal(new[] { 2, 3, 1 }, t.Squeeze(1).Shape);
        Assert.Equal(new[] { 1, 2, 1, 3, 1 }, t.Unsqueeze(0).Shape);
        Assert.Equal(new[] { 2, 3 }, t.Flatten(1).Shape);
        Assert.Equal(new[] { 6 }, t.Flatten().Shape);
    }

    [Fact]
    public void DimensionArguments_OutOfRange_NameTheValidRange()
    {
        Tensor t = Tensor.Zeros(2, 3);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => t.Sum(2));
        Assert.Contains("valid: -2 to 1", e.Message, StringComparison.Ordinal);
        Tensor scalar = Tensor.Scalar(1);
        Assert.Throws<ArgumentOutOfRangeException>(() => scalar.Narrow(0, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => scalar.Size(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => scalar.Max(0));
        Assert.Equal(new[] { 1 }, scalar.Unsqueeze(0).Shape);
        Assert.Equal(new[] { 1 }, scalar.Flatten().Shape);
    }

    [Fact]
    public void Indexer_ReadsRowMajor_AndChecksBounds()
    {
        Tensor t = Tensor.Arange(12).Reshape(3, 4);
        Assert.Equal(6f, t[1, 2]);
        Assert.Equal(11f, t[-1, -1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => t[3, 0]);
    }

    [Fact]
    public void Broadcast_IncompatibleShapes_NamesShapes()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Contains("(2, 3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("(4)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ArgmaxAndComparison_FirstMaximumOnTies()
    {
        Tensor t = Tensor.FromArray([1f, 3f, 3f, 0f, 5f, 2f], 2, 3);
        Assert.Equal(new float[] { 1, 1 }, t.Argmax(1).ToArray());
        Assert.Equal(new float[] { 0, 1, 1, 0, 1, 0 }, t.Gt(Tensor.Scalar(2)).ToArray());
        Assert.Equal(5f, t.Max().Item());
    }

    [Fact]
    public void MaxGradient_LandsOnFirstArgmaxOnly()
    {
        Tensor t = Tensor.FromArray([2f, 2f, 1f]);
        t.RequiresGrad = true;
        t.Max(0).Values.Backward();
        Assert.Equal(new float[] { 1, 0, 0 }, t.Grad!.ToArray());
    }

    [Fact]
    public void MaxPoolGradient_LandsOnWindowArgmax()
    {
        // One 2×2 window with values 1, 4 / 3, 4: the tie rule picks the first maximum in row-major order.
        Tensor x = Tensor.FromArray([1f, 4f, 3f, 4f], 1, 1, 2, 2);
        x.RequiresGrad = true;
        (Tensor y, Tensor idx) = F.MaxPool2dWithIndices(x, 2);
        Assert.Equal(1f, idx.Item());
        y.Sum().Backward();
        Assert.Equal(new float[] { 0, 1, 0, 0 }, x.Grad!.ToArray());
    }

    [Fact]
    public void MaxPool2d_NoGradOrNoRequiresGrad_SameOutputBitwiseAsRecordedPath()
    {
        // ResNet's 3×3 stride-2 pad-1 pool: without a gradient to record the indices are skipped (a separate kernel).
        float[] values = Tensor.Randn(new Generator(7), 2, 3, 17, 22).ToArray();
        values[5] = -0f;
        values[6] = 0f;
        values[40] = float.NaN;
        Tensor recordedInput = Tensor.FromArray((float[])values.Clone(), 2, 3, 17, 22);
        recordedInput.RequiresGrad = true;
        float[] expected = F.MaxPool2d(recordedInput, 3, 2, 1).ToArray();
        float[] plain = F.MaxPool2d(Tensor.FromArray((float[])values.Clone(), 2, 3, 17, 22), 3, 2, 1).ToArray();
        float[] noGrad;
        using (Autograd.Autograd.NoGrad())
        {
            noGrad = F.MaxPool2d(recordedInput, 3, 2, 1).ToArray();
        }

        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), plain.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(expected.Select(BitConverter.SingleToInt32Bits), noGrad.Select(BitConverter.SingleToInt32Bits));
    }

    [Fact]
    public void MaxPool1d_ReturnIndices_ArePositionsAlongL()
    {
        // torch: F.max_pool1d([[[1, 5, 2, 2, 7, 0]]], 2, return_indices=True) → values [5, 2, 7], indices [1, 2, 4].
        Tensor x = Tensor.FromArray([1f, 5f, 2f, 2f, 7f, 0f], 1, 1, 6);
        (Tensor y, Tensor idx) = F.MaxPool1dWithIndices(x, 2);
        Assert.Equal(new float[] { 5, 2, 7 }, y.ToArray());
        Assert.Equal(new float[] { 1, 2, 4 }, idx.ToArray());
        Assert.Equal(new[] { 1, 1, 3 }, idx.Shape);
    }

    [Fact]
    public void FluentForms_EqualFunctionalForms()
    {
        Tensor x = Tensor.Randn(new Generator(4), 2, 3, 4, 4);
        Assert.Equal(F.Relu(x).ToArray(), x.Relu().ToArray());
        Assert.Equal(F.Softmax(x, 1).ToArray(), x.Softmax(1).ToArray());
        Assert.Equal(F.AdaptiveAvgPool2d(x, 1).ToArray(), x.AdaptiveAvgPool2d(1).ToArray());
        Assert.Equal(new[] { 2, 3 }, x.Relu().AdaptiveAvgPool2d(1).Flatten(1).Shape);
    }

    [Fact]
    public void Backward_OnTensorWithoutGrad_ExplainsWhy()
    {
        var e = Assert.Throws<InvalidOperationException>(() => (Tensor.Ones(2) * 3f).Sum().Backward());
        Assert.Contains("does not require grad", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Backward_NonScalarWithoutGradient_Throws()
    {
        Tensor x = Tensor.Ones(3);
        x.RequiresGrad = true;
        Assert.Throws<InvalidOperationException>(() => (x * 2f).Backward());
        (x * 2f).Backward(Tensor.Ones(3));
        Assert.Equal(new float[] { 2, 2, 2 }, x.Grad!.ToArray());
    }

    [Fact]
    public void RequiresGrad_OnNonLeaf_Throws()
    {
        Tensor x = Tensor.Ones(3);
        x.RequiresGrad = true;
        Tensor y = x * 2f;
        Assert.Throws<InvalidOperationException>(() => y.RequiresGrad = false);
        Assert.False(y.Detach().RequiresGrad);
    }

    [Fact]
    public void ZeroGrad_ClearsAccumulation()
    {
        Tensor x = Tensor.Ones(2);
        x.RequiresGrad = true;
        x.Sum().Backward();
        x.Sum().Backward();
        Assert.Equal(new float[] { 2, 2 }, x.Grad!.ToArray());
        x.ZeroGrad();
        x.Sum().Backward();
        Assert.Equal(new float[] { 1, 1 }, x.Grad!.ToArray());
    }

    [Fact]
    public void ToString_Small_ShowsValuesAndShape()
    {
        Tensor t = Tensor.FromArray([0.5f, -1.25f, 2f, 3f], 2, 2);
        Assert.Equal("tensor([[ 0.5000, -1.2500],\n        [ 2.0000,  3.0000]], shape=(2, 2))", t.ToString());
        Assert.Equal("tensor([0., 1., 2.], shape=(3))", Tensor.Arange(3).ToString());
    }

    [Fact]
    public void ToString_Large_Abbreviates()
    {
        string s = Tensor.Arange(2000).ToString();
        Assert.Equal("tensor([   0.,    1.,    2., ..., 1997., 1998., 1999.], shape=(2000))", s);
    }

    [Fact]
    public void ToString_WithGrad_ShowsGradFn()
    {
        Tensor x = Tensor.Ones(1);
        x.RequiresGrad = true;
        Assert.EndsWith("requires_grad=True)", x.ToString(), StringComparison.Ordinal);
        Assert.Contains("grad_fn=<AddBackward>", (x + x).ToString(), StringComparison.Ordinal);
    }
}
