namespace SharpCnn.Kernels.Tests;

/// <summary>Tests that change the process-wide <see cref="KernelParallel.MaxThreads"/> run alone.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MaxThreadsSerialGemmConv
{
    public const string Name = "KernelParallel.MaxThreads (Gemm, Conv2d)";
}

[Collection(MaxThreadsSerialGemmConv.Name)]
public class ThreadDeterminismTests
{
    private static readonly int[] s_threadCounts = [1, 2, 3, 5];

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void GemmMultiply_AnyThreadCount_BitwiseIdentical(bool transA, bool transB)
    {
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            foreach ((int m, int n, int k) in new[] { (150, 300, 270), (300, 70, 40) })
            {
                float[] a = GemmConv2dNumerics.Random(m * k, 1), b = GemmConv2dNumerics.Random(k * n, 2);
                AssertSameForAllThreadCounts(() =>
                {
                    float[] c = GemmConv2dNumerics.Random(m * n, 3);
                    Gemm.Multiply(variant, transA, transB, m, n, k, a, transA ? m : k, b, transB ? k : n, c, n, accumulate: true);
                    return [c];
                }, $"{variant} {m}×{n}×{k}");
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(11)]
    public void Conv2dKernels_AnyThreadCount_BitwiseIdentical(int batch)
    {
        foreach (string variant in new[] { Conv2d.VariantName, Conv2d.DirectVariantName, Conv2d.ImplicitVariantName, Conv2d.WinogradVariantName, Conv2d.Winograd4x4VariantName, Conv2d.WinogradStride2VariantName })
        {
            try
            {
                Conv2d.VariantOverride = variant;
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 8, 13, 11, 12, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 2), variant);
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 1, 28, 28, 6, 5, 5, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2), variant);
                // Implicit GEMM: tiles straddling images (5×5 maps), row-block splits (few columns), two phases of stride 2.
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 19, 9, 10, 37, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), variant);
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 300, 7, 7, 70, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), variant);
                // B-panel plan fallbacks (81 tap classes; one-column maps) and a weight summed in one chunk (576 K floats).
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 3, 12, 11, 10, 9, 9, PadTop: 4, PadLeft: 4, PadBottom: 4, PadRight: 4), variant);
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 5, 9, 1, 7, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), variant);
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 160, 3, 4, 400, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), variant);
                // Backward-weight tap blocks evened (batch 1: 5 blocks of up to 512 taps become 6 of 384) and 5 chunks.
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 256, 6, 5, 8, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), variant);
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch == 4 ? 5 : batch, 20, 7, 6, 12, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), variant);
                // Few columns (batch 1: 210 positions as 7 blocks of one 32-wide panel × 2 row blocks; batch 4: 8 blocks of 4 panels).
                Conv2dSameForAllThreadCounts(new Conv2dGeometry(batch, 20, 29, 27, 40, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1), variant);
            }
            finally
            {
                Conv2d.VariantOverride = null;
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(64)]
    public void MaxPool_AnyThreadCount_BitwiseIdentical(int batch)
    {
        var g = new Pool2dGeometry(batch, 6, 28, 28, 2, 2, 2, 2, 0, 0);
        float[] x = GemmConv2dNumerics.Random(g.InputLength, 5);
        float[] go = GemmConv2dNumerics.Random(g.OutputLength, 6);
        AssertSameForAllThreadCounts(() =>
        {
            var y = new float[g.OutputLength];
            var arg = new int[g.OutputLength];
            var gi = new float[g.InputLength];
            Pool2d.MaxForward(x, g, y, arg);
            Pool2d.MaxBackward(go, arg, g, gi);
            return [y, Array.ConvertAll(arg, i => (float)i), gi];
        }, $"MaxPool batch {batch}");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(-1)]
    public void ChunkedSum_AnyThreadCountAndBlocks_BitwiseIdenticalToSequential(int blocks)
    {
        // Magnitudes from 1e-3 to 1e5 with both signs: float addition in any other order gives other bits.
        const int Chunk = 1000, Chunks = 64;
        var rng = new Random(7);
        float[] x = Enumerable.Range(0, Chunk * Chunks)
            .Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(10, rng.Next(-3, 6))))
            .ToArray();
        float sequential = 0f;
        for (int c = 0; c < Chunks; c++)
        {
            float part = 0f;
            for (int i = c * Chunk; i < (c + 1) * Chunk; i++)
            {
                part += x[i];
            }

            sequential += part;
        }

        AssertSameForAllThreadCounts(() =>
        {
            var partial = new float[Chunks];
            KernelParallel.For(Chunks, KernelParallel.MinParallelWork, (start, end) =>
            {
                for (int c = start; c < end; c++)
                {
                    float part = 0f;
                    for (int i = c * Chunk; i < (c + 1) * Chunk; i++)
                    {
                        part += x[i];
                    }

                    partial[c] = part;
                }
            }, blocks < 0 ? Chunks : blocks);
            float total = 0f;
            foreach (float p in partial)
            {
                total += p;
            }

            Assert.Equal(BitConverter.SingleToInt32Bits(sequential), BitConverter.SingleToInt32Bits(total));
            return [[total], partial];
        }, $"chunked sum, blocks {blocks}");
    }

    [Fact]
    public void BatchNormAndLocalResponseNorm_AnyThreadCount_BitwiseIdentical()
    {
        const int N = 32, C = 16, S = 700; // above MinParallelWork, so the kernels split
        float[] x = GemmConv2dNumerics.Random(N * C * S, 11);
        float[] gamma = GemmConv2dNumerics.Random(C, 12);
        float[] beta = GemmConv2dNumerics.Random(C, 13);
        float[] go = GemmConv2dNumerics.Random(N * C * S, 14);
        AssertSameForAllThreadCounts(() =>
        {
            var y = new float[x.Length];
            var mean = new float[C];
            var inv = new float[C];
            var gi = new float[x.Length];
            var gg = new float[C];
            var gb = new float[C];
            BatchNorm.ForwardTraining(x, gamma, beta, N, C, S, 1e-5f, y, mean, inv);
            BatchNorm.Backward(go, x, gamma, mean, inv, N, C, S, gi, gg, gb);
            var ly = new float[x.Length];
            var lgi = new float[x.Length];
            LocalResponseNorm.Forward(x, N, C, S, 5, 1e-4f, 0.75f, 2f, ly);
            LocalResponseNorm.Backward(go, x, N, C, S, 5, 1e-4f, 0.75f, 2f, lgi);
            return [y, mean, inv, gi, gg, gb, ly, lgi];
        }, "BatchNorm and LocalResponseNorm");
    }

    private static void Conv2dSameForAllThreadCounts(Conv2dGeometry g, string variant)
    {
        int batch = g.Batch;
        float[] x = GemmConv2dNumerics.Random((int)g.InputLength, 1);
        float[] w = GemmConv2dNumerics.Random((int)g.WeightLength, 2);
        float[] bias = GemmConv2dNumerics.Random(g.OutChannels, 3);
        float[] dy = GemmConv2dNumerics.Random((int)g.OutputLength, 4);
        AssertSameForAllThreadCounts(() =>
        {
            var y = new float[g.OutputLength];
            var dx = new float[g.InputLength];
            var dw = new float[g.WeightLength];
            var db = new float[g.OutChannels];
            Conv2d.Forward(x, w, bias, g, y);
            Conv2d.BackwardData(dy, w, g, dx);
            Conv2d.BackwardWeight(dy, x, g, dw, db);
            return [y, dx, dw, db];
        }, $"Conv2d {variant} batch {batch} C_in {g.InChannels}");
    }

    private static void AssertSameForAllThreadCounts(Func<float[][]> run, string context)
    {
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            float[][] expected = run();
            foreach (int threads in s_threadCounts)
            {
                KernelParallel.MaxThreads = threads;
                float[][] actual = run();
                for (int i = 0; i < expected.Length; i++)
                {
                    for (int j = 0; j < expected[i].Length; j++)
                    {
                        Assert.True(
                            BitConverter.SingleToInt32Bits(expected[i][j]) == BitConverter.SingleToInt32Bits(actual[i][j]),
                            $"{context}: output {i}[{j}] with {threads} threads is {actual[i][j]}, with 1 thread {expected[i][j]}.");
                    }
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }
}
