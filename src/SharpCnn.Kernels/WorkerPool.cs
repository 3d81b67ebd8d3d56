using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace SharpCnn.Kernels;

/// <summary>
/// The threads behind <see cref="KernelParallel"/>: the calling thread plus long-lived background helpers that
/// spin briefly for the next job and then block, so a burst of small kernels pays no thread-pool wake-up and an
/// idle process burns no CPU.
/// </summary>
/// <remarks>
/// <para>One job runs at a time. A job cuts [0, count) into <c>blocks</c> fixed ranges, block b being
/// [count·b/blocks, count·(b+1)/blocks), and gives part t (t = 0 the caller, t ≥ 1 helper t) the contiguous share of
/// blocks [blocks·t/parts, blocks·(t+1)/parts). Each part runs its own share in order, then takes blocks nobody has
/// claimed yet from the other shares, so the caller never waits for a helper that has not woken up (on a busy
/// machine a helper may get a core milliseconds late): it only waits for blocks a helper is running. The ranges
/// depend on (count, blocks, parts) alone; only which thread runs a range depends on timing, and that never changes
/// what the range computes.</para>
/// <para>Protocol. The caller takes the pool (<see cref="s_busy"/>), writes the job, opens it
/// (<see cref="s_closed"/> = 0) and signals the helpers it needs. A helper registers in <see cref="s_running"/>
/// first and reads the job only if it is open. The caller, once no block is left to claim, closes the job and waits
/// until no helper is registered; only then may it write the next job. Registering and checking are full fences on
/// both sides, so a helper either sees the job closed and leaves without reading it, or is waited for. A helper that
/// wakes late may thus help a later job than the one it was signalled for, which is harmless.</para>
/// </remarks>
internal static class WorkerPool
{
    /// <summary>
    /// How long a helper spins for the next job before it blocks. On LeNet-5's training step 200 µs and 1000 µs gave
    /// the same step time and 0 or 50 µs a slower one (docs/performance.md, "Threads"); an idle process stops
    /// spinning after a fraction of a millisecond.
    /// </summary>
    internal const int SpinMicroseconds = 200;

    private static readonly long s_spinTicks = Math.Max(1, Stopwatch.Frequency * SpinMicroseconds / 1_000_000);
    private static readonly Lock s_errorLock = new();

    // 1 while a caller owns the pool. Not re-entrant, so a nested call (from a body, on any thread) and a call from a
    // second user thread both find it taken and run inline.
    private static int s_busy;
    private static Helper[] s_helpers = [];
    private static Share[] s_shares = new Share[1];

    private static Action<int, int>? s_body;
    private static int s_count;
    private static int s_blocks;
    private static int s_parts;
    private static int s_closed = 1;
    private static bool s_counting;
    private static long s_opened;
    private static PaddedInt s_running;
    private static ExceptionDispatchInfo? s_error;
    private static int s_errorBlock;

    /// <summary>
    /// Runs <paramref name="body"/> over [0, <paramref name="count"/>) in <paramref name="blocks"/> ranges on
    /// <paramref name="parts"/> threads, or returns <see langword="false"/> without running anything when the pool is
    /// in use (a nested call, or another thread's call).
    /// </summary>
    /// <remarks>Requires 2 ≤ parts ≤ blocks ≤ count. Rethrows the exception of the lowest-numbered block that threw,
    /// after every block has run.</remarks>
    public static bool TryRun(int count, int blocks, int parts, Action<int, int> body)
    {
        if (Interlocked.CompareExchange(ref s_busy, 1, 0) != 0)
        {
            return false;
        }

        ExceptionDispatchInfo? error;
        try
        {
            EnsureHelpers(parts - 1);
            s_body = body;
            s_count = count;
            s_blocks = blocks;
            s_parts = parts;
            Share[] shares = s_shares;
            for (int t = 0; t < parts; t++)
            {
                shares[t].Next = (int)((long)blocks * t / parts);
                shares[t].End = (int)((long)blocks * (t + 1) / parts);
            }

            s_error = null;
            s_errorBlock = int.MaxValue;
            bool counting = KernelParallelStats.IsCounting;
            s_counting = counting;
            s_opened = counting ? Stopwatch.GetTimestamp() : 0;
            Volatile.Write(ref s_closed, 0);
            Helper[] helpers = s_helpers;
            for (int h = 0; h < parts - 1; h++)
            {
                helpers[h].Signal();
            }

            int callerBlocks = RunFrom(0);
            long callerDone = counting ? Stopwatch.GetTimestamp() : 0;
            Interlocked.Exchange(ref s_closed, 1);
            var spin = default(SpinWait);
            while (Volatile.Read(ref s_running.Value) != 0)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }

            if (counting)
            {
                KernelParallelStats.AddWait(callerDone, blocks - callerBlocks);
            }

            s_body = null;
            error = s_error;
            s_error = null;
        }
        finally
        {
            Volatile.Write(ref s_busy, 0);
        }

        error?.Throw();
        return true;
    }

    /// <summary>Starts helpers 1..<paramref name="count"/> that do not exist yet. Called by the pool's owner only.</summary>
    private static void EnsureHelpers(int count)
    {
        Helper[] helpers = s_helpers;
        if (helpers.Length >= count)
        {
            return;
        }

        var grown = new Helper[count];
        helpers.CopyTo(grown, 0);
        for (int h = helpers.Length; h < count; h++)
        {
            grown[h] = new Helper(h + 1);
        }

        s_shares = new Share[count + 1];
        s_helpers = grown;
    }

    /// <summary>Runs part <paramref name="part"/>'s share, then claims what is left of the others' shares; returns how many blocks it ran.</summary>
    private static int RunFrom(int part)
    {
        Share[] shares = s_shares;
        int parts = s_parts;
        int ran = 0;
        for (int i = 0; i < parts; i++)
        {
            int t = part + i < parts ? part + i : part + i - parts;
            ref Share share = ref shares[t];
            int b;
            while ((b = Interlocked.Increment(ref share.Next) - 1) < share.End)
            {
                RunBlock(b);
                ran++;
            }
        }

        return ran;
    }

    private static void RunBlock(int b)
    {
        int start = (int)((long)s_count * b / s_blocks);
        int end = (int)((long)s_count * (b + 1) / s_blocks);
        try
        {
            s_body!(start, end);
        }
        catch (Exception e)
        {
            lock (s_errorLock)
            {
                if (b < s_errorBlock)
                {
                    s_errorBlock = b;
                    s_error = ExceptionDispatchInfo.Capture(e);
                }
            }
        }
    }

    /// <summary>What a helper does each time it is signalled: join the current job if it is open and has a part for it.</summary>
    private static void Help(int part)
    {
        Interlocked.Increment(ref s_running.Value);
        if (Volatile.Read(ref s_closed) == 0 && part < s_parts)
        {
            if (s_counting)
            {
                // Read after the job was seen open, so these are the job's own (the caller wrote them before opening it).
                KernelParallelStats.AddJoin(Stopwatch.GetTimestamp() - s_opened);
            }

            if (KernelParallelStats.CpuClock is { } clock)
            {
                long cpu = clock();
                RunFrom(part);
                KernelParallelStats.AddHelperCpu(clock() - cpu);
            }
            else
            {
                RunFrom(part);
            }
        }

        Interlocked.Decrement(ref s_running.Value);
    }

    /// <summary>The blocks of one part: the next one to claim and the end of the share. Padded to its own cache lines.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct Share
    {
        [FieldOffset(0)] public int Next;
        [FieldOffset(4)] public int End;
    }

    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct PaddedInt
    {
        [FieldOffset(64)] public int Value;
    }

    /// <summary>One background thread: waits for its signal, spinning first and then blocking, and helps.</summary>
    private sealed class Helper
    {
        private readonly object _gate = new();
        private readonly int _part;
        private PaddedInt _signal;
        private int _sleeping;

        public Helper(int part)
        {
            _part = part;
            var thread = new Thread(Loop) { IsBackground = true, Name = $"SharpCnn kernel worker {part}" };
            thread.UnsafeStart();
        }

        /// <summary>Wakes the helper for the current job (called by the pool's owner after opening the job).</summary>
        public void Signal()
        {
            // The increment is a full fence: either the helper sees the new signal before it sleeps, or we see
            // _sleeping set (it sets it, with a full fence, before its last check) and pulse under the lock it holds.
            Interlocked.Increment(ref _signal.Value);
            if (Volatile.Read(ref _sleeping) != 0)
            {
                lock (_gate)
                {
                    Monitor.Pulse(_gate);
                }
            }
        }

        private void Loop()
        {
            int seen = 0;
            while (true)
            {
                seen = WaitForSignal(seen);
                Help(_part);
            }
        }

        private int WaitForSignal(int seen)
        {
            long deadline = Stopwatch.GetTimestamp() + s_spinTicks;
            for (int i = 1; ; i++)
            {
                int signal = Volatile.Read(ref _signal.Value);
                if (signal != seen)
                {
                    return signal;
                }

                if ((i & 63) == 0)
                {
                    // Give the core away now and then (to the caller's other work or another process on a busy machine).
                    if (Stopwatch.GetTimestamp() > deadline)
                    {
                        break;
                    }

                    Thread.Yield();
                }
                else
                {
                    Thread.SpinWait(4);
                }
            }

            lock (_gate)
            {
                Interlocked.Exchange(ref _sleeping, 1);
                int signal;
                while ((signal = Volatile.Read(ref _signal.Value)) == seen)
                {
                    Monitor.Wait(_gate);
                }

                Volatile.Write(ref _sleeping, 0);
                return signal;
            }
        }
    }
}
