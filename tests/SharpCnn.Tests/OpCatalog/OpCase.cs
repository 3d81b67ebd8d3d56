namespace SharpCnn.Tests.OpCatalog;

/// <summary>
/// One row of the op catalog (PyTorch's OpInfo): a differentiable op on float tensors and its plain double
/// reference. Inputs are drawn from U(low, high) with a fixed seed; <see cref="NoGradInputs"/> lists inputs
/// (such as class targets) that are data, not variables.
/// </summary>
public sealed record OpCase(
    string Name,
    int[][] Shapes,
    Func<Tensor[], Tensor> Op,
    Func<double[][], double[]> Reference,
    double Low = -1,
    double High = 1,
    int[]? NoGradInputs = null,
    Func<int, int, double[]>? CustomInput = null)
{
    public override string ToString() => Name;

    public bool IsVariable(int input) => NoGradInputs is null || !NoGradInputs.Contains(input);

    public double[][] MakeInputs(int seed)
    {
        var rng = new Random(seed);
        var inputs = new double[Shapes.Length][];
        for (int i = 0; i < Shapes.Length; i++)
        {
            int n = Shapes[i].Aggregate(1, (a, b) => a * b);
            double[]? custom = CustomInput?.Invoke(i, n);
            if (custom is not null)
            {
                inputs[i] = custom;
                continue;
            }

            inputs[i] = new double[n];
            for (int k = 0; k < n; k++)
            {
                // Round to float so the float op and the double reference see the same numbers.
                inputs[i][k] = (float)(Low + ((High - Low) * rng.NextDouble()));
            }
        }

        return inputs;
    }
}
