namespace SharpCnn.Vision.Datasets;

/// <summary>
/// An IDX file (MNIST's format) is malformed or is not the dataset file it was loaded as. The
/// message names the file, what it holds and what was expected.
/// </summary>
/// <remarks>
/// Derives from <see cref="IOException"/> (the BCL's <see cref="InvalidDataException"/> is sealed), so
/// one <c>catch (IOException)</c> covers both an unreadable and a corrupt file.
/// </remarks>
public sealed class IdxFormatException : IOException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public IdxFormatException()
        : base("The data is not a valid IDX file.")
    {
    }

    /// <summary>Creates the exception with the given message.</summary>
    public IdxFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the given message and the error that caused it.</summary>
    public IdxFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a named file; the message is prefixed with it.</summary>
    public IdxFormatException(string sourceName, string detail)
        : base($"IDX file '{sourceName}': {detail}")
    {
        SourceName = sourceName;
    }

    /// <summary>The file or source the error is about, when known.</summary>
    public string? SourceName { get; }
}
