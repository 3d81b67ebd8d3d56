namespace SharpCnn.Kernels;

/// <summary>
/// Shape of a 2-D pooling over an NCHW tensor (1-D pooling is <c>Height = 1</c>, <c>KernelH = 1</c>).
/// This struct is the one place that holds PyTorch's pooling output-size formula.
/// </summary>
/// <remarks>
/// out = ⌊(in + 2·pad − dilation·(k − 1) − 1 + (ceil ? stride − 1 : 0)) / stride⌋ + 1, and with
/// <see cref="CeilMode"/>, if (out − 1)·stride ≥ in + pad the last window would start in the right
/// padding only, so it is dropped (out −= 1), exactly as <c>torch.nn.MaxPool2d</c> does.
/// </remarks>
/// <param name="N">Batch size (≥ 0).</param>
/// <param name="Channels">Channels per sample (≥ 0).</param>
/// <param name="Height">Input height (≥ 1).</param>
/// <param name="Width">Input width (≥ 1).</param>
/// <param name="KernelH">Window height (≥ 1).</param>
/// <param name="KernelW">Window width (≥ 1).</param>
/// <param name="StrideH">Vertical stride (≥ 1).</param>
/// <param name="StrideW">Horizontal stride (≥ 1).</param>
/// <param name="PadH">Implicit padding on top and bottom (0 ≤ pad ≤ KernelH / 2).</param>
/// <param name="PadW">Implicit padding on left and right (0 ≤ pad ≤ KernelW / 2).</param>
/// <param name="DilationH">Vertical spacing of window taps (≥ 1); average pooling requires 1.</param>
/// <param name="DilationW">Horizontal spacing of window taps (≥ 1); average pooling requires 1.</param>
/// <param name="CeilMode">Round the output size up instead of down (PyTorch <c>ceil_mode</c>).</param>
public readonly record struct Pool2dGeometry(
    int N,
    int Channels,
    int Height,
    int Width,
    int KernelH,
    int KernelW,
    int StrideH,
    int StrideW,
    int PadH = 0,
    int PadW = 0,
    int DilationH = 1,
    int DilationW = 1,
    bool CeilMode = false)
{
    /// <summary>Gets the output height given by PyTorch's pooling formula.</summary>
    public int OutHeight => OutputSize(Height, KernelH, StrideH, PadH, DilationH, CeilMode);

    /// <summary>Gets the output width given by PyTorch's pooling formula.</summary>
    public int OutWidth => OutputSize(Width, KernelW, StrideW, PadW, DilationW, CeilMode);

    /// <summary>Gets the number of planes, <c>N · Channels</c>.</summary>
    public int Planes => N * Channels;

    /// <summary>Gets the number of input elements, <c>N · Channels · Height · Width</c>.</summary>
    public int InputLength => N * Channels * Height * Width;

    /// <summary>Gets the number of output elements, <c>N · Channels · OutHeight · OutWidth</c>.</summary>
    public int OutputLength => N * Channels * OutHeight * OutWidth;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the received values when the geometry is not one
    /// PyTorch accepts: non-positive kernel, stride or dilation; padding over half the kernel; output under 1.
    /// </summary>
    public void Validate()
    {
        if (N < 0 || Channels < 0 || Height < 1 || Width < 1)
        {
            throw new ArgumentException(
                $"Pool2d expected input (N ≥ 0, C ≥ 0, H ≥ 1, W ≥ 1) but got ({N}, {Channels}, {Height}, {Width})");
        }

        if (KernelH < 1 || KernelW < 1 || StrideH < 1 || StrideW < 1 || DilationH < 1 || DilationW < 1)
        {
            throw new ArgumentException(
                $"Pool2d expected positive kernel, stride and dilation but got kernel=({KernelH}, {KernelW}), " +
                $"stride=({StrideH}, {StrideW}), dilation=({DilationH}, {DilationW})");
        }

        if (PadH < 0 || PadW < 0 || PadH > KernelH / 2 || PadW > KernelW / 2)
        {
            throw new ArgumentException(
                $"Pool2d pad should be at most half of kernel size, but got pad=({PadH}, {PadW}) " +
                $"and kernel=({KernelH}, {KernelW})");
        }

        int oh = OutHeight;
        int ow = OutWidth;
        if (oh < 1 || ow < 1)
        {
            throw new ArgumentException(
                $"Pool2d output size is too small: input ({Height}, {Width}) with kernel=({KernelH}, {KernelW}), " +
                $"stride=({StrideH}, {StrideW}), pad=({PadH}, {PadW}), dilation=({DilationH}, {DilationW}) " +
                $"but got output ({oh}, {ow})");
        }
    }

    private static int OutputSize(int input, int kernel, int stride, int pad, int dilation, bool ceil)
    {
        if (stride < 1)
        {
            return 0;
        }

        long numerator = (long)input + 2L * pad - (long)dilation * (kernel - 1) - 1 + (ceil ? stride - 1 : 0);
        long output = FloorDiv(numerator, stride) + 1;
        if (ceil && (output - 1) * stride >= (long)input + pad)
        {
            output--;
        }

        return (int)Math.Clamp(output, int.MinValue, int.MaxValue);
    }

    private static long FloorDiv(long a, long b)
    {
        long q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
    }
}
