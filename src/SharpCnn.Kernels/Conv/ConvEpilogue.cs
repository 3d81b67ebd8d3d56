using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// What a convolution does to each accumulated output value before storing it:
/// y[n, o, p] = act(acc + bias[o] + residual[n, o, p]), with act = ReLU or the identity. Kernels apply it while an
/// output tile is still in registers or L1 (the implicit GEMM copy-out, the Winograd output transform);
/// <see cref="ApplyRow"/> is the same step over a contiguous run of one channel, for kernels that store plain
/// outputs and for the separate pass after the variants that do not fuse it.
/// </summary>
/// <remarks>
/// The operations are those of the unfused chain in the same order: (acc + bias) as the convolution's own bias
/// add, then + residual as <c>Elementwise.Add</c>, then ReLU as <see cref="ReluOperator"/> (x &lt; 0 → 0, NaN and −0
/// kept), so a fused result is bit for bit the convolution followed by <c>AddRelu</c> (or <c>Relu</c>).
/// </remarks>
internal readonly unsafe struct ConvEpilogue
{
    /// <summary>Creates the epilogue; each pointer may be null (no bias, no residual).</summary>
    /// <param name="bias">Per output channel, (C_out).</param>
    /// <param name="residual">Added element-wise; the output's layout (N, C_out, OH, OW), and must not overlap the input.</param>
    /// <param name="relu">Whether ReLU follows.</param>
    public ConvEpilogue(float* bias, float* residual, bool relu)
    {
        Bias = bias;
        Residual = residual;
        Relu = relu;
    }

    /// <summary>Per-channel bias, or null.</summary>
    public float* Bias { get; }

    /// <summary>Tensor added to the output (same layout as the output), or null.</summary>
    public float* Residual { get; }

    /// <summary>Whether ReLU is applied last.</summary>
    public bool Relu { get; }

    /// <summary>True when nothing beyond the bias is applied (the plain convolution).</summary>
    public bool BiasOnly => Residual == null && !Relu;

    /// <summary>The bias of output channel <paramref name="channel"/> (0 when there is none).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float BiasOf(int channel) => Bias == null ? 0f : Bias[channel];

    /// <summary>
    /// dst[i] = act(src[i] + bias[channel] + residual[offset + i]) for i &lt; count; <paramref name="offset"/> is the
    /// index of dst[0] in the output tensor. <paramref name="src"/> may equal <paramref name="dst"/> (in place).
    /// Without a bias nothing is added (so a −0 stays −0, as in a convolution without bias followed by the ops).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ApplyRow(float* src, float* dst, int count, int channel, long offset)
    {
        float bias = BiasOf(channel);
        float* res = Residual == null ? null : Residual + offset;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            Vector512<float> b = Vector512.Create(bias);
            for (; i + 16 <= count; i += 16)
            {
                Vector512<float> v = Vector512.Load(src + i);
                Apply(Bias == null ? v : v + b, res == null ? null : res + i).Store(dst + i);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> b = Vector256.Create(bias);
            for (; i + 8 <= count; i += 8)
            {
                Vector256<float> v = Vector256.Load(src + i);
                if (Bias != null)
                {
                    v += b;
                }

                if (res != null)
                {
                    v += Vector256.Load(res + i);
                }

                if (Relu)
                {
                    v = Vector256.ConditionalSelect(Vector256.LessThan(v, Vector256<float>.Zero), Vector256<float>.Zero, v);
                }

                v.Store(dst + i);
            }
        }

        for (; i < count; i++)
        {
            dst[i] = Apply(Bias == null ? src[i] : src[i] + bias, res == null ? 0f : res[i], res != null);
        }
    }

    /// <summary>act(v + residual[0..16)) for 16 values that already include the bias; <paramref name="residual"/> null: none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector512<float> Apply(Vector512<float> v, float* residual)
    {
        if (residual != null)
        {
            v += Vector512.Load(residual);
        }

        return Relu ? Vector512.ConditionalSelect(Vector512.LessThan(v, Vector512<float>.Zero), Vector512<float>.Zero, v) : v;
    }

    /// <summary>act(v + residual) for one value that already includes the bias (the residual only when <paramref name="hasResidual"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply(float v, float residual, bool hasResidual)
    {
        if (hasResidual)
        {
            v += residual;
        }

        return Relu && v < 0f ? 0f : v;
    }

    /// <summary>
    /// Stores the first <paramref name="cols"/> (1–4) of 4 output values already holding bias, adding
    /// <paramref name="residual"/> (or null) and applying ReLU as <see cref="ApplyRow"/> does: the Winograd output
    /// transforms' store for a tile piece that may end at the map's edge.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreQuad(float* dst, float* residual, bool relu, Vector128<float> value, int cols)
    {
        if (cols == 4)
        {
            if (residual != null)
            {
                value += Vector128.Load(residual);
            }

            if (relu)
            {
                value = Vector128.ConditionalSelect(Vector128.LessThan(value, Vector128<float>.Zero), Vector128<float>.Zero, value);
            }

            value.Store(dst);
            return;
        }

        for (int c = 0; c < cols; c++)
        {
            float e = value.GetElement(c);
            if (residual != null)
            {
                e += residual[c];
            }

            dst[c] = relu && e < 0f ? 0f : e;
        }
    }
}
