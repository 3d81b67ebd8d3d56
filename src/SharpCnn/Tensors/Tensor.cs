using SharpCnn.Autograd;

namespace SharpCnn;

/// <summary>
/// A dense float32 tensor in row-major (C) order, as <c>torch.Tensor</c> with dtype float32. Storage is
/// managed memory, so there is nothing to dispose. Every tensor is contiguous: <see cref="Reshape"/> shares
/// storage, while permutes, slices and concatenations copy.
/// </summary>
/// <remarks>
/// Autograd: a tensor whose <see cref="RequiresGrad"/> is set accumulates gradients into <see cref="Grad"/>
/// when <see cref="Backward"/> runs on a result computed from it.
/// </remarks>
public partial class Tensor
{
    private readonly int[] _shape;
    private readonly float[] _storage;
    private bool _requiresGrad;

    /// <summary>Wraps <paramref name="storage"/> (not copied) as a tensor of the given shape.</summary>
    /// <exception cref="ArgumentException">The storage holds fewer elements than the shape needs.</exception>
    public Tensor(float[] storage, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(shape);
        long numel = Shapes.Numel(shape);
        if (storage.Length < numel)
        {
            throw new ArgumentException(
                $"Tensor of shape {Shapes.Format(shape)} needs {numel:N0} elements but the storage holds {storage.Length:N0}.",
                nameof(storage));
        }

        _storage = storage;
        _shape = (int[])shape.Clone();
        Numel = (int)numel;
    }

    /// <summary>The dimensions, outermost first. A copy: changing it does not change the tensor.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>Number of dimensions (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Numel { get; }

    /// <summary>The elements in row-major order; writing to it changes the tensor (and any view sharing storage).</summary>
    public Span<float> Data => _storage.AsSpan(0, Numel);

    /// <summary>Whether gradients are tracked for this tensor. Only leaf tensors may be changed.</summary>
    /// <exception cref="InvalidOperationException">Set on a tensor computed by a recorded operation.</exception>
    public bool RequiresGrad
    {
        get => _requiresGrad;
        set
        {
            if (GradFn is not null)
            {
                throw new InvalidOperationException(
                    $"RequiresGrad can only be changed on leaf tensors; this tensor was produced by {GradFn.Name}. Use Detach() first.");
            }

            _requiresGrad = value;
        }
    }

    /// <summary>The accumulated gradient (same shape), or null before the first backward pass.</summary>
    public Tensor? Grad { get; set; }

    /// <summary>The recorded operation that produced this tensor, or null for a leaf.</summary>
    public GradFn? GradFn { get; private set; }

    /// <summary>True for tensors created by the user rather than by a recorded operation.</summary>
    public bool IsLeaf => GradFn is null;

    internal float[] Storage => _storage;

    internal ReadOnlySpan<int> ShapeSpan => _shape;

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Size(int dim) => _shape[Shapes.NormalizeDim(dim, Rank, "Size")];

    /// <summary>Element at a full index, as <c>t[i, j, ...]</c>.</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public float this[params int[] index]
    {
        get => _storage[FlatIndex(index)];
        set => _storage[FlatIndex(index)] = value;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more or fewer than one element.</exception>
    public float Item()
    {
        if (Numel != 1)
        {
            throw new InvalidOperationException($"Item() needs a tensor with one element, but this one has shape {Shapes.Format(_shape)}.");
        }

        return _storage[0];
    }

    /// <summary>Copies the elements into a new array.</summary>
    public float[] ToArray() => Data.ToArray();

    /// <summary>A tensor sharing this one's storage but not its history (requires no gradient).</summary>
    public Tensor Detach() => new(_storage, _shape);

    /// <summary>A deep copy. The copy is recorded by autograd (its gradient flows back to this tensor).</summary>
    public Tensor Clone()
    {
        var result = new Tensor(Data.ToArray(), _shape);
        return Graph.Record(result, this, static (g, _) => [g], "CloneBackward");
    }

    /// <summary>Clears <see cref="Grad"/>.</summary>
    public void ZeroGrad() => Grad = null;

    /// <summary>
    /// Runs reverse-mode differentiation from this tensor and accumulates into <see cref="Grad"/> of every
    /// leaf that requires it. A scalar result gets the seed gradient 1; otherwise pass <paramref name="gradient"/>.
    /// </summary>
    public void Backward(Tensor? gradient = null) => Graph.Backward(this, gradient);

    internal void SetGradFn(GradFn fn) => GradFn = fn;

    internal static Tensor Uninitialized(params int[] shape) => new(new float[Shapes.Numel(shape)], shape);

    private int FlatIndex(int[] index)
    {
        ArgumentNullException.ThrowIfNull(index);
        if (index.Length != Rank)
        {
            throw new ArgumentException($"Index has {index.Length} components but the tensor has shape {Shapes.Format(_shape)}.", nameof(index));
        }

        int flat = 0;
        for (int d = 0; d < Rank; d++)
        {
            int i = index[d] < 0 ? index[d] + _shape[d] : index[d];
            if ((uint)i >= (uint)_shape[d])
            {
                throw new ArgumentOutOfRangeException(nameof(index),
                    $"Index {index[d]} is out of range for dimension {d} of size {_shape[d]} (shape {Shapes.Format(_shape)}).");
            }

            flat = (flat * _shape[d]) + i;
        }

        return flat;
    }
}
