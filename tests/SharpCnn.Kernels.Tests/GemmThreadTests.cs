namespace SharpCnn.Kernels.Tests;

/// <summary>
/// GEMM splits C across threads (column blocks when C is wider than tall, row blocks otherwise); every element must
/// come out bit for bit the same as with one thread.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class GemmThreadTests
{
    // (m, n, k): a column split with ragged edges and 2 k slices, a row split with 3 k slices, a short wide
    // conv-like shape, a tall one whose row blocks cross the Mc block, and a column split large enough
    // (m·k ≥ 2¹⁹) that a packed op(A) is packed once for all threads (Vector256, or Aᵀ; Vector512 reads a plain A
    // in place in blocks this narrow), with a ragged last row panel and 4 k slices. GemmAInPlaceTests covers the
    // shared op(A) of wide Vector512 blocks.
    private static readonly (int M, int N, int K)[] s_shapes =
        [(200, 333, 600), (333, 70, 1100), (16, 2000, 150), (1100, 40, 30), (260, 270, 2020)];

    public static TheoryData<GemmVariant, bool, bool, bool> Cases() => GemmTests.VariantCases();

    [Theory]
    [MemberData(nameof(Cases))]
    public void Multiply_OneVersusTwoThreads_BitwiseIdentical(GemmVariant variant, bool transA, bool transB, bool accumulate)
    {
        foreach ((int m, int n, int k) in s_shapes)
        {
            int lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 1, ldc = n + 2;
            float[] a = GemmConv2dNumerics.Random((transA ? k : m) * lda, 1);
            float[] b = GemmConv2dNumerics.Random((transB ? n : k) * ldb, 2);
            float[] c0 = GemmConv2dNumerics.Random(m * ldc, 3);
            float[] one = Run(1), two = Run(2), three = Run(3);
            string context = $"{variant} transA={transA} transB={transB} accumulate={accumulate} {m}×{n}×{k}";
            AssertBitwiseEqual(one, two, $"{context}, 2 threads");
            AssertBitwiseEqual(one, three, $"{context}, 3 threads");

            float[] Run(int threads)
            {
                int saved = KernelParallel.MaxThreads;
                try
                {
                    KernelParallel.MaxThreads = threads;
                    float[] c = (float[])c0.Clone();
                    Gemm.Multiply(variant, transA, transB, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
                    return c;
                }
                finally
                {
                    KernelParallel.MaxThreads = saved;
                }
            }
        }
    }

    [Fact]
    public void MultiplyUnchecked_NotParallel_BitwiseIdenticalToTwoThreads()
    {
        // Conv kernels call GEMM from their own workers with parallel: false; it must agree with the split path.
        const int M = 96, N = 700, K = 260;
        float[] a = GemmConv2dNumerics.Random(M * K, 4), b = GemmConv2dNumerics.Random(K * N, 5);
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            int saved = KernelParallel.MaxThreads;
            try
            {
                KernelParallel.MaxThreads = 2;
                float[] split = new float[M * N], inline = new float[M * N];
                Gemm.MultiplyUnchecked(variant, false, false, M, N, K, a, K, b, N, split, N, accumulate: false, parallel: true);
                Gemm.MultiplyUnchecked(variant, false, false, M, N, K, a, K, b, N, inline, N, accumulate: false, parallel: false);
                AssertBitwiseEqual(split, inline, $"{variant} parallel vs not");
            }
            finally
            {
                KernelParallel.MaxThreads = saved;
            }
        }
    }

    [Fact]
    public void Multiply_SharedOpANestedInParallelBody_BitwiseIdenticalToOneThread()
    {
        // GEMMs whose op(A) is shared by the column blocks (m·k ≥ 2¹⁹), called from both threads' bodies at once with
        // different A: each nested call finds the workers taken, runs its blocks in order on its own thread and packs
        // every op(A) panel itself; the two calls must not see each other's pack state.
        const int M = 260, N = 270, K = 2020;
        float[][] a = [GemmConv2dNumerics.Random(M * K, 6), GemmConv2dNumerics.Random(M * K, 8)];
        float[] b = GemmConv2dNumerics.Random(K * N, 7);
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            int saved = KernelParallel.MaxThreads;
            try
            {
                KernelParallel.MaxThreads = 1;
                float[][] expected = [new float[M * N], new float[M * N]];
                for (int i = 0; i < 2; i++)
                {
                    Gemm.Multiply(variant, false, false, M, N, K, a[i], K, b, N, expected[i], N, accumulate: false);
                }

                KernelParallel.MaxThreads = 2;
                float[][] nested = [new float[M * N], new float[M * N]];
                KernelParallel.For(2, long.MaxValue / 4, (start, end) =>
                {
                    for (int i = start; i < end; i++)
                    {
                        Gemm.Multiply(variant, false, false, M, N, K, a[i], K, b, N, nested[i], N, accumulate: false);
                    }
                });
                AssertBitwiseEqual(expected[0], nested[0], $"{variant} nested call 0");
                AssertBitwiseEqual(expected[1], nested[1], $"{variant} nested call 1");
            }
            finally
            {
                KernelParallel.MaxThreads = saved;
            }
        }
    }

    [Theory]
    [InlineData(400, 433, 700, false)]
    [InlineData(203, 700, 1100, true)]
    [InlineData(1000, 150, 600, true)]
    public void Multiply_HelperDelayedInLastSlice_CallerTakesItsPanels_BitwiseIdenticalToOneThread(int m, int n, int k, bool accumulate)
    {
        // The helper stops right after opening its block's last k slice; the caller, once done with its own block,
        // runs the helper's remaining row panels (GemmBlocked's StealSlot). Column split for n ≥ m, row split otherwise;
        // each thread's share above GemmBlocked.MinStealWork.
        int lda = k + 3, ldb = n + 1, ldc = n + 2;
        float[] a = GemmConv2dNumerics.Random(m * lda, 11), b = GemmConv2dNumerics.Random(k * ldb, 12);
        float[] c0 = GemmConv2dNumerics.Random(m * ldc, 13);
        foreach (GemmVariant variant in Gemm.SupportedVariants)
        {
            int saved = KernelParallel.MaxThreads;
            using var helperOpened = new ManualResetEventSlim();
            try
            {
                KernelParallel.MaxThreads = 1;
                float[] expected = (float[])c0.Clone();
                Gemm.Multiply(variant, false, false, m, n, k, a, lda, b, ldb, expected, ldc, accumulate);

                KernelParallel.MaxThreads = 2;
                GemmBlocked.StealOverride = true;
                long stolenBefore = GemmBlocked.StolenPanels;
                GemmBlocked.LastSliceOpened = () =>
                {
                    if (Thread.CurrentThread.Name?.StartsWith("SharpCnn kernel worker", StringComparison.Ordinal) == true)
                    {
                        // Wait (at most 2 s) until the caller has taken one of this block's panels.
                        helperOpened.Set();
                        var watch = System.Diagnostics.Stopwatch.StartNew();
                        while (GemmBlocked.StolenPanels == stolenBefore && watch.ElapsedMilliseconds < 2000)
                        {
                            Thread.Sleep(1);
                        }
                    }
                    else
                    {
                        // The caller's own last slice waits until the helper has opened its own.
                        helperOpened.Wait(2000);
                    }
                };
                float[] actual = (float[])c0.Clone();
                Gemm.Multiply(variant, false, false, m, n, k, a, lda, b, ldb, actual, ldc, accumulate);
                GemmBlocked.LastSliceOpened = null;
                AssertBitwiseEqual(expected, actual, $"{variant} {m}×{n}×{k} accumulate={accumulate}, panels taken over");
                if (variant == GemmVariant.GemmVector512Packed)
                {
                    // Blocks that read A in place share their last slice (the other variants pack A and never do).
                    Assert.True(GemmBlocked.StolenPanels > stolenBefore, $"{variant} {m}×{n}×{k}: the caller took none of the helper's panels.");
                }
            }
            finally
            {
                GemmBlocked.LastSliceOpened = null;
                GemmBlocked.StealOverride = null;
                KernelParallel.MaxThreads = saved;
            }
        }
    }

    [Fact]
    public void Multiply_MoreThreadsThanCores_RepeatedCalls_BitwiseIdenticalToOneThread()
    {
        // Three threads (more than this machine's cores, so a helper is often late and a thread runs a second block)
        // sharing their last row panels: a thread must not repack its B buffer for another block while a thief still
        // reads it. Repeated, since it depends on the schedule (about one call in eight went wrong without the wait).
        const int M = 260, N = 270, K = 2020;
        float[] a = GemmConv2dNumerics.Random(M * K, 21), b = GemmConv2dNumerics.Random(K * N, 22);
        float[] c0 = GemmConv2dNumerics.Random(M * N, 23);
        int saved = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            float[] expected = (float[])c0.Clone();
            Gemm.Multiply(false, false, M, N, K, a, K, b, N, expected, N, accumulate: true);
            KernelParallel.MaxThreads = 3;
            for (int call = 0; call < 60; call++)
            {
                float[] actual = (float[])c0.Clone();
                Gemm.Multiply(false, false, M, N, K, a, K, b, N, actual, N, accumulate: true);
                AssertBitwiseEqual(expected, actual, $"3 threads, call {call}");
            }
        }
        finally
        {
            KernelParallel.MaxThreads = saved;
        }
    }

    private static void AssertBitwiseEqual(float[] expected, float[] actual, string context)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                Assert.Fail($"{context}: element {i} is {actual[i]}, with 1 thread {expected[i]}.");
            }
        }
    }
}
