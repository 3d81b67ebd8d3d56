using SharpCnn.Autograd;

namespace SharpCnn;

/// <summary>
/// A dense float32 tensor in row-major (C) order, as <c>torch.Tensor</c> with dtype float32. Storage is
/// managed memory, so there is nothing to dispose. Every tensor is contiguous: <see cref="Reshape"/> shares
/// storage, while permutes, slices and concatenations copy. Tensors created inside a <see cref="TensorScope"/>
/// borrow pooled memory and are released when it ends (reading one afterwards throws; see <see cref="Keep"/>).
/// </summary>
/// <remarks>
/// Autograd: a tensor whose <see cref="RequiresGrad"/> is set accumulates gradients into <see cref="Grad"/>
/// when <see cref="Backward"/> runs on a result computed from it.
/// </remarks>
public partial class Tensor
{
    private readonly int[] _shape;
    private readonly float[] _storage;

    // Set when the storage is leased (from the pool inside a TensorScope, or a trainer-recycled gradient): the
    // tensor is valid while the lease is still in the generation it was created in.
    private readonly StorageLease? _lease;
    private readonly int _leaseGeneration;
    private bool _requiresGrad;

    // Write counter (as PyTorch's tensor._version), shared by the views of one storage through their root: every
    // access that can write the elements (Data, Storage, the indexer) bumps it, so caches derived from a tensor's
    // values (the folded conv + batch-norm weights of inference) can tell when to recompute.
    private readonly Tensor? _versionRoot;
    private int _version;

    // Copy-on-write, so a hook may remove itself while the hooks run; null (one check) when there are none.
    private Action<Tensor>[]? _gradHooks;

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

    /// <summary>A tensor over leased (or, with a null lease, plain) storage; <paramref name="shape"/> is taken, not copied.</summary>
    private Tensor(float[] storage, int[] shape, int numel, StorageLease? lease, int leaseGeneration, Tensor? versionRoot = null)
    {
        _versionRoot = versionRoot;
        _storage = storage;
        _shape = shape;
        Numel = numel;
        _lease = lease;
        _leaseGeneration = leaseGeneration;
    }

    /// <summary>A tensor sharing <paramref name="value"/>'s storage and lease, without its history (for <c>Parameter</c>).</summary>
    private protected Tensor(Tensor value)
        : this(value.Storage, value.Shape, value.Numel, value._lease, value._leaseGeneration, value.VersionRoot)
    {
    }

    /// <summary>The dimensions, outermost first. A copy: changing it does not change the tensor.</summary>
    public int[] Shape => (int[])_shape.Clone();

    /// <summary>Number of dimensions (0 for a scalar).</summary>
    public int Rank => _shape.Length;

    /// <summary>Number of elements.</summary>
    public int Numel { get; }

    /// <summary>The elements in row-major order; writing to it changes the tensor (and any view sharing storage).</summary>
    /// <exception cref="InvalidOperationException">The tensor's memory was recycled (see <see cref="TensorScope"/>).</exception>
    /// <remarks>
    /// Getting it counts as a write for the caches derived from this tensor (e.g. the batch norm folded into a
    /// convolution at inference): fetch it again for every change rather than keeping a span across a forward pass.
    /// </remarks>
    public Span<float> Data => Storage.AsSpan(0, Numel);

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

    /// <summary>The storage array, checked: throws when the tensor was released. It may be longer than <see cref="Numel"/>.</summary>
    internal float[] Storage
    {
        get
        {
            if (_lease is not null && _lease.Generation != _leaseGeneration)
            {
                throw Released();
            }

            VersionRoot._version++;
            return _storage;
        }
    }

    /// <summary>
    /// The storage, checked as <see cref="Storage"/> but without counting as a write: only for readers that record
    /// <see cref="Version"/> to detect later changes (reading through <see cref="Storage"/> would invalidate them).
    /// </summary>
    internal float[] StorageForRead
    {
        get
        {
            if (_lease is not null && _lease.Generation != _leaseGeneration)
            {
                throw Released();
            }

            return _storage;
        }
    }

    /// <summary>
    /// Changes whenever the elements may have been written through this tensor or a view of the same storage
    /// (<see cref="Data"/>, the indexer, internal kernels). Writes into an array wrapped by another
    /// <c>new Tensor(float[], …)</c>, or through a span kept from before, are not seen.
    /// </summary>
    internal int Version => VersionRoot._version;

    private Tensor VersionRoot => _versionRoot ?? this;

    /// <summary>True when this tensor's memory was recycled (its <see cref="TensorScope"/> ended, or the trainer reused a gradient).</summary>
    internal bool IsReleased => _lease is not null && _lease.Generation != _leaseGeneration;

    /// <summary>The elements reinterpreted as int32 (for index tensors that never leave the library, e.g. max-pool argmax).</summary>
    internal Span<int> Int32Bits => System.Runtime.InteropServices.MemoryMarshal.Cast<float, int>(Data);

    /// <summary>The lease behind the storage, or null for plain storage.</summary>
    internal StorageLease? Lease => _lease;

    internal ReadOnlySpan<int> ShapeSpan => _shape;

    /// <summary>Size of dimension <paramref name="dim"/> (negative counts from the end).</summary>
    public int Size(int dim) => _shape[Shapes.NormalizeDim(dim, Rank, "Size")];

    /// <summary>Element at a full index, as <c>t[i, j, ...]</c>.</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public float this[params int[] index]
    {
        get => Storage[FlatIndex(index)];
        set => Storage[FlatIndex(index)] = value;
    }

    /// <summary>The single value of a one-element tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor has more or fewer than one element.</exception>
    public float Item()
    {
        if (Numel != 1)
        {
            throw new InvalidOperationException($"Item() needs a tensor with one element, but this one has shape {Shapes.Format(_shape)}.");
        }

        return Storage[0];
    }

    /// <summary>Copies the elements into a new array.</summary>
    public float[] ToArray() => Data.ToArray();

    /// <summary>A tensor sharing this one's storage but not its history (requires no gradient).</summary>
    public Tensor Detach() => WithShape(_shape);

    /// <summary>
    /// A deep copy. The copy is recorded by autograd (its gradient flows back to this tensor). Inside a
    /// <see cref="TensorScope"/> the copy is pooled like any op result; see <see cref="Keep"/>.
    /// </summary>
    public Tensor Clone()
    {
        Tensor result = Uninitialized(_shape);
        Data.CopyTo(result.Data);
        return Graph.Record(result, this, static (g, _) => [g], "CloneBackward");
    }

    /// <summary>
    /// Makes this tensor (and every view sharing its storage) outlive the <see cref="TensorScope"/> it was created
    /// in, without copying: the scope leaves the memory to the tensor instead of recycling it. Does nothing for a
    /// tensor created outside any scope. Returns this tensor. Autograd history recorded in the scope still ends
    /// with it; <see cref="Detach"/> first when only the values matter.
    /// </summary>
    /// <exception cref="InvalidOperationException">The scope has already ended (the memory is gone).</exception>
    public Tensor Keep()
    {
        _ = Storage;
        if (_lease is { Kind: LeaseKind.Scope })
        {
            _lease.Kept = true;
        }

        return this;
    }

    /// <summary>Clears <see cref="Grad"/>.</summary>
    public void ZeroGrad() => Grad = null;

    /// <summary>
    /// Runs reverse-mode differentiation from this tensor and accumulates into <see cref="Grad"/> of every
    /// leaf that requires it. A scalar result gets the seed gradient 1; otherwise pass <paramref name="gradient"/>.
    /// </summary>
    public void Backward(Tensor? gradient = null) => Graph.Backward(this, gradient);

    /// <summary>
    /// Registers <paramref name="hook"/> to be called with this tensor's gradient during <see cref="Backward"/>, once
    /// the gradient is complete (all contributions summed) and before it flows further back, as PyTorch's
    /// <c>Tensor.register_hook</c>. Hooks observe: they cannot replace the gradient, and the gradient they get is
    /// only valid during the call. Hooks run in registration order; an exception from a hook ends the backward
    /// pass (leaf gradients accumulated so far stay).
    /// </summary>
    /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook.</returns>
    /// <exception cref="InvalidOperationException">The tensor does not require grad, so it never gets a gradient.</exception>
    public IDisposable RegisterHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!RequiresGrad)
        {
            throw new InvalidOperationException(
                $"RegisterHook: this tensor (shape {Shapes.Format(_shape)}) does not require grad, so it never receives a gradient.");
        }

        _gradHooks = [.. _gradHooks ?? [], hook];
        return new GradHookHandle(this, hook);
    }

    /// <summary>Calls the gradient hooks (see <see cref="RegisterHook"/>) with the complete gradient <paramref name="grad"/>.</summary>
    internal void RunGradHooks(Tensor grad)
    {
        Action<Tensor>[]? hooks = _gradHooks;
        if (hooks is null)
        {
            return;
        }

        foreach (Action<Tensor> hook in hooks)
        {
            hook(grad);
        }
    }

    private sealed class GradHookHandle(Tensor tensor, Action<Tensor> hook) : IDisposable
    {
        private Tensor? _tensor = tensor;

        public void Dispose()
        {
            if (_tensor is { _gradHooks: { } hooks } t)
            {
                int index = Array.IndexOf(hooks, hook);
                if (index >= 0)
                {
                    t._gradHooks = hooks.Length == 1 ? null : [.. hooks[..index], .. hooks[(index + 1)..]];
                }
            }

            _tensor = null;
        }
    }

    internal void SetGradFn(GradFn fn) => GradFn = fn;

    /// <summary>
    /// The central allocation path: a tensor whose values are unspecified (callers overwrite every element).
    /// Inside a <see cref="TensorScope"/> the storage is a dirty pooled array; outside it is a new array.
    /// </summary>
    internal static Tensor Uninitialized(params ReadOnlySpan<int> shape) => Allocate(shape, clear: false);

    /// <summary>A zero-filled tensor from the central allocation path (pooled arrays are cleared).</summary>
    internal static Tensor ZeroFilled(params ReadOnlySpan<int> shape) => Allocate(shape, clear: true);

    /// <summary>A view with another shape (same element count) over this tensor's storage and lease.</summary>
    internal Tensor WithShape(int[] shape) => new(Storage, (int[])shape.Clone(), Numel, _lease, _leaseGeneration, VersionRoot);

    /// <summary>
    /// A leaf's first gradient, holding a copy of <paramref name="values"/>: never pooled (it outlives any scope).
    /// Its storage is <paramref name="recycled"/> (the buffer of an earlier gradient of this leaf that
    /// <c>Optimizer.RecycleGradients</c> took back, which released every tensor over it) or a new array. With
    /// <paramref name="classSized"/> (the gradient came from the pool) a new array has the length of the pool's size
    /// class for the leaf, so that a later pass can exchange it for a pooled gradient (<see cref="AdoptGradient"/>).
    /// </summary>
    internal static Tensor NewGradient(Tensor leaf, StorageLease? recycled, ReadOnlySpan<float> values, bool classSized)
    {
        StorageLease lease;
        if (recycled is not null && recycled.Array.Length >= leaf.Numel)
        {
            lease = recycled;
        }
        else
        {
            int cls = classSized && leaf.Numel > 0 ? StoragePool.ClassOf(leaf.Numel) : -1;
            int length = cls >= 0 ? (int)StoragePool.ClassLength(cls) : leaf.Numel;
            lease = new StorageLease(HugePages.AllocateZeroed(length, leaf.Numel), -1, LeaseKind.Gradient) { Owner = leaf };
        }

        values.CopyTo(lease.Array);
        return new Tensor(lease.Array, (int[])leaf._shape.Clone(), leaf.Numel, lease, lease.Generation);
    }

    /// <summary>
    /// A leaf's first gradient that takes over the pooled storage of <paramref name="pooled"/> instead of copying
    /// it (as libtorch's gradient accumulation steals a buffer nobody else holds). The caller guarantees that the
    /// storage was rented during the current backward pass and that nothing but that pass's reference holds it:
    /// exactly the case in which the pass would otherwise copy it and give it back to the pool at once. The lease
    /// is recycled, so <paramref name="pooled"/> and every view of it are released, as giving it back would do;
    /// none of them can alias the new gradient. The pool gets <paramref name="recycled"/>'s array in exchange when it
    /// is of the same size class (a training loop then allocates nothing); otherwise it loses the array and its
    /// next rent of that class allocates one, as <see cref="NewGradient"/> would have.
    /// </summary>
    internal static Tensor AdoptGradient(Tensor leaf, Tensor pooled, StorageLease? recycled)
    {
        StorageLease source = pooled._lease!;
        float[] array = pooled.Storage;
        System.Diagnostics.Debug.Assert(source.Kind == LeaseKind.Scope && ReferenceEquals(source.Array, array) && pooled.Numel == leaf.Numel);
        source.Recycle();
        StorageLease lease;
        if (recycled is not null && recycled.Array.Length == array.Length)
        {
            // The spare was recycled by RecycleGradients, the source just now: no tensor reaches either array.
            source.SwapArrays(recycled);
            StoragePool.Return(source);
            lease = recycled;
        }
        else
        {
            lease = new StorageLease(array, -1, LeaseKind.Gradient) { Owner = leaf };
        }

        return new Tensor(lease.Array, (int[])leaf._shape.Clone(), leaf.Numel, lease, lease.Generation);
    }

    /// <summary>
    /// A dirty tensor rented straight from the pool, whatever scope is active (<paramref name="pooled"/>), for a
    /// producer on another thread whose consumer adopts it into its scope (<see cref="TensorScope.Adopt"/>); a new
    /// array when not pooled, left uninitialized (every caller writes every element: a batch of 64 MNIST images is a
    /// 200 KB array, which the GC would otherwise zero on every batch).
    /// </summary>
    internal static Tensor Borrowed(int[] shape, bool pooled)
    {
        long numel = Shapes.Numel(shape);
        StorageLease? lease = pooled && numel is > 0 and <= int.MaxValue ? StoragePool.Rent((int)numel, clear: false) : null;
        return lease is null
            ? new Tensor(numel <= int.MaxValue ? HugePages.AllocateUninitialized((int)numel) : new float[numel], shape, (int)numel, null, 0)
            : new Tensor(lease.Array, shape, (int)numel, lease, lease.Generation);
    }

    private static Tensor Allocate(ReadOnlySpan<int> shape, bool clear)
    {
        long numel = Shapes.Numel(shape);
        int[] own = shape.ToArray();
        StorageLease? lease = numel > int.MaxValue ? null : TensorScope.TryRent((int)numel, clear);
        return lease is null
            ? new Tensor(numel <= int.MaxValue ? HugePages.AllocateZeroed((int)numel) : new float[numel], own, (int)numel, null, 0)
            : new Tensor(lease.Array, own, (int)numel, lease, lease.Generation);
    }

    private InvalidOperationException Released() => new(_lease!.Kind == LeaseKind.Gradient
        ? $"This gradient tensor (shape {Shapes.Format(_shape)}) was recycled when the Trainer cleared gradients for the next step; " +
          "copy it (ToArray()) during the step to keep its values."
        : $"This tensor's memory (shape {Shapes.Format(_shape)}) was recycled when its TensorScope ended (e.g. the end of a Trainer step); " +
          "call Keep() on it inside the scope, or copy it out with ToArray(), to use it afterwards.");

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
