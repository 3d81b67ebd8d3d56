namespace SharpCnn;

/// <summary>
/// A region of code whose tensors borrow their memory from a pool and give it back when the region ends, so a
/// training loop allocates (almost) nothing on the managed heap once its shapes have been seen:
/// <code>
/// using (TensorScope.Begin())
/// {
///     Tensor loss = F.CrossEntropy(model.Call(x), y);
///     loss.Backward();
///     optimizer.Step();
///     lossValue = loss.Item();   // take out what must survive as plain values
/// }
/// </code>
/// The <see cref="Training.Trainer"/> opens one scope per training step and per evaluation batch, so its users
/// never see one. Nothing is ever disposed by hand: tensors stay ordinary objects.
/// </summary>
/// <remarks>
/// <para>
/// While a scope is active on a thread, every tensor that thread creates (op results, gradients computed by
/// <see cref="Tensor.Backward"/>, <see cref="Tensor.Zeros"/>, <see cref="Tensor.FromArray(float[], int[])"/>,
/// <see cref="Tensor.Clone"/>, …) takes its storage from the pool. When the scope ends, that storage goes back
/// to the pool and every tensor over it (views from <see cref="Tensor.Reshape"/> and <see cref="Tensor.Detach"/>
/// included) is released: any later use of its values throws <see cref="InvalidOperationException"/> saying so,
/// never reads recycled memory. Its shape stays readable. Call <see cref="Tensor.Keep"/> inside the scope on a
/// tensor that must outlive it (or copy it out with <see cref="Tensor.ToArray"/>).
/// </para>
/// <para>
/// Long-lived state is never pooled: a parameter's <see cref="Tensor.Grad"/>, optimizer state, tensors given to
/// a module as parameters or buffers (batch-norm running statistics, which are updated in place) and tensors
/// created by <c>new Tensor(float[], …)</c> over your own array. Code that must create lasting tensors inside a
/// scope wraps that part in <see cref="Suspend"/>.
/// </para>
/// <para>
/// Scopes nest (a tensor belongs to the innermost scope active when it was created) and belong to one thread:
/// other threads are unaffected, and a scope must end on the thread that began it. Autograd history recorded in
/// a scope cannot be used after it ends: call <see cref="Tensor.Backward"/> inside.
/// </para>
/// </remarks>
public readonly struct TensorScope : IDisposable
{
    [ThreadStatic]
    private static Frame? s_current;

    [ThreadStatic]
    private static Frame? s_spare;

    private readonly Frame? _frame;
    private readonly int _version;

    private TensorScope(Frame frame)
    {
        _frame = frame;
        _version = frame.Version;
    }

    /// <summary>True when tensors created on this thread right now come from the pool.</summary>
    public static bool IsActive => s_current is { Suspended: false };

    /// <summary>Floats currently idle in the pool (across all threads), for diagnostics.</summary>
    public static long PooledFloats => StoragePool.PooledFloats;

    /// <summary>Begins a pooled scope on this thread; dispose the result (a <c>using</c>) to end it.</summary>
    public static TensorScope Begin() => Push(suspended: false);

    /// <summary>
    /// Begins a region, inside a scope, whose tensors are ordinary managed arrays that outlive the scope (for
    /// state created lazily during a step, such as optimizer buffers). A <see cref="Begin"/> inside it pools again.
    /// </summary>
    public static TensorScope Suspend() => Push(suspended: true);

    /// <summary>
    /// Drops every array idle in the pool so the GC can reclaim it (e.g. after training, or before a phase with
    /// other shapes). Arrays still in use by active scopes are unaffected. Returns the number of bytes dropped.
    /// </summary>
    public static long ReleasePooledMemory() => StoragePool.Trim(long.MaxValue) * sizeof(float);

    /// <summary>
    /// Ends the scope: its pooled storage goes back to the pool and its tensors are released. Scopes begun inside it
    /// and still open end too. Disposing twice does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called on a thread other than the one that began the scope.</exception>
    public void Dispose()
    {
        Frame? frame = _frame;
        if (frame is null || frame.Version != _version)
        {
            return;
        }

        if (frame.ThreadId != Environment.CurrentManagedThreadId)
        {
            // The scope lives in another thread's stack, which this thread cannot touch; ending nothing would leave
            // that thread pooling into it forever, so this is loud (typically a `using` around an `await`).
#pragma warning disable CA1065
            throw new InvalidOperationException(
                "A TensorScope must end on the thread that began it (do not await inside a TensorScope).");
#pragma warning restore CA1065
        }

        while (s_current is { } current)
        {
            Pop(current);
            if (current == frame)
            {
                break;
            }
        }
    }

    /// <summary>
    /// A lease from the pool when pooling is active on this thread, recorded in the innermost scope; null otherwise
    /// (the caller then allocates an ordinary array).
    /// </summary>
    internal static StorageLease? TryRent(int length, bool clear)
    {
        if (length == 0 || s_current is not { Suspended: false } frame)
        {
            return null;
        }

        StorageLease? lease = StoragePool.Rent(length, clear);
        if (lease is not null)
        {
            frame.Rented.Add((lease, lease.Generation));
        }

        return lease;
    }

    /// <summary>
    /// Makes the innermost pooled scope own <paramref name="tensor"/>'s pooled storage, rented elsewhere (a batch
    /// the data loader built on its thread): it goes back to the pool, and the tensor is released, when the scope
    /// ends. Does nothing outside pooled scopes or for storage that is not pooled.
    /// </summary>
    internal static void Adopt(Tensor tensor)
    {
        if (s_current is { Suspended: false } frame && tensor.Lease is { Kind: LeaseKind.Scope, SizeClass: >= 0 } lease && !tensor.IsReleased)
        {
            frame.Rented.Add((lease, lease.Generation));
        }
    }

    /// <summary>The innermost pooled scope and its version (to check later that it is still open), or null.</summary>
    internal static (object? Frame, int Version) CurrentStamp() =>
        s_current is { Suspended: false } f ? (f, f.Version) : (null, 0);

    /// <summary>Whether a stamp from <see cref="CurrentStamp"/> names a scope that is still open.</summary>
    internal static bool IsOpen(object? frame, int version) => frame is null || ((Frame)frame).Version == version;

    /// <summary>How many arrays the innermost pooled scope holds right now (for tests), or −1 outside pooled scopes.</summary>
    internal static int HeldArrays()
    {
        if (s_current is not { Suspended: false } frame)
        {
            return -1;
        }

        int held = 0;
        foreach ((StorageLease lease, int generation) in frame.Rented)
        {
            held += lease.Generation == generation && !lease.Kept ? 1 : 0;
        }

        return held;
    }

    /// <summary>How many leases the innermost pooled scope has taken (a mark for <see cref="ReturnUnreferencedSince"/>), or −1.</summary>
    internal static int Mark() => s_current is { Suspended: false } f ? f.Rented.Count : -1;

    /// <summary>
    /// Returns to the pool, before the scope ends, every lease the innermost scope took since <paramref name="mark"/>
    /// that autograd's backward pass no longer references (<see cref="StorageLease.BackwardRefs"/> = 0): the
    /// temporaries of one backward rule. Their tensors are released as at scope end; the scope skips them later.
    /// </summary>
    internal static void ReturnUnreferencedSince(int mark)
    {
        if (mark < 0 || s_current is not { Suspended: false } frame)
        {
            return;
        }

        List<(StorageLease Lease, int Generation)> rented = frame.Rented;
        for (int i = mark; i < rented.Count; i++)
        {
            (StorageLease lease, int generation) = rented[i];
            if (lease.Generation == generation && !lease.Kept && lease.BackwardRefs == 0)
            {
                StoragePool.Return(lease);
            }
        }
    }

    private static TensorScope Push(bool suspended)
    {
        Frame frame = s_spare ?? new Frame(Environment.CurrentManagedThreadId);
        s_spare = frame.Parent;
        frame.Parent = s_current;
        frame.Suspended = suspended;
        s_current = frame;
        return new TensorScope(frame);
    }

    private static void Pop(Frame frame)
    {
        foreach ((StorageLease lease, int generation) in frame.Rented)
        {
            // A lease already returned early (its generation moved on) or kept by Tensor.Keep stays as it is.
            if (lease.Generation == generation && !lease.Kept)
            {
                StoragePool.Return(lease);
            }
        }

        frame.Rented.Clear();
        frame.Version++;
        s_current = frame.Parent;
        if (!frame.Suspended && s_current is null)
        {
            StoragePool.EndEpoch();
        }

        frame.Parent = s_spare;
        s_spare = frame;
    }

    /// <summary>One level of the thread's scope stack; reused after it ends (its version tells old handles apart).</summary>
    private sealed class Frame(int threadId)
    {
        public int ThreadId { get; } = threadId;

        public Frame? Parent { get; set; }

        public bool Suspended { get; set; }

        public int Version { get; set; }

        public List<(StorageLease Lease, int Generation)> Rented { get; } = [];
    }
}
