using System.Numerics;

namespace SharpCnn.Kernels;

/// <summary>
/// Plain triple-loop matrix multiply: the oracle for every <see cref="Gemm"/> variant. Generic so tests can run
/// it in double precision.
/// </summary>
public static class GemmReference
{
    /// <summary>
    /// C = op(A)·op(B) (+ C when <paramref name="accumulate"/>), all row-major. op(A) is m×k, op(B) is k×n, C is m×n.
    /// </summary>
    /// <typeparam name="T">Element type (float or double).</typeparam>
    /// <param name="transA">When true A is stored k×m and op(A) = Aᵀ.</param>
    /// <param name="transB">When true B is stored n×k and op(B) = Bᵀ.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">Inner dimension.</param>
    /// <param name="a">A, row stride <paramref name="lda"/>.</param>
    /// <param name="lda">Row stride of A as stored.</param>
    /// <param name="b">B, row stride <paramref name="ldb"/>.</param>
    /// <param name="ldb">Row stride of B as stored.</param>
    /// <param name="c">C, row stride <paramref name="ldc"/>; only its m×n window is written.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="accumulate">Add to C instead of overwriting it.</param>
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate)
        where T : IFloatingPointIeee754<T>
    {
        // c[i, j] = Σ_p op(A)[i, p] · op(B)[p, j], with op(A)[i, p] = transA ? A[p, i] : A[i, p].
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T aip = transA ? a[(p * lda) + i] : a[(i * lda) + p];
                    T bpj = transB ? b[(j * ldb) + p] : b[(p * ldb) + j];
                    sum += aip * bpj;
                }

                c[(i * ldc) + j] = accumulate ? c[(i * ldc) + j] + sum : sum;
            }
        }
    }
}
