using System.Buffers;

namespace SharpCnn.Kernels;

/// <summary>
/// Local response normalisation across channels (PyTorch <c>LocalResponseNorm</c>) over [n, c, spatial]:
/// y_c = x_c / s_c^β, s_c = k + α/size · Σ_{c' ∈ W(c)} x_{c'}², W(c) = [c − ⌊size/2⌋, c + ⌊(size − 1)/2⌋]
/// clipped to the channels (PyTorch pads size/2 zeros before and (size − 1)/2 after, and averages over size).
/// </summary>
public static class LocalResponseNorm
{
    /// <summary>Forward pass.</summary>
    /// <param name="input">Input [n, c, spatial].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="size">Channels in the window (≥ 1).</param>
    /// <param name="alpha">Scale α (PyTorch default 1e-4).</param>
    /// <param name="beta">Exponent β (PyTorch default 0.75).</param>
    /// <param name="k">Additive constant (PyTorch default 1).</param>
    /// <param name="output">Output [n, c, spatial], overwritten.</param>
    public static unsafe void Forward(ReadOnlySpan<float> input, int n, int c, int spatial, int size, float alpha, float beta, float k, Span<float> output)
    {
        Check(input.Length, output.Length, n, c, spatial, size);
        int plane = c * spatial;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        {
            float* xIn = pIn, yOut = pOut;
            KernelParallel.For(n, (long)plane * (size + 2), (start, end) =>
            {
                float[] scale = ArrayPool<float>.Shared.Rent(plane);
                try
                {
                    for (int s = start; s < end; s++)
                    {
                        var x = new ReadOnlySpan<float>(xIn + ((long)s * plane), plane);
                        var y = new Span<float>(yOut + ((long)s * plane), plane);
                        Scale(x, c, spatial, size, alpha, k, scale);
                        for (int i = 0; i < plane; i++)
                        {
                            y[i] = x[i] * MathF.Pow(scale[i], -beta);
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(scale);
                }
            });
        }
    }

    /// <summary>
    /// Exact backward: gx_j = g_j·s_j^(−β) − (2αβ/size)·x_j·Σ_{c : j ∈ W(c)} g_c·x_c·s_c^(−β−1).
    /// </summary>
    /// <param name="gradOutput">Gradient of the output [n, c, spatial].</param>
    /// <param name="input">Forward input [n, c, spatial].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="size">Channels in the window.</param>
    /// <param name="alpha">Scale α.</param>
    /// <param name="beta">Exponent β.</param>
    /// <param name="k">Additive constant.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    public static unsafe void Backward(ReadOnlySpan<float> gradOutput, ReadOnlySpan<float> input, int n, int c, int spatial, int size, float alpha, float beta, float k, Span<float> gradInput)
    {
        Check(input.Length, gradInput.Length, n, c, spatial, size);
        Pool2d.CheckLength(nameof(gradOutput), gradOutput.Length, (long)n * c * spatial);
        int plane = c * spatial;
        int before = size / 2;
        int after = (size - 1) / 2;
        float coef = 2f * alpha * beta / size;
        fixed (float* pGo = gradOutput)
        fixed (float* pIn = input)
        fixed (float* pGi = gradInput)
        {
            float* goIn = pGo, xIn = pIn, giOut = pGi;
            KernelParallel.For(n, (long)plane * ((2 * size) + 4), (start, end) =>
            {
                float[] scale = ArrayPool<float>.Shared.Rent(plane);
                float[] t = ArrayPool<float>.Shared.Rent(plane);
                try
                {
                    for (int s = start; s < end; s++)
                    {
                        var x = new ReadOnlySpan<float>(xIn + ((long)s * plane), plane);
                        var go = new ReadOnlySpan<float>(goIn + ((long)s * plane), plane);
                        var gi = new Span<float>(giOut + ((long)s * plane), plane);
                        Scale(x, c, spatial, size, alpha, k, scale);
                        for (int i = 0; i < plane; i++)
                        {
                            t[i] = go[i] * x[i] * MathF.Pow(scale[i], -beta - 1f);
                        }

                        for (int j = 0; j < c; j++)
                        {
                            // j ∈ W(cc) ⇔ cc ∈ [j − after, j + before].
                            int c0 = Math.Max(0, j - after);
                            int c1 = Math.Min(c - 1, j + before);
                            for (int p = 0; p < spatial; p++)
                            {
                                float acc = 0f;
                                for (int cc = c0; cc <= c1; cc++)
                                {
                                    acc += t[(cc * spatial) + p];
                                }

                                int idx = (j * spatial) + p;
                                gi[idx] = (go[idx] * MathF.Pow(scale[idx], -beta)) - (coef * x[idx] * acc);
                            }
                        }
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(scale);
                    ArrayPool<float>.Shared.Return(t);
                }
            });
        }
    }

    // scale[c, p] = k + α/size · Σ_{c' ∈ [c − size/2, c + (size−1)/2] ∩ [0, C)} x[c', p]².
    private static void Scale(ReadOnlySpan<float> x, int c, int spatial, int size, float alpha, float k, Span<float> scale)
    {
        int before = size / 2;
        int after = (size - 1) / 2;
        float a = alpha / size;
        for (int ch = 0; ch < c; ch++)
        {
            int c0 = Math.Max(0, ch - before);
            int c1 = Math.Min(c - 1, ch + after);
            Span<float> row = scale.Slice(ch * spatial, spatial);
            row.Clear();
            for (int cc = c0; cc <= c1; cc++)
            {
                ReadOnlySpan<float> src = x.Slice(cc * spatial, spatial);
                for (int p = 0; p < spatial; p++)
                {
                    row[p] += src[p] * src[p];
                }
            }

            for (int p = 0; p < spatial; p++)
            {
                row[p] = k + (a * row[p]);
            }
        }
    }

    private static void Check(int inputLength, int outputLength, int n, int c, int spatial, int size)
    {
        if (n < 0 || c < 1 || spatial < 1 || size < 1)
        {
            throw new ArgumentException($"LocalResponseNorm expected n ≥ 0, c ≥ 1, spatial ≥ 1, size ≥ 1 but got n={n}, c={c}, spatial={spatial}, size={size}");
        }

        Pool2d.CheckLength("input", inputLength, (long)n * c * spatial);
        Pool2d.CheckLength("output", outputLength, (long)n * c * spatial);
    }
}
