using System.Collections.Concurrent;
using System.Diagnostics;

namespace SharpCnn.Kernels.Tests;

[Collection(MaxThreadsSerialGemmConv.Name)]
public class KernelParallelTests
{
    // Enough declared work that every call below goes parallel when more than one thread is allowed.
    private const long Parallel = KernelParallel.MinParallelWork;

    [Theory]
    [InlineData(1, 0)]
    [InlineData(2, 0)]
    [InlineData(2, 7)]
    [InlineData(3, 64)]
    [InlineData(5, 1000)]
    public void For_AnyThreadsAndBlocks_CoversEachItemOnce(int threads, int blocks)
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = threads;
            var hits = new int[64];
            KernelParallel.For(hits.Length, Parallel, (start, end) =>
            {
                Assert.True(start < end);
                for (int i = start; i < end; i++)
                {
                    Interlocked.Increment(ref hits[i]);
                }
            }, blocks);
            Assert.All(hits, h => Assert.Equal(1, h));
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Theory]
    [InlineData(10, 2, 0)]
    [InlineData(10, 3, 0)]
    [InlineData(64, 2, 16)]
    [InlineData(7, 3, 5)]
    [InlineData(1000, 5, 1000)]
    [InlineData(3, 5, 0)]
    public void For_SameCountThreadsBlocks_AlwaysTheSameRanges(int count, int threads, int blocks)
    {
        int parts = Math.Min(threads, count);
        int b = Math.Clamp(blocks <= 0 ? parts : blocks, parts, count);
        var expected = Enumerable.Range(0, b).Select(i => (count * i / b, count * (i + 1) / b)).ToHashSet();
        for (int run = 0; run < 200; run++)
        {
            var ranges = new ConcurrentBag<(int, int)>();
            KernelParallel.For(count, Parallel, (start, end) => ranges.Add((start, end)), blocks, threads);
            Assert.Equal(b, ranges.Count);
            Assert.True(expected.SetEquals(ranges), $"run {run}: ranges {string.Join(", ", ranges.Order())}");
        }
    }

    [Fact]
    public void For_BelowMinParallelWork_OneInlineRange()
    {
        var ranges = new ConcurrentBag<(int, int, int)>();
        KernelParallel.For(8, (KernelParallel.MinParallelWork / 8) - 1, (start, end) => ranges.Add((start, end, Environment.CurrentManagedThreadId)), 0, 4);
        Assert.Equal((0, 8, Environment.CurrentManagedThreadId), Assert.Single(ranges));
    }

    [Fact]
    public void For_HugeCostPerItem_DoesNotOverflowIntoInline()
    {
        var ranges = new ConcurrentBag<(int, int)>();
        KernelParallel.For(4, long.MaxValue, (start, end) => ranges.Add((start, end)), 0, 2);
        Assert.Equal(2, ranges.Count);
    }

    [Fact]
    public void For_TwoThreads_RunsBlocksConcurrentlyOnANamedBackgroundWorker()
    {
        // Each of the two blocks waits (up to a second) for the other to start: that only happens when two threads
        // run them at once. The caller may take both blocks when the worker is late, so try a few times.
        bool together = false;
        string? workerName = null;
        bool workerIsBackground = false;
        int caller = Environment.CurrentManagedThreadId;
        for (int attempt = 0; attempt < 20 && !together; attempt++)
        {
            int started = 0;
            int met = 0;
            KernelParallel.For(2, Parallel, (start, end) =>
            {
                Interlocked.Increment(ref started);
                var clock = Stopwatch.StartNew();
                while (Volatile.Read(ref started) < 2 && clock.ElapsedMilliseconds < 1000)
                {
                    Thread.Yield();
                }

                if (Volatile.Read(ref started) == 2)
                {
                    Interlocked.Increment(ref met);
                }

                if (Environment.CurrentManagedThreadId != caller)
                {
                    workerName = Thread.CurrentThread.Name;
                    workerIsBackground = Thread.CurrentThread.IsBackground;
                }
            }, 0, 2);
            together = met == 2;
        }

        Assert.True(together, "the two blocks never ran at the same time");
        Assert.Equal("SharpCnn kernel worker 1", workerName);
        Assert.True(workerIsBackground);
    }

    [Fact]
    public void For_BodyThrows_RethrowsTheOriginalException()
    {
        var error = Assert.Throws<ArgumentException>(() => KernelParallel.For(16, Parallel, (start, end) =>
        {
            if (start <= 9 && 9 < end)
            {
                throw new ArgumentException("item 9");
            }
        }, 16, 2));
        Assert.Equal("item 9", error.Message);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void For_SeveralBlocksThrow_LowestBlockWinsAfterAllBlocksRanAndThePoolRecovers(int threads)
    {
        for (int run = 0; run < 50; run++)
        {
            var hits = new int[12];
            var error = Assert.Throws<InvalidOperationException>(() => KernelParallel.For(12, Parallel, (start, end) =>
            {
                Interlocked.Increment(ref hits[start]);
                if (start >= 5)
                {
                    throw new InvalidOperationException($"block {start}");
                }
            }, 12, threads));
            Assert.Equal("block 5", error.Message);
            Assert.All(hits, h => Assert.Equal(1, h));
        }

        var after = new int[1000];
        KernelParallel.For(after.Length, Parallel, (start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                after[i]++;
            }
        }, 10, threads);
        Assert.All(after, h => Assert.Equal(1, h));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public async Task For_NestedCalls_RunInlineWithoutDeadlock(int threads)
    {
        var hits = new int[6, 50];
        Task outer = Task.Run(() => KernelParallel.For(6, Parallel, (start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                int row = i;
                KernelParallel.For(50, Parallel, (s, e) =>
                {
                    for (int j = s; j < e; j++)
                    {
                        Interlocked.Increment(ref hits[row, j]);
                    }
                }, 7, threads);
            }
        }, 6, threads));
        await outer.WaitAsync(TimeSpan.FromSeconds(30)); // a deadlock fails with TimeoutException
        Assert.All(hits.Cast<int>(), h => Assert.Equal(1, h));
    }

    [Fact]
    public void For_HundredThousandTinyParallelCalls_FinishQuickly()
    {
        // Thread-pool fork-join cost microseconds per call, and far more on a busy machine; the spinning helper
        // takes well under one. The bound is loose because the test machine is shared.
        var sums = new long[2];
        var clock = Stopwatch.StartNew();
        for (int call = 0; call < 100_000; call++)
        {
            KernelParallel.For(2, Parallel, (start, end) => sums[start] += start + 1, 0, 2);
        }

        clock.Stop();
        Assert.Equal([100_000L, 200_000L], sums);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"100 000 calls took {clock.Elapsed.TotalSeconds:F1} s");
    }

    [Fact]
    public void For_ParallelCalls_AllocateNothingOnTheCallingThread()
    {
        var sums = new long[2];
        Action<int, int> body = (start, end) => sums[start]++;
        for (int call = 0; call < 1000; call++)
        {
            KernelParallel.For(2, Parallel, body, 0, 2);
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int call = 0; call < 1000; call++)
        {
            KernelParallel.For(2, Parallel, body, 0, 2);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal([2000L, 2000L], sums);
    }

    [Fact]
    public void For_ConcurrentCallersOnSeveralThreads_AllGetCorrectResults()
    {
        const int Callers = 4, Calls = 300, Count = 97;
        var failures = new ConcurrentQueue<string>();
        using var start = new Barrier(Callers);
        var threads = Enumerable.Range(0, Callers).Select(c => new Thread(() =>
        {
            start.SignalAndWait();
            for (int call = 0; call < Calls; call++)
            {
                var y = new long[Count];
                KernelParallel.For(Count, Parallel, (s, e) =>
                {
                    for (int i = s; i < e; i++)
                    {
                        y[i] += ((long)c * 1000) + i;
                    }
                }, call % 9, 2 + (c % 2));
                for (int i = 0; i < Count; i++)
                {
                    if (y[i] != ((long)c * 1000) + i)
                    {
                        failures.Enqueue($"caller {c}, call {call}, item {i}: {y[i]}");
                        return;
                    }
                }
            }
        })).ToArray();
        foreach (Thread t in threads)
        {
            t.Start();
        }

        foreach (Thread t in threads)
        {
            Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a concurrent caller did not finish");
        }

        Assert.Empty(failures);
    }

    [Fact]
    public void MaxThreads_ChangedBetweenCalls_NextCallUsesTheNewLimit()
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 3, 2, 5, 1, 2, 4 })
            {
                KernelParallel.MaxThreads = threads;
                var ranges = new ConcurrentBag<(int, int)>();
                var hits = new int[40];
                KernelParallel.For(hits.Length, Parallel, (start, end) =>
                {
                    ranges.Add((start, end));
                    for (int i = start; i < end; i++)
                    {
                        Interlocked.Increment(ref hits[i]);
                    }
                });
                Assert.All(hits, h => Assert.Equal(1, h));

                // Another test class may change the process-wide limit meanwhile; the cut is one range per thread.
                Assert.InRange(ranges.Count, 1, 5);
                if (KernelParallel.MaxThreads == threads)
                {
                    Assert.Equal(threads, ranges.Count);
                }
            }

            Assert.Throws<ArgumentOutOfRangeException>(() => KernelParallel.MaxThreads = 0);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }
}
