namespace SharpCnn.Kernels;

/// <summary>Placeholder GEMM (replaced by the kernels branch).</summary>
public static class Gemm
{
    /// <summary>C = op(A)·op(B) (+ C when accumulate).</summary>
    public static void Multiply(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> row = c.Slice(i * ldc, n);
            if (!accumulate)
            {
                row.Clear();
            }

            for (int p = 0; p < k; p++)
            {
                float av = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                for (int j = 0; j < n; j++)
                {
                    row[j] += av * (transB ? b[(j * ldb) + p] : b[(p * ldb) + j]);
                }
            }
        }
    }
}
