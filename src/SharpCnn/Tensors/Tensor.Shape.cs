using SharpCnn.Autograd;
using SharpCnn.Kernels;

namespace SharpCnn;

public partial class Tensor
{
    /// <summary>
    /// The same elements with a new shape (one entry may be −1 and is inferred). Shares storage, as
    /// <c>torch.Tensor.view</c> on a contiguous tensor.
    /// </summary>
    /// <exception cref="ArgumentException">The element counts differ.</exception>
    public Tensor Reshape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        int[] resolved = (int[])shape.Clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < resolved.Length; i++)
        {
            if (resolved[i] == -1)
            {
                if (infer >= 0)
                {
                    throw new ArgumentException($"Reshape: only one dimension can be −1, got {Shapes.Format(shape)}.", nameof(shape));
                }

                infer = i;
            }
            else if (resolved[i] < 0)
            {
                throw new ArgumentException($"Reshape: invalid shape {Shapes.Format(shape)}.", nameof(shape));
            }
            else
            {
                known *= resolved[i];
            }
        }

        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
            {
                throw new ArgumentException($"Reshape: shape {Shapes.Format(shape)} is invalid for a tensor of shape {Shapes.Format(_shape)} ({Numel:N0} elements).", nameof(shape));
            }

            resolved[infer] = (int)(Numel / known);
            known *= resolved[infer];
        }

        if (known != Numel)
        {
            throw new ArgumentException($"Reshape: shape {Shapes.Format(shape)} ({known:N0} elements) is invalid for a tensor of shape {Shapes.Format(_shape)} ({Numel:N0} elements).", nameof(shape));
        }

        Tensor result = WithShape(resolved);
        int[] original = _shape;
        return Graph.Record(result, this, (g, _) => [g.Reshape(original)], "ReshapeBackward");
    }

    /// <summary>Alias of <see cref="Reshape"/>.</summary>
    public Tensor View(params int[] shape) => Reshape(shape);

    /// <summary>Merges dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one, as <c>torch.flatten</c>.</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0)
        {
            return Reshape(1);
        }

        int s = Shapes.NormalizeDim(startDim, Rank, "Flatten");
        int e = Shapes.NormalizeDim(endDim, Rank, "Flatten");
        if (s > e)
        {
            throw new ArgumentException($"Flatten: startDim {startDim} comes after endDim {endDim} for rank {Rank}.");
        }

        var shape = new List<int>();
        int merged = 1;
        for (int d = 0; d < Rank; d++)
        {
            if (d < s || d > e)
            {
                shape.Add(_shape[d]);
            }
            else
            {
                merged *= _shape[d];
                if (d == e)
                {
                    shape.Add(merged);
                }
            }
        }

        return Reshape([.. shape]);
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/>.</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = Shapes.NormalizeDim(dim, Rank + 1, "Unsqueeze");
        var shape = new List<int>(_shape);
        shape.Insert(d, 1);
        return Reshape([.. shape]);
    }

    /// <summary>Removes dimension <paramref name="dim"/> if it has size 1 (or every size-1 dimension when null).</summary>
    public Tensor Squeeze(int? dim = null)
    {
        var shape = new List<int>();
        int target = dim is null ? -1 : Shapes.NormalizeDim(dim.Value, Rank, "Squeeze");
        for (int d = 0; d < Rank; d++)
        {
            bool drop = _shape[d] == 1 && (target < 0 || d == target);
            if (!drop)
            {
                shape.Add(_shape[d]);
            }
        }

        return Reshape([.. shape]);
    }

    /// <summary>Reorders dimensions (a copy), as <c>torch.permute</c>.</summary>
    public Tensor Permute(params int[] dims)
    {
        ArgumentNullException.ThrowIfNull(dims);
        if (dims.Length != Rank)
        {
            throw new ArgumentException($"Permute: got {dims.Length} dimensions for a tensor of rank {Rank}.", nameof(dims));
        }

        var perm = new int[Rank];
        var seen = new bool[Rank];
        for (int i = 0; i < Rank; i++)
        {
            perm[i] = Shapes.NormalizeDim(dims[i], Rank, "Permute");
            if (seen[perm[i]])
            {
                throw new ArgumentException($"Permute: dimension {dims[i]} repeats in ({string.Join(", ", dims)}).", nameof(dims));
            }

            seen[perm[i]] = true;
        }

        var outShape = new int[Rank];
        var srcStrides = Shapes.Strides(_shape);
        var strides = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            outShape[i] = _shape[perm[i]];
            strides[i] = srcStrides[perm[i]];
        }

        Tensor result = Uninitialized(outShape);
        StridedCopy(Data, strides, result.Data, outShape);
        var inverse = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            inverse[perm[i]] = i;
        }

        return Graph.Record(result, this, (g, _) => [g.Permute(inverse)], "PermuteBackward");
    }

    /// <summary>Swaps two dimensions (a copy).</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        var perm = new int[Rank];
        for (int i = 0; i < Rank; i++)
        {
            perm[i] = i;
        }

        int a = Shapes.NormalizeDim(dim0, Rank, "Transpose");
        int b = Shapes.NormalizeDim(dim1, Rank, "Transpose");
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return Permute(perm);
    }

    /// <summary>The transpose of a 2-D tensor.</summary>
    public Tensor T => Rank == 2 ? Transpose(0, 1) : throw new InvalidOperationException($"T needs a 2-D tensor, got shape {Shapes.Format(_shape)}.");

    /// <summary>Elements <paramref name="start"/>..start+length−1 along <paramref name="dim"/> (a copy), as <c>torch.narrow</c>.</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "Narrow");
        if (start < 0 || length < 0 || start + length > _shape[d])
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: [{start}, {start + length}) is outside dimension {d} of size {_shape[d]}.");
        }

        (int outer, int size, int inner) = Shapes.Split(_shape, d);
        int[] outShape = Shape;
        outShape[d] = length;
        Tensor result = Uninitialized(outShape);
        ReadOnlySpan<float> src = Data;
        Span<float> dst = result.Data;
        for (int o = 0; o < outer; o++)
        {
            src.Slice(((o * size) + start) * inner, length * inner).CopyTo(dst.Slice(o * length * inner, length * inner));
        }

        int[] inShape = _shape;
        return Graph.Record(result, this, (g, _) =>
        {
            // Zero outside the slice.
            Tensor gi = ZeroFilled(inShape);
            ReadOnlySpan<float> gs = g.Data;
            Span<float> gd = gi.Data;
            for (int o = 0; o < outer; o++)
            {
                gs.Slice(o * length * inner, length * inner).CopyTo(gd.Slice(((o * size) + start) * inner, length * inner));
            }

            return [gi];
        }, "NarrowBackward");
    }

    /// <summary>The slice at <paramref name="index"/> along <paramref name="dim"/>, with that dimension removed.</summary>
    public Tensor Select(int dim, int index)
    {
        int d = Shapes.NormalizeDim(dim, Rank, "Select");
        int i = index < 0 ? index + _shape[d] : index;
        return Narrow(d, i, 1).Squeeze(d);
    }

    /// <summary>Rows of dimension 0 picked by <paramref name="indices"/> (a copy), as <c>index_select(0, …)</c>.</summary>
    public Tensor IndexSelect(ReadOnlySpan<int> indices) => IndexSelect(0, indices);

    /// <summary>
    /// Slices along <paramref name="dim"/> picked by <paramref name="indices"/> (a copy), as
    /// <c>torch.index_select(input, dim, index)</c>: for dim 1 of (N, C, H, W) it gathers channels into
    /// (N, indices.Length, H, W). Indices may repeat or be omitted; the gradient of a repeated slice is summed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">An index is outside dimension <paramref name="dim"/>.</exception>
    public Tensor IndexSelect(int dim, ReadOnlySpan<int> indices)
    {
        if (Rank == 0)
        {
            throw new InvalidOperationException("IndexSelect needs a tensor of rank ≥ 1.");
        }

        int d = Shapes.NormalizeDim(dim, Rank, "IndexSelect");
        (int outer, int size, int inner) = Shapes.Split(_shape, d);
        int[] outShape = Shape;
        outShape[d] = indices.Length;
        Tensor result = Uninitialized(outShape);
        int[] picked = indices.ToArray();
        for (int r = 0; r < picked.Length; r++)
        {
            if ((uint)picked[r] >= (uint)size)
            {
                throw new ArgumentOutOfRangeException(nameof(indices), $"IndexSelect: index {picked[r]} at position {r} is out of range for dimension {d} of size {size}.");
            }
        }

        // Slice o of the output: [o, r, :] = [o, picked[r], :] of the input, each a run of `inner` elements.
        int count = picked.Length;
        ReadOnlySpan<float> src = Data;
        Span<float> dst = result.Data;
        for (int o = 0; o < outer; o++)
        {
            for (int r = 0; r < count; r++)
            {
                src.Slice(((o * size) + picked[r]) * inner, inner).CopyTo(dst.Slice(((o * count) + r) * inner, inner));
            }
        }

        int[] inShape = _shape;
        return Graph.Record(result, this, (g, _) =>
        {
            // gx[o, picked[r], :] += g[o, r, :]; repeated indices accumulate, rows never picked stay zero.
            Tensor gi = ZeroFilled(inShape);
            for (int o = 0; o < outer; o++)
            {
                for (int r = 0; r < count; r++)
                {
                    Span<float> row = gi.Data.Slice(((o * size) + picked[r]) * inner, inner);
                    Elementwise.Add(row, g.Data.Slice(((o * count) + r) * inner, inner), row);
                }
            }

            return [gi];
        }, "IndexSelectBackward");
    }

    /// <summary>Concatenates tensors along <paramref name="dim"/>; all other dimensions must match.</summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0)
        {
            throw new ArgumentException("Cat needs at least one tensor.", nameof(tensors));
        }

        Tensor first = tensors[0];
        int d = Shapes.NormalizeDim(dim, first.Rank, "Cat");
        int total = 0;
        foreach (Tensor t in tensors)
        {
            bool compatible = t.Rank == first.Rank;
            for (int k = 0; compatible && k < t.Rank; k++)
            {
                compatible = k == d || t._shape[k] == first._shape[k];
            }

            if (!compatible)
            {
                throw new ArgumentException($"Cat along dimension {d}: shape {Shapes.Format(t._shape)} does not match {Shapes.Format(first._shape)} outside that dimension.", nameof(tensors));
            }

            total += t._shape[d];
        }

        int[] outShape = first.Shape;
        outShape[d] = total;
        Tensor result = Uninitialized(outShape);
        (int outer, _, int inner) = Shapes.Split(outShape, d);
        var offsets = new int[tensors.Count];
        int offset = 0;
        for (int k = 0; k < tensors.Count; k++)
        {
            offsets[k] = offset;
            int len = tensors[k]._shape[d];
            ReadOnlySpan<float> src = tensors[k].Data;
            Span<float> dst = result.Data;
            for (int o = 0; o < outer; o++)
            {
                src.Slice(o * len * inner, len * inner).CopyTo(dst.Slice(((o * total) + offset) * inner, len * inner));
            }

            offset += len;
        }

        Tensor[] inputs = [.. tensors];
        return Graph.Record(result, "CatBackward", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            for (int k = 0; k < inputs.Length; k++)
            {
                grads[k] = inputs[k].RequiresGrad ? g.Narrow(d, offsets[k], inputs[k]._shape[d]) : null;
            }

            return grads;
        });
    }

    /// <summary>Stacks same-shaped tensors along a new dimension <paramref name="dim"/>.</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var expanded = new Tensor[tensors.Count];
        for (int i = 0; i < expanded.Length; i++)
        {
            expanded[i] = tensors[i].Unsqueeze(dim);
        }

        return Cat(expanded, dim);
    }

    /// <summary>Copies <paramref name="src"/> read with <paramref name="srcStrides"/> into contiguous <paramref name="dst"/> of <paramref name="shape"/>.</summary>
    internal static void StridedCopy(ReadOnlySpan<float> src, ReadOnlySpan<int> srcStrides, Span<float> dst, ReadOnlySpan<int> shape)
    {
        int rank = shape.Length;
        if (dst.Length == 0)
        {
            return;
        }

        if (rank == 0)
        {
            dst[0] = src[0];
            return;
        }

        Span<int> index = stackalloc int[rank];
        int last = shape[rank - 1];
        int lastStride = srcStrides[rank - 1];
        int offset = 0;
        for (int o = 0; o < dst.Length; o += last)
        {
            for (int i = 0; i < last; i++)
            {
                dst[o + i] = src[offset + (i * lastStride)];
            }

            Shapes.NextRow(index, shape, srcStrides, ref offset);
        }
    }
}
