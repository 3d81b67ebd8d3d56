using SharpCnn.Functional;

namespace SharpCnn.Nn;

/// <summary>2-D max pooling; the argmax of each window is kept so the gradient flows back to it.</summary>
/// <remarks>H_out = ⌊(H + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1 (⌈…⌉ with ceilMode, dropping a last window that would start in the padding). stride defaults to kernelSize.</remarks>
public sealed class MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false) : Module
{
    /// <summary>Window size.</summary>
    public Size2 KernelSize { get; } = kernelSize;

    /// <summary>Stride (defaults to the kernel size).</summary>
    public Size2 Stride { get; } = stride ?? kernelSize;

    /// <summary>Implicit −∞ padding.</summary>
    public Size2 Padding { get; } = padding ?? 0;

    /// <summary>Spacing between window taps.</summary>
    public Size2 Dilation { get; } = dilation ?? 1;

    /// <summary>Use ⌈…⌉ in the output-size formula.</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <summary>The output and the index of each maximum in its input plane, as <c>return_indices=True</c>.</summary>
    public (Tensor Output, Tensor Indices) ForwardWithIndices(Tensor input) => F.MaxPool2dWithIndices(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={Fmt(KernelSize)}, stride={Fmt(Stride)}, padding={Fmt(Padding)}, dilation={Fmt(Dilation)}, ceil_mode={(CeilMode ? "True" : "False")}";

    private static string Fmt(Size2 s) => s.H == s.W ? s.H.ToString(System.Globalization.CultureInfo.InvariantCulture) : s.ToString();
}

/// <summary>1-D max pooling over (N, C, L).</summary>
public sealed class MaxPool1d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.MaxPool1d(input, kernelSize, stride ?? kernelSize, padding, dilation, ceilMode);

    /// <summary>The output and each maximum's position along L, as <c>return_indices=True</c>.</summary>
    public (Tensor Output, Tensor Indices) ForwardWithIndices(Tensor input) => F.MaxPool1dWithIndices(input, kernelSize, stride ?? kernelSize, padding, dilation, ceilMode);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding}, dilation={dilation}, ceil_mode={(ceilMode ? "True" : "False")}";
}

/// <summary>2-D average pooling (count_include_pad defaults to true, as PyTorch).</summary>
public sealed class AvgPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false, bool countIncludePad = true, int divisorOverride = 0) : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.AvgPool2d(input, kernelSize, stride ?? kernelSize, padding, ceilMode, countIncludePad, divisorOverride);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"kernel_size={kernelSize}, stride={stride ?? kernelSize}, padding={padding ?? 0}";
}

/// <summary>Adaptive average pooling to a fixed output size (1 gives global average pooling).</summary>
public sealed class AdaptiveAvgPool2d(Size2 outputSize) : Module
{
    /// <summary>Output (height, width).</summary>
    public Size2 OutputSize { get; } = outputSize;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.AdaptiveAvgPool2d(input, OutputSize);

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"output_size={OutputSize}";
}
