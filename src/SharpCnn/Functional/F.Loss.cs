using SharpCnn.Autograd;

namespace SharpCnn.Functional;

public static partial class F
{
    /// <summary>log softmax along <paramref name="dim"/>, computed stably as (x − m) − log Σ e^(x − m) with m the maximum.</summary>
    public static Tensor LogSoftmax(Tensor input, int dim) => SoftmaxCore(input, dim, log: true);

    /// <summary>softmax along <paramref name="dim"/>: e^x / Σ e^x, computed stably.</summary>
    public static Tensor Softmax(Tensor input, int dim) => SoftmaxCore(input, dim, log: false);

    private static Tensor SoftmaxCore(Tensor input, int dim, bool log)
    {
        ArgumentNullException.ThrowIfNull(input);
        int d = Shapes.NormalizeDim(dim, input.Rank, log ? "LogSoftmax" : "Softmax");
        (int outer, int size, int inner) = Shapes.Split(input.ShapeSpan, d);
        Tensor y = Tensor.Uninitialized(input.ShapeSpan);
        if (log)
        {
            Kernels.LogSoftmax.Forward(input.Data, outer, size, inner, y.Data);
        }
        else
        {
            Kernels.Softmax.Forward(input.Data, outer, size, inner, y.Data);
        }

        // softmax: ∂L/∂x = y ⊙ (g − Σ g·y);  log softmax: ∂L/∂x = g − softmax ⊙ Σ g.
        return Graph.Record(y, input, (g, _) =>
        {
            Tensor gx = Tensor.Uninitialized(y.ShapeSpan);
            if (log)
            {
                Kernels.LogSoftmax.Backward(g.Data, y.Data, outer, size, inner, gx.Data);
            }
            else
            {
                Kernels.Softmax.Backward(g.Data, y.Data, outer, size, inner, gx.Data);
            }

            return [gx];
        }, log ? "LogSoftmaxBackward" : "SoftmaxBackward");
    }

    /// <summary>
    /// Negative log-likelihood of class indices: input (N, C) log-probabilities, target (N) class indices stored as
    /// floats. Targets equal to <paramref name="ignoreIndex"/> contribute nothing (and are left out of the mean).
    /// </summary>
    /// <param name="input">Log-probabilities (N, C).</param>
    /// <param name="target">Class indices (N) stored as floats.</param>
    /// <param name="reduction">Mean (default), sum or none.</param>
    /// <param name="ignoreIndex">Target value that contributes nothing.</param>
    /// <param name="weight">
    /// Optional class weights (C), treated as constants: row i counts w[t_i] times, and the mean divides by
    /// Σ w[t_i] over the rows not ignored, as PyTorch.
    /// </param>
    /// <exception cref="ArgumentException">Shapes disagree or a target is not a class index in [0, C).</exception>
    public static Tensor NllLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, int ignoreIndex = -100, Tensor? weight = null)
    {
        (Tensor targets, int counted) = ClassTargets(input, target, ignoreIndex, "NllLoss");
        if (weight is not null)
        {
            return WeightedClassLoss(input, logProbs: input, targets.Int32Bits, weight, 0f, reduction, ignoreIndex, "NllLoss");
        }

        int rows = input.Size(0);
        int classes = input.Size(1);
        Tensor losses = Tensor.Uninitialized(rows);
        Kernels.NllLoss.Forward(input.Data, targets.Int32Bits, rows, classes, ignoreIndex, losses.Data);
        return ReduceRows(input, losses, reduction, counted, "NllLossBackward", gradLosses =>
        {
            Tensor gx = Tensor.Uninitialized(input.ShapeSpan);
            Kernels.NllLoss.Backward(gradLosses, targets.Int32Bits, rows, classes, ignoreIndex, gx.Data);
            return gx;
        });
    }

    /// <summary>
    /// Cross-entropy of logits (N, C) against class indices (N) stored as floats, as
    /// <c>torch.nn.functional.cross_entropy</c>: loss = (1 − ε)·(−log p_target) + ε·mean_c(−log p_c) with label
    /// smoothing ε. Targets equal to <paramref name="ignoreIndex"/> are skipped; the mean runs over the rest.
    /// With class weights w (treated as constants), as PyTorch: loss_i = (1 − ε)·w[t_i]·(−log p_{t_i}) +
    /// ε/C·Σ_c w[c]·(−log p_c), and the mean divides by Σ w[t_i] over the rows not ignored.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes disagree, a target is out of range, or ε is outside [0, 1].</exception>
    public static Tensor CrossEntropy(Tensor input, Tensor target, float labelSmoothing = 0f, Reduction reduction = Reduction.Mean, int ignoreIndex = -100, Tensor? weight = null)
    {
        if (labelSmoothing is < 0 or > 1 || float.IsNaN(labelSmoothing))
        {
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"CrossEntropy: label smoothing must be in [0, 1], got {labelSmoothing}.");
        }

        (Tensor targets, int counted) = ClassTargets(input, target, ignoreIndex, "CrossEntropy");
        if (weight is not null)
        {
            return WeightedClassLoss(input, LogSoftmax(input, 1), targets.Int32Bits, weight, labelSmoothing, reduction, ignoreIndex, "CrossEntropy");
        }

        int rows = input.Size(0);
        int classes = input.Size(1);
        Tensor losses = Tensor.Uninitialized(rows);
        Kernels.CrossEntropy.Forward(input.Data, targets.Int32Bits, rows, classes, ignoreIndex, labelSmoothing, losses.Data);

        // ∂loss_r/∂logits_r = softmax_r − (1 − ε)·onehot(t_r) − ε/C, scaled by each row's share of the reduction.
        return ReduceRows(input, losses, reduction, counted, "CrossEntropyBackward", gradLosses =>
        {
            Tensor gx = Tensor.Uninitialized(input.ShapeSpan);
            Kernels.CrossEntropy.Backward(input.Data, targets.Int32Bits, rows, classes, ignoreIndex, labelSmoothing, gradLosses, gx.Data);
            return gx;
        });
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

        if (reduction != Reduction.Mean)
        {
            // Sum and per-element forms compose from recorded ops; the mean has its own kernel pair.
            Tensor squared = (input - target).Square();
            return reduction == Reduction.Sum ? squared.Sum() : squared;
        }

        Tensor loss = Tensor.Scalar(Kernels.MseLoss.Forward(input.Data, target.Data));

        // L = mean (x − t)²  ⇒  ∂L/∂x = 2(x − t)/n, ∂L/∂t = −∂L/∂x.
        return Graph.Record(loss, "MseLossBackward", [input, target], g =>
        {
            Tensor gx = Tensor.Uninitialized(input.ShapeSpan);
            Kernels.MseLoss.Backward(input.Data, target.Data, g.Item(), gx.Data);
            return [gx, target.RequiresGrad ? -gx : null];
        });
    }

    /// <summary>Applies the reduction to per-row losses and records the rule that scales each row's gradient.</summary>
    private static Tensor ReduceRows(Tensor input, Tensor losses, Reduction reduction, int counted, string name, Func<ReadOnlySpan<float>, Tensor> rowBackward)
    {
        Tensor result;
        if (reduction == Reduction.None)
        {
            result = losses;
        }
        else
        {
            double total = 0;
            foreach (float l in losses.Data)
            {
                total += l;
            }

            // PyTorch divides by the number of non-ignored targets (NaN when all are ignored).
            result = Tensor.Scalar(reduction == Reduction.Sum ? (float)total : (float)(total / counted));
        }

        int rows = losses.Numel;
        return Graph.Record(result, input, (g, _) =>
        {
            if (reduction == Reduction.None)
            {
                return [rowBackward(g.Data)];
            }

            Tensor gradLosses = Tensor.Full([rows], reduction == Reduction.Sum ? g.Item() : g.Item() / counted);
            return [rowBackward(gradLosses.Data)];
        }, name);
    }

    /// <summary>
    /// The class-weighted loss, composed from recorded ops on the log-probabilities (the weighted path is rarer, so it
    /// trades the fused kernel for clarity): per row (1 − ε)·w[t]·(−log p_t) + ε/C·Σ_c w[c]·(−log p_c).
    /// </summary>
    private static Tensor WeightedClassLoss(Tensor input, Tensor logProbs, ReadOnlySpan<int> targets, Tensor weight, float labelSmoothing, Reduction reduction, int ignoreIndex, string op)
    {
        int rows = input.Size(0);
        int classes = input.Size(1);
        if (weight.Rank != 1 || weight.Size(0) != classes)
        {
            throw new ArgumentException($"{op} expected class weights of shape ({classes}) for input {Shapes.Format(input.ShapeSpan)} but got {Shapes.Format(weight.ShapeSpan)}.", nameof(weight));
        }

        // Constant masks: w[t_i] at the target column of each kept row, and w on every column of kept rows.
        Tensor targetWeights = Tensor.Zeros(rows, classes);
        Tensor rowWeights = Tensor.Zeros(rows, classes);
        ReadOnlySpan<float> w = weight.Data;
        double weightSum = 0;
        for (int i = 0; i < rows; i++)
        {
            if (targets[i] == ignoreIndex)
            {
                continue;
            }

            targetWeights.Data[(i * classes) + targets[i]] = w[targets[i]];
            w.CopyTo(rowWeights.Data.Slice(i * classes, classes));
            weightSum += w[targets[i]];
        }

        Tensor perRow = -(logProbs * targetWeights).Sum(1);
        if (labelSmoothing > 0)
        {
            Tensor smooth = -(logProbs * rowWeights).Sum(1);
            perRow = (perRow * (1 - labelSmoothing)) + (smooth * (labelSmoothing / classes));
        }

        return reduction switch
        {
            Reduction.Mean => perRow.Sum() / (float)weightSum,
            Reduction.Sum => perRow.Sum(),
            _ => perRow,
        };
    }

    /// <summary>
    /// Class indices from a float target tensor (N), checked against C, as int32 bits in a float tensor (pooled like
    /// any tensor), and the count not ignored.
    /// </summary>
    private static (Tensor Targets, int Counted) ClassTargets(Tensor input, Tensor target, int ignoreIndex, string op)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(target);
        if (input.Rank != 2 || target.Rank != 1 || target.Size(0) != input.Size(0))
        {
            throw new ArgumentException($"{op} expected input (N, C) and target (N) of class indices, got {Shapes.Format(input.ShapeSpan)} and {Shapes.Format(target.ShapeSpan)}.");
        }

        int n = input.Size(0);
        int c = input.Size(1);
        Tensor indices = Tensor.Uninitialized(n);
        Span<int> targets = indices.Int32Bits;
        ReadOnlySpan<float> t = target.Data;
        int counted = 0;
        for (int i = 0; i < n; i++)
        {
            float v = t[i];
            if (v == ignoreIndex)
            {
                targets[i] = ignoreIndex;
                continue;
            }

            if (v != MathF.Floor(v) || v < 0 || v >= c)
            {
                throw new ArgumentException($"{op}: target {v} at index {i} is not a class index in [0, {c - 1}].", nameof(target));
            }

            targets[i] = (int)v;
            counted++;
        }

        return (indices, counted);
    }
}
