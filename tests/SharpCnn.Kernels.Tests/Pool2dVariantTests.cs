namespace SharpCnn.Kernels.Tests;

/// <summary>Both max-pool variants, forced, against the reference (values, indices and backward) where the tiled path applies.</summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Pool2dVariantTests
{
    // n, c, h, w, kh, kw, ceil: stride = kernel, no padding, no dilation.
    public static TheoryData<int[], bool> TiledConfigs => new()
    {
        { [64, 6, 28, 28, 2, 2], false },
        { [2, 3, 7, 9, 2, 2], false },
        { [2, 3, 7, 9, 2, 2], true },
        { [1, 2, 9, 9, 3, 3], false },
        { [2, 1, 6, 8, 2, 3], false },
        { [1, 1, 1, 5, 1, 2], false },
        { [3, 2, 4, 4, 4, 4], false },
        { [2, 16, 10, 10, 2, 2], false },
        { [1, 2, 4, 22, 2, 2], false },
        { [1, 1, 5, 31, 2, 2], false },
    };

    [Theory]
    [MemberData(nameof(TiledConfigs))]
    public void MaxForwardBackward_EachVariant_MatchesReference(int[] s, bool ceil)
    {
        var g = new Pool2dGeometry(s[0], s[1], s[2], s[3], s[4], s[5], s[4], s[5], 0, 0, 1, 1, ceil);
        g.Validate();
        float[] x = TestUtil.RandomGrid(g.InputLength, 7);

        // Ties, infinities and NaNs in a few windows.
        for (int i = 0; i < x.Length; i += 13)
        {
            x[i] = (i / 13 % 4) switch { 0 => float.NaN, 1 => float.NegativeInfinity, 2 => float.PositiveInfinity, _ => x[Math.Max(0, i - 1)] };
        }

        var yr = new double[g.OutputLength];
        var argr = new int[g.OutputLength];
        Pool2dReference.MaxForward<double>(TestUtil.ToDouble(x), g, yr, argr);
        float[] go = TestUtil.Random(g.OutputLength, 3);
        var gir = new double[g.InputLength];
        Pool2dReference.MaxBackward<double>(TestUtil.ToDouble(go), argr, g, gir);
        float[]? scalarGradient = null;
        foreach (bool scalar in new[] { true, false })
        {
            var y = new float[g.OutputLength];
            var arg = new int[g.OutputLength];
            var gi = new float[g.InputLength];
            Array.Fill(gi, 42f);
            try
            {
                Pool2d.ForceScalarOverride = scalar;
                Assert.Equal(scalar || (ceil && (g.OutHeight * g.KernelH > g.Height || g.OutWidth * g.KernelW > g.Width)) ? Pool2d.MaxScalarVariantName : Pool2d.MaxTiledVariantName, Pool2d.SelectedMaxVariant(g));
                Pool2d.MaxForward(x, g, y, arg);
                Pool2d.MaxBackward(go, arg, g, gi);
            }
            finally
            {
                Pool2d.ForceScalarOverride = null;
            }

            Assert.Equal(argr, arg);
            for (int i = 0; i < y.Length; i++)
            {
                Assert.True(y[i].Equals((float)yr[i]), $"scalar={scalar}: output {i} is {y[i]} but the reference gives {yr[i]}");
            }

            TestUtil.AssertClose(gi, gir);
            if (scalarGradient is null)
            {
                scalarGradient = gi;
            }
            else
            {
                Assert.True(scalarGradient.AsSpan().SequenceEqual(gi), "the tiled backward's bits differ from the general loop's");
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(53)]
    public void MaxBackward_ArgmaxOutsideItsWindow_FallsBackToGeneralScatter(int index)
    {
        // Indices not produced by the forward pass (all outputs pointing at one element, or one pointing outside its
        // window): the tiled backward must notice and scatter them as the general loop does.
        var g = new Pool2dGeometry(2, 3, 8, 20, 2, 2, 2, 2, 0, 0, 1, 1, false);
        g.Validate();
        float[] go = TestUtil.Random(g.OutputLength, 5);
        var arg = new int[g.OutputLength];
        var xs = new float[g.InputLength];
        Pool2d.MaxForward(TestUtil.Random(g.InputLength, 6), g, xs.AsSpan(0, g.OutputLength), arg);
        for (int p = 0; p < g.Planes; p++)
        {
            arg[(p * g.OutHeight * g.OutWidth) + (p % 2 == 0 ? 0 : 9)] = index;
        }

        var gir = new double[g.InputLength];
        Pool2dReference.MaxBackward<double>(TestUtil.ToDouble(go), arg, g, gir);
        var gi = new float[g.InputLength];
        Array.Fill(gi, 42f);
        Assert.Equal(Pool2d.MaxTiledVariantName, Pool2d.SelectedMaxVariant(g));
        Pool2d.MaxBackward(go, arg, g, gi);
        TestUtil.AssertClose(gi, gir);
    }

    // n, c, h, w, kh, kw, sh, pad h, pad w, ceil: horizontal stride 2, no dilation.
    public static TheoryData<int[], bool> Stride2Configs => new()
    {
        { [2, 3, 33, 40, 3, 3, 2, 1, 1], false },  // ResNet's 3×3 stride 2 pad 1, odd height
        { [1, 2, 20, 37, 3, 3, 2, 1, 1], true },   // odd width, ceil mode
        { [1, 2, 19, 36, 3, 3, 2, 1, 1], true },   // ceil mode, odd height, even width
        { [2, 2, 9, 21, 3, 3, 2, 0, 0], false },   // no padding, the narrowest width the vector path takes (16 + kw)
        { [1, 3, 10, 41, 2, 2, 2, 1, 1], true },   // 2×2 with padding (not tiled)
        { [1, 2, 12, 45, 3, 4, 1, 1, 2], false },  // even kernel width, vertical stride 1, horizontal padding 2
        { [1, 1, 7, 50, 5, 5, 3, 2, 2], false },   // 5×5, vertical stride 3
        { [1, 2, 8, 40, 1, 3, 1, 0, 1], false },   // one row per window
    };

    [Theory]
    [MemberData(nameof(Stride2Configs))]
    public void MaxForwardBackward_Stride2Variant_MatchesReference(int[] s, bool ceil)
    {
        var g = new Pool2dGeometry(s[0], s[1], s[2], s[3], s[4], s[5], s[6], 2, s[7], s[8], 1, 1, ceil);
        g.Validate();
        Assert.Equal(Pool2d.MaxStride2VariantName, Pool2d.SelectedMaxVariant(g));
        float[] x = TestUtil.RandomGrid(g.InputLength, 8);
        for (int i = 0; i < x.Length; i += 11)
        {
            x[i] = (i / 11 % 5) switch { 0 => float.NaN, 1 => float.NegativeInfinity, 2 => float.PositiveInfinity, 3 => -0f, _ => x[Math.Max(0, i - 2)] };
        }

        var yr = new double[g.OutputLength];
        var argr = new int[g.OutputLength];
        Pool2dReference.MaxForward<double>(TestUtil.ToDouble(x), g, yr, argr);
        float[] go = TestUtil.Random(g.OutputLength, 3);
        var gir = new double[g.InputLength];
        Pool2dReference.MaxBackward<double>(TestUtil.ToDouble(go), argr, g, gir);
        int keep = KernelParallel.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                KernelParallel.MaxThreads = threads;
                var y = new float[g.OutputLength];
                var arg = new int[g.OutputLength];
                var gi = new float[g.InputLength];
                Pool2d.MaxForward(x, g, y, arg);
                Pool2d.MaxBackward(go, arg, g, gi);
                Assert.Equal(argr, arg);
                for (int i = 0; i < y.Length; i++)
                {
                    Assert.True(y[i].Equals((float)yr[i]), $"{threads} threads: output {i} is {y[i]} but the reference gives {yr[i]}");
                }

                TestUtil.AssertClose(gi, gir);
            }
        }
        finally
        {
            KernelParallel.MaxThreads = keep;
        }
    }
}
