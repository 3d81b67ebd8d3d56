namespace SharpCnn.Kernels.Tests;

/// <summary>The vectorised, threaded SGD momentum step against its plain loop: the same bits for any options, length and thread count.</summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class SgdKernelsTests
{
    public static TheoryData<int> Lengths() => [0, 1, 7, 16, 17, 1000, (1 << 14) + 3, (3 << 14) - 5, 5 << 14];

    [Theory]
    [MemberData(nameof(Lengths))]
    public void MomentumStep_EveryOptionAndThreadCount_EqualsReferenceBitwise(int length)
    {
        float[] p0 = TestUtil.Random(length, 1, -2f, 2f);
        float[] g = TestUtil.Random(length, 2, -3f, 3f);
        float[] b0 = TestUtil.Random(length, 3, -1f, 1f);
        int keep = KernelParallel.MaxThreads;
        try
        {
            foreach (bool first in new[] { true, false })
            {
                foreach (bool nesterov in new[] { false, true })
                {
                    foreach ((float sign, float wd, float dampKeep) in new[] { (1f, 0f, 1f), (-1f, 1e-4f, 0.7f), (1f, 5e-4f, 1f) })
                    {
                        var k = new SgdMomentum(sign, wd, 0.9f, dampKeep, 0.05f, first, nesterov);
                        float[] pRef = (float[])p0.Clone(), bRef = (float[])b0.Clone();
                        SgdKernels.MomentumStepReference(pRef, g, bRef, k);
                        foreach (int threads in new[] { 1, 2, 3 })
                        {
                            KernelParallel.MaxThreads = threads;
                            float[] p = (float[])p0.Clone(), b = (float[])b0.Clone();
                            SgdKernels.MomentumStep(p, g, b, k);
                            string what = $"{k}, {length} elements, {threads} threads";
                            Assert.True(pRef.AsSpan().SequenceEqual(p), "parameter: " + what);
                            Assert.True(bRef.AsSpan().SequenceEqual(b), "buffer: " + what);
                        }
                    }
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = keep;
        }
    }

    [Fact]
    public void MomentumStep_ReferenceMatchesFormula()
    {
        float[] p = [1f, -2f], g = [0.5f, 4f], b = [0.25f, -1f];
        SgdKernels.MomentumStepReference(p, g, b, new SgdMomentum(1f, 0.1f, 0.9f, 1f, 0.5f, false, false));
        // g' = g + 0.1·p; b = 0.9·b + g'; p −= 0.5·b
        float g0 = 0.5f + (0.1f * 1f), g1 = 4f + (0.1f * -2f);
        float b0 = (0.9f * 0.25f) + g0, b1 = (0.9f * -1f) + g1;
        Assert.Equal([b0, b1], b);
        Assert.Equal([1f - (0.5f * b0), -2f - (0.5f * b1)], p);
    }

    [Fact]
    public void MomentumStep_MismatchedLengths_ThrowsNamingThem()
    {
        var e = Assert.Throws<ArgumentException>(() => SgdKernels.MomentumStep(new float[3], new float[2], new float[3], default));
        Assert.Contains("gradient 2", e.Message, StringComparison.Ordinal);
    }
}
