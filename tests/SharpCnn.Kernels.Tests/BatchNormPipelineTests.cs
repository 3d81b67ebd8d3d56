namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The batch-norm pipeline (threads share each channel by samples, a channel's writing pass in the same fork-join as
/// the next channel's reduction): against the double reference, and bit for bit against the whole-channel path for
/// 1, 2 and 3 threads, with and without streaming stores, ReLU and a residual.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class BatchNormPipelineTests
{
    // n, c, spatial: odd n (uneven shares at 2 and 3 threads), spatial with scalar tails, more than one 1024-float
    // block, 56×56 planes; c = 1 and 2 (the few-channel split of the other path).
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 2, 1, 37 },
        { 3, 2, 300 },
        { 5, 3, 1100 },
        { 7, 4, 2053 },
        { 4, 9, 3136 },
        { 9, 2, 16 },
        { 3, 5, 1 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormPipeline_AgainstReference_Close(int n, int c, int spatial)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 61, -3f, 5f);
        float[] gamma = TestUtil.Random(c, 62, 0.5f, 2f);
        float[] beta = TestUtil.Random(c, 63);
        float[] go = TestUtil.Random(len, 64);
        var (yr, meanR, invR, gir, ggr, gbr) = BatchNormExpected.Of(x, gamma, beta, go, n, c, spatial);
        foreach (int threads in new[] { 1, 2 })
        {
            float[][] r = BatchNormRun.ForwardBackward(x, gamma, beta, go, null, n, c, spatial, relu: false, pipeline: true, stream: true, threads);
            string what = $"{threads} threads";
            TestUtil.AssertClose(r[0], yr, $"{what} y");
            TestUtil.AssertClose(r[1], meanR, $"{what} mean");
            TestUtil.AssertClose(r[2], invR, $"{what} invStd");
            TestUtil.AssertClose(r[4], gir, $"{what} gi");
            TestUtil.AssertClose(r[5], ggr, $"{what} gamma'");
            TestUtil.AssertClose(r[6], gbr, $"{what} beta'");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void BatchNormPipeline_ThreadsInterleavingStreaming_BitwiseEqualsChannelPath(int n, int c, int spatial)
    {
        int len = n * c * spatial;
        float[] x = TestUtil.Random(len, 71, -1f, 3f);
        float[] gamma = TestUtil.Random(c, 72);
        float[] beta = TestUtil.Random(c, 73);
        float[] go = TestUtil.Random(len, 74);
        float[] residual = TestUtil.Random(len, 75);
        foreach ((bool relu, float[]? res) in new[] { (false, (float[]?)null), (true, null), (true, residual), (false, residual) })
        {
            float[][] expected = BatchNormRun.ForwardBackward(x, gamma, beta, go, res, n, c, spatial, relu, pipeline: false, stream: false, threads: 1);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                foreach (bool stream in new[] { false, true })
                {
                    float[][] actual = BatchNormRun.ForwardBackward(x, gamma, beta, go, res, n, c, spatial, relu, pipeline: true, stream, threads);
                    for (int k = 0; k < expected.Length; k++)
                    {
                        Assert.True(expected[k].AsSpan().SequenceEqual(actual[k]),
                            $"output {k} differs: relu {relu}, residual {res is not null}, {threads} threads, streaming {stream}");
                    }
                }
            }
        }
    }

    [Fact]
    public void BatchNormPipeline_Selection_StreamingTensorsWithLargeChannelsOnly()
    {
        // ResNet's (32, 64, 56, 56) streams (25.7 MB) and has 100 352 floats per channel.
        Assert.True(BatchNormPipeline.Applies(32, 56 * 56, stream: true));
        Assert.False(BatchNormPipeline.Applies(32, 56 * 56, stream: false));
        Assert.False(BatchNormPipeline.Applies(4, 1000, stream: true));
        Assert.False(BatchNormPipeline.Applies(1, 1 << 20, stream: true));
    }
}
