using SharpCnn.Autograd;
using SharpCnn.Kernels;

namespace SharpCnn;

/// <summary>Matrix products on tensors, through the GEMM kernel.</summary>
internal static class Linalg
{
    /// <summary>y = a·b  ⇒  ∂L/∂a = g·bᵀ,  ∂L/∂b = aᵀ·g.</summary>
    public static Tensor MatMul2d(Tensor a, Tensor b)
    {
        int m = a.Size(0);
        int k = a.Size(1);
        int n = b.Size(1);
        if (b.Size(0) != k)
        {
            throw new ArgumentException($"MatMul: inner dimensions differ: {Shapes.Format(a.ShapeSpan)} · {Shapes.Format(b.ShapeSpan)}.");
        }

        Tensor y = Tensor.Uninitialized(m, n);
        Gemm.Multiply(false, false, m, n, k, a.Data, k, b.Data, n, y.Data, n, accumulate: false);
        return Graph.Record(y, "MmBackward", [a, b], g =>
        {
            Tensor? ga = null;
            Tensor? gb = null;
            if (a.RequiresGrad)
            {
                ga = Tensor.Uninitialized(m, k);
                Gemm.Multiply(false, true, m, k, n, g.Data, n, b.Data, n, ga.Data, k, accumulate: false);
            }

            if (b.RequiresGrad)
            {
                gb = Tensor.Uninitialized(k, n);
                Gemm.Multiply(true, false, k, n, m, a.Data, k, g.Data, n, gb.Data, n, accumulate: false);
            }

            return [ga, gb];
        });
    }

    /// <summary>Per-batch (m,k)·(k,n), same rule as <see cref="MatMul2d"/>.</summary>
    public static Tensor BatchedMatMul(Tensor a, Tensor b)
    {
        int batch = a.Size(0);
        int m = a.Size(1);
        int k = a.Size(2);
        int n = b.Size(2);
        if (b.Size(0) != batch || b.Size(1) != k)
        {
            throw new ArgumentException($"MatMul: batched shapes {Shapes.Format(a.ShapeSpan)} · {Shapes.Format(b.ShapeSpan)} do not match.");
        }

        Tensor y = Tensor.Uninitialized(batch, m, n);
        for (int i = 0; i < batch; i++)
        {
            Gemm.Multiply(false, false, m, n, k, a.Data.Slice(i * m * k, m * k), k, b.Data.Slice(i * k * n, k * n), n, y.Data.Slice(i * m * n, m * n), n, accumulate: false);
        }

        return Graph.Record(y, "BmmBackward", [a, b], g =>
        {
            Tensor ga = Tensor.Uninitialized(batch, m, k);
            Tensor gb = Tensor.Uninitialized(batch, k, n);
            for (int i = 0; i < batch; i++)
            {
                ReadOnlySpan<float> gi = g.Data.Slice(i * m * n, m * n);
                Gemm.Multiply(false, true, m, k, n, gi, n, b.Data.Slice(i * k * n, k * n), n, ga.Data.Slice(i * m * k, m * k), k, accumulate: false);
                Gemm.Multiply(true, false, k, n, m, a.Data.Slice(i * m * k, m * k), k, gi, n, gb.Data.Slice(i * k * n, k * n), n, accumulate: false);
            }

            return [ga, gb];
        });
    }
}
