namespace SharpCnn.Tests.OpCatalog;

/// <summary>Generic checks run over every row of the op catalog (ARCHITECTURE §4).</summary>
public class OpCatalogTests
{
    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (OpCase c in Catalog.All())
        {
            data.Add(c.Name);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Forward_MatchesDoubleReference(string name)
    {
        OpCase c = Catalog.Get(name);
        double[][] x = c.MakeInputs(seed: 1);
        Tensor y = c.Op(ToTensors(c, x, requiresGrad: false));
        double[] expected = c.Reference(x);
        AssertClose(y.Data, expected, 1e-5, 1e-4, name);
    }

    /// <summary>
    /// Autograd gradients of L = Σ r·y against central differences (eps 1e-6) of the double reference. The
    /// float32 side carries rounding of about 1e-7 per accumulated term, which stays under atol 1e-5 + rtol 1e-3.
    /// </summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void Backward_MatchesCentralDifferences(string name)
    {
        OpCase c = Catalog.Get(name);
        double[][] x = c.MakeInputs(seed: 2);
        Tensor[] inputs = ToTensors(c, x, requiresGrad: true);
        Tensor y = c.Op(inputs);
        double[] r = new OpCase("r", [y.Shape], _ => y, _ => []).MakeInputs(seed: 3)[0];
        (y * Tensor.FromArray(r.Select(v => (float)v).ToArray(), y.Shape)).Sum().Backward();

        const double Eps = 1e-6;
        for (int i = 0; i < x.Length; i++)
        {
            if (!c.IsVariable(i))
            {
                continue;
            }

            Assert.NotNull(inputs[i].Grad);
            var numeric = new double[x[i].Length];
            for (int k = 0; k < x[i].Length; k++)
            {
                double keep = x[i][k];
                x[i][k] = keep + Eps;
                double plus = Dot(r, c.Reference(x));
                x[i][k] = keep - Eps;
                double minus = Dot(r, c.Reference(x));
                x[i][k] = keep;
                numeric[k] = (plus - minus) / (2 * Eps);
            }

            AssertClose(inputs[i].Grad!.Data, numeric, 1e-5, 1e-3, $"{name} d/dx{i}");
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Backward_AccumulatesIntoExistingGrad(string name)
    {
        OpCase c = Catalog.Get(name);
        double[][] x = c.MakeInputs(seed: 4);
        Tensor[] inputs = ToTensors(c, x, requiresGrad: true);
        c.Op(inputs).Sum().Backward();
        float[][] once = inputs.Select(t => t.Grad?.ToArray() ?? []).ToArray();
        c.Op(inputs).Sum().Backward();
        for (int i = 0; i < inputs.Length; i++)
        {
            if (!c.IsVariable(i))
            {
                continue;
            }

            float[] twice = inputs[i].Grad!.ToArray();
            for (int k = 0; k < twice.Length; k++)
            {
                Assert.True(Math.Abs(twice[k] - (2 * once[i][k])) <= 1e-5 + (1e-5 * Math.Abs(twice[k])), $"{name} x{i}[{k}]: {twice[k]} vs 2×{once[i][k]}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void NoGrad_RecordsNothing(string name)
    {
        OpCase c = Catalog.Get(name);
        Tensor[] inputs = ToTensors(c, c.MakeInputs(seed: 5), requiresGrad: true);
        Tensor y;
        using (Autograd.Autograd.NoGrad())
        {
            y = c.Op(inputs);
        }

        if (inputs.Contains(y))
        {
            // An identity (dropout in evaluation) hands back its input, as PyTorch does: nothing was recorded.
            Assert.True(y.IsLeaf);
            return;
        }

        Assert.False(y.RequiresGrad);
        Assert.Null(y.GradFn);
        Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
    }

    private static Tensor[] ToTensors(OpCase c, double[][] x, bool requiresGrad)
    {
        var t = new Tensor[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            t[i] = Tensor.FromArray(x[i].Select(v => (float)v).ToArray(), c.Shapes[i]);
            t[i].RequiresGrad = requiresGrad && c.IsVariable(i);
        }

        return t;
    }

    private static double Dot(double[] a, double[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double s = 0;
        for (int i = 0; i < a.Length; i++)
        {
            s += a[i] * b[i];
        }

        return s;
    }

    internal static void AssertClose(ReadOnlySpan<float> actual, double[] expected, double atol, double rtol, string what)
    {
        Assert.True(actual.Length == expected.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            double a = actual[i];
            double b = expected[i];
            Assert.True(Math.Abs(a - b) <= atol + (rtol * Math.Abs(b)), $"{what}[{i}]: got {a}, expected {b}");
        }
    }
}
