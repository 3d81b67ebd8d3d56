using SharpCnn.Autograd;
using SharpCnn.Kernels;
using SharpCnn.Nn;

namespace SharpCnn.Functional;

public static partial class F
{
    /// <summary>
    /// act(conv2d(input, weight, bias) + residual): a convolution whose residual add and ReLU are fused into the
    /// store of each output tile (the inference path of ResNet blocks). The same values, bit for bit, as
    /// <c>AddRelu(Conv2d(…), residual)</c> (or <c>Relu(Conv2d(…))</c>, <c>Conv2d(…) + residual</c>) without the
    /// intermediate tensor. When gradients are recorded it runs exactly those composed ops.
    /// </summary>
    /// <param name="input">(N, C_in, H, W).</param>
    /// <param name="weight">(C_out, C_in/groups, kH, kW).</param>
    /// <param name="bias">(C_out), or null.</param>
    /// <param name="residual">Added to the convolution's output, (N, C_out, H_out, W_out); null: nothing added.</param>
    /// <param name="relu">Whether ReLU (x &lt; 0 → 0, NaN kept) is applied last.</param>
    /// <param name="stride">As <see cref="Conv2d(Tensor, Tensor, Tensor?, Size2?, Padding?, Size2?, int)"/>.</param>
    /// <param name="padding">As <see cref="Conv2d(Tensor, Tensor, Tensor?, Size2?, Padding?, Size2?, int)"/>.</param>
    /// <param name="dilation">As <see cref="Conv2d(Tensor, Tensor, Tensor?, Size2?, Padding?, Size2?, int)"/>.</param>
    /// <param name="groups">As <see cref="Conv2d(Tensor, Tensor, Tensor?, Size2?, Padding?, Size2?, int)"/>.</param>
    /// <returns>(N, C_out, H_out, W_out).</returns>
    /// <exception cref="ArgumentException">Shapes or geometry do not fit, or the residual's shape is not the output's.</exception>
    public static Tensor Conv2dAddRelu(Tensor input, Tensor weight, Tensor? bias, Tensor? residual, bool relu,
        Size2? stride = null, Padding? padding = null, Size2? dilation = null, int groups = 1) =>
        Conv2dAddReluCore(input, weight, null, bias, residual, relu, stride, padding, dilation, groups);

    /// <summary>
    /// <see cref="Conv2dAddRelu(Tensor, Tensor, Tensor?, Tensor?, bool, Size2?, Padding?, Size2?, int)"/> with weights prepared for repeated calls (<paramref name="prepared"/> holds the same
    /// values as <paramref name="weight"/>, which gives the shape and the gradient path when one is recorded).
    /// </summary>
    internal static Tensor Conv2dAddReluPrepared(Tensor input, Tensor weight, Conv2dPreparedWeights prepared, Tensor? bias, Tensor? residual, bool relu,
        Size2? stride, Padding? padding, Size2? dilation, int groups) =>
        Conv2dAddReluCore(input, weight, prepared, bias, residual, relu, stride, padding, dilation, groups);

    private static Tensor Conv2dAddReluCore(Tensor input, Tensor weight, Conv2dPreparedWeights? prepared, Tensor? bias, Tensor? residual, bool relu,
        Size2? stride, Padding? padding, Size2? dilation, int groups)
    {
        Conv2dGeometry g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        if (residual is not null && (residual.Rank != 4 || residual.Size(0) != g.Batch || residual.Size(1) != g.OutChannels
            || residual.Size(2) != g.OutHeight || residual.Size(3) != g.OutWidth))
        {
            throw new ArgumentException(
                $"Conv2dAddRelu expected a residual of the output's shape ({g.Batch}, {g.OutChannels}, {g.OutHeight}, {g.OutWidth}) but got {Shapes.Format(residual.ShapeSpan)}.",
                nameof(residual));
        }

        if (Graph.ShouldRecord(input, weight, bias, residual))
        {
            Tensor y = Conv2d(input, weight, bias, stride, padding, dilation, groups);
            return residual is null ? (relu ? Relu(y) : y) : relu ? AddRelu(y, residual) : y + residual;
        }

        Tensor output = Tensor.Uninitialized(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth);
        if (prepared is null)
        {
            Kernels.Conv2d.Forward(input.Data, weight.Data, bias is null ? default : bias.Data, g, output.Data,
                residual is null ? default : residual.Data, relu);
        }
        else
        {
            Kernels.Conv2d.Forward(input.Data, prepared, bias is null ? default : bias.Data, g, output.Data,
                residual is null ? default : residual.Data, relu);
        }

        return output;
    }
}
