namespace SharpCnn.Kernels;

/// <summary>
/// One multiply's operands as raw pointers (pinned by the caller for the whole call); op(A) is m×k, op(B) k×n. When
/// <paramref name="packedB"/> is given, op(B) is already in the layout of <see cref="GemmPackedB"/> there (and
/// <paramref name="b"/> is not read).
/// </summary>
internal readonly unsafe struct GemmJob(bool transA, bool transB, int m, int n, int k, float* a, int lda, float* b,
    int ldb, float* c, int ldc, bool accumulate, float* packedB = null)
{
    public bool TransA { get; } = transA;

    public bool TransB { get; } = transB;

    public int M { get; } = m;

    public int N { get; } = n;

    public int K { get; } = k;

    public float* A { get; } = a;

    public int Lda { get; } = lda;

    public float* B { get; } = b;

    public int Ldb { get; } = ldb;

    public float* C { get; } = c;

    public int Ldc { get; } = ldc;

    public bool Accumulate { get; } = accumulate;

    /// <summary>Gets all of op(B) in the <see cref="GemmPackedB"/> layout of this job's kernel, or null when B is packed per block.</summary>
    public float* PackedB { get; } = packedB;
}
