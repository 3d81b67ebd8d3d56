namespace SharpCnn.Vision;

/// <summary>Models, datasets and transforms for computer vision, in the spirit of torchvision.</summary>
public static class VisionInfo
{
    /// <summary>The library's name.</summary>
    public const string Name = "SharpCnn.Vision";
}
