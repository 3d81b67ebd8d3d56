using SharpCnn.Data;

namespace SharpCnn.Vision.Datasets;

/// <summary>
/// Opens a dataset by the name the CLI and configs use (<c>--data NAME</c>): the one place that maps names to readers.
/// </summary>
public static class DatasetCatalog
{
    /// <summary>The names <see cref="Open"/> accepts besides a folder path.</summary>
    public static IReadOnlyList<string> Names { get; } = ["mnist"];

    /// <summary>The default data folder of a named dataset (<c>data/NAME</c>).</summary>
    public static string DefaultDirectory(string name) => Path.Combine("data", name);

    /// <summary>Opens the training or test split of a named dataset.</summary>
    /// <param name="name">A name from <see cref="Names"/>.</param>
    /// <param name="directory">Where its files are.</param>
    /// <param name="train">The training split (true) or the test split.</param>
    /// <param name="padding">Background border added on every side (LeNet-5's 32×32 MNIST), where the reader supports it.</param>
    /// <exception cref="ArgumentException">An unknown name.</exception>
    public static IClassDataset Open(string name, string directory, bool train, int padding = 0)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(directory);
        return name switch
        {
            "mnist" => MnistDataset.Load(directory, train, padding: padding),
            _ => throw new ArgumentException($"Unknown dataset \"{name}\"; expected one of {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
