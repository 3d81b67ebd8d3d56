using Xunit.Abstractions;

namespace SharpCnn.Kernels.Tests;

/// <summary>A backward-weight test's componentwise bound on dw, from the double dy and x.</summary>
internal delegate double[] BackwardWeightBound(double[] dy, double[] x, in Conv2dGeometry g);

/// <summary>
/// The componentwise rounding bound of a stride-1 Winograd F(m×m, r×r) convolution as the kernels evaluate it, shared by
/// the F(4×4, 3×3) and F(2×2, 5×5) tests (each test's summary derives its own rounding count). Every output is a sum over
/// paths (channel c, transform point ξ) of Aᵀ·(G g_c Gᵀ)[ξ]·(Bᵀ d_c B)[ξ]·A, so by Higham's path argument
/// |ŷ − y| ≤ γ_n·M with M = Σ_c |Aᵀ|((|G||g_c||Gᵀ|) ⊙ (|Bᵀ||d_c||B|))|A| + |b| and γ_n = n·u / (1 − n·u).
/// </summary>
internal static class WinogradTileBound
{
    /// <summary>
    /// Checks a Winograd backward-weight result against the double reference: every dw within its bound (from
    /// <paramref name="bound"/>, the test's own derivation), the bias gradient as a plain sum, and writes the largest
    /// error as a share of the bound and in units of u·Σ|dy||x| (the figures quoted in docs/performance.md).
    /// </summary>
    public static void AssertBackwardWeightWithinBound(string name, in Conv2dGeometry g, float[] x, float[] dy, float[] dw,
        float[] db, BackwardWeightBound bound, ITestOutputHelper output)
    {
        double[] xd = GemmConv2dNumerics.ToDouble(x), dyd = GemmConv2dNumerics.ToDouble(dy);
        var edw = new double[g.WeightLength];
        var edb = new double[g.OutChannels];
        var direct = new double[g.WeightLength];
        var mdb = new double[g.OutChannels];
        Conv2dReference.BackwardWeight<double>(dyd, xd, g, edw, edb);
        Conv2dReference.BackwardWeight<double>(GemmConv2dNumerics.Abs(dyd), GemmConv2dNumerics.Abs(xd), g, direct, mdb);
        double[] limit = bound(dyd, xd, g);
        double worstOfBound = 0, worstOfDirect = 0;
        for (int i = 0; i < edw.Length; i++)
        {
            double error = Math.Abs(dw[i] - edw[i]);
            Assert.True(error <= limit[i], $"{name}: dw[{i}] is {dw[i]} but the reference gives {edw[i]} (|error| {error:E3} > bound {limit[i]:E3}).");
            worstOfBound = Math.Max(worstOfBound, limit[i] > 0 ? error / limit[i] : 0);
            worstOfDirect = Math.Max(worstOfDirect, error / (GemmConv2dNumerics.Unit * Math.Max(direct[i], 1e-30)));
        }

        long terms = (long)g.Batch * g.OutHeight * g.OutWidth;
        GemmConv2dNumerics.AssertClose(db, edb, mdb, terms, $"{name} bias-grad");
        output.WriteLine($"{name}: max |error|/bound {worstOfBound:F4}, max |error|/(u·Σ|dy||x|) {worstOfDirect:F2}");
    }

    /// <summary>
    /// γ_n·M per output of <paramref name="g"/> (stride 1), with n = C_in + <paramref name="fixedRoundings"/>, for the
    /// transforms <paramref name="bt"/> (t×t), <paramref name="gm"/> (t×r) and <paramref name="at"/> (m×t).
    /// </summary>
    public static double[] Compute(double[] x, double[] w, double[] bias, in Conv2dGeometry g, double[,] bt, double[,] gm,
        double[,] at, int fixedRoundings)
    {
        int t = bt.GetLength(0), r = gm.GetLength(1), mt = at.GetLength(0), tt = t * t;
        int c = g.InChannels, k = g.OutChannels, oh = g.OutHeight, ow = g.OutWidth;
        int th = (oh + mt - 1) / mt, tw = (ow + mt - 1) / mt;
        var u = new double[k * c * tt];
        for (int o = 0; o < k; o++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int i = 0; i < t; i++)
                {
                    for (int j = 0; j < t; j++)
                    {
                        double sum = 0;
                        for (int a = 0; a < r; a++)
                        {
                            for (int bb = 0; bb < r; bb++)
                            {
                                sum += Math.Abs(gm[i, a] * gm[j, bb]) * Math.Abs(w[((((o * c) + ch) * r) + a) * r + bb]);
                            }
                        }

                        u[(((o * c) + ch) * tt) + (t * i) + j] = sum;
                    }
                }
            }
        }

        double n = (c + fixedRoundings) * GemmConv2dNumerics.Unit, gamma = n / (1 - n);
        var bound = new double[g.OutputLength];
        var v = new double[c * tt];
        var m = new double[tt];
        for (int b = 0; b < g.Batch; b++)
        {
            for (int ty = 0; ty < th; ty++)
            {
                for (int tx = 0; tx < tw; tx++)
                {
                    // |Bᵀ||d||B| of each channel's t×t patch (zeros outside the input).
                    for (int ch = 0; ch < c; ch++)
                    {
                        for (int i = 0; i < t; i++)
                        {
                            for (int j = 0; j < t; j++)
                            {
                                double sum = 0;
                                for (int p = 0; p < t; p++)
                                {
                                    int iy = (mt * ty) - g.PadTop + p;
                                    if ((uint)iy >= (uint)g.Height || bt[i, p] == 0)
                                    {
                                        continue;
                                    }

                                    for (int q = 0; q < t; q++)
                                    {
                                        int ix = (mt * tx) - g.PadLeft + q;
                                        if ((uint)ix < (uint)g.Width)
                                        {
                                            sum += Math.Abs(bt[i, p] * bt[j, q]) * Math.Abs(x[((((b * c) + ch) * g.Height) + iy) * g.Width + ix]);
                                        }
                                    }
                                }

                                v[(ch * tt) + (t * i) + j] = sum;
                            }
                        }
                    }

                    for (int o = 0; o < k; o++)
                    {
                        Array.Clear(m);
                        for (int ch = 0; ch < c; ch++)
                        {
                            for (int e = 0; e < tt; e++)
                            {
                                m[e] += u[(((o * c) + ch) * tt) + e] * v[(ch * tt) + e];
                            }
                        }

                        for (int ry = 0; ry < mt && (mt * ty) + ry < oh; ry++)
                        {
                            for (int s = 0; s < mt && (mt * tx) + s < ow; s++)
                            {
                                double sum = 0;
                                for (int e = 0; e < tt; e++)
                                {
                                    sum += Math.Abs(at[ry, e / t] * at[s, e % t]) * m[e];
                                }

                                double bb = bias.Length == 0 ? 0 : Math.Abs(bias[o]);
                                bound[((((b * k) + o) * oh) + (mt * ty) + ry) * ow + (mt * tx) + s] = gamma * (sum + bb);
                            }
                        }
                    }
                }
            }
        }

        return bound;
    }

    /// <summary>w flipped in both axes with in/out channels swapped: the kernel of backward-data as a forward.</summary>
    public static double[] Flip(double[] w, in Conv2dGeometry g)
    {
        int taps = g.KernelH * g.KernelW;
        var f = new double[w.Length];
        for (int o = 0; o < g.OutChannels; o++)
        {
            for (int c = 0; c < g.InChannels; c++)
            {
                for (int t = 0; t < taps; t++)
                {
                    f[(((c * g.OutChannels) + o) * taps) + taps - 1 - t] = w[(((o * g.InChannels) + c) * taps) + t];
                }
            }
        }

        return f;
    }
}
