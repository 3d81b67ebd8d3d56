using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>Plain scalar twins of <see cref="BatchNorm"/> and <see cref="LocalResponseNorm"/>, generic for double tests.</summary>
public static class NormReference
{
    /// <summary>BatchNorm training forward from the definition (biased variance).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="input">Input [n, c, spatial].</param>
    /// <param name="gamma">Scale [c] or empty.</param>
    /// <param name="beta">Shift [c] or empty.</param>
    /// <param name="n">Batch.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="eps">Variance epsilon.</param>
    /// <param name="output">Output.</param>
    /// <param name="mean">Batch mean [c].</param>
    /// <param name="invStd">1/√(var + eps) [c].</param>
    public static void BatchNormForwardTraining<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, int n, int c, int spatial, T eps, Span<T> output, Span<T> mean, Span<T> invStd)
        where T : IFloatingPointIeee754<T>
    {
        T m = T.CreateChecked(n * spatial);
        for (int ch = 0; ch < c; ch++)
        {
            T sum = T.Zero;
            for (int s = 0; s < n; s++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    sum += input[(((s * c) + ch) * spatial) + p];
                }
            }

            T mu = sum / m;
            T sq = T.Zero;
            for (int s = 0; s < n; s++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    T d = input[(((s * c) + ch) * spatial) + p] - mu;
                    sq += d * d;
                }
            }

            T inv = T.One / T.Sqrt((sq / m) + eps);
            mean[ch] = mu;
            invStd[ch] = inv;
            T g = gamma.IsEmpty ? T.One : gamma[ch];
            T b = beta.IsEmpty ? T.Zero : beta[ch];
            for (int s = 0; s < n; s++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    int i = (((s * c) + ch) * spatial) + p;
                    output[i] = ((input[i] - mu) * inv * g) + b;
                }
            }
        }
    }

    /// <summary>BatchNorm training backward from the definition.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="gradOutput">Output gradient.</param>
    /// <param name="input">Forward input.</param>
    /// <param name="gamma">Scale or empty.</param>
    /// <param name="mean">Batch mean.</param>
    /// <param name="invStd">Batch inverse std.</param>
    /// <param name="n">Batch.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="gradInput">Input gradient.</param>
    /// <param name="gradGamma">γ gradient [c].</param>
    /// <param name="gradBeta">β gradient [c].</param>
    public static void BatchNormBackward<T>(ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> input, ReadOnlySpan<T> gamma, ReadOnlySpan<T> mean, ReadOnlySpan<T> invStd, int n, int c, int spatial, Span<T> gradInput, Span<T> gradGamma, Span<T> gradBeta)
        where T : IFloatingPointIeee754<T>
    {
        T m = T.CreateChecked(n * spatial);
        for (int ch = 0; ch < c; ch++)
        {
            T sumG = T.Zero;
            T sumGXhat = T.Zero;
            for (int s = 0; s < n; s++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    int i = (((s * c) + ch) * spatial) + p;
                    sumG += gradOutput[i];
                    sumGXhat += gradOutput[i] * (input[i] - mean[ch]) * invStd[ch];
                }
            }

            gradGamma[ch] = sumGXhat;
            gradBeta[ch] = sumG;
            T g = gamma.IsEmpty ? T.One : gamma[ch];
            for (int s = 0; s < n; s++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    int i = (((s * c) + ch) * spatial) + p;
                    T xhat = (input[i] - mean[ch]) * invStd[ch];
                    gradInput[i] = g * invStd[ch] * (gradOutput[i] - (sumG / m) - (xhat * sumGXhat / m));
                }
            }
        }
    }

    /// <summary>LRN forward from the definition: y_c = x_c·(k + α/size·Σ_{W(c)} x²)^(−β).</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="input">Input [n, c, spatial].</param>
    /// <param name="n">Batch.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="size">Window size.</param>
    /// <param name="alpha">α.</param>
    /// <param name="beta">β.</param>
    /// <param name="k">k.</param>
    /// <param name="output">Output.</param>
    public static void LrnForward<T>(ReadOnlySpan<T> input, int n, int c, int spatial, int size, T alpha, T beta, T k, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        for (int s = 0; s < n; s++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    T scale = LrnScale(input, s, ch, p, c, spatial, size, alpha, k);
                    int i = (((s * c) + ch) * spatial) + p;
                    output[i] = input[i] * T.Pow(scale, -beta);
                }
            }
        }
    }

    /// <summary>LRN backward from the chain rule, summing over every output each input touches.</summary>
    /// <typeparam name="T">Floating-point type.</typeparam>
    /// <param name="gradOutput">Output gradient.</param>
    /// <param name="input">Forward input.</param>
    /// <param name="n">Batch.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="size">Window size.</param>
    /// <param name="alpha">α.</param>
    /// <param name="beta">β.</param>
    /// <param name="k">k.</param>
    /// <param name="gradInput">Input gradient.</param>
    public static void LrnBackward<T>(ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> input, int n, int c, int spatial, int size, T alpha, T beta, T k, Span<T> gradInput)
        where T : IFloatingPointIeee754<T>
    {
        T two = T.CreateChecked(2);
        T a = alpha / T.CreateChecked(size);
        for (int s = 0; s < n; s++)
        {
            for (int j = 0; j < c; j++)
            {
                for (int p = 0; p < spatial; p++)
                {
                    int ij = (((s * c) + j) * spatial) + p;
                    T xj = input[ij];
                    T total = gradOutput[ij] * T.Pow(LrnScale(input, s, j, p, c, spatial, size, alpha, k), -beta);
                    for (int ch = 0; ch < c; ch++)
                    {
                        bool inWindow = j >= ch - (size / 2) && j <= ch + ((size - 1) / 2);
                        if (!inWindow)
                        {
                            continue;
                        }

                        // ∂y_ch/∂x_j (scale part) = x_ch·(−β)·s_ch^(−β−1)·a·2·x_j
                        int ic = (((s * c) + ch) * spatial) + p;
                        T sc = LrnScale(input, s, ch, p, c, spatial, size, alpha, k);
                        total -= gradOutput[ic] * input[ic] * beta * T.Pow(sc, -beta - T.One) * a * two * xj;
                    }

                    gradInput[ij] = total;
                }
            }
        }
    }

    private static T LrnScale<T>(ReadOnlySpan<T> input, int s, int ch, int p, int c, int spatial, int size, T alpha, T k)
        where T : IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int cc = ch - (size / 2); cc <= ch + ((size - 1) / 2); cc++)
        {
            if (cc >= 0 && cc < c)
            {
                T v = input[(((s * c) + cc) * spatial) + p];
                sum += v * v;
            }
        }

        return k + (alpha / T.CreateChecked(size) * sum);
    }
}
