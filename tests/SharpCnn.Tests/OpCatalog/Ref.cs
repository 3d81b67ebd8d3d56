namespace SharpCnn.Tests.OpCatalog;

/// <summary>Plain double-precision references for the tensor-level ops (broadcasting, reductions, shapes).</summary>
internal static class Ref
{
    public static int Numel(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    public static int[] BroadcastShape(int[] a, int[] b)
    {
        int r = Math.Max(a.Length, b.Length);
        var s = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i < r - a.Length ? 1 : a[i - (r - a.Length)];
            int db = i < r - b.Length ? 1 : b[i - (r - b.Length)];
            s[i] = Math.Max(da, db);
        }

        return s;
    }

    /// <summary>Element of x (shape xs) that broadcasts to the multi-index idx of the output.</summary>
    private static double At(double[] x, int[] xs, int[] idx)
    {
        int off = idx.Length - xs.Length;
        int flat = 0;
        for (int d = 0; d < xs.Length; d++)
        {
            int i = xs[d] == 1 ? 0 : idx[d + off];
            flat = (flat * xs[d]) + i;
        }

        return x[flat];
    }

    public static int[] Unravel(int flat, int[] shape)
    {
        var idx = new int[shape.Length];
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }

        return idx;
    }

    public static double[] Binary(double[] a, int[] sa, double[] b, int[] sb, Func<double, double, double> f)
    {
        int[] so = BroadcastShape(sa, sb);
        var y = new double[Numel(so)];
        for (int i = 0; i < y.Length; i++)
        {
            int[] idx = Unravel(i, so);
            y[i] = f(At(a, sa, idx), At(b, sb, idx));
        }

        return y;
    }

    public static double[] Map(double[] x, Func<double, double> f) => x.Select(f).ToArray();

    /// <summary>Reduces dimension dim of x with f over the values along it.</summary>
    public static double[] Reduce(double[] x, int[] shape, int dim, Func<double[], double> f)
    {
        int outer = shape.Take(dim).Aggregate(1, (a, b) => a * b);
        int size = shape[dim];
        int inner = shape.Skip(dim + 1).Aggregate(1, (a, b) => a * b);
        var y = new double[outer * inner];
        var column = new double[size];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                for (int k = 0; k < size; k++)
                {
                    column[k] = x[(((o * size) + k) * inner) + i];
                }

                y[(o * inner) + i] = f(column);
            }
        }

        return y;
    }

    /// <summary>Applies f to each (outer, inner) slice along dim, writing a slice of the same length.</summary>
    public static double[] AlongDim(double[] x, int[] shape, int dim, Func<double[], double[]> f)
    {
        int outer = shape.Take(dim).Aggregate(1, (a, b) => a * b);
        int size = shape[dim];
        int inner = shape.Skip(dim + 1).Aggregate(1, (a, b) => a * b);
        var y = new double[x.Length];
        var column = new double[size];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                for (int k = 0; k < size; k++)
                {
                    column[k] = x[(((o * size) + k) * inner) + i];
                }

                double[] r = f(column);
                for (int k = 0; k < size; k++)
                {
                    y[(((o * size) + k) * inner) + i] = r[k];
                }
            }
        }

        return y;
    }

    public static double[] Permute(double[] x, int[] shape, int[] perm)
    {
        int[] outShape = perm.Select(p => shape[p]).ToArray();
        var y = new double[x.Length];
        for (int i = 0; i < y.Length; i++)
        {
            int[] oi = Unravel(i, outShape);
            var si = new int[shape.Length];
            for (int d = 0; d < perm.Length; d++)
            {
                si[perm[d]] = oi[d];
            }

            int flat = 0;
            for (int d = 0; d < shape.Length; d++)
            {
                flat = (flat * shape[d]) + si[d];
            }

            y[i] = x[flat];
        }

        return y;
    }

    public static double[] MatMul(double[] a, double[] b, int batch, int m, int k, int n)
    {
        var c = new double[batch * m * n];
        for (int t = 0; t < batch; t++)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        s += a[(t * m * k) + (i * k) + p] * b[(t * k * n) + (p * n) + j];
                    }

                    c[(t * m * n) + (i * n) + j] = s;
                }
            }
        }

        return c;
    }

    public static double[] LogSoftmax(double[] v)
    {
        double max = v.Max();
        double lse = max + Math.Log(v.Sum(z => Math.Exp(z - max)));
        return v.Select(z => z - lse).ToArray();
    }

    public static double[] Softmax(double[] v) => LogSoftmax(v).Select(Math.Exp).ToArray();
}
