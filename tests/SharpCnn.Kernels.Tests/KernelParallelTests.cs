namespace SharpCnn.Kernels.Tests;

[Collection(MaxThreadsSerialGemmConv.Name)]
public class KernelParallelTests
{
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
            KernelParallel.For(hits.Length, KernelParallel.MinParallelWork, (start, end) =>
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

    [Fact]
    public void For_BodyThrows_RethrowsTheOriginalException()
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 2;
            var error = Assert.Throws<ArgumentException>(() => KernelParallel.For(16, KernelParallel.MinParallelWork, (start, end) =>
            {
                if (start <= 9 && 9 < end)
                {
                    throw new ArgumentException("item 9");
                }
            }, 16));
            Assert.Equal("item 9", error.Message);
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }
}
