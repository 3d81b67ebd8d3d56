namespace SharpCnn.Kernels;

/// <summary>
/// Shape of a 2-D convolution over NCHW float32 data: the one place the output-size formula lives.
/// </summary>
/// <remarks>
/// <para>OutHeight = ⌊(Height + PadTop + PadBottom − DilationH·(KernelH − 1) − 1) / StrideH⌋ + 1, and likewise for
/// the width. Padding may be asymmetric: PyTorch's <c>padding="same"</c> with an even kernel puts the extra row and
/// column at the bottom and right (see <see cref="SamePadding"/>).</para>
/// <para>Layouts: input (Batch, InChannels, Height, Width); weight (OutChannels, InChannels / Groups, KernelH,
/// KernelW) as PyTorch; bias (OutChannels); output (Batch, OutChannels, OutHeight, OutWidth).</para>
/// </remarks>
/// <param name="Batch">N, number of samples (0 is allowed: kernels then do nothing).</param>
/// <param name="InChannels">C_in, divisible by <paramref name="Groups"/>.</param>
/// <param name="Height">Input height H.</param>
/// <param name="Width">Input width W.</param>
/// <param name="OutChannels">C_out, divisible by <paramref name="Groups"/>.</param>
/// <param name="KernelH">Kernel height kh.</param>
/// <param name="KernelW">Kernel width kw.</param>
/// <param name="StrideH">Vertical stride (default 1).</param>
/// <param name="StrideW">Horizontal stride (default 1).</param>
/// <param name="PadTop">Zero rows added above the input (default 0).</param>
/// <param name="PadLeft">Zero columns added left of the input (default 0).</param>
/// <param name="PadBottom">Zero rows added below the input (default 0).</param>
/// <param name="PadRight">Zero columns added right of the input (default 0).</param>
/// <param name="DilationH">Vertical spacing between kernel taps (default 1).</param>
/// <param name="DilationW">Horizontal spacing between kernel taps (default 1).</param>
/// <param name="Groups">Channel groups (default 1; InChannels for depthwise).</param>
public readonly record struct Conv2dGeometry(
    int Batch,
    int InChannels,
    int Height,
    int Width,
    int OutChannels,
    int KernelH,
    int KernelW,
    int StrideH = 1,
    int StrideW = 1,
    int PadTop = 0,
    int PadLeft = 0,
    int PadBottom = 0,
    int PadRight = 0,
    int DilationH = 1,
    int DilationW = 1,
    int Groups = 1)
{
    /// <summary>Gets the output height: ⌊(H + padTop + padBottom − dilH·(kh − 1) − 1) / strideH⌋ + 1.</summary>
    public int OutHeight => OutSize(Height, PadTop + PadBottom, KernelH, DilationH, StrideH);

    /// <summary>Gets the output width: ⌊(W + padLeft + padRight − dilW·(kw − 1) − 1) / strideW⌋ + 1.</summary>
    public int OutWidth => OutSize(Width, PadLeft + PadRight, KernelW, DilationW, StrideW);

    /// <summary>Gets InChannels / Groups, the input channels each filter sees.</summary>
    public int InChannelsPerGroup => Groups > 0 ? InChannels / Groups : 0;

    /// <summary>Gets OutChannels / Groups.</summary>
    public int OutChannelsPerGroup => Groups > 0 ? OutChannels / Groups : 0;

    /// <summary>Gets the element count of the input, N·C_in·H·W.</summary>
    public long InputLength => (long)Batch * InChannels * Height * Width;

    /// <summary>Gets the element count of the output, N·C_out·OH·OW.</summary>
    public long OutputLength => (long)Batch * OutChannels * OutHeight * OutWidth;

    /// <summary>Gets the element count of the weight, C_out·(C_in / Groups)·kh·kw.</summary>
    public long WeightLength => (long)OutChannels * InChannelsPerGroup * KernelH * KernelW;

    /// <summary>
    /// PyTorch's <c>padding="same"</c> split for one axis (stride 1): total = dilation·(kernel − 1), with
    /// ⌊total / 2⌋ before and the rest (one more for even kernels) after.
    /// </summary>
    /// <param name="kernel">Kernel size along the axis.</param>
    /// <param name="dilation">Dilation along the axis.</param>
    /// <returns>The padding before (top/left) and after (bottom/right).</returns>
    public static (int Before, int After) SamePadding(int kernel, int dilation = 1)
    {
        int total = dilation * (kernel - 1);
        return (total / 2, total - (total / 2));
    }

    /// <summary>Checks every field and throws a message naming the received values when the geometry is invalid.</summary>
    /// <exception cref="ArgumentException">A size is not positive, padding is negative, channels do not divide
    /// into groups, or the dilated kernel does not fit the padded input.</exception>
    public void Validate()
    {
        if (Batch < 0 || InChannels <= 0 || Height <= 0 || Width <= 0 || OutChannels <= 0)
        {
            throw new ArgumentException(
                $"Conv2d: sizes must be positive (batch may be 0) but got input ({Batch}, {InChannels}, {Height}, {Width}) and {OutChannels} output channels.");
        }

        if (KernelH <= 0 || KernelW <= 0)
        {
            throw new ArgumentException($"Conv2d: kernel size must be positive but got {KernelH}×{KernelW}.");
        }

        if (StrideH <= 0 || StrideW <= 0)
        {
            throw new ArgumentException($"Conv2d: stride must be positive but got {StrideH}×{StrideW}.");
        }

        if (DilationH <= 0 || DilationW <= 0)
        {
            throw new ArgumentException($"Conv2d: dilation must be positive but got {DilationH}×{DilationW}.");
        }

        if (PadTop < 0 || PadLeft < 0 || PadBottom < 0 || PadRight < 0)
        {
            throw new ArgumentException(
                $"Conv2d: padding must be non-negative but got top {PadTop}, left {PadLeft}, bottom {PadBottom}, right {PadRight}.");
        }

        if (Groups <= 0)
        {
            throw new ArgumentException($"Conv2d: groups must be positive but got {Groups}.");
        }

        if (InChannels % Groups != 0 || OutChannels % Groups != 0)
        {
            throw new ArgumentException(
                $"Conv2d: in_channels ({InChannels}) and out_channels ({OutChannels}) must both be divisible by groups ({Groups}).");
        }

        if (OutHeight <= 0 || OutWidth <= 0)
        {
            string dilation = DilationH == DilationW ? $"{DilationH}" : $"{DilationH}×{DilationW}";
            throw new ArgumentException(
                $"Conv2d: kernel ({KernelH}×{KernelW}, dilation {dilation}) is larger than the padded input " +
                $"({Height + PadTop + PadBottom}×{Width + PadLeft + PadRight}).");
        }
    }

    private static int OutSize(int size, int padTotal, int kernel, int dilation, int stride)
    {
        if (stride <= 0)
        {
            return 0;
        }

        // Floor division (the numerator can be negative when the kernel does not fit).
        long numerator = (long)size + padTotal - ((long)dilation * (kernel - 1)) - 1;
        long quotient = numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride);
        return (int)(quotient + 1);
    }
}
