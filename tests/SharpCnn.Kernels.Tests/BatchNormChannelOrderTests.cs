namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The backward's channel order (it starts in the middle of the channels, or of each thread's share, and wraps
/// around, so that it first reads the input the forward read last): the bits equal those of a backward that sweeps
/// the channels in the forward's order, for the pipeline and the whole-channel path, 1, 2 and 3 threads, with and
/// without streaming stores, ReLU and a residual.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class BatchNormChannelOrderTests
{
    // n, c, spatial: c = 9 and 13 take whole channels on 1 and 2 threads (and planes on 3 for c = 9), odd shares,
    // scalar tails, more than one 1024-float block, 56×56 planes.
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 3, 9, 37 },
        { 2, 13, 1100 },
        { 5, 8, 300 },
        { 4, 2, 3136 },
        { 3, 16, 17 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormBackward_RotatedChannelOrder_BitwiseEqualsAscendingOrder(int n, int c, int spatial)
    {
        (float[] x, float[] gamma, float[] beta, float[] go, float[] residual) = Inputs(n, c, spatial, seed: 81);
        foreach ((bool relu, float[]? res) in new[] { (false, (float[]?)null), (true, null), (true, residual) })
        {
            float[][] expected = BatchNormRun.ForwardBackward(x, gamma, beta, go, res, n, c, spatial, relu, pipeline: false, stream: false, threads: 1, ascending: true);
            foreach (bool pipeline in new[] { false, true })
            {
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    foreach (bool stream in new[] { false, true })
                    {
                        float[][] actual = BatchNormRun.ForwardBackward(x, gamma, beta, go, res, n, c, spatial, relu, pipeline, stream, threads, ascending: false);
                        for (int k = 0; k < expected.Length; k++)
                        {
                            Assert.True(expected[k].AsSpan().SequenceEqual(actual[k]),
                                $"output {k} differs: relu {relu}, residual {res is not null}, pipeline {pipeline}, {threads} threads, streaming {stream}");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// The pipeline's prefetch of the next channel during a writing pass changes no bit: (2, 3, 70000) has 280 KB planes,
    /// so on one thread neither pass prefetches (560 KB shares), on two the forward does and the backward does not, on
    /// three both; the others prefetch everywhere.
    /// </summary>
    [Theory]
    [InlineData(4, 2, 3136)]
    [InlineData(5, 8, 300)]
    [InlineData(2, 3, 70000)]
    public void BatchNormPipeline_PrefetchOnOrOff_BitwiseEqual(int n, int c, int spatial)
    {
        (float[] x, float[] gamma, float[] beta, float[] go, float[] residual) = Inputs(n, c, spatial, seed: 91);
        foreach ((bool relu, float[]? res) in new[] { (false, (float[]?)null), (true, null), (true, residual) })
        {
            float[][] expected = BatchNormRun.ForwardBackward(x, gamma, beta, go, res, n, c, spatial, relu, pipeline: true, stream: true, threads: 1, ascending: false, prefetch: false);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                float[][] actual = BatchNormRun.ForwardBackward(x, gamma, beta, go, res, n, c, spatial, relu, pipeline: true, stream: true, threads, ascending: false, prefetch: true);
                for (int k = 0; k < expected.Length; k++)
                {
                    Assert.True(expected[k].AsSpan().SequenceEqual(actual[k]), $"output {k} differs: relu {relu}, residual {res is not null}, {threads} threads");
                }
            }
        }
    }

    [Fact]
    public void BatchNormBackward_FirstChannel_IsTheMiddle()
    {
        Assert.Equal(32, BatchNormVector.BackwardFirstChannel(64));
        Assert.Equal(4, BatchNormVector.BackwardFirstChannel(9));
        Assert.Equal(0, BatchNormVector.BackwardFirstChannel(1));
    }

    [Theory]
    [InlineData(64, 1)]
    [InlineData(64, 2)]
    [InlineData(9, 2)]
    [InlineData(13, 3)]
    [InlineData(5, 5)]
    [InlineData(7, 4)]
    public void BatchNormBackward_ChannelOfItem_PermutesEachSharesChannelsFromItsMiddle(int c, int threads)
    {
        var seen = new bool[c];
        for (int t = 0; t < threads; t++)
        {
            int lo = c * t / threads, hi = c * (t + 1) / threads;
            for (int item = lo; item < hi; item++)
            {
                int ch = BatchNormVector.BackwardChannelOfItem(item, c, threads);
                Assert.InRange(ch, lo, hi - 1);
                Assert.False(seen[ch], $"channel {ch} twice (c {c}, {threads} threads)");
                seen[ch] = true;
            }

            // The share's first item is its middle channel, and the sweep ascends from there, wrapping once.
            Assert.Equal(lo + ((hi - lo) / 2), BatchNormVector.BackwardChannelOfItem(lo, c, threads));
        }

        Assert.All(seen, Assert.True);
    }

    /// <summary>x, γ, β, the upstream gradient and a residual for (n, c, spatial), from seeds seed … seed + 4.</summary>
    private static (float[] X, float[] Gamma, float[] Beta, float[] Go, float[] Residual) Inputs(int n, int c, int spatial, int seed)
    {
        int len = n * c * spatial;
        return (TestUtil.Random(len, seed, -2f, 4f), TestUtil.Random(c, seed + 1, 0.5f, 2f), TestUtil.Random(c, seed + 2),
            TestUtil.Random(len, seed + 3), TestUtil.Random(len, seed + 4));
    }
}
