namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The bias gradient of <see cref="Conv2d.BackwardWeight"/> outside the direct small-channel kernel: one double sum per
/// output channel, samples and positions in order, whatever the thread count or the channel grouping.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class Conv2dBiasGradTests
{
    [Theory]
    [InlineData(3, 13, 5, 7)] // one block of 8 channels and 5 left over
    [InlineData(2, 8, 14, 14)] // exactly one block
    [InlineData(4, 3, 9, 4)] // no full block
    [InlineData(5, 64, 14, 14)] // MNIST conv2's channels, 8 blocks
    [InlineData(0, 9, 4, 4)] // empty batch: zeros
    public void BiasGrad_RaggedChannelsAnyThreadCount_EqualsSequentialDoubleSum(int batch, int outChannels, int height, int width)
    {
        var g = new Conv2dGeometry(batch, 4, height, width, outChannels, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1);
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 2);
        int p = g.OutHeight * g.OutWidth;
        var expected = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            double sum = 0;
            for (int n = 0; n < batch; n++)
            {
                for (int q = 0; q < p; q++)
                {
                    sum += dy[(((n * outChannels) + o) * p) + q];
                }
            }

            expected[o] = (float)sum;
        }

        int saved = KernelParallel.MaxThreads;
        try
        {
            Conv2d.VariantOverride = Conv2d.ImplicitVariantName;
            foreach (int threads in new[] { 1, 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                var dw = new float[g.WeightLength];
                var db = new float[outChannels];
                db.AsSpan().Fill(float.NaN); // every channel must be written
                Conv2d.BackwardWeight(dy, x, g, dw, db);
                for (int o = 0; o < outChannels; o++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(expected[o]) == BitConverter.SingleToInt32Bits(db[o]),
                        $"{threads} threads, {outChannels} channels: db[{o}] = {db[o]}, the sequential double sum is {expected[o]}.");
                }
            }
        }
        finally
        {
            Conv2d.VariantOverride = null;
            KernelParallel.MaxThreads = saved;
        }
    }
}
