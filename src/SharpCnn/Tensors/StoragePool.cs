namespace SharpCnn;

/// <summary>What recycled a tensor's storage, for the message of the exception a later access throws.</summary>
internal enum LeaseKind
{
    /// <summary>Rented from <see cref="StoragePool"/> inside a <see cref="TensorScope"/>.</summary>
    Scope,

    /// <summary>A parameter's gradient buffer, reused by the trainer for the next step's gradient.</summary>
    Gradient,
}

/// <summary>
/// A storage array that can be recycled, and its generation. A tensor over leased storage remembers the generation
/// it was created in; recycling bumps the generation, so every tensor (and view) of the old use sees that its
/// memory is gone and throws instead of reading someone else's values. Leases are reused with their arrays, so
/// renting allocates nothing in steady state.
/// </summary>
internal sealed class StorageLease(float[] array, int sizeClass, LeaseKind kind)
{
    /// <summary>The storage; exchanged only by <see cref="SwapArrays"/> (tensors keep the array they were created over).</summary>
    public float[] Array { get; private set; } = array;

    /// <summary>Index into the pool's size classes (−1 for leases that never enter the pool).</summary>
    public int SizeClass { get; } = sizeClass;

    public LeaseKind Kind { get; } = kind;

    /// <summary>Bumped each time the array is recycled; tensors holding an older value are released.</summary>
    public int Generation { get; private set; }

    /// <summary>Set by <see cref="Tensor.Keep"/>: the scope leaves the array with its tensors instead of recycling it.</summary>
    public bool Kept { get; set; }

    /// <summary>Pool epoch at which the array last came back (for trimming idle arrays).</summary>
    public long ReturnedAt { get; set; }

    /// <summary>The owner of a gradient lease (the parameter whose <c>Grad</c> it backs).</summary>
    public object? Owner { get; init; }

    /// <summary>Order of the last rent among all rents (see <see cref="StoragePool.RentCount"/>).</summary>
    public long RentStamp { get; set; }

    /// <summary>
    /// References held by <see cref="Tensor.Backward"/>'s table of pending gradients (reset on every rent): a lease
    /// rented during a backward pass and no longer referenced there is dead and goes back before the scope ends.
    /// </summary>
    public int BackwardRefs { get; set; }

    public void Recycle() => Generation++;

    /// <summary>
    /// Exchanges the arrays of two leases (a leaf adopting a pooled gradient: the pool takes the leaf's spare buffer
    /// in exchange). Both must have been recycled first, so no tensor over either lease can reach the other array.
    /// </summary>
    public void SwapArrays(StorageLease other) => (Array, other.Array) = (other.Array, Array);
}

/// <summary>
/// Process-wide pool of float arrays in size classes of four per power of two (16, 20, 24, 28, 32, 40, …), so a
/// rented array is at most 25% longer than asked for and a training step, whose shapes repeat, finds the same
/// arrays every time. Thread-safe (one lock per class); arrays are handed out dirty.
/// </summary>
/// <remarks>
/// Arrays idle for <see cref="IdleEpochs"/> outermost scope ends are dropped (checked every
/// <see cref="TrimInterval"/> of them), so memory taken by a one-off shape (a larger evaluation batch, a different
/// image size) goes back to the GC while the arrays of the steady loop stay.
/// </remarks>
internal static class StoragePool
{
    /// <summary>The smallest class; smaller requests get 16 floats.</summary>
    public const int MinLength = 16;

    /// <summary>Idle arrays older than this many outermost scope ends are dropped.</summary>
    public const int IdleEpochs = 64;

    /// <summary>How often (in outermost scope ends) idle arrays are looked for.</summary>
    public const int TrimInterval = 64;

    private const int ClassCount = 112;

    private static readonly List<StorageLease>[] s_free = CreateClasses();
    private static long s_epoch;
    private static long s_pooledFloats;
    private static long s_rentCount;

    /// <summary>Test hook: fill every array rented on this thread with NaN unless it is cleared anyway.</summary>
    [ThreadStatic]
    private static bool s_poisonOnRent;

    internal static bool PoisonOnRent
    {
        get => s_poisonOnRent;
        set => s_poisonOnRent = value;
    }

    /// <summary>Rents so far; a lease whose <see cref="StorageLease.RentStamp"/> is larger was rented after this was read.</summary>
    public static long RentCount => Interlocked.Read(ref s_rentCount);

    /// <summary>Floats held idle in the pool right now.</summary>
    public static long PooledFloats => Interlocked.Read(ref s_pooledFloats);

    /// <summary>The class of the smallest array of at least <paramref name="length"/> floats, or −1 when too large to pool.</summary>
    public static int ClassOf(int length)
    {
        if (length <= MinLength)
        {
            return 0;
        }

        // 2^e < length ≤ 2^(e+1); the classes in that octave are 2^e + j·2^(e−2), j = 1..4.
        int e = 31 - int.LeadingZeroCount(length - 1);
        int step = 1 << (e - 2);
        int j = (length - (1 << e) + step - 1) / step;
        int cls = ((e - 4) * 4) + j;
        return cls < ClassCount && ClassLength(cls) <= Array.MaxLength ? cls : -1;
    }

    /// <summary>The array length of class <paramref name="cls"/>.</summary>
    public static long ClassLength(int cls)
    {
        if (cls == 0)
        {
            return MinLength;
        }

        int e = ((cls - 1) / 4) + 4;
        int j = ((cls - 1) % 4) + 1;
        return (1L << e) + ((long)j << (e - 2));
    }

    /// <summary>A lease on an array of at least <paramref name="length"/> floats (1 ≤ length), dirty unless <paramref name="clear"/>.</summary>
    public static StorageLease? Rent(int length, bool clear)
    {
        int cls = ClassOf(length);
        if (cls < 0)
        {
            return null;
        }

        List<StorageLease> free = s_free[cls];
        StorageLease? lease = null;
        lock (free)
        {
            if (free.Count > 0)
            {
                lease = free[^1];
                free.RemoveAt(free.Count - 1);
            }
        }

        if (lease is null)
        {
            // Large arrays go on huge pages where the OS allows (advised before their first write).
            lease = new StorageLease(HugePages.AllocateUninitialized((int)ClassLength(cls), length), cls, LeaseKind.Scope);
        }
        else
        {
            Interlocked.Add(ref s_pooledFloats, -lease.Array.Length);
        }

        lease.RentStamp = Interlocked.Increment(ref s_rentCount);
        lease.BackwardRefs = 0;
        if (clear)
        {
            Array.Clear(lease.Array, 0, length);
        }
        else if (s_poisonOnRent)
        {
            lease.Array.AsSpan().Fill(float.NaN);
        }

        return lease;
    }

    /// <summary>Recycles <paramref name="lease"/> (every tensor over it is released) and keeps its array for the next rent.</summary>
    public static void Return(StorageLease lease)
    {
        lease.Recycle();
        lease.ReturnedAt = Interlocked.Read(ref s_epoch);
        List<StorageLease> free = s_free[lease.SizeClass];
        lock (free)
        {
            free.Add(lease);
        }

        Interlocked.Add(ref s_pooledFloats, lease.Array.Length);
    }

    /// <summary>Called when an outermost scope ends: advances the epoch and now and then drops idle arrays.</summary>
    public static void EndEpoch()
    {
        long epoch = Interlocked.Increment(ref s_epoch);
        if (epoch % TrimInterval == 0)
        {
            Trim(epoch - IdleEpochs);
        }
    }

    /// <summary>Drops every idle array that came back before <paramref name="before"/> (all of them for <see cref="long.MaxValue"/>).</summary>
    public static long Trim(long before)
    {
        long dropped = 0;
        foreach (List<StorageLease> free in s_free)
        {
            lock (free)
            {
                // The list is a stack: the oldest returns sit at the bottom.
                int n = 0;
                while (n < free.Count && free[n].ReturnedAt < before)
                {
                    dropped += free[n].Array.Length;
                    n++;
                }

                free.RemoveRange(0, n);
            }
        }

        Interlocked.Add(ref s_pooledFloats, -dropped);
        return dropped;
    }

    private static List<StorageLease>[] CreateClasses()
    {
        var classes = new List<StorageLease>[ClassCount];
        for (int i = 0; i < classes.Length; i++)
        {
            classes[i] = [];
        }

        return classes;
    }
}
