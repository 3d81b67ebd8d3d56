namespace SharpCnn.Kernels;

/// <summary>Scalar fallback: row-by-row, k in the middle so the inner loop walks C and B rows contiguously.</summary>
internal static class GemmScalar
{
    public static void Run(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            Span<float> cRow = c.Slice(i * ldc, n);
            if (!accumulate)
            {
                cRow.Clear();
            }

            for (int p = 0; p < k; p++)
            {
                float aip = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                if (transB)
                {
                    for (int j = 0; j < n; j++)
                    {
                        cRow[j] += aip * b[(j * ldb) + p];
                    }
                }
                else
                {
                    ReadOnlySpan<float> bRow = b.Slice(p * ldb, n);
                    for (int j = 0; j < n; j++)
                    {
                        cRow[j] += aip * bRow[j];
                    }
                }
            }
        }
    }
}
