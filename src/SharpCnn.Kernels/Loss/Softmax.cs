namespace SharpCnn.Kernels;

/// <summary>
/// Softmax along the middle axis of an (outer, dim, inner) view: PyTorch's <c>softmax(x, dim)</c> with
/// outer = product of sizes before dim and inner = product after. Stable: the maximum is subtracted first.
/// </summary>
public static class Softmax
{
    /// <summary>y = exp(x − max) / Σ exp(x − max) along dim.</summary>
    /// <param name="input">Input [outer, dim, inner].</param>
    /// <param name="outer">Product of sizes before the axis.</param>
    /// <param name="dim">Size of the axis (≥ 1).</param>
    /// <param name="inner">Product of sizes after the axis.</param>
    /// <param name="output">Output, same shape, overwritten.</param>
    public static void Forward(ReadOnlySpan<float> input, int outer, int dim, int inner, Span<float> output) =>
        SoftmaxCore.Forward(input, outer, dim, inner, output, log: false);

    /// <summary>gradInput = y·(g − Σ_dim g·y), from the forward output y.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="output">Forward output y.</param>
    /// <param name="outer">Product of sizes before the axis.</param>
    /// <param name="dim">Size of the axis.</param>
    /// <param name="inner">Product of sizes after the axis.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void Backward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> output, int outer, int dim, int inner, Span<float> gradInput) =>
        SoftmaxCore.Backward(gradOutput, output, outer, dim, inner, gradInput, log: false);
}

/// <summary>Log-softmax along the middle axis of an (outer, dim, inner) view: x − max − log Σ exp(x − max).</summary>
public static class LogSoftmax
{
    /// <summary>y = x − logsumexp(x) along dim.</summary>
    /// <param name="input">Input [outer, dim, inner].</param>
    /// <param name="outer">Product of sizes before the axis.</param>
    /// <param name="dim">Size of the axis (≥ 1).</param>
    /// <param name="inner">Product of sizes after the axis.</param>
    /// <param name="output">Output, same shape, overwritten.</param>
    public static void Forward(ReadOnlySpan<float> input, int outer, int dim, int inner, Span<float> output) =>
        SoftmaxCore.Forward(input, outer, dim, inner, output, log: true);

    /// <summary>gradInput = g − exp(y)·Σ_dim g, from the forward output y.</summary>
    /// <param name="gradOutput">Gradient of the output.</param>
    /// <param name="output">Forward output y (log-probabilities).</param>
    /// <param name="outer">Product of sizes before the axis.</param>
    /// <param name="dim">Size of the axis.</param>
    /// <param name="inner">Product of sizes after the axis.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static void Backward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> output, int outer, int dim, int inner, Span<float> gradInput) =>
        SoftmaxCore.Backward(gradOutput, output, outer, dim, inner, gradInput, log: true);
}

internal static class SoftmaxCore
{
    public static void Forward(ReadOnlySpan<float> x, int outer, int dim, int inner, Span<float> y, bool log)
    {
        Check(x.Length, y.Length, outer, dim, inner);
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int baseIndex = (o * dim * inner) + i;
                float max = float.NegativeInfinity;
                for (int d = 0; d < dim; d++)
                {
                    float v = x[baseIndex + (d * inner)];
                    if (v > max || float.IsNaN(v))
                    {
                        max = v;
                    }
                }

                // All −∞: shift by 0 so the result is NaN (0/0) as in PyTorch, not a spurious value.
                float shift = float.IsNegativeInfinity(max) ? 0f : max;
                double sum = 0;
                for (int d = 0; d < dim; d++)
                {
                    sum += MathF.Exp(x[baseIndex + (d * inner)] - shift);
                }

                if (log)
                {
                    float lse = (float)Math.Log(sum);
                    for (int d = 0; d < dim; d++)
                    {
                        int k = baseIndex + (d * inner);
                        y[k] = x[k] - shift - lse;
                    }
                }
                else
                {
                    float inv = (float)(1.0 / sum);
                    for (int d = 0; d < dim; d++)
                    {
                        int k = baseIndex + (d * inner);
                        y[k] = MathF.Exp(x[k] - shift) * inv;
                    }
                }
            }
        }
    }

    public static void Backward(ReadOnlySpan<float> g, ReadOnlySpan<float> y, int outer, int dim, int inner, Span<float> gi, bool log)
    {
        Check(y.Length, gi.Length, outer, dim, inner);
        Pool2d.CheckLength("gradOutput", g.Length, (long)outer * dim * inner);
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int baseIndex = (o * dim * inner) + i;
                double dot = 0;
                for (int d = 0; d < dim; d++)
                {
                    int k = baseIndex + (d * inner);
                    dot += log ? g[k] : (double)g[k] * y[k];
                }

                float s = (float)dot;
                for (int d = 0; d < dim; d++)
                {
                    int k = baseIndex + (d * inner);
                    gi[k] = log ? g[k] - (MathF.Exp(y[k]) * s) : y[k] * (g[k] - s);
                }
            }
        }
    }

    private static void Check(int inputLength, int outputLength, int outer, int dim, int inner)
    {
        if (outer < 0 || dim < 1 || inner < 0)
        {
            throw new ArgumentException($"Softmax expected outer ≥ 0, dim ≥ 1, inner ≥ 0 but got ({outer}, {dim}, {inner})");
        }

        Pool2d.CheckLength("input", inputLength, (long)outer * dim * inner);
        Pool2d.CheckLength("output", outputLength, (long)outer * dim * inner);
    }
}
