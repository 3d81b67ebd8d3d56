namespace SharpCnn;

// Operator structs: the JIT specialises the generic drivers per struct, so the per-element call is inlined.
internal interface IUnaryOp
{
    static abstract float Invoke(float x);
}

internal interface IBinaryOp
{
    static abstract float Invoke(float a, float b);
}

internal readonly struct AddOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a + b;
}

internal readonly struct SubOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a - b;
}

internal readonly struct MulOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a * b;
}

internal readonly struct DivOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a / b;
}

internal readonly struct MaximumOp : IBinaryOp
{
    public static float Invoke(float a, float b) => float.IsNaN(a) || a > b ? a : b;
}

internal readonly struct EqOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a == b ? 1f : 0f;
}

internal readonly struct NeOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a != b ? 1f : 0f;
}

internal readonly struct GtOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a > b ? 1f : 0f;
}

internal readonly struct GeOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a >= b ? 1f : 0f;
}

internal readonly struct LtOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a < b ? 1f : 0f;
}

internal readonly struct LeOp : IBinaryOp
{
    public static float Invoke(float a, float b) => a <= b ? 1f : 0f;
}

internal readonly struct SignOp : IUnaryOp
{
    public static float Invoke(float x) => float.IsNaN(x) ? x : MathF.Sign(x);
}

internal readonly struct SquareOp : IUnaryOp
{
    public static float Invoke(float x) => x * x;
}

internal delegate void SameShapeKernel(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z);

internal delegate void ScalarKernel(ReadOnlySpan<float> x, float y, Span<float> z);

internal delegate void UnaryKernel(ReadOnlySpan<float> x, Span<float> y);

/// <summary>
/// Elementwise drivers of the tensor layer: the SIMD kernels handle same-shape and tensor-scalar cases; the
/// general NumPy broadcast walks strides with an operator struct.
/// </summary>
internal static class Broadcasting
{
    public static Tensor Map(Tensor x, UnaryKernel kernel)
    {
        Tensor result = Tensor.Uninitialized(x.ShapeSpan);
        kernel(x.Data, result.Data);
        return result;
    }

    /// <summary>a ∘ b through the SIMD kernels where shapes allow, else the broadcast walk.</summary>
    public static Tensor Arithmetic<TOp>(Tensor a, Tensor b, string op, SameShapeKernel same, ScalarKernel rightScalar)
        where TOp : struct, IBinaryOp
    {
        if (Shapes.Equal(a.ShapeSpan, b.ShapeSpan))
        {
            Tensor result = Tensor.Uninitialized(a.ShapeSpan);
            same(a.Data, b.Data, result.Data);
            return result;
        }

        if (b.Numel == 1 && b.Rank <= a.Rank)
        {
            Tensor result = Tensor.Uninitialized(a.ShapeSpan);
            rightScalar(a.Data, b.Data[0], result.Data);
            return result;
        }

        return Zip<TOp>(a, b, op);
    }

    public static Tensor Map<TOp>(Tensor x)
        where TOp : struct, IUnaryOp
    {
        Tensor result = Tensor.Uninitialized(x.ShapeSpan);
        ReadOnlySpan<float> src = x.Data;
        Span<float> dst = result.Data;
        for (int i = 0; i < src.Length; i++)
        {
            dst[i] = TOp.Invoke(src[i]);
        }

        return result;
    }

    /// <summary>a ∘ b with NumPy broadcasting.</summary>
    public static Tensor Zip<TOp>(Tensor a, Tensor b, string op)
        where TOp : struct, IBinaryOp
    {
        ReadOnlySpan<float> x = a.Data;
        ReadOnlySpan<float> y = b.Data;
        if (Shapes.Equal(a.ShapeSpan, b.ShapeSpan))
        {
            Tensor same = Tensor.Uninitialized(a.ShapeSpan);
            Span<float> d = same.Data;
            for (int i = 0; i < d.Length; i++)
            {
                d[i] = TOp.Invoke(x[i], y[i]);
            }

            return same;
        }

        int[] outShape = Shapes.Broadcast(a.ShapeSpan, b.ShapeSpan, op);
        Tensor result = Tensor.Uninitialized(outShape);
        Span<float> dst = result.Data;
        if (b.Numel == 1 && Shapes.Equal(outShape, a.ShapeSpan))
        {
            float s = y[0];
            for (int i = 0; i < dst.Length; i++)
            {
                dst[i] = TOp.Invoke(x[i], s);
            }

            return result;
        }

        if (a.Numel == 1 && Shapes.Equal(outShape, b.ShapeSpan))
        {
            float s = x[0];
            for (int i = 0; i < dst.Length; i++)
            {
                dst[i] = TOp.Invoke(s, y[i]);
            }

            return result;
        }

        int rank = outShape.Length;
        int[] sa = BroadcastStrides(a.ShapeSpan, outShape);
        int[] sb = BroadcastStrides(b.ShapeSpan, outShape);
        Span<int> index = stackalloc int[rank];
        int last = outShape[rank - 1];
        int la = sa[rank - 1];
        int lb = sb[rank - 1];
        int oa = 0;
        int ob = 0;
        for (int o = 0; o < dst.Length; o += last)
        {
            for (int i = 0; i < last; i++)
            {
                dst[o + i] = TOp.Invoke(x[oa + (i * la)], y[ob + (i * lb)]);
            }

            Shapes.NextRow(index, outShape, sa, ref oa, sb, ref ob);
        }

        return result;
    }

    /// <summary>Strides for reading a tensor of <paramref name="shape"/> as if it had <paramref name="outShape"/> (0 on broadcast dims).</summary>
    public static int[] BroadcastStrides(ReadOnlySpan<int> shape, ReadOnlySpan<int> outShape)
    {
        int rank = outShape.Length;
        int offset = rank - shape.Length;
        int[] own = Shapes.Strides(shape);
        var strides = new int[rank];
        for (int d = offset; d < rank; d++)
        {
            strides[d] = shape[d - offset] == 1 ? 0 : own[d - offset];
        }

        return strides;
    }
}
