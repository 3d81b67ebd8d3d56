using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>Plain scalar twins of softmax, log-softmax and the losses, generic for double tests.</summary>
public static class LossReference
{
    /// <summary>Softmax (or log-softmax) along the middle axis of (outer, dim, inner), from the definition.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="x">Input.</param>
    /// <param name="outer">Outer size.</param>
    /// <param name="dim">Axis size.</param>
    /// <param name="inner">Inner size.</param>
    /// <param name="log">Log-softmax when true.</param>
    /// <param name="y">Output.</param>
    public static void SoftmaxForward<T>(ReadOnlySpan<T> x, int outer, int dim, int inner, bool log, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                T sum = T.Zero;
                for (int d = 0; d < dim; d++)
                {
                    sum += T.Exp(x[(((o * dim) + d) * inner) + i]);
                }

                for (int d = 0; d < dim; d++)
                {
                    int k = (((o * dim) + d) * inner) + i;
                    y[k] = log ? x[k] - T.Log(sum) : T.Exp(x[k]) / sum;
                }
            }
        }
    }

    /// <summary>Softmax (or log-softmax) backward from the Jacobian: gx_d = Σ_e g_e·∂y_e/∂x_d.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="g">Output gradient.</param>
    /// <param name="x">Forward input.</param>
    /// <param name="outer">Outer size.</param>
    /// <param name="dim">Axis size.</param>
    /// <param name="inner">Inner size.</param>
    /// <param name="log">Log-softmax when true.</param>
    /// <param name="gi">Input gradient.</param>
    public static void SoftmaxBackward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> x, int outer, int dim, int inner, bool log, Span<T> gi)
        where T : IFloatingPointIeee754<T>
    {
        var p = new T[x.Length];
        SoftmaxForward(x, outer, dim, inner, false, p);
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                for (int d = 0; d < dim; d++)
                {
                    int kd = (((o * dim) + d) * inner) + i;
                    T acc = T.Zero;
                    for (int e = 0; e < dim; e++)
                    {
                        int ke = (((o * dim) + e) * inner) + i;
                        T delta = d == e ? T.One : T.Zero;

                        // softmax: ∂y_e/∂x_d = p_e(δ − p_d); log-softmax: ∂y_e/∂x_d = δ − p_d.
                        acc += g[ke] * (log ? delta - p[kd] : p[ke] * (delta - p[kd]));
                    }

                    gi[kd] = acc;
                }
            }
        }
    }

    /// <summary>Cross-entropy with label smoothing per row, from log-softmax.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="logits">Logits [rows, classes].</param>
    /// <param name="targets">Targets.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="ignoreIndex">Ignored target.</param>
    /// <param name="eps">Label smoothing.</param>
    /// <param name="losses">Per-row loss.</param>
    public static void CrossEntropyForward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, int rows, int classes, int ignoreIndex, T eps, Span<T> losses)
        where T : IFloatingPointIeee754<T>
    {
        var logp = new T[classes];
        for (int r = 0; r < rows; r++)
        {
            if (targets[r] == ignoreIndex)
            {
                losses[r] = T.Zero;
                continue;
            }

            SoftmaxForward(logits.Slice(r * classes, classes), 1, classes, 1, true, logp);
            T smooth = T.Zero;
            for (int j = 0; j < classes; j++)
            {
                smooth -= logp[j];
            }

            losses[r] = ((T.One - eps) * -logp[targets[r]]) + (eps * smooth / T.CreateChecked(classes));
        }
    }

    /// <summary>Cross-entropy gradient wrt logits: gradLoss·(softmax − smoothed one-hot).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="logits">Logits.</param>
    /// <param name="targets">Targets.</param>
    /// <param name="rows">Rows.</param>
    /// <param name="classes">Classes.</param>
    /// <param name="ignoreIndex">Ignored target.</param>
    /// <param name="eps">Label smoothing.</param>
    /// <param name="gradLosses">Per-row upstream gradient.</param>
    /// <param name="gradLogits">Logit gradient.</param>
    public static void CrossEntropyBackward<T>(ReadOnlySpan<T> logits, ReadOnlySpan<int> targets, int rows, int classes, int ignoreIndex, T eps, ReadOnlySpan<T> gradLosses, Span<T> gradLogits)
        where T : IFloatingPointIeee754<T>
    {
        var p = new T[classes];
        for (int r = 0; r < rows; r++)
        {
            SoftmaxForward(logits.Slice(r * classes, classes), 1, classes, 1, false, p);
            for (int j = 0; j < classes; j++)
            {
                T q = (j == targets[r] ? T.One - eps : T.Zero) + (eps / T.CreateChecked(classes));
                gradLogits[(r * classes) + j] = targets[r] == ignoreIndex ? T.Zero : gradLosses[r] * (p[j] - q);
            }
        }
    }
}
