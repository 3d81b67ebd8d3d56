using SharpCnn.Autograd;
using SharpCnn.Kernels;

namespace SharpCnn;

public partial class Tensor
{
    /// <summary>Sum of all elements (accumulated in double, in index order). ∂/∂x = g everywhere.</summary>
    public Tensor Sum()
    {
        double total = Reduce.Sum(Data);
        int[] shape = _shape;
        return Graph.Record(Scalar((float)total), this, (g, _) => [Full(shape, g.Item())], "SumBackward");
    }

    /// <summary>Mean of all elements.</summary>
    public Tensor Mean() => Sum() / Math.Max(Numel, 1);

    /// <summary>Sum along <paramref name="dim"/>; the dimension is kept with size 1 when <paramref name="keepDim"/>.</summary>
    public Tensor Sum(int dim, bool keepDim = false)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "Sum");
        (int outer, int size, int inner) = Shapes.Split(_shape, d);
        int[] keptShape = Shape;
        keptShape[d] = 1;
        Tensor result = Uninitialized(keptShape);
        Reduce.SumAlong(Data, outer, size, inner, result.Data);

        int[] inShape = _shape;
        result = Graph.Record(result, this, (g, _) => [g.Reshape(keptShape) + Zeros(inShape)], "SumBackward");
        return keepDim ? result : result.Squeeze(d);
    }

    /// <summary>Mean along <paramref name="dim"/>.</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Sum(dim, keepDim) / _shape[Shapes.NormalizeDim(dim, Rank, "Mean")];

    /// <summary>
    /// Maximum along <paramref name="dim"/> and its index (the first maximum on ties; NaN counts as the maximum).
    /// The gradient flows to that index only.
    /// </summary>
    public (Tensor Values, Tensor Indices) Max(int dim, bool keepDim = false)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "Max");
        (int outer, int size, int inner) = Shapes.Split(_shape, d);
        if (size == 0)
        {
            throw new InvalidOperationException($"Max: dimension {d} of shape {Shapes.Format(_shape)} is empty.");
        }

        int[] keptShape = Shape;
        keptShape[d] = 1;
        Tensor values = Uninitialized(keptShape);
        var arg = new int[outer * inner];
        Reduce.MaxAlong(Data, outer, size, inner, values.Data, arg);
        Tensor indices = FromIndices(arg, keptShape);

        int[] inShape = _shape;
        values = Graph.Record(values, this, (g, _) =>
        {
            // Zero everywhere but at each maximum.
            Tensor gi = ZeroFilled(inShape);
            ReadOnlySpan<float> gs = g.Data;
            Span<float> gd = gi.Data;
            for (int o = 0; o < outer; o++)
            {
                for (int i = 0; i < inner; i++)
                {
                    gd[(((o * size) + arg[(o * inner) + i]) * inner) + i] = gs[(o * inner) + i];
                }
            }

            return [gi];
        }, "MaxBackward");
        return keepDim ? (values, indices) : (values.Squeeze(d), indices.Squeeze(d));
    }

    /// <summary>Largest element (NaN if any element is NaN).</summary>
    public Tensor Max() => Reshape(-1).Max(0).Values;

    /// <summary>Indices of the maximum along <paramref name="dim"/> (as float values), first on ties.</summary>
    public Tensor Argmax(int dim, bool keepDim = false)
    {
        using NoGradScope scope = Autograd.Autograd.NoGrad();
        return Max(dim, keepDim).Indices;
    }

    /// <summary>Matrix product: (m,k)·(k,n), batched (b,m,k)·(b,k,n), or (…,m,k)·(k,n); 1-D operands as in <c>torch.matmul</c>.</summary>
    public Tensor MatMul(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (Rank == 1 && other.Rank == 1)
        {
            return (Unsqueeze(0).MatMul(other.Unsqueeze(1))).Reshape();
        }

        if (Rank == 1)
        {
            return Unsqueeze(0).MatMul(other).Squeeze(-2);
        }

        if (other.Rank == 1)
        {
            return MatMul(other.Unsqueeze(1)).Squeeze(-1);
        }

        if (other.Rank == 2 && Rank > 2)
        {
            // Fold leading dimensions into rows: (…,m,k)·(k,n).
            int k = _shape[^1];
            int[] outShape = Shape;
            outShape[^1] = other._shape[1];
            return Reshape(-1, k).MatMul(other).Reshape(outShape);
        }

        if (Rank == 2 && other.Rank == 2)
        {
            return Linalg.MatMul2d(this, other);
        }

        if (Rank == 3 && other.Rank == 3)
        {
            return Linalg.BatchedMatMul(this, other);
        }

        throw new ArgumentException($"MatMul: shapes {Shapes.Format(_shape)} and {Shapes.Format(other._shape)} are not supported (use 1-D, 2-D, or batched 3-D operands).");
    }
}
