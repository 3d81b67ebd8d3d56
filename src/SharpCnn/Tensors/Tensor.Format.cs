using System.Globalization;
using System.Text;

namespace SharpCnn;

public partial class Tensor
{
    // PyTorch summarises tensors above 1000 elements, showing 3 items at each edge of every dimension.
    private const int SummaryThreshold = 1000;
    private const int EdgeItems = 3;

    /// <summary>
    /// PyTorch-style text: <c>tensor([[ 0.1000, -2.0000], ...], shape=(2, 2))</c>, abbreviated with "..."
    /// above 1000 elements, followed by <c>grad_fn</c> or <c>requires_grad</c> when set.
    /// </summary>
    public override string ToString()
    {
        bool summarize = Numel > SummaryThreshold;
        string format = ChooseFormat(summarize);
        int width = 0;
        VisitShown(summarize, v => width = Math.Max(width, FormatValue(v, format).Length));
        var sb = new StringBuilder("tensor(");
        if (Rank == 0)
        {
            sb.Append(FormatValue(Storage[0], format));
        }
        else
        {
            AppendDim(sb, 0, 0, summarize, format, width, "tensor(".Length);
        }

        sb.Append(", shape=").Append(Shapes.Format(_shape));
        if (GradFn is not null)
        {
            sb.Append(", grad_fn=<").Append(GradFn.Name).Append('>');
        }
        else if (RequiresGrad)
        {
            sb.Append(", requires_grad=True");
        }

        return sb.Append(')').ToString();
    }

    private void AppendDim(StringBuilder sb, int dim, int offset, bool summarize, string format, int width, int indent)
    {
        int size = _shape[dim];
        int stride = 1;
        for (int d = dim + 1; d < Rank; d++)
        {
            stride *= _shape[d];
        }

        sb.Append('[');
        bool elide = summarize && size > 2 * EdgeItems;
        for (int i = 0; i < size; i++)
        {
            if (elide && i == EdgeItems)
            {
                sb.Append(dim == Rank - 1 ? "..., " : "...,\n" + new string(' ', indent + dim + 1));
                i = size - EdgeItems - 1;
                continue;
            }

            if (dim == Rank - 1)
            {
                sb.Append(FormatValue(Storage[offset + i], format).PadLeft(width));
            }
            else
            {
                AppendDim(sb, dim + 1, offset + (i * stride), summarize, format, width, indent);
            }

            if (i < size - 1)
            {
                sb.Append(dim == Rank - 1 ? ", " : "," + new string('\n', Rank - dim - 1) + new string(' ', indent + dim + 1));
            }
        }

        sb.Append(']');
    }

    private void VisitShown(bool summarize, Action<float> visit)
    {
        if (!summarize)
        {
            foreach (float v in Data)
            {
                visit(v);
            }

            return;
        }

        // Edge items only: enough to size the columns like PyTorch does.
        int n = Math.Min(Numel, EdgeItems * 2);
        for (int i = 0; i < n / 2; i++)
        {
            visit(Storage[i]);
            visit(Storage[Numel - 1 - i]);
        }
    }

    private string ChooseFormat(bool summarize)
    {
        bool allInts = true;
        float maxAbs = 0;
        float minAbs = float.PositiveInfinity;
        VisitShown(summarize, v =>
        {
            if (!float.IsFinite(v))
            {
                return;
            }

            allInts &= v == MathF.Round(v);
            float a = MathF.Abs(v);
            maxAbs = Math.Max(maxAbs, a);
            if (a > 0)
            {
                minAbs = Math.Min(minAbs, a);
            }
        });
        if (allInts && maxAbs < 1e8f)
        {
            return "int";
        }

        return maxAbs >= 1e8f || (minAbs < 1e-4f) || maxAbs / minAbs > 1000f ? "e" : "f";
    }

    private static string FormatValue(float v, string format)
    {
        if (float.IsNaN(v))
        {
            return "nan";
        }

        if (float.IsInfinity(v))
        {
            return v > 0 ? "inf" : "-inf";
        }

        return format switch
        {
            "int" => v.ToString("0", CultureInfo.InvariantCulture) + ".",
            "e" => v.ToString("0.0000e+00", CultureInfo.InvariantCulture),
            _ => v.ToString("0.0000", CultureInfo.InvariantCulture),
        };
    }
}
