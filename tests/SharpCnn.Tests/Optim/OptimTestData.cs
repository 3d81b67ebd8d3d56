using SharpCnn.Nn;
using SharpCnn.Optim;

namespace SharpCnn.Tests.Optim;

/// <summary>A 3-element parameter, three fixed gradients and helpers shared by the optimizer tests.</summary>
internal static class OptimTestData
{
    public static readonly double[] Initial = [1.0, -2.0, 0.5];

    public static readonly double[][] Grads =
    [
        [0.5, -1.0, 2.0],
        [0.1, 0.3, -0.7],
        [-0.2, 0.4, 0.9],
    ];

    public static Parameter NewParameter(double[]? values = null)
    {
        double[] v = values ?? Initial;
        var data = new float[v.Length];
        for (int i = 0; i < v.Length; i++)
        {
            data[i] = (float)v[i];
        }

        return new Parameter(Tensor.FromArray(data));
    }

    public static void SetGrad(Tensor p, double[] grad)
    {
        var data = new float[grad.Length];
        for (int i = 0; i < grad.Length; i++)
        {
            data[i] = (float)grad[i];
        }

        p.Grad = Tensor.FromArray(data);
    }

    /// <summary>Runs <paramref name="optimizer"/> over the fixed gradients of <paramref name="p"/>.</summary>
    public static void RunSteps(Optimizer optimizer, Tensor p, int steps = 3)
    {
        for (int s = 0; s < steps; s++)
        {
            SetGrad(p, Grads[s]);
            optimizer.Step();
        }
    }

    /// <summary>float32 results against double-precision formulas: |a − e| ≤ 1e-6 + 1e-5·|e|.</summary>
    public static void AssertClose(double[] expected, ReadOnlySpan<float> actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = 1e-6 + (1e-5 * Math.Abs(expected[i]));
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol, $"element {i}: expected {expected[i]:R} but got {actual[i]:R}");
        }
    }
}
