namespace SharpCnn.Kernels;

/// <summary>
/// Cross-entropy from logits [rows, classes] and integer targets, per row (reduction is the caller's:
/// for PyTorch's 'mean' pass gradLosses = 1/(rows not ignored)). Class weights are not supported.
/// </summary>
/// <remarks>
/// loss_r = (1 − ε)·(−log p[r, t]) + ε·mean_j(−log p[r, j]) with p = softmax(logits[r]), as PyTorch's
/// <c>cross_entropy(label_smoothing=ε)</c>. Rows whose target equals ignoreIndex give loss 0 and gradient 0.
/// </remarks>
public static class CrossEntropy
{
    /// <summary>Per-row losses.</summary>
    /// <param name="logits">Logits [rows, classes].</param>
    /// <param name="targets">Class index per row, in [0, classes) or ignoreIndex.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="classes">Classes (≥ 1).</param>
    /// <param name="ignoreIndex">Target value to skip (PyTorch default −100).</param>
    /// <param name="labelSmoothing">ε in [0, 1].</param>
    /// <param name="losses">Loss per row [rows], overwritten.</param>
    public static void Forward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int classes, int ignoreIndex, float labelSmoothing, Span<float> losses)
    {
        Check(logits.Length, targets, rows, classes, ignoreIndex, labelSmoothing);
        Pool2d.CheckLength(nameof(losses), losses.Length, rows);
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            if (t == ignoreIndex)
            {
                losses[r] = 0f;
                continue;
            }

            ReadOnlySpan<float> z = logits.Slice(r * classes, classes);
            double lse = LogSumExp(z);
            double nll = lse - z[t];
            double sumNeg = 0;
            for (int j = 0; j < classes; j++)
            {
                sumNeg += lse - z[j];
            }

            losses[r] = (float)(((1.0 - labelSmoothing) * nll) + (labelSmoothing * sumNeg / classes));
        }
    }

    /// <summary>gradLogits[r, j] = gradLosses[r]·(p[r, j] − (1 − ε)·[j = t] − ε/classes); ignored rows get 0.</summary>
    /// <param name="logits">Logits [rows, classes].</param>
    /// <param name="targets">Class index per row.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="ignoreIndex">Target value to skip.</param>
    /// <param name="labelSmoothing">ε.</param>
    /// <param name="gradLosses">Gradient of each row's loss [rows].</param>
    /// <param name="gradLogits">Gradient of the logits [rows, classes], overwritten.</param>
    public static void Backward(ReadOnlySpan<float> logits, ReadOnlySpan<int> targets, int rows, int classes, int ignoreIndex, float labelSmoothing, ReadOnlySpan<float> gradLosses, Span<float> gradLogits)
    {
        Check(logits.Length, targets, rows, classes, ignoreIndex, labelSmoothing);
        Pool2d.CheckLength(nameof(gradLosses), gradLosses.Length, rows);
        Pool2d.CheckLength(nameof(gradLogits), gradLogits.Length, (long)rows * classes);
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            Span<float> gz = gradLogits.Slice(r * classes, classes);
            if (t == ignoreIndex)
            {
                gz.Clear();
                continue;
            }

            ReadOnlySpan<float> z = logits.Slice(r * classes, classes);
            double lse = LogSumExp(z);
            double scale = gradLosses[r];
            double uniform = labelSmoothing / (double)classes;
            for (int j = 0; j < classes; j++)
            {
                double p = Math.Exp(z[j] - lse);
                double target = (j == t ? 1.0 - labelSmoothing : 0.0) + uniform;
                gz[j] = (float)(scale * (p - target));
            }
        }
    }

    internal static double LogSumExp(ReadOnlySpan<float> z)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < z.Length; j++)
        {
            if (z[j] > max || float.IsNaN(z[j]))
            {
                max = z[j];
            }
        }

        if (float.IsNegativeInfinity(max))
        {
            return double.NegativeInfinity;
        }

        double sum = 0;
        for (int j = 0; j < z.Length; j++)
        {
            sum += Math.Exp(z[j] - (double)max);
        }

        return max + Math.Log(sum);
    }

    internal static void Check(int length, ReadOnlySpan<int> targets, int rows, int classes, int ignoreIndex, float labelSmoothing)
    {
        if (rows < 0 || classes < 1)
        {
            throw new ArgumentException($"Loss expected rows ≥ 0 and classes ≥ 1 but got rows={rows}, classes={classes}");
        }

        if (!(labelSmoothing >= 0f && labelSmoothing <= 1f))
        {
            throw new ArgumentException($"label_smoothing must be in [0, 1] but got {labelSmoothing}");
        }

        Pool2d.CheckLength("input", length, (long)rows * classes);
        Pool2d.CheckLength(nameof(targets), targets.Length, rows);
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            if (t != ignoreIndex && (uint)t >= (uint)classes)
            {
                throw new ArgumentException($"Target {t} at row {r} is out of bounds for {classes} classes (ignore_index={ignoreIndex})");
            }
        }
    }
}

/// <summary>Negative log-likelihood from log-probabilities [rows, classes], per row (PyTorch <c>nll_loss</c>, no weights).</summary>
public static class NllLoss
{
    /// <summary>losses[r] = −logProbs[r, t_r], or 0 where t_r = ignoreIndex.</summary>
    /// <param name="logProbs">Log-probabilities [rows, classes].</param>
    /// <param name="targets">Class index per row.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="ignoreIndex">Target value to skip (PyTorch default −100).</param>
    /// <param name="losses">Loss per row, overwritten.</param>
    public static void Forward(ReadOnlySpan<float> logProbs, ReadOnlySpan<int> targets, int rows, int classes, int ignoreIndex, Span<float> losses)
    {
        CrossEntropy.Check(logProbs.Length, targets, rows, classes, ignoreIndex, 0f);
        Pool2d.CheckLength(nameof(losses), losses.Length, rows);
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            losses[r] = t == ignoreIndex ? 0f : -logProbs[(r * classes) + t];
        }
    }

    /// <summary>gradLogProbs[r, t_r] = −gradLosses[r], every other entry 0 (overwritten).</summary>
    /// <param name="gradLosses">Gradient of each row's loss [rows].</param>
    /// <param name="targets">Class index per row.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="ignoreIndex">Target value to skip.</param>
    /// <param name="gradLogProbs">Gradient of the log-probabilities [rows, classes], overwritten.</param>
    public static void Backward(ReadOnlySpan<float> gradLosses, ReadOnlySpan<int> targets, int rows, int classes, int ignoreIndex, Span<float> gradLogProbs)
    {
        CrossEntropy.Check(gradLogProbs.Length, targets, rows, classes, ignoreIndex, 0f);
        Pool2d.CheckLength(nameof(gradLosses), gradLosses.Length, rows);
        gradLogProbs.Clear();
        for (int r = 0; r < rows; r++)
        {
            int t = targets[r];
            if (t != ignoreIndex)
            {
                gradLogProbs[(r * classes) + t] = -gradLosses[r];
            }
        }
    }
}

/// <summary>Mean squared error, PyTorch <c>mse_loss</c> with reduction 'mean'.</summary>
public static class MseLoss
{
    /// <summary>Returns mean((x − t)²), summed in double in index order (NaN for empty input, as PyTorch).</summary>
    /// <param name="input">Prediction.</param>
    /// <param name="target">Target, same length.</param>
    /// <returns>The mean loss.</returns>
    public static float Forward(ReadOnlySpan<float> input, ReadOnlySpan<float> target)
    {
        Pool2d.CheckLength(nameof(target), target.Length, input.Length);
        double sum = 0;
        for (int i = 0; i < input.Length; i++)
        {
            double d = (double)input[i] - target[i];
            sum += d * d;
        }

        return (float)(sum / input.Length);
    }

    /// <summary>gradInput = gradLoss·2(x − t)/N, overwritten.</summary>
    /// <param name="input">Prediction.</param>
    /// <param name="target">Target.</param>
    /// <param name="gradLoss">Gradient of the scalar loss.</param>
    /// <param name="gradInput">Gradient of the prediction, overwritten.</param>
    public static void Backward(ReadOnlySpan<float> input, ReadOnlySpan<float> target, float gradLoss, Span<float> gradInput)
    {
        Pool2d.CheckLength(nameof(target), target.Length, input.Length);
        Pool2d.CheckLength(nameof(gradInput), gradInput.Length, input.Length);
        float k = 2f * gradLoss / input.Length;
        Elementwise.Sub(input, target, gradInput);
        Elementwise.Mul(gradInput, k, gradInput);
    }
}
