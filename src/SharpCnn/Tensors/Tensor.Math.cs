using SharpCnn.Autograd;
using SharpCnn.Kernels;

namespace SharpCnn;

public partial class Tensor
{
    /// <summary>a + b with broadcasting. ∂/∂a = g (summed over broadcast dims), ∂/∂b = g.</summary>
    public static Tensor operator +(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Tensor y = Broadcasting.Arithmetic<AddOp>(a, b, "Add", Elementwise.Add, Elementwise.Add);
        return Graph.Record(y, "AddBackward", [a, b], g => [g.SumTo(a._shape), g.SumTo(b._shape)]);
    }

    /// <summary>a − b with broadcasting. ∂/∂a = g, ∂/∂b = −g.</summary>
    public static Tensor operator -(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Tensor y = Broadcasting.Arithmetic<SubOp>(a, b, "Sub", Elementwise.Sub, Elementwise.Sub);
        return Graph.Record(y, "SubBackward", [a, b], g => [g.SumTo(a._shape), b.RequiresGrad ? (-g).SumTo(b._shape) : null]);
    }

    /// <summary>a · b elementwise with broadcasting. ∂/∂a = g·b, ∂/∂b = g·a.</summary>
    public static Tensor operator *(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Tensor y = Broadcasting.Arithmetic<MulOp>(a, b, "Mul", Elementwise.Mul, Elementwise.Mul);
        return Graph.Record(y, "MulBackward", [a, b], g =>
            [a.RequiresGrad ? (g * b).SumTo(a._shape) : null, b.RequiresGrad ? (g * a).SumTo(b._shape) : null]);
    }

    /// <summary>a / b elementwise with broadcasting. ∂/∂a = g/b, ∂/∂b = −g·a/b².</summary>
    public static Tensor operator /(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Tensor y = Broadcasting.Arithmetic<DivOp>(a, b, "Div", Elementwise.Div, Elementwise.Div);
        return Graph.Record(y, "DivBackward", [a, b], g =>
            [a.RequiresGrad ? (g / b).SumTo(a._shape) : null, b.RequiresGrad ? (-(g * a) / (b * b)).SumTo(b._shape) : null]);
    }

    /// <summary>−a.</summary>
    public static Tensor operator -(Tensor a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return Graph.Record(Broadcasting.Map(a, Elementwise.Neg), a, static (g, _) => [-g], "NegBackward");
    }

#pragma warning disable CS1591 // Scalar overloads share the tensor operators' documentation.
    public static Tensor operator +(Tensor a, float b) => a + Scalar(b);

    public static Tensor operator +(float a, Tensor b) => Scalar(a) + b;

    public static Tensor operator -(Tensor a, float b) => a - Scalar(b);

    public static Tensor operator -(float a, Tensor b) => Scalar(a) - b;

    public static Tensor operator *(Tensor a, float b) => a * Scalar(b);

    public static Tensor operator *(float a, Tensor b) => Scalar(a) * b;

    public static Tensor operator /(Tensor a, float b) => a / Scalar(b);

    public static Tensor operator /(float a, Tensor b) => Scalar(a) / b;
#pragma warning restore CS1591

    /// <summary>eˣ.</summary>
    public Tensor Exp()
    {
        Tensor y = Broadcasting.Map(this, Elementwise.Exp);
        return Graph.Record(y, this, (g, _) => [g * y], "ExpBackward");
    }

    /// <summary>ln x.</summary>
    public Tensor Log() => Graph.Record(Broadcasting.Map(this, Elementwise.Log), this, static (g, x) => [g / x], "LogBackward");

    /// <summary>√x.</summary>
    public Tensor Sqrt()
    {
        Tensor y = Broadcasting.Map(this, Elementwise.Sqrt);
        return Graph.Record(y, this, (g, _) => [g * 0.5f / y], "SqrtBackward");
    }

    /// <summary>|x|; the gradient at 0 is 0, as PyTorch.</summary>
    public Tensor Abs() => Graph.Record(Broadcasting.Map(this, Elementwise.Abs), this, static (g, x) => [g * Broadcasting.Map<SignOp>(x)], "AbsBackward");

    /// <summary>x².</summary>
    public Tensor Square() => Graph.Record(Broadcasting.Map<SquareOp>(this), this, static (g, x) => [g * x * 2f], "SquareBackward");

    /// <summary>xᵖ for a constant exponent.</summary>
    public Tensor Pow(float exponent)
    {
        Tensor y = Uninitialized(_shape);
        ReadOnlySpan<float> s = Data;
        Span<float> d = y.Data;
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = MathF.Pow(s[i], exponent);
        }

        return Graph.Record(y, this, (g, x) => [g * x.Pow(exponent - 1) * exponent], "PowBackward");
    }

    /// <summary>Elementwise maximum with broadcasting (NaN wins). The gradient goes to <paramref name="a"/> where a ≥ b, else to b.</summary>
    public static Tensor Maximum(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Tensor y = Broadcasting.Zip<MaximumOp>(a, b, "Maximum");
        return Graph.Record(y, "MaximumBackward", [a, b], g =>
        {
            Tensor takeA = a.Ge(b);
            return [(g * takeA).SumTo(a._shape), (g * (1f - takeA)).SumTo(b._shape)];
        });
    }

    /// <summary>Clamps into [min, max]; the gradient passes only where the value was inside.</summary>
    public Tensor Clamp(float min, float max)
    {
        Tensor y = Uninitialized(_shape);
        Tensor inside = Uninitialized(_shape);
        ReadOnlySpan<float> s = Data;
        Span<float> d = y.Data;
        Span<float> m = inside.Data;
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = Math.Clamp(s[i], min, max);
            m[i] = s[i] >= min && s[i] <= max ? 1f : 0f;
        }

        return Graph.Record(y, this, (g, _) => [g * inside], "ClampBackward");
    }

#pragma warning disable CS1591 // Comparisons return 0/1 tensors and record nothing, as PyTorch's bool results.
    public Tensor Eq(Tensor other) => Broadcasting.Zip<EqOp>(this, other, "Eq");

    public Tensor Ne(Tensor other) => Broadcasting.Zip<NeOp>(this, other, "Ne");

    public Tensor Gt(Tensor other) => Broadcasting.Zip<GtOp>(this, other, "Gt");

    public Tensor Ge(Tensor other) => Broadcasting.Zip<GeOp>(this, other, "Ge");

    public Tensor Lt(Tensor other) => Broadcasting.Zip<LtOp>(this, other, "Lt");

    public Tensor Le(Tensor other) => Broadcasting.Zip<LeOp>(this, other, "Le");

    public Tensor Eq(float other) => Eq(Scalar(other));

    public Tensor Gt(float other) => Gt(Scalar(other));

    public Tensor Lt(float other) => Lt(Scalar(other));
#pragma warning restore CS1591

    /// <summary>True when both tensors have the same shape and |a − b| ≤ atol + rtol·|b| everywhere (NaN never equal).</summary>
    public bool AllClose(Tensor other, float rtol = 1e-5f, float atol = 1e-8f)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (!Shapes.Equal(_shape, other._shape))
        {
            return false;
        }

        ReadOnlySpan<float> a = Data;
        ReadOnlySpan<float> b = other.Data;
        for (int i = 0; i < a.Length; i++)
        {
            if (!(MathF.Abs(a[i] - b[i]) <= atol + (rtol * MathF.Abs(b[i]))) && a[i] != b[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Sums a broadcast gradient back down to <paramref name="shape"/> (the inverse of broadcasting).</summary>
    internal Tensor SumTo(int[] shape)
    {
        if (Shapes.Equal(_shape, shape))
        {
            return this;
        }

        // The broadcast walk accumulates (+=) into the result, so it starts from zero.
        Tensor result = ZeroFilled(shape);
        Span<float> dst = result.Data;
        ReadOnlySpan<float> src = Data;
        if (result.Numel == 1)
        {
            dst[0] = (float)Reduce.Sum(src);
            return result;
        }

        int rank = Rank;
        int[] ds = Broadcasting.BroadcastStrides(shape, _shape);
        Span<int> index = stackalloc int[rank];
        int last = _shape[rank - 1];
        int ls = ds[rank - 1];
        int od = 0;
        for (int o = 0; o < src.Length; o += last)
        {
            for (int i = 0; i < last; i++)
            {
                dst[od + (i * ls)] += src[o + i];
            }

            Shapes.NextRow(index, _shape, ds, ref od);
        }

        return result;
    }
}
