using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>
/// Direct-loop 2-D convolution (cross-correlation, as PyTorch) over NCHW data: the oracle for the fast
/// <see cref="Conv2d"/> kernels and the documentation of the math. Generic so tests can run it in double.
/// </summary>
/// <remarks>
/// Legend: n sample, o output channel, c input channel, g = o / (C_out/G) its group, c' = c − g·(C_in/G) the
/// channel inside the group, (oy, ox) output pixel, (ki, kj) kernel tap. The input pixel a tap reads is
/// iy = oy·strideH − padTop + ki·dilationH, ix = ox·strideW − padLeft + kj·dilationW; outside the input it is zero.
/// </remarks>
public static class Conv2dReference
{
    /// <summary>
    /// y[n, o, oy, ox] = b[o] + Σ_{c', ki, kj} w[o, c', ki, kj] · x[n, g·(C_in/G) + c', iy, ix].
    /// </summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="input">x, (N, C_in, H, W).</param>
    /// <param name="weight">w, (C_out, C_in/G, kh, kw).</param>
    /// <param name="bias">b, (C_out), or empty for none.</param>
    /// <param name="g">Geometry.</param>
    /// <param name="output">y, (N, C_out, OH, OW), overwritten.</param>
    public static void Forward<T>(ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias,
        in Conv2dGeometry g, Span<T> output)
        where T : IFloatingPointIeee754<T>
    {
        g.Validate();
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, oh = g.OutHeight, ow = g.OutWidth;
        for (int n = 0; n < g.Batch; n++)
        {
            for (int o = 0; o < g.OutChannels; o++)
            {
                int group = o / og;
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        T sum = bias.IsEmpty ? T.Zero : bias[o];
                        for (int ci = 0; ci < cg; ci++)
                        {
                            int c = (group * cg) + ci;
                            for (int ki = 0; ki < g.KernelH; ki++)
                            {
                                int iy = (oy * g.StrideH) - g.PadTop + (ki * g.DilationH);
                                if (iy < 0 || iy >= g.Height)
                                {
                                    continue;
                                }

                                for (int kj = 0; kj < g.KernelW; kj++)
                                {
                                    int ix = (ox * g.StrideW) - g.PadLeft + (kj * g.DilationW);
                                    if (ix < 0 || ix >= g.Width)
                                    {
                                        continue;
                                    }

                                    sum += weight[WeightIndex(g, o, ci, ki, kj)] * input[InputIndex(g, n, c, iy, ix)];
                                }
                            }
                        }

                        output[(((n * g.OutChannels) + o) * oh * ow) + (oy * ow) + ox] = sum;
                    }
                }
            }
        }
    }

    /// <summary>
    /// dx = ∂L/∂x given dy = ∂L/∂y: the adjoint of <see cref="Forward{T}"/>. Each output gradient flows back to
    /// every input pixel that produced it: dx[n, c, iy, ix] += w[o, c', ki, kj] · dy[n, o, oy, ox]
    /// for all (o, ki, kj, oy, ox) whose tap lands on (iy, ix). Overwrites <paramref name="gradInput"/>.
    /// </summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="gradOutput">dy, (N, C_out, OH, OW).</param>
    /// <param name="weight">w, (C_out, C_in/G, kh, kw).</param>
    /// <param name="g">Geometry.</param>
    /// <param name="gradInput">dx, (N, C_in, H, W), overwritten.</param>
    public static void BackwardData<T>(ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> weight, in Conv2dGeometry g,
        Span<T> gradInput)
        where T : IFloatingPointIeee754<T>
    {
        g.Validate();
        gradInput[..checked((int)g.InputLength)].Clear();
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, oh = g.OutHeight, ow = g.OutWidth;
        for (int n = 0; n < g.Batch; n++)
        {
            for (int o = 0; o < g.OutChannels; o++)
            {
                int group = o / og;
                for (int oy = 0; oy < oh; oy++)
                {
                    for (int ox = 0; ox < ow; ox++)
                    {
                        T dy = gradOutput[(((n * g.OutChannels) + o) * oh * ow) + (oy * ow) + ox];
                        for (int ci = 0; ci < cg; ci++)
                        {
                            int c = (group * cg) + ci;
                            for (int ki = 0; ki < g.KernelH; ki++)
                            {
                                int iy = (oy * g.StrideH) - g.PadTop + (ki * g.DilationH);
                                if (iy < 0 || iy >= g.Height)
                                {
                                    continue;
                                }

                                for (int kj = 0; kj < g.KernelW; kj++)
                                {
                                    int ix = (ox * g.StrideW) - g.PadLeft + (kj * g.DilationW);
                                    if (ix < 0 || ix >= g.Width)
                                    {
                                        continue;
                                    }

                                    gradInput[InputIndex(g, n, c, iy, ix)] += weight[WeightIndex(g, o, ci, ki, kj)] * dy;
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// dw[o, c', ki, kj] = Σ_{n, oy, ox} dy[n, o, oy, ox] · x[n, g·(C_in/G) + c', iy, ix] and
    /// db[o] = Σ_{n, oy, ox} dy[n, o, oy, ox]. Overwrites both.
    /// </summary>
    /// <typeparam name="T">Element type.</typeparam>
    /// <param name="gradOutput">dy, (N, C_out, OH, OW).</param>
    /// <param name="input">x, (N, C_in, H, W).</param>
    /// <param name="g">Geometry.</param>
    /// <param name="gradWeight">dw, (C_out, C_in/G, kh, kw), overwritten.</param>
    /// <param name="gradBias">db, (C_out), overwritten; empty for none.</param>
    public static void BackwardWeight<T>(ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> input, in Conv2dGeometry g,
        Span<T> gradWeight, Span<T> gradBias)
        where T : IFloatingPointIeee754<T>
    {
        g.Validate();
        int cg = g.InChannelsPerGroup, og = g.OutChannelsPerGroup, oh = g.OutHeight, ow = g.OutWidth;
        for (int o = 0; o < g.OutChannels; o++)
        {
            int group = o / og;
            for (int ci = 0; ci < cg; ci++)
            {
                int c = (group * cg) + ci;
                for (int ki = 0; ki < g.KernelH; ki++)
                {
                    for (int kj = 0; kj < g.KernelW; kj++)
                    {
                        T sum = T.Zero;
                        for (int n = 0; n < g.Batch; n++)
                        {
                            for (int oy = 0; oy < oh; oy++)
                            {
                                int iy = (oy * g.StrideH) - g.PadTop + (ki * g.DilationH);
                                if (iy < 0 || iy >= g.Height)
                                {
                                    continue;
                                }

                                for (int ox = 0; ox < ow; ox++)
                                {
                                    int ix = (ox * g.StrideW) - g.PadLeft + (kj * g.DilationW);
                                    if (ix < 0 || ix >= g.Width)
                                    {
                                        continue;
                                    }

                                    sum += gradOutput[(((n * g.OutChannels) + o) * oh * ow) + (oy * ow) + ox]
                                        * input[InputIndex(g, n, c, iy, ix)];
                                }
                            }
                        }

                        gradWeight[WeightIndex(g, o, ci, ki, kj)] = sum;
                    }
                }
            }

            if (!gradBias.IsEmpty)
            {
                T sum = T.Zero;
                for (int n = 0; n < g.Batch; n++)
                {
                    for (int p = 0; p < oh * ow; p++)
                    {
                        sum += gradOutput[(((n * g.OutChannels) + o) * oh * ow) + p];
                    }
                }

                gradBias[o] = sum;
            }
        }
    }

    private static int InputIndex(in Conv2dGeometry g, int n, int c, int iy, int ix) =>
        (((((n * g.InChannels) + c) * g.Height) + iy) * g.Width) + ix;

    private static int WeightIndex(in Conv2dGeometry g, int o, int ci, int ki, int kj) =>
        (((((o * g.InChannelsPerGroup) + ci) * g.KernelH) + ki) * g.KernelW) + kj;
}
