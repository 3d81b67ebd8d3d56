namespace SharpCnn.Kernels.Tests;

/// <summary>
/// <see cref="LinearSmallBatch"/> (the fully connected layer over 1–4 rows) at ragged sizes against the double
/// reference, bitwise identical for 1, 2 and 3 threads, and its argument checks.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class LinearSmallBatchTests
{
    /// <summary>
    /// Inputs shorter than, equal to and off multiples of a vector (masked tail), outputs off multiples of 4 (single
    /// outputs after the groups of four) and of the 64-output item, 1–4 rows, with and without bias; ResNet-18's fc.
    /// </summary>
    [Theory]
    [InlineData(1, 512, 1000, true)]
    [InlineData(1, 5, 3, true)]
    [InlineData(2, 16, 7, false)]
    [InlineData(3, 17, 65, true)]
    [InlineData(4, 100, 130, true)]
    [InlineData(4, 31, 1, false)]
    public void LinearSmallBatch_RaggedSizes_MatchesDoubleReference(int rows, int inF, int outF, bool withBias)
    {
        if (!LinearSmallBatch.Prefers(rows))
        {
            return; // AVX-512 only; F.Linear keeps the GEMM elsewhere
        }

        float[] x = GemmConv2dNumerics.Random(rows * inF, 11);
        float[] w = GemmConv2dNumerics.Random(outF * inF, 12);
        float[] b = withBias ? GemmConv2dNumerics.Random(outF, 13) : [];
        float[] y = GemmConv2dNumerics.Random(rows * outF, 14); // garbage: must be overwritten
        LinearSmallBatch.Forward(x, w, b, rows, inF, outF, y);

        double[] xd = GemmConv2dNumerics.ToDouble(x), wd = GemmConv2dNumerics.ToDouble(w);
        var expected = new double[rows * outF];
        var magnitude = new double[rows * outF];
        GemmReference.Multiply<double>(false, true, rows, outF, inF, xd, inF, wd, inF, expected, outF, accumulate: false);
        GemmReference.Multiply<double>(false, true, rows, outF, inF, GemmConv2dNumerics.Abs(xd), inF, GemmConv2dNumerics.Abs(wd), inF, magnitude, outF, accumulate: false);
        for (int r = 0; r < rows && withBias; r++)
        {
            for (int o = 0; o < outF; o++)
            {
                expected[(r * outF) + o] += b[o];
                magnitude[(r * outF) + o] += Math.Abs(b[o]);
            }
        }

        GemmConv2dNumerics.AssertClose(y, expected, magnitude, inF + 1, $"rows {rows}, in {inF}, out {outF}, bias {withBias}");
    }

    [Theory]
    [InlineData(1, 512, 1000)]
    [InlineData(3, 37, 259)]
    public void LinearSmallBatch_OneTwoThreeThreads_BitwiseIdentical(int rows, int inF, int outF)
    {
        if (!LinearSmallBatch.Prefers(rows))
        {
            return;
        }

        float[] x = GemmConv2dNumerics.Random(rows * inF, 21);
        float[] w = GemmConv2dNumerics.Random(outF * inF, 22);
        float[] b = GemmConv2dNumerics.Random(outF, 23);
        int saved = KernelParallel.MaxThreads;
        float[]? expected = null;
        try
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                var y = new float[rows * outF];
                LinearSmallBatch.Forward(x, w, b, rows, inF, outF, y);
                expected ??= y;
                for (int i = 0; i < y.Length; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(y[i]),
                        $"[{i}] with {threads} threads is {y[i]}, with 1 thread {expected[i]}.");
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    [Theory]
    [InlineData(GemmVariant.GemmScalar)]
    [InlineData(GemmVariant.GemmVector256Packed)]
    public void Prefers_GemmVariantForced_LeavesLinearToTheForcedGemm(GemmVariant forced)
    {
        GemmVariant? saved = Gemm.VariantOverride;
        try
        {
            Gemm.VariantOverride = forced;
            Assert.False(LinearSmallBatch.Prefers(1));
        }
        finally
        {
            Gemm.VariantOverride = saved;
        }
    }

    [Fact]
    public void LinearSmallBatch_WrongLengthsOrRows_ThrowNamingSizes()
    {
        Assert.False(LinearSmallBatch.Prefers(0));
        Assert.False(LinearSmallBatch.Prefers(LinearSmallBatch.MaxRows + 1));
        var e = Assert.Throws<ArgumentException>(() => LinearSmallBatch.Forward(new float[5], new float[12], [], 1, 4, 3, new float[3]));
        Assert.Contains("input has 5 elements, expected 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => LinearSmallBatch.Forward(new float[4], new float[12], new float[2], 1, 4, 3, new float[3]));
        Assert.Contains("bias has 2 elements, expected 3", e.Message);
        e = Assert.Throws<ArgumentException>(() => LinearSmallBatch.Forward(new float[4], new float[12], [], 1, 0, 3, new float[3]));
        Assert.Contains("in 0", e.Message);
    }
}
