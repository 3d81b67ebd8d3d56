using SharpCnn.Functional;
using SharpCnn.Kernels;
using SharpCnn.Nn;
using SharpCnn.Optim;
using Conv2d = SharpCnn.Nn.Conv2d;
using NoGrad = SharpCnn.Autograd.Autograd;

namespace SharpCnn.Tests.Nn;

/// <summary>
/// <see cref="Conv2d.CallWithBatchNorm"/>: the batch norm folded into the convolution at inference, its accuracy
/// against a double reference, when it applies, and that the cached fold follows every change of the parameters and
/// running statistics.
/// </summary>
public class ConvBatchNormFoldTests
{
    private const double Unit = 1.0 / (1 << 24);

    public static TheoryData<int, int, int, int, int, int, bool> Shapes() => new()
    {
        // N, C_in, H (= W), C_out, kernel, stride, conv bias
        { 2, 16, 9, 16, 3, 1, false },    // ResNet-20 stage 1, ragged map
        { 1, 64, 14, 64, 3, 1, false },   // ResNet-18 layer1 at a smaller map (Winograd)
        { 2, 32, 8, 64, 3, 2, false },    // stage entry, stride 2
        { 1, 128, 7, 128, 3, 1, true },   // layer4-like 7×7, with a conv bias
        { 2, 24, 10, 48, 1, 2, false },   // 1×1 stride-2 projection
        { 1, 3, 23, 8, 7, 2, false },     // the 7×7 stem
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void CallWithBatchNorm_EvalNoGrad_FoldedAndUnfusedWithinSummationBoundOfDoubleReference(int n, int cin, int hw, int cout, int k, int stride, bool convBias)
    {
        (Conv2d conv, BatchNorm2d bn) = Make(cin, cout, k, stride, convBias, seed: 1);
        Tensor x = Tensor.Randn(new Generator(2), n, cin, hw, hw);
        Tensor folded, unfused;
        using (NoGrad.NoGrad())
        {
            folded = conv.CallWithBatchNorm(x, bn);
            unfused = bn.Call(conv.Call(x));
        }

        (double[] exact, double[] magnitude) = DoubleReference(conv, bn, x);
        long terms = (conv.Weight.Numel / cout) + 4;   // K products, the bias, the mean, the scale, β
        AssertWithinBound(folded.ToArray(), exact, magnitude, terms, "folded");
        AssertWithinBound(unfused.ToArray(), exact, magnitude, terms, "unfused");
    }

    [Fact]
    public void CallWithBatchNorm_ResidualAndRelu_EqualsFoldedConvThenAddRelu()
    {
        (Conv2d conv, BatchNorm2d bn) = Make(16, 16, 3, 1, false, seed: 3);
        Tensor x = Tensor.Randn(new Generator(4), 2, 16, 8, 8);
        Tensor r = Tensor.Randn(new Generator(5), 2, 16, 8, 8);
        using (NoGrad.NoGrad())
        {
            Tensor fused = conv.CallWithBatchNorm(x, bn, r, relu: true);
            Tensor plain = conv.CallWithBatchNorm(x, bn);
            Tensor expected = F.AddRelu(plain, r);
            Assert.Equal(expected.ToArray(), fused.ToArray());
            Assert.Contains(fused.ToArray(), v => v == 0f);
        }
    }

    [Fact]
    public void CallWithBatchNorm_SecondCall_ReusesFold()
    {
        (Conv2d conv, BatchNorm2d bn) = Make(8, 8, 3, 1, false, seed: 6);
        Tensor x = Tensor.Randn(new Generator(7), 1, 8, 6, 6);
        using (NoGrad.NoGrad())
        {
            conv.CallWithBatchNorm(x, bn);
            int folds = ConvBatchNormFold.FoldsComputed;
            Tensor again = conv.CallWithBatchNorm(x, bn);
            Assert.Equal(folds, ConvBatchNormFold.FoldsComputed);
            Assert.Equal(conv.CallWithBatchNorm(x, bn).ToArray(), again.ToArray());
        }
    }

    public static TheoryData<string> Changes() => new() { "conv weight", "conv bias", "bn weight", "bn bias", "running mean", "running var", "view of weight", "load_state_dict", "sgd step", "training forward" };

    [Theory]
    [MemberData(nameof(Changes))]
    public void CallWithBatchNorm_ChangeAfterForward_InvalidatesFold(string change)
    {
        (Conv2d conv, BatchNorm2d bn) = Make(8, 8, 3, 1, true, seed: 8);
        Tensor x = Tensor.Randn(new Generator(9), 2, 8, 6, 6);
        float[] before;
        using (NoGrad.NoGrad())
        {
            before = conv.CallWithBatchNorm(x, bn).ToArray();
        }

        int folds = ConvBatchNormFold.FoldsComputed;
        switch (change)
        {
            case "conv weight":
                conv.Weight.Data[5] += 0.5f;
                break;
            case "conv bias":
                conv.Bias!.Data[2] += 0.5f;
                break;
            case "bn weight":
                bn.Weight!.Data[1] *= 2f;
                break;
            case "bn bias":
                bn.Bias!.Data[3] += 1f;
                break;
            case "running mean":
                bn.RunningMean!.Data[0] += 1f;
                break;
            case "running var":
                bn.RunningVar!.Data[4] *= 3f;
                break;
            case "view of weight":
                conv.Weight.Reshape(conv.Weight.Numel).Data[7] -= 0.5f;
                break;
            case "load_state_dict":
                (Conv2d other, _) = Make(8, 8, 3, 1, true, seed: 10);
                conv.LoadStateDict(other.StateDict());
                break;
            case "sgd step":
                conv.CallWithBatchNorm(x, bn).Sum().Backward();   // eval with gradients: the unfused chain
                new SGD(conv.Parameters().Concat(bn.Parameters()), lr: 0.1).Step();
                break;
            case "training forward":
                conv.Train();
                bn.Train();
                conv.CallWithBatchNorm(x, bn);   // updates the running statistics
                conv.Eval();
                bn.Eval();
                break;
        }

        float[] after, unfused;
        using (NoGrad.NoGrad())
        {
            after = conv.CallWithBatchNorm(x, bn).ToArray();
            unfused = bn.Call(conv.Call(x)).ToArray();
        }

        Assert.True(ConvBatchNormFold.FoldsComputed > folds, $"{change}: the fold was not recomputed");
        Assert.NotEqual(before, after);
        for (int i = 0; i < after.Length; i++)
        {
            Assert.True(Math.Abs(after[i] - unfused[i]) <= 1e-5 + (1e-4 * Math.Abs(unfused[i])), $"{change}: element {i} is {after[i]}, unfused {unfused[i]}");
        }
    }

    [Fact]
    public void CallWithBatchNorm_TrainingOrGradOrHooks_RunsUnfusedChainExactly()
    {
        (Conv2d conv, BatchNorm2d bn) = Make(8, 8, 3, 1, false, seed: 11);
        Tensor x = Tensor.Randn(new Generator(12), 2, 8, 6, 6);
        Tensor r = Tensor.Randn(new Generator(13), 2, 8, 6, 6);

        // Eval with gradients: recorded, the plain chain bit for bit.
        Tensor withGrad = conv.CallWithBatchNorm(x, bn, r, relu: true);
        Assert.NotNull(withGrad.GradFn);
        Tensor chain = F.AddRelu(bn.Call(conv.Call(x)), r);
        Assert.Equal(chain.ToArray(), withGrad.ToArray());

        // A hook on the batch norm sees its own output (no fold), under NoGrad too.
        Tensor? seen = null;
        using (bn.RegisterForwardHook((_, _, o) => seen = o))
        using (NoGrad.NoGrad())
        {
            Tensor hooked = conv.CallWithBatchNorm(x, bn, r, relu: true);
            Assert.NotNull(seen);
            Assert.Equal(F.AddRelu(seen!, r).ToArray(), hooked.ToArray());
        }

        // Training: batch statistics, running statistics updated as by the plain calls.
        (Conv2d conv2, BatchNorm2d bn2) = Make(8, 8, 3, 1, false, seed: 11);
        conv.Train();
        bn.Train();
        conv2.Train();
        bn2.Train();
        Tensor trained = conv.CallWithBatchNorm(x, bn, relu: true);
        Tensor plain = bn2.CallRelu(conv2.Call(x));
        Assert.Equal(plain.ToArray(), trained.ToArray());
        Assert.Equal(bn2.RunningMean!.ToArray(), bn.RunningMean!.ToArray());
    }

    [Fact]
    public void CallWithBatchNorm_ChannelMismatch_ThrowsNamingBoth()
    {
        var conv = new Conv2d(3, 8, 3);
        var bn = new BatchNorm2d(6);
        ArgumentException e = Assert.Throws<ArgumentException>(() => conv.CallWithBatchNorm(Tensor.Zeros(1, 3, 5, 5), bn));
        Assert.Contains("6", e.Message, StringComparison.Ordinal);
        Assert.Contains("8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_DataAccessAndViews_ChangeIt_ReadOnlyStorageDoesNot()
    {
        Tensor t = Tensor.Zeros(2, 3);
        int v0 = t.Version;
        _ = t.Data;
        int v1 = t.Version;
        Assert.NotEqual(v0, v1);
        Tensor view = t.Reshape(6);
        view.Data[0] = 1f;
        Assert.NotEqual(v1, t.Version);
        int v2 = t.Version;
        var p = new Parameter(t);
        _ = p.Data;
        Assert.NotEqual(v2, t.Version);
        int v3 = t.Version;
        _ = t.StorageForRead;
        Assert.Equal(v3, t.Version);
    }

    private static (Conv2d Conv, BatchNorm2d Bn) Make(int cin, int cout, int k, int stride, bool convBias, int seed)
    {
        var conv = new Conv2d(cin, cout, k, stride: stride, padding: k / 2, bias: convBias);
        var bn = new BatchNorm2d(cout);
        var gen = new Generator((ulong)seed);
        Tensor.Randn(gen, conv.Weight.Shape).Data.CopyTo(conv.Weight.Data);
        conv.Bias?.Data.Fill(0.3f);
        float[] noise = Tensor.Randn(gen, 4, cout).ToArray();
        for (int o = 0; o < cout; o++)
        {
            bn.Weight!.Data[o] = 1f + (0.5f * noise[o]);
            bn.Bias!.Data[o] = 0.5f * noise[cout + o];
            bn.RunningMean!.Data[o] = noise[(2 * cout) + o];
            bn.RunningVar!.Data[o] = 0.5f + Math.Abs(noise[(3 * cout) + o]);
        }

        conv.Eval();
        bn.Eval();
        return (conv, bn);
    }

    /// <summary>bn(conv(x)) in double, and the magnitude Σ|terms| that bounds float32 rounding.</summary>
    private static (double[] Exact, double[] Magnitude) DoubleReference(Conv2d conv, BatchNorm2d bn, Tensor x)
    {
        int n = x.Size(0), cout = conv.OutChannels;
        var g = new Conv2dGeometry(n, conv.InChannels, x.Size(2), x.Size(3), cout, conv.KernelSize.H, conv.KernelSize.W,
            conv.Stride.H, conv.Stride.W, conv.Padding.H, conv.Padding.W, conv.Padding.H, conv.Padding.W);
        double[] xd = Array.ConvertAll(x.ToArray(), v => (double)v), wd = Array.ConvertAll(conv.Weight.ToArray(), v => (double)v);
        double[] bd = conv.Bias is null ? [] : Array.ConvertAll(conv.Bias.ToArray(), v => (double)v);
        double[] y = new double[g.OutputLength], m = new double[g.OutputLength];
        Conv2dReference.Forward<double>(xd, wd, bd, g, y);
        Conv2dReference.Forward<double>(Array.ConvertAll(xd, Math.Abs), Array.ConvertAll(wd, Math.Abs), Array.ConvertAll(bd, Math.Abs), g, m);
        float[] gamma = bn.Weight!.ToArray(), beta = bn.Bias!.ToArray(), mean = bn.RunningMean!.ToArray(), variance = bn.RunningVar!.ToArray();
        int p = g.OutHeight * g.OutWidth;
        for (int i = 0; i < y.Length; i++)
        {
            int o = i / p % cout;
            double s = gamma[o] / Math.Sqrt(variance[o] + bn.Eps);
            y[i] = ((y[i] - mean[o]) * s) + beta[o];
            m[i] = ((m[i] + Math.Abs(mean[o])) * Math.Abs(s)) + Math.Abs(beta[o]);
        }

        return (y, m);
    }

    /// <summary>|actual − exact| ≤ 1e-5 + 1e-4·|exact| + γ_terms·magnitude (the kernels' bound against their references).</summary>
    private static void AssertWithinBound(float[] actual, double[] exact, double[] magnitude, long terms, string what)
    {
        double t = terms * Unit, gamma = t / (1 - t);
        for (int i = 0; i < exact.Length; i++)
        {
            double tolerance = 1e-5 + (1e-4 * Math.Abs(exact[i])) + (gamma * magnitude[i]);
            Assert.True(Math.Abs(actual[i] - exact[i]) <= tolerance, $"{what}: element {i} is {actual[i]}, exact {exact[i]} (tolerance {tolerance:E3})");
        }
    }
}
