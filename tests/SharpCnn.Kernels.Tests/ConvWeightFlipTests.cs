namespace SharpCnn.Kernels.Tests;

[Collection(MaxThreadsSerialGemmConv.Name)]
public class ConvWeightFlipTests
{
    [Theory]
    [InlineData(1, 1, 1, 1)]
    [InlineData(1, 512, 64, 9)]
    [InlineData(2, 37, 45, 9)]
    [InlineData(3, 33, 31, 25)]
    [InlineData(1, 70, 65, 1)]
    public void Run_RaggedTilesAnyThreadCount_EqualsPlainFlipTranspose(int groups, int og, int cg, int taps)
    {
        float[] w = GemmConv2dNumerics.Random(groups * og * cg * taps, 5);
        var expected = new float[w.Length];
        for (int grp = 0; grp < groups; grp++)
        {
            for (int o = 0; o < og; o++)
            {
                for (int c = 0; c < cg; c++)
                {
                    for (int t = 0; t < taps; t++)
                    {
                        expected[(((((grp * cg) + c) * og) + o) * taps) + taps - 1 - t] = w[(((((grp * og) + o) * cg) + c) * taps) + t];
                    }
                }
            }
        }

        int saved = KernelParallel.MaxThreads;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                float[] actual = GemmConv2dNumerics.Random(w.Length, 6); // garbage: every element must be written
                unsafe
                {
                    fixed (float* pw = w)
                    fixed (float* pt = actual)
                    {
                        ConvWeightFlip.Run(pw, groups, og, cg, taps, pt);
                    }
                }

                Assert.Equal(expected, actual);
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }
}
