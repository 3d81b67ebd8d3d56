namespace SharpCnn.Init;

/// <summary>Which fan <see cref="Init.KaimingUniform"/> and <see cref="Init.KaimingNormal"/> scale by.</summary>
public enum FanMode
{
    /// <summary>Preserve the variance of activations in the forward pass (fan_in).</summary>
    FanIn,

    /// <summary>Preserve the variance of gradients in the backward pass (fan_out).</summary>
    FanOut,
}

/// <summary>
/// Parameter initialisers, as <c>torch.nn.init</c>. Each fills its tensor in place (through
/// <see cref="Tensor.Data"/>, so nothing is recorded by autograd) and returns it. Random ones draw from
/// the generator given, or <see cref="Generator.Default"/>, so one seed fixes every value.
/// </summary>
/// <remarks>
/// Code inside a <c>SharpCnn.*</c> namespace sees the name <c>Init</c> as this namespace first; write
/// <c>Init.Init.KaimingUniform(...)</c> there, or <c>using static SharpCnn.Init.Init;</c>.
/// </remarks>
public static class Init
{
    /// <summary>Fills <paramref name="tensor"/> with samples from U(<paramref name="a"/>, <paramref name="b"/>).</summary>
    /// <exception cref="ArgumentException"><paramref name="a"/> &gt; <paramref name="b"/> or a bound is not finite.</exception>
    public static Tensor Uniform(Tensor tensor, double a = 0, double b = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(a <= b) || double.IsInfinity(a) || double.IsInfinity(b))
        {
            throw new ArgumentException($"Init.Uniform expects finite bounds with a ≤ b but got a = {a}, b = {b}.", nameof(a));
        }

        Generator g = generator ?? Generator.Default;
        Span<float> d = tensor.Data;
        double width = b - a;
        for (int i = 0; i < d.Length; i++)
        {
            d[i] = (float)(a + (width * g.NextDouble()));
        }

        return tensor;
    }

    /// <summary>Fills <paramref name="tensor"/> with samples from N(<paramref name="mean"/>, <paramref name="std"/>²).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="std"/> is negative or not finite.</exception>
    public static Tensor Normal(Tensor tensor, double mean = 0, double std = 1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        CheckStd(std, "Normal");
        (generator ?? Generator.Default).FillNormal(tensor.Data, mean, std);
        return tensor;
    }

    /// <summary>
    /// Fills <paramref name="tensor"/> with samples from N(<paramref name="mean"/>, <paramref name="std"/>²)
    /// restricted to [<paramref name="a"/>, <paramref name="b"/>] (absolute bounds, as PyTorch's
    /// <c>trunc_normal_</c>), by rejection: samples outside are redrawn, so the interval should hold a fair
    /// share of the mass (the usual ±2σ holds 95%).
    /// </summary>
    /// <exception cref="ArgumentException">a ≥ b, a bound is not finite, or <paramref name="std"/> is not positive.</exception>
    public static Tensor TruncatedNormal(Tensor tensor, double mean = 0, double std = 1, double a = -2, double b = 2,
                                         Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!(std > 0) || double.IsInfinity(std))
        {
            throw new ArgumentOutOfRangeException(nameof(std), std, $"Init.TruncatedNormal expects a finite std > 0 but got {std}.");
        }

        if (!(a < b) || double.IsInfinity(a) || double.IsInfinity(b))
        {
            throw new ArgumentException($"Init.TruncatedNormal expects finite bounds with a < b but got a = {a}, b = {b}.", nameof(a));
        }

        Generator g = generator ?? Generator.Default;
        Span<float> d = tensor.Data;
        for (int i = 0; i < d.Length; i++)
        {
            double x;
            do
            {
                x = mean + (std * g.NextNormal());
            }
            while (x < a || x > b);

            // Rounding to float could step just outside the bounds; clamp keeps the guarantee.
            d[i] = (float)Math.Clamp(x, a, b);
        }

        return tensor;
    }

    /// <summary>Fills <paramref name="tensor"/> with <paramref name="value"/>.</summary>
    public static Tensor Constant(Tensor tensor, double value)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        tensor.Data.Fill((float)value);
        return tensor;
    }

    /// <summary>Fills <paramref name="tensor"/> with zeros.</summary>
    public static Tensor Zeros(Tensor tensor) => Constant(tensor, 0);

    /// <summary>Fills <paramref name="tensor"/> with ones.</summary>
    public static Tensor Ones(Tensor tensor) => Constant(tensor, 1);

    /// <summary>
    /// The recommended gain for a nonlinearity, as <c>torch.nn.init.calculate_gain</c>: 1 for linear, conv
    /// (conv1d/2d/3d, conv_transpose1d/2d/3d) and sigmoid; 5/3 for tanh; √2 for relu;
    /// √(2 / (1 + slope²)) for leaky_relu (slope <paramref name="param"/>, default 0.01); 3/4 for selu.
    /// </summary>
    /// <exception cref="ArgumentException">The nonlinearity is unknown, or leaky_relu's slope is not finite.</exception>
    public static double CalculateGain(string nonlinearity, double? param = null)
    {
        ArgumentNullException.ThrowIfNull(nonlinearity);
        switch (nonlinearity)
        {
            case "linear":
            case "conv1d":
            case "conv2d":
            case "conv3d":
            case "conv_transpose1d":
            case "conv_transpose2d":
            case "conv_transpose3d":
            case "sigmoid":
                return 1;
            case "tanh":
                return 5.0 / 3;
            case "relu":
                return Math.Sqrt(2.0);
            case "leaky_relu":
                double slope = param ?? 0.01;
                if (!double.IsFinite(slope))
                {
                    throw new ArgumentException($"Init.CalculateGain: negative_slope {slope} is not a valid number.", nameof(param));
                }

                return Math.Sqrt(2.0 / (1 + (slope * slope)));
            case "selu":
                return 3.0 / 4;
            default:
                throw new ArgumentException(
                    $"Init.CalculateGain: unsupported nonlinearity '{nonlinearity}' (expected linear, conv1d, conv2d, conv3d, " +
                    "conv_transpose1d, conv_transpose2d, conv_transpose3d, sigmoid, tanh, relu, leaky_relu or selu).", nameof(nonlinearity));
        }
    }

    /// <summary>
    /// Fan-in and fan-out of a weight, as PyTorch's <c>_calculate_fan_in_and_fan_out</c>: with receptive field
    /// r = product of dims 2.. (1 for a linear weight), fan_in = size(1)·r and fan_out = size(0)·r.
    /// A conv weight (out, in/groups, kh, kw) gives (in/groups·kh·kw, out·kh·kw).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions.</exception>
    public static (int FanIn, int FanOut) CalculateFanInAndFanOut(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Rank < 2)
        {
            throw new ArgumentException(
                $"Fan in and fan out cannot be computed for a tensor with fewer than 2 dimensions, but got shape {Shapes.Format(tensor.ShapeSpan)}.",
                nameof(tensor));
        }

        int receptive = 1;
        for (int d = 2; d < tensor.Rank; d++)
        {
            receptive *= tensor.Size(d);
        }

        return (tensor.Size(1) * receptive, tensor.Size(0) * receptive);
    }

    /// <summary>
    /// He et al. (2015) uniform initialisation, as <c>kaiming_uniform_</c>: U(−bound, bound) with
    /// bound = gain·√(3 / fan), gain = <see cref="CalculateGain"/>(<paramref name="nonlinearity"/>, <paramref name="a"/>).
    /// A tensor with no elements is returned unchanged.
    /// </summary>
    /// <param name="tensor">A weight of at least 2 dimensions.</param>
    /// <param name="a">Negative slope of the rectifier that follows (leaky_relu only).</param>
    /// <param name="mode">Scale by fan-in (default) or fan-out.</param>
    /// <param name="nonlinearity">Nonlinearity name; "relu" or "leaky_relu" (default) are recommended.</param>
    /// <param name="generator">Random source; <see cref="Generator.Default"/> when null.</param>
    public static Tensor KaimingUniform(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
                                        string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Numel == 0)
        {
            return tensor;
        }

        double std = KaimingStd(tensor, a, mode, nonlinearity);
        double bound = Math.Sqrt(3.0) * std;
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>
    /// He et al. (2015) normal initialisation, as <c>kaiming_normal_</c>: N(0, std²) with
    /// std = gain / √fan. A tensor with no elements is returned unchanged.
    /// </summary>
    /// <inheritdoc cref="KaimingUniform"/>
    public static Tensor KaimingNormal(Tensor tensor, double a = 0, FanMode mode = FanMode.FanIn,
                                       string nonlinearity = "leaky_relu", Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Numel == 0)
        {
            return tensor;
        }

        return Normal(tensor, 0, KaimingStd(tensor, a, mode, nonlinearity), generator);
    }

    /// <summary>
    /// Glorot and Bengio (2010) uniform initialisation, as <c>xavier_uniform_</c>: U(−bound, bound) with
    /// bound = gain·√(6 / (fan_in + fan_out)).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions.</exception>
    public static Tensor XavierUniform(Tensor tensor, double gain = 1, Generator? generator = null)
    {
        double std = XavierStd(tensor, gain);
        double bound = Math.Sqrt(3.0) * std;
        return Uniform(tensor, -bound, bound, generator);
    }

    /// <summary>
    /// Glorot and Bengio (2010) normal initialisation, as <c>xavier_normal_</c>: N(0, std²) with
    /// std = gain·√(2 / (fan_in + fan_out)).
    /// </summary>
    /// <exception cref="ArgumentException">The tensor has fewer than 2 dimensions.</exception>
    public static Tensor XavierNormal(Tensor tensor, double gain = 1, Generator? generator = null) =>
        Normal(tensor, 0, XavierStd(tensor, gain), generator);

    private static double KaimingStd(Tensor tensor, double a, FanMode mode, string nonlinearity)
    {
        (int fanIn, int fanOut) = CalculateFanInAndFanOut(tensor);
        int fan = mode switch
        {
            FanMode.FanIn => fanIn,
            FanMode.FanOut => fanOut,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, $"Init: unknown fan mode {mode}; expected FanIn or FanOut."),
        };
        return CalculateGain(nonlinearity, a) / Math.Sqrt(fan);
    }

    private static double XavierStd(Tensor tensor, double gain)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        (int fanIn, int fanOut) = CalculateFanInAndFanOut(tensor);
        if (tensor.Numel == 0)
        {
            return 0;
        }

        double std = gain * Math.Sqrt(2.0 / (fanIn + fanOut));
        CheckStd(std, "Xavier");
        return std;
    }

    private static void CheckStd(double std, string op)
    {
        if (!(std >= 0) || double.IsInfinity(std))
        {
            throw new ArgumentOutOfRangeException(nameof(std), std, $"Init.{op} expects a finite std ≥ 0 but got {std}.");
        }
    }
}
