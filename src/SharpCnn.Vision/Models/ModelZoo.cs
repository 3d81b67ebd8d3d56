using SharpCnn.Nn;

namespace SharpCnn.Vision.Models;

/// <summary>Creates models by name, as used by the command line (<c>--model</c>) and checkpoints.</summary>
public static class ModelZoo
{
    /// <summary>The names <see cref="Create"/> accepts.</summary>
    public static IReadOnlyList<string> Names { get; } = ["lenet5", "mlp"];

    /// <summary>Creates model <paramref name="name"/> (case-insensitive) for 28×28 inputs.</summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static Module Create(string name, int numClasses = 10, int inChannels = 1)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToUpperInvariant() switch
        {
            "LENET5" => new LeNet5(numClasses, inChannels),
            "MLP" => new Mlp(numClasses, inChannels * 28 * 28),
            _ => throw new ArgumentException($"Unknown model \"{name}\"; known models: {string.Join(", ", Names)}.", nameof(name)),
        };
    }

    /// <summary>
    /// The input one sample of model <paramref name="name"/> (case-insensitive) expects by default, as
    /// (channels, height, width): what <c>sharpcnn summary</c> feeds it when no <c>--input</c> is given.
    /// </summary>
    /// <exception cref="ArgumentException">The name is unknown; the message lists the known ones.</exception>
    public static (int C, int H, int W) DefaultInput(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.ToUpperInvariant() switch
        {
            "LENET5" => (1, 28, 28),
            "MLP" => (1, 28, 28),
            _ => throw new ArgumentException($"Unknown model \"{name}\"; known models: {string.Join(", ", Names)}.", nameof(name)),
        };
    }
}
