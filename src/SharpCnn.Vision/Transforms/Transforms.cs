namespace SharpCnn.Vision.Transforms;

/// <summary>A function from one sample tensor to another, as torchvision's transform callables.</summary>
public interface ITransform
{
    /// <summary>Transforms one sample (e.g. C×H×W).</summary>
    Tensor Apply(Tensor input);
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
        float[] data = input.ToArray();
        for (int i = 0; i < data.Length; i++)
        {
            int c = i / plane % _mean.Length;
            data[i] = Apply(data[i], c);
        }

        return Tensor.FromArray(data, input.Shape);
    }
}

/// <summary>Applies transforms in order, as <c>transforms.Compose</c>.</summary>
public sealed class Compose : ITransform
{
    private readonly ITransform[] _transforms;

    /// <summary>Chains <paramref name="transforms"/> left to right.</summary>
    public Compose(params ITransform[] transforms)
    {
        ArgumentNullException.ThrowIfNull(transforms);
        _transforms = [.. transforms];
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor input)
    {
        Tensor x = input;
        foreach (ITransform t in _transforms)
        {
            x = t.Apply(x);
        }

        return x;
    }
}
