using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>
/// Reductions along one axis of a tensor viewed as [outer, dim, inner] (the axis in the middle). Sums run in
/// index order along the axis, so results do not depend on threads or vector width.
/// </summary>
public static class Reduce
{
    /// <summary>y[o, i] = Σ_k x[o, k, i].</summary>
    /// <param name="input">Input [outer, dim, inner].</param>
    /// <param name="outer">Product of the dimensions before the axis.</param>
    /// <param name="dim">Length of the axis.</param>
    /// <param name="inner">Product of the dimensions after the axis.</param>
    /// <param name="output">Output [outer, inner], overwritten.</param>
    public static void SumAlong(ReadOnlySpan<float> input, int outer, int dim, int inner, Span<float> output)
    {
        Check(input.Length, outer, dim, inner);
        CheckOutput(output.Length, outer, inner);
        output.Clear();
        for (int o = 0; o < outer; o++)
        {
            Span<float> dst = output.Slice(o * inner, inner);
            for (int k = 0; k < dim; k++)
            {
                // Whole rows of `inner` elements at a time: contiguous, so the adds vectorise.
                Elementwise.Add(dst, input.Slice(((o * dim) + k) * inner, inner), dst);
            }
        }
    }

    /// <summary>
    /// values[o, i] = max_k x[o, k, i] and indices[o, i] its k: the first maximum on ties; a NaN is the
    /// maximum (the first NaN wins), as <c>torch.max(dim)</c>.
    /// </summary>
    /// <param name="input">Input [outer, dim, inner], dim ≥ 1.</param>
    /// <param name="outer">Product of the dimensions before the axis.</param>
    /// <param name="dim">Length of the axis (at least 1).</param>
    /// <param name="inner">Product of the dimensions after the axis.</param>
    /// <param name="values">Maxima [outer, inner], overwritten.</param>
    /// <param name="indices">Positions along the axis [outer, inner], overwritten.</param>
    public static void MaxAlong(ReadOnlySpan<float> input, int outer, int dim, int inner, Span<float> values, Span<int> indices)
    {
        Check(input.Length, outer, dim, inner);
        CheckOutput(values.Length, outer, inner);
        CheckOutput(indices.Length, outer, inner);
        if (dim < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(dim), $"MaxAlong needs a non-empty axis, got length {dim}.");
        }

        for (int o = 0; o < outer; o++)
        {
            ReadOnlySpan<float> first = input.Slice(o * dim * inner, inner);
            Span<float> best = values.Slice(o * inner, inner);
            Span<int> arg = indices.Slice(o * inner, inner);
            first.CopyTo(best);
            arg.Clear();
            for (int k = 1; k < dim; k++)
            {
                ReadOnlySpan<float> row = input.Slice(((o * dim) + k) * inner, inner);
                for (int i = 0; i < inner; i++)
                {
                    float v = row[i];

                    // Strictly greater keeps the first maximum; once a NaN is held nothing replaces it.
                    if ((v > best[i] || (float.IsNaN(v) && !float.IsNaN(best[i]))))
                    {
                        best[i] = v;
                        arg[i] = k;
                    }
                }
            }
        }
    }

    /// <summary>Σ x in index order, accumulated in double.</summary>
    /// <param name="input">Values.</param>
    /// <returns>The sum.</returns>
    public static double Sum(ReadOnlySpan<float> input)
    {
        double total = 0;
        foreach (float v in input)
        {
            total += v;
        }

        return total;
    }

    private static void Check(int length, int outer, int dim, int inner)
    {
        if (outer < 0 || dim < 0 || inner < 0 || (long)outer * dim * inner != length)
        {
            throw new ArgumentException($"Reduce: input of {length} elements is not [outer {outer}, dim {dim}, inner {inner}].");
        }
    }

    private static void CheckOutput(int length, int outer, int inner)
    {
        if ((long)outer * inner != length)
        {
            throw new ArgumentException($"Reduce: output of {length} elements is not [outer {outer}, inner {inner}].");
        }
    }
}

/// <summary>Plain twins of <see cref="Reduce"/>, generic so tests run them in double.</summary>
public static class ReduceReference
{
    /// <summary>y[o, i] = Σ_k x[o, k, i].</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="input">Input [outer, dim, inner].</param>
    /// <param name="outer">Outer size.</param>
    /// <param name="dim">Axis length.</param>
    /// <param name="inner">Inner size.</param>
    /// <param name="output">Output [outer, inner].</param>
    public static void SumAlong<T>(ReadOnlySpan<T> input, int outer, int dim, int inner, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                T s = T.Zero;
                for (int k = 0; k < dim; k++)
                {
                    s += input[(((o * dim) + k) * inner) + i];
                }

                output[(o * inner) + i] = s;
            }
        }
    }

    /// <summary>Maximum along the axis and its first position; NaN counts as the maximum.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="input">Input [outer, dim, inner].</param>
    /// <param name="outer">Outer size.</param>
    /// <param name="dim">Axis length.</param>
    /// <param name="inner">Inner size.</param>
    /// <param name="values">Maxima [outer, inner].</param>
    /// <param name="indices">Positions [outer, inner].</param>
    public static void MaxAlong<T>(ReadOnlySpan<T> input, int outer, int dim, int inner, Span<T> values, Span<int> indices)
        where T : IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int best = 0;
                for (int k = 0; k < dim; k++)
                {
                    T v = input[(((o * dim) + k) * inner) + i];
                    if (T.IsNaN(v))
                    {
                        best = k;
                        break;
                    }

                    if (v > input[(((o * dim) + best) * inner) + i])
                    {
                        best = k;
                    }
                }

                values[(o * inner) + i] = input[(((o * dim) + best) * inner) + i];
                indices[(o * inner) + i] = best;
            }
        }
    }
}
