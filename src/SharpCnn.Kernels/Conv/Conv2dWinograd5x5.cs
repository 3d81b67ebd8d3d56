using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Winograd F(2×2, 5×5) convolution for 5×5, stride-1, undilated, ungrouped layers (variant <c>Conv2dWinograd5x5</c>,
/// AVX-512). Each 2×2 output tile is Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A over its 6×6 input patch d, summed over input
/// channels as 36 GEMMs M_ξ (C_out × tiles) = U_ξ (C_out × C_in) · V_ξ (C_in × tiles): 36/4 = 9 multiply-adds per
/// output and channel pair against 25 for the direct convolution.
/// </summary>
/// <remarks>
/// <para>Matrices (interpolation points 0, ±1, ±2, ∞, as F(4×4, 3×3)): Bᵀ is F(4×4, 3×3)'s (it depends on the points
/// and the 6×6 tile only), G = [¼ 0 0 0 0; −⅙ −⅙ −⅙ −⅙ −⅙; −⅙ ⅙ −⅙ ⅙ −⅙; 1/24 1/12 ⅙ ⅓ ⅔; 1/24 −1/12 ⅙ −⅓ ⅔; 0 0 0 0 1]
/// (the 5-tap kernel evaluated at each point, scaled as F(4×4)'s G) and Aᵀ = [1 1 1 1 1 0; 0 1 −1 2 −2 1]. Input
/// patches start at (2·ty − p_t, 2·tx − p_l).</para>
/// <para>The machinery (weight transform into micro-panels, tile blocks, input transform, the 36 GEMMs, the output
/// transform with the fused epilogue, prepared weights, thread-count independence) is <see cref="Conv2dWinograd4x4"/>'s,
/// which runs F(2×2, 5×5) whenever the geometry's kernel is 5×5; this class holds what differs: support, selection
/// and backward-data's padding.</para>
/// </remarks>
internal static unsafe class Conv2dWinograd5x5
{
    /// <summary>Floats of transformed weights (36·C_out·C_in) above which preparing them is not worth it: 16 MiB, as F(4×4).</summary>
    private const long LargeWeightFloats = 4L << 20;

    /// <summary>Tells whether the variant can run <paramref name="g"/>: 5×5, stride 1, dilation 1, groups 1, AVX-512.</summary>
    public static bool Supports(in Conv2dGeometry g) =>
        Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx2.IsSupported && g.KernelH == 5 && g.KernelW == 5
        && g.StrideH == 1 && g.StrideW == 1 && g.DilationH == 1 && g.DilationW == 1 && g.Groups == 1;

    /// <summary>Tells whether backward-data can run as a flipped forward through this variant (padding ≤ 4 on every side).</summary>
    public static bool SupportsBackwardData(in Conv2dGeometry g) =>
        Supports(g) && Math.Max(Math.Max(g.PadTop, g.PadBottom), Math.Max(g.PadLeft, g.PadRight)) <= 4;

    /// <summary>
    /// Worth choosing over the direct kernels and the implicit GEMM (measured on one thread, CPU time, docs/performance.md):
    /// at least 16 input and 32 output channels (the transforms cost O(C_in + C_out) per tile against O(C_in·C_out) for
    /// the GEMMs; with fewer than 32 output channels the direct small-channel kernel, whose backward-weight comes with it,
    /// keeps LeNet's 6→16 layer) and output rows at least 7 wide (the smallest maps measured; 7×7 computes 8×8).
    /// MNIST's conv2 (32→64, 14×14, batch 64): forward 1.59×, backward-data 1.52× against <c>Conv2dDirectBlocked</c>;
    /// 64→64 on 10×10 1.6×, on 28×28 2.1×, 128→128 on 7×7 1.25×.
    /// </summary>
    public static bool Prefers(in Conv2dGeometry g) =>
        Supports(g) && g.InChannels >= 16 && g.OutChannels >= 32 && g.OutWidth >= 7;

    /// <summary>As <see cref="Prefers"/> when the weights are prepared, while the transformed weights stay within 16 MiB.</summary>
    public static bool PrefersPrepared(in Conv2dGeometry g) =>
        Prefers(g) && 36L * g.InChannels * g.OutChannels <= LargeWeightFloats;

    /// <summary>The forward geometry whose result is backward-data of <paramref name="g"/> (dy in, dx out, padding 4 − p).</summary>
    public static Conv2dGeometry Transposed(in Conv2dGeometry g) => Conv2dWinograd4x4.Transposed(g);

    /// <summary>y = conv(x, w) + b; <paramref name="bias"/> may be null.</summary>
    public static void Forward(float* x, float* w, float* bias, in Conv2dGeometry g, float* y) =>
        Conv2dWinograd4x4.Forward(x, w, new ConvEpilogue(bias, null, false), g, y);

    /// <summary>
    /// y = epilogue(conv(x, w)), bit for bit the plain convolution followed by <see cref="ConvEpilogue.ApplyRow"/>;
    /// <paramref name="prepacked"/>, when not null, is <see cref="PackWeights"/>'s output for these weights (pinned).
    /// </summary>
    public static void Forward(float* x, float* w, in ConvEpilogue epilogue, in Conv2dGeometry g, float* y, float* prepacked = null) =>
        Conv2dWinograd4x4.Forward(x, w, epilogue, g, y, prepacked);

    /// <summary>Floats of the transformed, packed weights of <paramref name="g"/>, alignment slack included.</summary>
    public static long PackedWeightLength(in Conv2dGeometry g) => Conv2dWinograd4x4.PackedWeightLength(g);

    /// <summary>Transforms (G g Gᵀ) and packs the weights for reuse across calls (<paramref name="packed"/> pinned).</summary>
    public static void PackWeights(float* w, in Conv2dGeometry g, float* packed) => Conv2dWinograd4x4.PackWeights(w, g, packed);

    /// <summary>
    /// dx = ∂L/∂x (<see cref="SupportsBackwardData"/>): the forward convolution of dy, padded by 4 − p, with w flipped in
    /// both axes and its in/out channels swapped.
    /// </summary>
    public static void BackwardData(float* dy, float* w, in Conv2dGeometry g, float* dx) => Conv2dWinograd4x4.BackwardData(dy, w, g, dx);
}
