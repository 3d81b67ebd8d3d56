using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels.Tests;

public class ElementwiseTests
{
    private delegate void Map(ReadOnlySpan<float> x, Span<float> y);

    private delegate void Grad(ReadOnlySpan<float> g, ReadOnlySpan<float> src, Span<float> gi);

    private const float Slope = 0.07f;

    // name → (fast forward, fast backward, backward takes the output?, reference f, reference g·f′, domain)
    private static readonly Dictionary<string, (Map Fwd, Grad Bwd, bool FromOutput, Func<double, double> F, Func<double, double, double> DF, float Lo, float Hi)> s_ops = new()
    {
        ["Relu"] = (Elementwise.Relu, Elementwise.ReluBackward, false, ElementwiseReference.Relu, ElementwiseReference.ReluBackward, -3f, 3f),
        ["LeakyRelu"] = ((x, y) => Elementwise.LeakyRelu(x, Slope, y), (g, x, gi) => Elementwise.LeakyReluBackward(g, x, Slope, gi), false,
            x => ElementwiseReference.LeakyRelu(x, (double)Slope), (g, x) => ElementwiseReference.LeakyReluBackward(g, x, (double)Slope), -3f, 3f),
        ["Sigmoid"] = (Elementwise.Sigmoid, Elementwise.SigmoidBackward, true, ElementwiseReference.Sigmoid, ElementwiseReference.SigmoidBackward, -12f, 12f),
        ["Tanh"] = (Elementwise.Tanh, Elementwise.TanhBackward, true, ElementwiseReference.Tanh, ElementwiseReference.TanhBackward, -6f, 6f),
        ["Gelu"] = (Elementwise.Gelu, Elementwise.GeluBackward, false, ElementwiseReference.Gelu, ElementwiseReference.GeluBackward, -7f, 7f),
        ["GeluTanh"] = (Elementwise.GeluTanh, Elementwise.GeluTanhBackward, false, ElementwiseReference.GeluTanh, ElementwiseReference.GeluTanhBackward, -7f, 7f),
        ["Exp"] = (Elementwise.Exp, Elementwise.ExpBackward, true, ElementwiseReference.Exp, ElementwiseReference.ExpBackward, -20f, 20f),
        ["Log"] = (Elementwise.Log, Elementwise.LogBackward, false, ElementwiseReference.Log, ElementwiseReference.LogBackward, 0.01f, 50f),
        ["Sqrt"] = (Elementwise.Sqrt, Elementwise.SqrtBackward, true, ElementwiseReference.Sqrt, ElementwiseReference.SqrtBackward, 0.01f, 50f),
        ["Neg"] = (Elementwise.Neg, (g, _, gi) => Elementwise.NegBackward(g, gi), false, x => -x, (g, _) => -g, -5f, 5f),
        ["Abs"] = (Elementwise.Abs, Elementwise.AbsBackward, false, ElementwiseReference.Abs, ElementwiseReference.AbsBackward, -5f, 5f),
    };

    public static TheoryData<string> OpNames => new(s_ops.Keys);

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Unary_Lengths0To70_MatchReference(string name)
    {
        var op = s_ops[name];
        for (int n = 0; n <= 70; n++)
        {
            float[] x = TestUtil.Random(n, n + 100, op.Lo, op.Hi);
            var y = new float[n];
            op.Fwd(x, y);
            double[] yr = x.Select(v => op.F(v)).ToArray();
            TestUtil.AssertClose(y, yr, $"{name} n={n}");

            float[] g = TestUtil.Random(n, n + 200);
            var gi = new float[n];
            op.Bwd(g, op.FromOutput ? y : x, gi);
            double[] gir = x.Select((v, i) => op.DF(g[i], v)).ToArray();
            TestUtil.AssertClose(gi, gir, $"{name}' n={n}");
        }
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Unary_InPlace_EqualsOutOfPlace(string name)
    {
        var op = s_ops[name];
        float[] x = TestUtil.Random(37, 5, op.Lo, op.Hi);
        var y = new float[37];
        op.Fwd(x, y);
        op.Fwd(x, x);
        Assert.Equal(y, x);
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void UnaryReference_Backward_MatchesCentralDifferences(string name)
    {
        var op = s_ops[name];
        double[] x = TestUtil.ToDouble(TestUtil.Random(23, 9, Math.Max(op.Lo, -6f), Math.Min(op.Hi, 6f)));
        for (int i = 0; i < x.Length; i++)
        {
            if (Math.Abs(x[i]) < 0.05)
            {
                x[i] += 0.1; // keep away from the kinks of ReLU, LeakyReLU and Abs at 0
            }
        }

        TestUtil.CheckGradient(x, x.Length, xs => xs.Select(op.F).ToArray(), (xs, r) => xs.Select((v, i) => op.DF(r[i], v)).ToArray());
    }

    private static float[] Specials()
    {
        float[] s = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, -1f, 1f, 88f, -88f, 1e-30f, -1e-30f, 3e38f, -3e38f, 0.5f, -0.5f, 20f, -20f];
        var a = new float[70];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = s[(i * 7) % s.Length];
        }

        return a;
    }

    [Theory]
    [MemberData(nameof(OpNames))]
    public void Unary_SpecialValues_VectorPathsAgreeWithScalar(string name)
    {
        var op = s_ops[name];
        float[] x = Specials();
        var y = new float[x.Length];
        op.Fwd(x, y);

        // Scalar-only run: one element at a time goes down the scalar tail.
        var ys = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            op.Fwd(x.AsSpan(i, 1), ys.AsSpan(i, 1));
        }

        AssertSameSpecials(ys, y, name);

        float[] g = TestUtil.Random(x.Length, 3);
        var gi = new float[x.Length];
        var gis = new float[x.Length];
        float[] src = op.FromOutput ? y : x;
        op.Bwd(g, src, gi);
        for (int i = 0; i < x.Length; i++)
        {
            op.Bwd(g.AsSpan(i, 1), src.AsSpan(i, 1), gis.AsSpan(i, 1));
        }

        AssertSameSpecials(gis, gi, name + "'");
    }

    [Fact]
    public void Operators_Vector256_AgreeWithScalar()
    {
        float[] x = Specials();
        float[] r = TestUtil.Random(x.Length, 1, -4f, 4f);
        Check256(new GeluOperator(), x);
        Check256(new GeluOperator(), r);
        Check256(new TanhOperator(), x);
        Check256(new TanhOperator(), r);
        Check256(new SigmoidOperator(), x);
        Check256(new GeluTanhOperator(), r);
        Check256(new LogOperator(), x);
        Check256(new ReluOperator(), x);
        Check256(new LeakyReluOperator(0.2f), x);
        Check256(new ExpOperator(), x);
    }

    private static void Check256<TOp>(TOp op, float[] x)
        where TOp : struct, IUnaryOperator
    {
        for (int i = 0; i + 8 <= x.Length; i += 8)
        {
            Vector256<float> v = op.Invoke(Vector256.Create(x.AsSpan(i, 8)));
            var scalar = new float[8];
            for (int k = 0; k < 8; k++)
            {
                scalar[k] = op.Invoke(x[i + k]);
            }

            var vec = new float[8];
            v.CopyTo(vec);
            AssertSameSpecials(scalar, vec, typeof(TOp).Name);
        }
    }

    private static void AssertSameSpecials(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            float e = expected[i];
            float a = actual[i];
            Assert.True(float.IsNaN(e) == float.IsNaN(a), $"{what}[{i}]: NaN mismatch, scalar {e}, vector {a}");
            if (float.IsNaN(e))
            {
                continue;
            }

            if (float.IsInfinity(e) || float.IsInfinity(a))
            {
                Assert.True(e == a, $"{what}[{i}]: scalar {e}, vector {a}");
            }
            else
            {
                Assert.True(Math.Abs(a - e) <= 1e-5 + (1e-4 * Math.Abs(e)), $"{what}[{i}]: scalar {e}, vector {a}");
            }
        }
    }

    [Fact]
    public void Binary_Lengths0To70_MatchScalarDefinitions()
    {
        for (int n = 0; n <= 70; n++)
        {
            float[] x = TestUtil.Random(n, n);
            float[] y = TestUtil.Random(n, n + 1, 0.5f, 3f);
            var z = new float[n];
            Elementwise.Add(x, y, z);
            Assert.Equal(x.Zip(y, (a, b) => a + b), z);
            Elementwise.Sub(x, y, z);
            Assert.Equal(x.Zip(y, (a, b) => a - b), z);
            Elementwise.Mul(x, y, z);
            Assert.Equal(x.Zip(y, (a, b) => a * b), z);
            Elementwise.Div(x, y, z);
            Assert.Equal(x.Zip(y, (a, b) => a / b), z);
            Elementwise.Add(x, 1.5f, z);
            Assert.Equal(x.Select(a => a + 1.5f), z);
            Elementwise.Sub(x, 1.5f, z);
            Assert.Equal(x.Select(a => a - 1.5f), z);
            Elementwise.Mul(x, -2.5f, z);
            Assert.Equal(x.Select(a => a * -2.5f), z);
            Elementwise.Div(x, 3f, z);
            Assert.Equal(x.Select(a => a / 3f), z);

            float[] acc = (float[])y.Clone();
            Elementwise.AddScaled(x, -0.25f, acc);
            TestUtil.AssertClose(acc, y.Zip(x, (a, b) => a + (-0.25 * b)).ToArray(), "axpy");
        }
    }

    [Fact]
    public void Binary_DivideByZero_FollowsIeee()
    {
        float[] x = [1f, -1f, 0f];
        var z = new float[3];
        Elementwise.Div(x, 0f, z);
        Assert.Equal(float.PositiveInfinity, z[0]);
        Assert.Equal(float.NegativeInfinity, z[1]);
        Assert.True(float.IsNaN(z[2]));
    }

    [Fact]
    public void Driver_PartialOverlap_Throws()
    {
        var a = new float[40];
        Assert.Throws<ArgumentException>(() => Elementwise.Relu(a.AsSpan(0, 20), a.AsSpan(1, 20)));
        Assert.Throws<ArgumentException>(() => Elementwise.Relu(a.AsSpan(0, 20), a.AsSpan(0, 21)));
    }

    [Fact]
    public void Relu_NaN_StaysNaNAndNegativeZeroIsNotNegative()
    {
        float[] x = [float.NaN, -0f, -3f, 2f];
        var y = new float[4];
        Elementwise.Relu(x, y);
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(0f, y[1]);
        Assert.Equal(0f, y[2]);
        Assert.Equal(2f, y[3]);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.52049987781304654)]
    [InlineData(-1.0, -0.84270079294971487)]
    [InlineData(2.0, 0.99532226501895273)]
    [InlineData(3.0, 0.99997790950300141)]
    public void ReferenceErf_KnownValues_Match(double x, double expected) =>
        Assert.Equal(expected, ElementwiseReference.Erf(x), 1e-14);
}
