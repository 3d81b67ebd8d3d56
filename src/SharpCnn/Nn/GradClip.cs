namespace SharpCnn.Nn;

/// <summary>
/// Gradient clipping, as <c>torch.nn.utils.clip_grad_norm_</c> and <c>clip_grad_value_</c>: both change the
/// <see cref="Tensor.Grad"/> of the given tensors in place, between <c>Backward()</c> and the optimizer step.
/// Tensors without a gradient are skipped.
/// </summary>
public static class GradClip
{
    /// <summary>PyTorch's guard against dividing by a zero norm: the scale is maxNorm / (norm + 1e-6).</summary>
    public const double Epsilon = 1e-6;

    /// <summary>
    /// The total norm of all gradients together (as if concatenated into one vector), computed in double
    /// precision in a fixed order, so it is the same for any thread count.
    /// </summary>
    /// <param name="parameters">The tensors whose gradients count (those without one are skipped).</param>
    /// <param name="normType">p of the p-norm, ≥ 1; <see cref="double.PositiveInfinity"/> gives the largest |g|. Default 2 (L2).</param>
    /// <returns>The norm; 0 when there are no gradients; NaN or infinity when a gradient is not finite.</returns>
    public static double TotalNorm(IEnumerable<Tensor> parameters, double normType = 2)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        CheckNormType(normType);
        double acc = 0;
        foreach (Tensor p in parameters)
        {
            if (p?.Grad is not { } grad)
            {
                continue;
            }

            foreach (float v in grad.Data)
            {
                double a = Math.Abs((double)v);
                if (double.IsPositiveInfinity(normType))
                {
                    // A NaN element makes the norm NaN (and NaN > x is false, so it stays NaN).
                    acc = double.IsNaN(a) ? double.NaN : a > acc ? a : acc;
                }
                else
                {
                    acc += normType == 2 ? a * a : Math.Pow(a, normType);
                }
            }
        }

        return double.IsPositiveInfinity(normType) ? acc : normType == 2 ? Math.Sqrt(acc) : Math.Pow(acc, 1 / normType);
    }

    /// <summary>
    /// Scales all gradients by min(1, <paramref name="maxNorm"/> / (total norm + 1e-6)), as
    /// <c>torch.nn.utils.clip_grad_norm_</c>: a total norm at or below the limit leaves them unchanged
    /// (they are multiplied by exactly 1), a larger one is brought to about <paramref name="maxNorm"/>.
    /// </summary>
    /// <param name="parameters">The tensors whose gradients are clipped together.</param>
    /// <param name="maxNorm">The largest total norm allowed, &gt; 0.</param>
    /// <param name="normType">p of the p-norm (default 2; <see cref="double.PositiveInfinity"/> for the max norm).</param>
    /// <param name="errorIfNonfinite">
    /// When the total norm is NaN or infinite: true (the default here) throws and leaves the gradients as they are;
    /// false scales them by the non-finite factor, which makes them NaN, as PyTorch does by default. PyTorch's
    /// default is false only for backward compatibility; an error is the useful behaviour, because a non-finite
    /// norm means the step would destroy the weights.
    /// </param>
    /// <returns>The total norm before clipping (as PyTorch returns it).</returns>
    /// <exception cref="ArithmeticException">The total norm is not finite and <paramref name="errorIfNonfinite"/> is true.</exception>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2, bool errorIfNonfinite = true)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(maxNorm > 0) || double.IsInfinity(maxNorm))
        {
            throw new ArgumentOutOfRangeException(nameof(maxNorm), $"ClipGradNorm: maxNorm must be a positive finite number, got {maxNorm}.");
        }

        Tensor[] list = [.. parameters];
        double norm = TotalNorm(list, normType);
        if (!double.IsFinite(norm) && errorIfNonfinite)
        {
            throw new ArithmeticException(
                $"The total norm of order {normType} of the gradients is {norm}, so they cannot be clipped; pass errorIfNonfinite: false to scale them by it anyway.");
        }

        // torch: clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1, then grads *= clip_coef (a float32
        // multiply). A factor of exactly 1 is skipped: multiplying by 1 changes nothing.
        double coefficient = Math.Min(1.0, maxNorm / (norm + Epsilon));
        if (coefficient != 1.0 || double.IsNaN(coefficient))
        {
            float scale = (float)coefficient;
            foreach (Tensor p in list)
            {
                if (p?.Grad is { } grad)
                {
                    Span<float> g = grad.Data;
                    Kernels.Elementwise.Mul(g, scale, g);
                }
            }
        }

        return norm;
    }

    /// <summary>
    /// Clamps every gradient element to [−<paramref name="clipValue"/>, <paramref name="clipValue"/>], as
    /// <c>torch.nn.utils.clip_grad_value_</c>. NaN elements stay NaN (as <c>torch.clamp</c>).
    /// </summary>
    /// <returns>The number of elements that were changed.</returns>
    public static long ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(clipValue > 0) || double.IsInfinity(clipValue))
        {
            throw new ArgumentOutOfRangeException(nameof(clipValue), $"ClipGradValue: clipValue must be a positive finite number, got {clipValue}.");
        }

        float c = (float)clipValue;
        long changed = 0;
        foreach (Tensor p in parameters)
        {
            if (p?.Grad is not { } grad)
            {
                continue;
            }

            Span<float> g = grad.Data;
            for (int i = 0; i < g.Length; i++)
            {
                if (g[i] > c)
                {
                    g[i] = c;
                    changed++;
                }
                else if (g[i] < -c)
                {
                    g[i] = -c;
                    changed++;
                }
            }
        }

        return changed;
    }

    private static void CheckNormType(double normType)
    {
        if (!(normType >= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(normType), $"Gradient norm: normType must be ≥ 1 (or +∞), got {normType}.");
        }
    }
}
