using System.Diagnostics;

namespace SharpCnn.Kernels.Tests;

/// <summary>The opt-in profiling counters: <see cref="Conv2dTimings"/> (all three passes) and <see cref="KernelParallelStats"/>.</summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class ProfilingCountersTests
{
    [Fact]
    public void Conv2dTimings_Enabled_RecordsForwardBackwardDataAndBackwardWeightInCallOrder()
    {
        var g = new Conv2dGeometry(2, 4, 9, 8, 6, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1), w = GemmConv2dNumerics.Random((int)g.WeightLength, 2);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 3);
        var y = new float[g.OutputLength];
        var dx = new float[g.InputLength];
        var dw = new float[g.WeightLength];
        var db = new float[g.OutChannels];
        Conv2dTimings.Drain();
        try
        {
            Conv2dTimings.Enabled = true;
            Conv2d.Forward(x, w, [], g, y);
            Conv2d.BackwardData(dy, w, g, dx);
            Conv2d.BackwardWeight(dy, x, g, dw, db);
        }
        finally
        {
            Conv2dTimings.Enabled = false;
        }

        Conv2d.Forward(x, w, [], g, y); // off: not recorded
        IReadOnlyList<Conv2dTiming> records = Conv2dTimings.Drain();
        Assert.Equal([Conv2dPass.Forward, Conv2dPass.BackwardData, Conv2dPass.BackwardWeight], records.Select(r => r.Pass));
        Assert.All(records, r => Assert.Equal(g, r.Geometry));
        Assert.All(records, r => Assert.True(r.Milliseconds >= 0));
        Assert.Equal(Conv2d.SelectedVariant(g), records[0].Variant);
        Assert.Equal("+bias", records[2].Epilogue);
        Assert.Empty(Conv2dTimings.Drain());
    }

    [Fact]
    public void KernelParallelStats_Enabled_CountsSplitJobsAndHelperCpu()
    {
        int saved = KernelParallel.MaxThreads;
        long clockCalls = 0;
        try
        {
            KernelParallel.MaxThreads = 2;
            long jobs = KernelParallelStats.Jobs, blocks = KernelParallelStats.Blocks, helperCpu = KernelParallelStats.HelperCpuNanoseconds;
            var log = new List<(int Count, int Blocks, long Ticks, long WaitTicks)>();
            KernelParallelStats.Log = log;
            KernelParallelStats.CpuClock = () => Interlocked.Add(ref clockCalls, 1) * 1000;
            KernelParallelStats.Enabled = true;
            KernelParallel.For(64, KernelParallel.MinParallelWork, (_, _) => Thread.SpinWait(1000), 8);
            KernelParallel.For(4, 1, (_, _) => { }); // below MinParallelWork: inline, not a job
            KernelParallelStats.Enabled = false;
            KernelParallel.For(64, KernelParallel.MinParallelWork, (_, _) => { }, 8); // off: not counted

            Assert.Equal(jobs + 1, KernelParallelStats.Jobs);
            Assert.Equal(blocks + 8, KernelParallelStats.Blocks);
            Assert.Equal((64, 8), (log.Single().Count, log.Single().Blocks));
            Assert.True(log.Single().Ticks > 0);

            // The helper reads the clock around its part whenever it joined a job (it may come too late to join).
            Assert.True(KernelParallelStats.HelperCpuNanoseconds >= helperCpu);
            Assert.Equal(0, Interlocked.Read(ref clockCalls) % 2);
        }
        finally
        {
            KernelParallelStats.Enabled = false;
            KernelParallelStats.CpuClock = null;
            KernelParallelStats.Log = null;
            KernelParallel.MaxThreads = saved;
        }
    }

    [Fact]
    public void KernelParallelStats_HelperJoinsAJob_CountsItsBlocksAndOneJoin()
    {
        // The caller's first block waits until the helper has run one of its share, so the helper certainly joins.
        int helperRan = 0;
        var ranBy = new bool[8];
        (long Helper, long Solo, long Joins, long JoinTicks, long Slow) before = Read();
        try
        {
            KernelParallelStats.Enabled = true;
            KernelParallel.For(8, KernelParallel.MinParallelWork, (start, _) =>
            {
                bool onHelper = IsHelper();
                ranBy[start] = onHelper;
                if (onHelper)
                {
                    Interlocked.Increment(ref helperRan);
                }
                else if (start == 0)
                {
                    var clock = Stopwatch.StartNew();
                    while (Volatile.Read(ref helperRan) == 0 && clock.Elapsed < TimeSpan.FromSeconds(20))
                    {
                        Thread.Yield();
                    }
                }
            }, 8, 2);
        }
        finally
        {
            KernelParallelStats.Enabled = false;
        }

        (long helper, long solo, long joins, long joinTicks, long slow) = Read();
        Assert.True(helperRan > 0, "the helper never ran a block in 20 s");
        Assert.Equal(ranBy.Count(h => h), helper - before.Helper);
        Assert.Equal(0, solo - before.Solo);
        Assert.InRange(joins - before.Joins, 1, 2); // 2 only if a helper late for an earlier job entered this one first
        Assert.True(joinTicks - before.JoinTicks >= 0);
        Assert.InRange(slow - before.Slow, 0, 1);
    }

    [Fact]
    public void KernelParallelStats_ManySmallJobs_SoloJobsAreExactlyThoseNoHelperTouched()
    {
        // Whatever the timing, the counters must agree with what the bodies saw: blocks run on a helper thread, and
        // jobs in which none was (the caller claimed every block first). Some jobs sleep first so that the helper is
        // asleep when they open and joins late or not at all.
        const int Jobs = 300;
        long helperBlocks = 0, soloJobs = 0;
        (long Helper, long Solo, long Joins, long JoinTicks, long Slow) before = Read();
        long jobsBefore = KernelParallelStats.Jobs;
        try
        {
            KernelParallelStats.Enabled = true;
            for (int job = 0; job < Jobs; job++)
            {
                if (job % 50 == 0)
                {
                    Thread.Sleep(5);
                }

                int onHelper = 0;
                KernelParallel.For(16, KernelParallel.MinParallelWork, (_, _) =>
                {
                    if (IsHelper())
                    {
                        Interlocked.Increment(ref onHelper);
                    }
                }, 16, 2);
                helperBlocks += onHelper;
                soloJobs += onHelper == 0 ? 1 : 0;
            }
        }
        finally
        {
            KernelParallelStats.Enabled = false;
        }

        (long helper, long solo, long joins, _, long slow) = Read();
        Assert.Equal(Jobs, KernelParallelStats.Jobs - jobsBefore);
        Assert.Equal(helperBlocks, helper - before.Helper);
        Assert.Equal(soloJobs, solo - before.Solo);
        Assert.InRange(joins - before.Joins, Jobs - soloJobs, 2 * Jobs); // a helper can join a job and find no block left
        Assert.InRange(slow - before.Slow, 0, joins - before.Joins);
    }

    private static bool IsHelper() => Thread.CurrentThread.Name?.StartsWith("SharpCnn kernel worker", StringComparison.Ordinal) == true;

    private static (long Helper, long Solo, long Joins, long JoinTicks, long Slow) Read() => (
        KernelParallelStats.HelperBlocks,
        KernelParallelStats.SoloJobs,
        KernelParallelStats.HelperJoins,
        KernelParallelStats.HelperJoinTicks,
        KernelParallelStats.SlowHelperJoins);
}
