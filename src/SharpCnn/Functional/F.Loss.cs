namespace SharpCnn.Functional;

public static partial class F
{
    /// <summary>
    /// log softmax along <paramref name="dim"/>, computed stably as (x − m) − log Σ e^(x − m) with m the maximum.
    /// Composed from recorded ops, so its gradient g − softmax·Σg comes from their rules.
    /// </summary>
    public static Tensor LogSoftmax(Tensor input, int dim)
    {
        ArgumentNullException.ThrowIfNull(input);
        Tensor max = input.Max(dim, keepDim: true).Values.Detach();
        Tensor shifted = input - max;
        return shifted - shifted.Exp().Sum(dim, keepDim: true).Log();
    }

    /// <summary>softmax along <paramref name="dim"/>: e^x / Σ e^x, computed as exp(log_softmax).</summary>
    public static Tensor Softmax(Tensor input, int dim) => LogSoftmax(input, dim).Exp();

    /// <summary>
    /// Negative log-likelihood of class indices: input (N, C) log-probabilities, target (N) class indices stored as
    /// floats. Targets equal to <paramref name="ignoreIndex"/> contribute nothing (and are left out of the mean).
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree or a target is not a class index in [0, C).</exception>
    public static Tensor NllLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, int ignoreIndex = -100)
    {
        (Tensor mask, int counted) = TargetMask(input, target, ignoreIndex, "NllLoss");
        Tensor perSample = -(input * mask).Sum(1);
        return Reduce(perSample, reduction, counted);
    }

    /// <summary>
    /// Cross-entropy of logits (N, C) against class indices (N), as <c>torch.nn.functional.cross_entropy</c>:
    /// loss = (1 − ε)·(−log p_target) + ε·mean_c(−log p_c) with label smoothing ε.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, a target is out of range, or ε is outside [0, 1].</exception>
    public static Tensor CrossEntropy(Tensor input, Tensor target, float labelSmoothing = 0f, Reduction reduction = Reduction.Mean, int ignoreIndex = -100)
    {
        if (labelSmoothing is < 0 or > 1 || float.IsNaN(labelSmoothing))
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"CrossEntropy: label smoothing must be in [0, 1], got {labelSmoothing}.");
        }

        (Tensor mask, int counted) = TargetMask(input, target, ignoreIndex, "CrossEntropy");
        Tensor logp = LogSoftmax(input, 1);
        Tensor perSample = -(logp * mask).Sum(1);
        if (labelSmoothing > 0)
        {
            // Ignored rows have an all-zero mask; the smoothing term must skip them too.
            Tensor keep = mask.Sum(1).Detach();
            Tensor smooth = -logp.Mean(1) * keep;
            perSample = (perSample * (1 - labelSmoothing)) + (smooth * labelSmoothing);
        }

        return Reduce(perSample, reduction, counted);
    }

    /// <summary>Mean (or summed, or per-element) squared error; shapes must match exactly.</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (!input.ShapeSpan.SequenceEqual(target.ShapeSpan))
        {
            throw new ArgumentException($"MseLoss expected input and target of the same shape, got {Shapes.Format(input.ShapeSpan)} and {Shapes.Format(target.ShapeSpan)}.");
        }

        Tensor squared = (input - target).Square();
        return reduction switch
        {
            Reduction.Mean => squared.Mean(),
            Reduction.Sum => squared.Sum(),
            _ => squared,
        };
    }

    private static Tensor Reduce(Tensor perSample, Reduction reduction, int counted) => reduction switch
    {
        // PyTorch divides by the number of non-ignored targets (NaN when all are ignored).
        Reduction.Mean => perSample.Sum() / counted,
        Reduction.Sum => perSample.Sum(),
        _ => perSample,
    };

    /// <summary>One-hot rows (N, C) for the targets, zero rows for ignored ones, and the count kept.</summary>
    private static (Tensor Mask, int Counted) TargetMask(Tensor input, Tensor target, int ignoreIndex, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Rank != 2 || target.Rank != 1 || target.Size(0) != input.Size(0))
        {
            throw new ArgumentException($"{op} expected input (N, C) and target (N) of class indices, got {Shapes.Format(input.ShapeSpan)} and {Shapes.Format(target.ShapeSpan)}.");
        }

        int n = input.Size(0);
        int c = input.Size(1);
        Tensor mask = Tensor.Zeros(n, c);
        Span<float> m = mask.Data;
        ReadOnlySpan<float> t = target.Data;
        int counted = 0;
        for (int i = 0; i < n; i++)
        {
            float v = t[i];
            if (v == ignoreIndex)
            {
                continue;
            }

            if (v != MathF.Floor(v) || v < 0 || v >= c)
            {
                throw new ArgumentException($"{op}: target {v} at index {i} is not a class index in [0, {c - 1}].", nameof(target));
            }

            m[(i * c) + (int)v] = 1f;
            counted++;
        }

        return (mask, counted);
    }
}
