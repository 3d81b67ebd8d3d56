using System.Numerics;
using SharpCnn.Data;

namespace SharpCnn.Vision.Transforms;

/// <summary>
/// A function from one sample tensor to another, as torchvision's transform callables. Deterministic transforms
/// implement <see cref="Apply(Tensor)"/> only; random ones also implement <see cref="Apply(Tensor, Generator)"/>
/// and draw every random choice from the generator they are given (see <see cref="DataLoader.SampleSeed"/>).
/// </summary>
/// <remarks>
/// Transforms never modify their input and keep no state between calls, so one instance may serve several
/// loader workers at once. Images are float tensors (…, H, W), usually C×H×W; geometric transforms treat every
/// leading index as a plane, colour transforms need C (dimension −3) to be 1 or 3.
/// </remarks>
public interface ITransform : ISampleTransform
{
    /// <summary>
    /// Transforms one sample (e.g. C×H×W). A random transform draws from <see cref="Generator.Default"/> here,
    /// as torchvision's draw from the global torch generator.
    /// </summary>
    Tensor Apply(Tensor input);

    /// <summary>
    /// Transforms one sample, drawing every random choice from <paramref name="generator"/>; a deterministic
    /// transform need not implement it (this default ignores the generator).
    /// </summary>
    new Tensor Apply(Tensor input, Generator generator) => Apply(input);

    /// <summary>The loader's entry point: <see cref="Apply(Tensor, Generator)"/>.</summary>
    Tensor ISampleTransform.Apply(Tensor input, Generator generator) => Apply(input, generator);
}

/// <summary>
/// Base of the random transforms: <see cref="Apply(Tensor, Generator)"/> is the transform; the generator-less
/// overload draws from <see cref="Generator.Default"/>.
/// </summary>
public abstract class RandomTransform : ITransform
{
    /// <summary>Transforms one sample, drawing from <see cref="Generator.Default"/>.</summary>
    public Tensor Apply(Tensor input) => Apply(input, Generator.Default);

    /// <summary>Transforms one sample, drawing every random choice from <paramref name="generator"/>.</summary>
    public abstract Tensor Apply(Tensor input, Generator generator);
}

/// <summary>Converts 8-bit pixels (H×W×C, as images are stored) to a float C×H×W tensor in [0, 1], as <c>transforms.ToTensor</c>.</summary>
public static class ToTensor
{
    /// <summary>Scales <paramref name="pixels"/> (H×W×C bytes) by 1/255 into a C×H×W tensor.</summary>
    /// <exception cref="ArgumentException">The pixel count is not H·W·C.</exception>
    public static Tensor FromBytes(ReadOnlySpan<byte> pixels, int channels, int height, int width)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        long expected = (long)channels * height * width;
        if (pixels.Length != expected)
        {
            throw new ArgumentException($"ToTensor expected {height}×{width}×{channels} = {expected} bytes but got {pixels.Length}.", nameof(pixels));
        }

        int plane = height * width;
        var data = new float[expected];
        for (int p = 0; p < plane; p++)
        {
            for (int c = 0; c < channels; c++)
            {
                data[(c * plane) + p] = Scale(pixels[(p * channels) + c]);
            }
        }

        return Tensor.FromArray(data, channels, height, width);
    }

    /// <summary>The value ToTensor gives a byte: <c>b / 255</c> in float32.</summary>
    public static float Scale(byte value) => value / 255f;
}

/// <summary>Per-channel standardisation <c>(x − mean[c]) / std[c]</c> of a C×H×W tensor, as <c>transforms.Normalize</c>.</summary>
public sealed class Normalize : ITransform
{
    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Creates the transform; <paramref name="mean"/> and <paramref name="std"/> have one value per channel.</summary>
    /// <exception cref="ArgumentException">The lengths differ or are zero, or a std is not positive.</exception>
    public Normalize(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Count == 0 || mean.Count != std.Count)
        {
            throw new ArgumentException($"Normalize needs one mean and one std per channel; got {mean.Count} means and {std.Count} stds.", nameof(std));
        }

        if (std.Any(s => !(s > 0)))
        {
            throw new ArgumentException($"Normalize std values must be positive; got [{string.Join(", ", std)}].", nameof(std));
        }

        _mean = [.. mean];
        _std = [.. std];
    }

    /// <summary>The MNIST training-set statistics used by the PyTorch examples: mean 0.1307, std 0.3081.</summary>
    public static Normalize Mnist { get; } = new([0.1307f], [0.3081f]);

    /// <summary>Per-channel means.</summary>
    public IReadOnlyList<float> Mean => _mean;

    /// <summary>Per-channel standard deviations.</summary>
    public IReadOnlyList<float> Std => _std;

    /// <summary>The normalised value of <paramref name="x"/> in channel <paramref name="channel"/>.</summary>
    public float Apply(float x, int channel) => (x - _mean[channel]) / _std[channel];

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">The input is not C×H×W (or N×C×H×W) with this transform's channel count.</exception>
    public Tensor Apply(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int channelDim = input.Rank - 3;
        if (channelDim < 0 || input.Size(channelDim) != _mean.Length)
        {
            throw new ArgumentException(
                $"Normalize with {_mean.Length} channel(s) expected input (C={_mean.Length}, H, W) but got ({string.Join(", ", input.Shape)}).", nameof(input));
        }

        int plane = input.Size(-1) * input.Size(-2);
        ReadOnlySpan<float> x = input.Data;
        var data = new float[x.Length];
        Span<float> y = data;
        // Subtract then divide, as torchvision's sub_(mean).div_(std): the same float result as the scalar Apply.
        for (int p = 0; p * plane < x.Length; p++)
        {
            int c = p % _mean.Length;
            (float m, float s) = (_mean[c], _std[c]);
            ReadOnlySpan<float> xs = x.Slice(p * plane, plane);
            Span<float> ys = y.Slice(p * plane, plane);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                (Vector<float> vm, Vector<float> vs) = (new Vector<float>(m), new Vector<float>(s));
                for (; i <= plane - Vector<float>.Count; i += Vector<float>.Count)
                {
                    ((new Vector<float>(xs[i..]) - vm) / vs).CopyTo(ys[i..]);
                }
            }

            for (; i < plane; i++)
            {
                ys[i] = (xs[i] - m) / s;
            }
        }

        return new Tensor(data, input.Shape);
    }
}

/// <summary>Applies transforms in order, as <c>transforms.Compose</c>; the generator passes to each in turn.</summary>
public sealed class Compose : ITransform
{
    private readonly ITransform[] _transforms;

    /// <summary>Chains <paramref name="transforms"/> left to right.</summary>
    public Compose(params ITransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        if (Array.IndexOf(transforms, null) is int i and >= 0)
        {
            throw new ArgumentException($"Compose got a null transform at position {i}.", nameof(transforms));
        }

        _transforms = [.. transforms];
    }

    /// <summary>The chained transforms, in order.</summary>
    public IReadOnlyList<ITransform> Transforms => _transforms;

    /// <inheritdoc/>
    public Tensor Apply(Tensor input) => Apply(input, Generator.Default);

    /// <summary>Applies each transform in order, each drawing from <paramref name="generator"/> where it is random.</summary>
    public Tensor Apply(Tensor input, Generator generator)
    {
        Tensor x = input;
        foreach (ITransform t in _transforms)
        {
            x = t.Apply(x, generator);
        }

        return x;
    }
}

/// <summary>
/// Applies a list of transforms with probability <c>p</c>, as <c>transforms.RandomApply</c>: one uniform draw
/// u ∈ [0, 1); the transforms run when u &lt; p.
/// </summary>
public sealed class RandomApply : RandomTransform
{
    private readonly Compose _inner;

    /// <summary>Applies <paramref name="transforms"/> in order with probability <paramref name="p"/> ∈ [0, 1] (default 0.5).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is outside [0, 1].</exception>
    public RandomApply(ITransform[] transforms, double p = 0.5)
    {
        Check.Probability(p, nameof(p), "RandomApply");
        _inner = new Compose(transforms);
        P = p;
    }

    /// <summary>The probability of applying the transforms.</summary>
    public double P { get; }

    /// <inheritdoc/>
    public override Tensor Apply(Tensor input, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        return generator.NextDouble() < P ? _inner.Apply(input, generator) : input;
    }
}

/// <summary>
/// A user function as a transform, as <c>transforms.Lambda</c>. The function must be safe to call from several
/// loader workers at once, must not modify its input, and must draw any randomness from the generator it gets.
/// </summary>
public sealed class Lambda : ITransform
{
    private readonly Func<Tensor, Generator, Tensor> _function;

    /// <summary>Wraps a deterministic function.</summary>
    public Lambda(Func<Tensor, Tensor> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        _function = (x, _) => function(x);
    }

    /// <summary>Wraps a random function that draws from the generator it receives.</summary>
    public Lambda(Func<Tensor, Generator, Tensor> function)
    {
        ArgumentNullException.ThrowIfNull(function);
        _function = function;
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor input) => _function(input, Generator.Default);

    /// <summary>Calls the function with <paramref name="generator"/>.</summary>
    public Tensor Apply(Tensor input, Generator generator) => _function(input, generator);
}
