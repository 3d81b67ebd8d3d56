namespace SharpCnn.Kernels;

/// <summary>The <see cref="Gemm"/> implementations, named by technique (the names <c>SHARPCNN_KERNEL</c> accepts).</summary>
public enum GemmVariant
{
    /// <summary>Plain scalar loops; always available.</summary>
    GemmScalar,

    /// <summary>Cache-blocked packed panels around a 6×16 Vector256 broadcast-FMA micro-kernel (needs AVX2 + FMA or equivalent).</summary>
    GemmVector256Packed,

    /// <summary>Cache-blocked packed panels around an 8×32 Vector512 broadcast-FMA micro-kernel (needs AVX-512F).</summary>
    GemmVector512Packed,
}
