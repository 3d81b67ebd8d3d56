namespace SharpCnn;

/// <summary>Facts about the library build.</summary>
public static class Library
{
    /// <summary>The library's name.</summary>
    public const string Name = "SharpCnn";
}
