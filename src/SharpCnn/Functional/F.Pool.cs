using SharpCnn.Autograd;
using SharpCnn.Kernels;
using SharpCnn.Nn;

namespace SharpCnn.Functional;

public static partial class F
{
    /// <summary>
    /// 2-D max pooling over (N, C, H, W). The gradient flows only to each window's maximum (the first one in
    /// row-major window order on ties); padding never wins. stride defaults to the kernel size. When no gradient is
    /// recorded (inference, <c>Autograd.NoGrad()</c>) the window indices are not computed; the output is the same bit for bit.
    /// </summary>
    public static Tensor MaxPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (Graph.ShouldRecord(input))
        {
            return MaxPool2dCore(input, kernelSize, stride, padding, dilation, ceilMode).Output;
        }

        Pool2dGeometry g = PoolGeometry(input, "MaxPool2d", kernelSize, stride, padding, dilation, ceilMode);
        Tensor output = Tensor.Uninitialized(g.N, g.Channels, g.OutHeight, g.OutWidth);
        Pool2d.MaxForwardValues(input.Data, g, output.Data);
        return output;
    }

    /// <summary>
    /// Max pooling that also returns the index of each maximum within its input plane (h·W + w), as PyTorch's
    /// <c>return_indices=True</c>. Indices are stored as float values.
    /// </summary>
    public static (Tensor Output, Tensor Indices) MaxPool2dWithIndices(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        (Tensor output, Tensor argmax) = MaxPool2dCore(input, kernelSize, stride, padding, dilation, ceilMode);
        return (output, Tensor.FromIndices(argmax.Int32Bits, output.Shape));
    }

    /// <summary>The pooled output and the argmax per output as int32 bits in a float tensor (pooled like any tensor).</summary>
    private static (Tensor Output, Tensor Argmax) MaxPool2dCore(Tensor input, Size2 kernelSize, Size2? stride, Size2? padding, Size2? dilation, bool ceilMode)
    {
        Pool2dGeometry g = PoolGeometry(input, "MaxPool2d", kernelSize, stride, padding, dilation, ceilMode);
        Tensor output = Tensor.Uninitialized(g.N, g.Channels, g.OutHeight, g.OutWidth);
        Tensor argmax = Tensor.Uninitialized(output.Numel);
        Pool2d.MaxForward(input.Data, g, output.Data, argmax.Int32Bits);

        // y = max over window  ⇒  ∂L/∂x[argmax] += g (the kernel zeroes ∂L/∂x first).
        output = Graph.Record(output, input, (gradOutput, x) =>
        {
            Tensor gx = Tensor.Uninitialized(x.ShapeSpan);
            Pool2d.MaxBackward(gradOutput.Data, argmax.Int32Bits, g, gx.Data);
            return [gx];
        }, "MaxPool2dBackward");
        return (output, argmax);
    }

    /// <summary>1-D max pooling over (N, C, L), as a 2-D pool of height 1.</summary>
    public static Tensor MaxPool1d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) =>
        MaxPool1dWithIndices(input, kernelSize, stride, padding, dilation, ceilMode).Output;

    /// <summary>1-D max pooling that also returns each maximum's position along L, as <c>return_indices=True</c>.</summary>
    public static (Tensor Output, Tensor Indices) MaxPool1dWithIndices(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 3)
        {
            throw new ArgumentException($"MaxPool1d expected input (N, C, L) but got {Shapes.Format(input.ShapeSpan)}.", nameof(input));
        }

        // With height 1 the in-plane index h·W + w is the position along L.
        (Tensor output, Tensor indices) = MaxPool2dWithIndices(input.Unsqueeze(2), (1, kernelSize), (1, stride ?? kernelSize), (0, padding), (1, dilation), ceilMode);
        return (output.Squeeze(2), indices.Squeeze(2));
    }

    /// <summary>
    /// 2-D average pooling. With <paramref name="countIncludePad"/> (the default) padded zeros count in the divisor;
    /// windows are clipped to the padded input as in PyTorch. <paramref name="divisorOverride"/> &gt; 0 replaces the divisor.
    /// </summary>
    public static Tensor AvgPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false, bool countIncludePad = true, int divisorOverride = 0)
    {
        Pool2dGeometry g = PoolGeometry(input, "AvgPool2d", kernelSize, stride, padding, 1, ceilMode);
        Tensor output = Tensor.Uninitialized(g.N, g.Channels, g.OutHeight, g.OutWidth);
        Pool2d.AvgForward(input.Data, g, countIncludePad, divisorOverride, output.Data);
        return Graph.Record(output, input, (gradOutput, x) =>
        {
            Tensor gx = Tensor.Uninitialized(x.ShapeSpan);
            Pool2d.AvgBackward(gradOutput.Data, g, countIncludePad, divisorOverride, gx.Data);
            return [gx];
        }, "AvgPool2dBackward");
    }

    /// <summary>
    /// Adaptive average pooling to (outH, outW): output cell i averages input rows ⌊i·H/outH⌋ … ⌈(i+1)·H/outH⌉ − 1.
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, Size2 outputSize)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || outputSize.H <= 0 || outputSize.W <= 0)
        {
            throw new ArgumentException($"AdaptiveAvgPool2d expected input (N, C, H, W) and a positive output size, got {Shapes.Format(input.ShapeSpan)} and {outputSize}.", nameof(input));
        }

        int planes = input.Size(0) * input.Size(1);
        int h = input.Size(2);
        int w = input.Size(3);
        Tensor output = Tensor.Uninitialized(input.Size(0), input.Size(1), outputSize.H, outputSize.W);
        Pool2d.AdaptiveAvgForward(input.Data, planes, h, w, outputSize.H, outputSize.W, output.Data);
        return Graph.Record(output, input, (gradOutput, x) =>
        {
            Tensor gx = Tensor.Uninitialized(x.ShapeSpan);
            Pool2d.AdaptiveAvgBackward(gradOutput.Data, planes, h, w, outputSize.H, outputSize.W, gx.Data);
            return [gx];
        }, "AdaptiveAvgPool2dBackward");
    }

    private static Pool2dGeometry PoolGeometry(Tensor input, string op, Size2 kernelSize, Size2? stride, Size2? padding, Size2? dilation, bool ceilMode)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4)
        {
            throw new ArgumentException($"{op} expected input (N, C, H, W) but got {Shapes.Format(input.ShapeSpan)}.", nameof(input));
        }

        Size2 s = stride ?? kernelSize;
        Size2 p = padding ?? 0;
        Size2 d = dilation ?? 1;
        var g = new Pool2dGeometry(input.Size(0), input.Size(1), input.Size(2), input.Size(3), kernelSize.H, kernelSize.W, s.H, s.W, p.H, p.W, d.H, d.W, ceilMode);
        g.Validate();
        return g;
    }
}
