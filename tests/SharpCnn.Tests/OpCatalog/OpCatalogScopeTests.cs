namespace SharpCnn.Tests.OpCatalog;

/// <summary>
/// Every catalog op inside a <see cref="TensorScope"/> whose pool hands out NaN-filled arrays must give, bit for bit,
/// what it gives outside scopes (where new arrays are zeroed): an op, backward rule or kernel that relies on fresh
/// memory being zero shows up here as NaN.
/// </summary>
public class OpCatalogScopeTests
{
    [Theory]
    [MemberData(nameof(OpCatalogTests.Names), MemberType = typeof(OpCatalogTests))]
    public void PoisonedPool_ForwardAndBackward_EqualUnscopedBitForBit(string name)
    {
        OpCase c = Catalog.Get(name);
        (float[] y, float[][] grads) expected = Run(c, scoped: false);
        (float[] y, float[][] grads) actual;
        StoragePool.PoisonOnRent = true;
        try
        {
            actual = Run(c, scoped: true);
        }
        finally
        {
            StoragePool.PoisonOnRent = false;
        }

        AssertBitwise(expected.y, actual.y, $"{name} forward");
        for (int i = 0; i < expected.grads.Length; i++)
        {
            AssertBitwise(expected.grads[i], actual.grads[i], $"{name} d/dx{i}");
        }
    }

    /// <summary>Forward, then the gradient of Σ r·y (twice, so accumulation into existing gradients runs too).</summary>
    private static (float[] Y, float[][] Grads) Run(OpCase c, bool scoped)
    {
        double[][] x = c.MakeInputs(seed: 2);
        var inputs = new Tensor[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            inputs[i] = Tensor.FromArray(x[i].Select(v => (float)v).ToArray(), c.Shapes[i]);
            inputs[i].RequiresGrad = c.IsVariable(i);
        }

        float[] y = [];
        for (int pass = 0; pass < 2; pass++)
        {
            using TensorScope scope = scoped ? TensorScope.Begin() : default;
            Tensor output = c.Op(inputs);
            y = output.ToArray();
            if (output.RequiresGrad)
            {
                double[] r = new OpCase("r", [output.Shape], _ => output, _ => []).MakeInputs(seed: 3)[0];
                (output * Tensor.FromArray(r.Select(v => (float)v).ToArray(), output.Shape)).Sum().Backward();
            }
        }

        return (y, [.. inputs.Select(t => t.Grad?.ToArray() ?? [])]);
    }

    private static void AssertBitwise(float[] expected, float[] actual, string what)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: {actual.Length} values, expected {expected.Length}");
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]),
                $"{what}[{i}]: {actual[i]} in a poisoned scope, {expected[i]} outside scopes");
        }
    }
}
