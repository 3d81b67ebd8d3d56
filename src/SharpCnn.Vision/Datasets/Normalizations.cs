using SharpCnn.Vision.Transforms;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// The per-channel mean and standard deviation each dataset is conventionally normalised with, as the
/// PyTorch examples and torchvision use them (<c>transforms.Normalize(mean, std)</c> after <c>ToTensor</c>).
/// </summary>
/// <remarks>
/// These are conventions, not part of the file formats: a model must be evaluated with the statistics it was
/// trained with. <c>DatasetCatalog.Normalization</c> maps a <c>--data</c> name to one of these.
/// </remarks>
public static class Normalizations
{
    /// <summary>MNIST: mean 0.1307, std 0.3081 (one channel); the same instance as <see cref="Normalize.Mnist"/>.</summary>
    public static Normalize Mnist => Normalize.Mnist;

    /// <summary>Fashion-MNIST: mean 0.2860, std 0.3530 (one channel), its training set's pixel statistics.</summary>
    public static Normalize FashionMnist { get; } = new([0.2860f], [0.3530f]);

    /// <summary>CIFAR-10: mean (0.4914, 0.4822, 0.4465), std (0.2470, 0.2435, 0.2616) for R, G, B.</summary>
    public static Normalize Cifar10 { get; } = new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);

    /// <summary>ImageNet: mean (0.485, 0.456, 0.406), std (0.229, 0.224, 0.225) for R, G, B; used for image folders.</summary>
    public static Normalize ImageNet { get; } = new([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);

    /// <summary>
    /// Mean 0, std 1 for <paramref name="channels"/> channels: leaves ToTensor's [0, 1] values unchanged bit for bit
    /// (<c>(x − 0) / 1 = x</c>), so colour transforms can run on the raw values before normalising.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> is not positive.</exception>
    public static Normalize None(int channels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        return new Normalize(new float[channels], Enumerable.Repeat(1f, channels).ToArray());
    }
}
