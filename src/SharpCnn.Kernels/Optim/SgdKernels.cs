using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>The scalars of one SGD momentum update (see <see cref="SgdKernels.MomentumStep"/>).</summary>
/// <param name="Sign">1, or −1 when maximizing.</param>
/// <param name="WeightDecay">λ, the L2 penalty (0 for none).</param>
/// <param name="Momentum">μ.</param>
/// <param name="Keep">1 − τ, τ the dampening.</param>
/// <param name="Lr">The learning rate.</param>
/// <param name="First">Whether this is the buffer's first step (b ← g).</param>
/// <param name="Nesterov">Whether the step uses g + μ·b instead of b.</param>
public readonly record struct SgdMomentum(float Sign, float WeightDecay, float Momentum, float Keep, float Lr, bool First, bool Nesterov);

/// <summary>Optimizer updates over flat parameter, gradient and state arrays.</summary>
public static unsafe class SgdKernels
{
    private const int Chunk = 1 << 14;

    /// <summary>
    /// Per element: g = sign·grad (+ λ·p); b = g on the first step, else μ·b + (1 − τ)·g; p −= lr·(g + μ·b) with
    /// Nesterov momentum, else p −= lr·b. <paramref name="parameter"/> and <paramref name="buffer"/> are updated in place.
    /// </summary>
    /// <remarks>
    /// Chunks of 16 K elements go to the kernel threads, vectors then a scalar tail per chunk. Each element takes the
    /// same multiplies and adds in the same order on either path (no fused multiply-add), so the result equals
    /// <see cref="MomentumStepReference"/> bit for bit for any thread count.
    /// </remarks>
    /// <exception cref="ArgumentException">The three spans differ in length.</exception>
    public static void MomentumStep(Span<float> parameter, ReadOnlySpan<float> grad, Span<float> buffer, in SgdMomentum k)
    {
        Check(parameter.Length, grad.Length, buffer.Length);
        int length = parameter.Length;
        int chunks = (length + Chunk - 1) / Chunk;
        SgdMomentum coefficients = k;
        fixed (float* pp = parameter)
        fixed (float* pg = grad)
        fixed (float* pb = buffer)
        {
            nint ps = (nint)pp, gs = (nint)pg, bs = (nint)pb;
            KernelParallel.For(chunks, 3L * Chunk, (start, end) =>
            {
                int i0 = start * Chunk, i1 = Math.Min(length, end * Chunk);
                Range((float*)ps + i0, (float*)gs + i0, (float*)bs + i0, i1 - i0, coefficients);
            });
        }
    }

    /// <summary>The plain loop <see cref="MomentumStep"/> is tested against.</summary>
    /// <exception cref="ArgumentException">The three spans differ in length.</exception>
    public static void MomentumStepReference(Span<float> parameter, ReadOnlySpan<float> grad, Span<float> buffer, in SgdMomentum k)
    {
        Check(parameter.Length, grad.Length, buffer.Length);
        for (int i = 0; i < parameter.Length; i++)
        {
            float g = k.Sign * grad[i];
            if (k.WeightDecay != 0)
            {
                g += k.WeightDecay * parameter[i];
            }

            // The first step copies the gradient into the buffer (PyTorch's clone), without dampening.
            buffer[i] = k.First ? g : (k.Momentum * buffer[i]) + (k.Keep * g);
            g = k.Nesterov ? g + (k.Momentum * buffer[i]) : buffer[i];
            parameter[i] -= k.Lr * g;
        }
    }

    private static void Range(float* p, float* gr, float* b, int count, SgdMomentum k)
    {
        int width = Vector<float>.Count, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var sign = new Vector<float>(k.Sign);
            var wd = new Vector<float>(k.WeightDecay);
            var mu = new Vector<float>(k.Momentum);
            var keep = new Vector<float>(k.Keep);
            var lr = new Vector<float>(k.Lr);
            for (; i + width <= count; i += width)
            {
                Vector<float> pv = Vector.Load(p + i);
                Vector<float> g = sign * Vector.Load(gr + i);
                if (k.WeightDecay != 0)
                {
                    g += wd * pv;
                }

                Vector<float> bv = k.First ? g : (mu * Vector.Load(b + i)) + (keep * g);
                bv.Store(b + i);
                g = k.Nesterov ? g + (mu * bv) : bv;
                (pv - (lr * g)).Store(p + i);
            }
        }

        for (; i < count; i++)
        {
            float g = k.Sign * gr[i];
            if (k.WeightDecay != 0)
            {
                g += k.WeightDecay * p[i];
            }

            b[i] = k.First ? g : (k.Momentum * b[i]) + (k.Keep * g);
            g = k.Nesterov ? g + (k.Momentum * b[i]) : b[i];
            p[i] -= k.Lr * g;
        }
    }

    private static void Check(int parameter, int grad, int buffer)
    {
        if (grad != parameter || buffer != parameter)
        {
            throw new ArgumentException(
                $"SgdKernels.MomentumStep: parameter has {parameter} elements, gradient {grad} and buffer {buffer}; all three must match.");
        }
    }
}
