using SharpCnn.Autograd;
using SharpCnn.Kernels;
using SharpCnn.Nn;

namespace SharpCnn.Functional;

/// <summary>Functional forms of every op, as <c>torch.nn.functional</c>. Each computes through the kernels and records its backward rule.</summary>
public static partial class F
{
    /// <summary>
    /// 2-D convolution. input (N, C_in, H, W), weight (C_out, C_in/groups, kH, kW), bias (C_out) or null →
    /// (N, C_out, H_out, W_out) with H_out = ⌊(H + 2·padding − dilation·(kH − 1) − 1)/stride⌋ + 1.
    /// </summary>
    /// <exception cref="ArgumentException">Shapes or geometry do not fit; the message names what was received.</exception>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Padding? padding = null, Size2? dilation = null, int groups = 1)
    {
        Conv2dGeometry g = Conv2dGeometryOf(input, weight, bias, stride, padding, dilation, groups);
        Tensor output = Tensor.Uninitialized(g.Batch, g.OutChannels, g.OutHeight, g.OutWidth);
        Kernels.Conv2d.Forward(input.Data, weight.Data, bias is null ? default : bias.Data, g, output.Data);

        // y = x ⋆ w + b  ⇒  ∂L/∂x = gᵀ-correlation with w (BackwardData), ∂L/∂w = Σ_n x ⋆ g, ∂L/∂b = Σ_{n,h,w} g.
        // The backward kernels overwrite their outputs, so those start uninitialized.
        return Graph.Record(output, "Conv2dBackward", [input, weight, bias], gradOutput =>
        {
            Tensor? gx = null;
            Tensor? gw = null;
            Tensor? gb = null;
            if (input.RequiresGrad)
            {
                gx = Tensor.Uninitialized(input.ShapeSpan);
                Kernels.Conv2d.BackwardData(gradOutput.Data, weight.Data, g, gx.Data);
            }

            if (weight.RequiresGrad || (bias?.RequiresGrad ?? false))
            {
                gw = Tensor.Uninitialized(weight.ShapeSpan);
                gb = bias is null ? null : Tensor.Uninitialized(bias.ShapeSpan);
                Kernels.Conv2d.BackwardWeight(gradOutput.Data, input.Data, g, gw.Data, gb is null ? default : gb.Data);
            }

            return [gx, gw, gb];
        });
    }

    /// <summary>Checks the operands of a 2-D convolution and returns its (validated) geometry; messages name what was received.</summary>
    private static Conv2dGeometry Conv2dGeometryOf(Tensor input, Tensor weight, Tensor? bias, Size2? stride, Padding? padding, Size2? dilation, int groups)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 4)
        {
            throw new ArgumentException($"Conv2d expected a weight of shape (C_out, C_in/groups, kH, kW) but got {Shapes.Format(weight.ShapeSpan)}.", nameof(weight));
        }

        if (input.Rank != 4 || groups <= 0 || input.Size(1) != weight.Size(1) * groups)
        {
            throw new ArgumentException(
                $"Conv2d expected input (N, {weight.Size(1) * Math.Max(groups, 1)}, H, W) for weight {Shapes.Format(weight.ShapeSpan)} and groups={groups}, but got {Shapes.Format(input.ShapeSpan)}.",
                nameof(input));
        }

        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != weight.Size(0)))
        {
            throw new ArgumentException($"Conv2d expected a bias of shape ({weight.Size(0)}) but got {Shapes.Format(bias.ShapeSpan)}.", nameof(bias));
        }

        Size2 s = stride ?? 1;
        Size2 d = dilation ?? 1;
        Padding p = padding ?? 0;
        int kh = weight.Size(2);
        int kw = weight.Size(3);
        (int top, int bottom) = (p.H, p.H);
        (int left, int right) = (p.W, p.W);
        if (p.IsSame)
        {
            if (s.H != 1 || s.W != 1)
            {
                throw new ArgumentException($"Conv2d: padding=\"same\" needs stride 1, got {s}.", nameof(padding));
            }

            (top, bottom) = Conv2dGeometry.SamePadding(kh, d.H);
            (left, right) = Conv2dGeometry.SamePadding(kw, d.W);
        }

        var g = new Conv2dGeometry(input.Size(0), input.Size(1), input.Size(2), input.Size(3), weight.Size(0), kh, kw,
            s.H, s.W, top, left, bottom, right, d.H, d.W, groups);
        g.Validate();
        return g;
    }

    /// <summary>
    /// 1-D convolution over (N, C_in, L) with weight (C_out, C_in/groups, k) → (N, C_out, L_out), computed as a
    /// 2-D convolution of height 1.
    /// </summary>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, Padding? padding = null, int dilation = 1, int groups = 1)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (input.Rank != 3 || weight.Rank != 3)
        {
            throw new ArgumentException($"Conv1d expected input (N, C_in, L) and weight (C_out, C_in/groups, k) but got {Shapes.Format(input.ShapeSpan)} and {Shapes.Format(weight.ShapeSpan)}.");
        }

        Padding p = padding ?? 0;
        Padding p2 = p.IsSame ? "same" : (0, p.H);
        Tensor y = Conv2d(input.Unsqueeze(2), weight.Unsqueeze(2), bias, (1, stride), p2, (1, dilation), groups);
        return y.Squeeze(2);
    }

    /// <summary>y = x·Wᵀ + b over the last dimension: input (…, in), weight (out, in), bias (out) → (…, out).</summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2 || input.Rank == 0 || input.Size(-1) != weight.Size(1))
        {
            throw new ArgumentException($"Linear expected input (…, {(weight.Rank == 2 ? weight.Size(1) : -1)}) for weight {Shapes.Format(weight.ShapeSpan)}, but got {Shapes.Format(input.ShapeSpan)}.", nameof(input));
        }

        int inF = weight.Size(1);
        int outF = weight.Size(0);
        if (bias is not null && (bias.Rank != 1 || bias.Size(0) != outF))
        {
            throw new ArgumentException($"Linear expected a bias of shape ({outF}) but got {Shapes.Format(bias.ShapeSpan)}.", nameof(bias));
        }

        int rows = input.Numel / Math.Max(inF, 1);
        int[] outShape = input.Shape;
        outShape[^1] = outF;
        Tensor y = Tensor.Uninitialized(outShape);
        Span<float> yd = y.Data;
        if (LinearSmallBatch.Prefers(rows) && inF > 0)
        {
            // A few rows (inference at batch 1–4): one dot product per output, the weights read once without packing.
            LinearSmallBatch.Forward(input.Data, weight.Data, bias is null ? [] : bias.Data, rows, inF, outF, yd);
        }
        else
        {
            if (bias is not null)
            {
                for (int r = 0; r < rows; r++)
                {
                    bias.Data.CopyTo(yd.Slice(r * outF, outF));
                }
            }

            Gemm.Multiply(false, true, rows, outF, inF, input.Data, inF, weight.Data, inF, yd, outF, accumulate: bias is not null);
        }

        // y = x·Wᵀ + b  ⇒  ∂L/∂x = g·W,  ∂L/∂W = gᵀ·x,  ∂L/∂b = Σ_rows g (the GEMMs overwrite their outputs).
        return Graph.Record(y, "LinearBackward", [input, weight, bias], g =>
        {
            Tensor? gx = null;
            Tensor? gw = null;
            Tensor? gb = null;
            if (input.RequiresGrad)
            {
                gx = Tensor.Uninitialized(input.ShapeSpan);
                Gemm.Multiply(false, false, rows, inF, outF, g.Data, outF, weight.Data, inF, gx.Data, inF, accumulate: false);
            }

            if (weight.RequiresGrad)
            {
                gw = Tensor.Uninitialized(weight.ShapeSpan);
                Gemm.Multiply(true, false, outF, inF, rows, g.Data, outF, input.Data, inF, gw.Data, inF, accumulate: false);
            }

            if (bias is not null && bias.RequiresGrad)
            {
                gb = g.Reshape(rows, outF).Sum(0);
            }

            return [gx, gw, gb];
        });
    }
}
