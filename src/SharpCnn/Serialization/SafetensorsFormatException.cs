namespace SharpCnn.Serialization;

/// <summary>
/// A safetensors file (or byte buffer) broke the format: a bad header length, malformed or
/// duplicated JSON, an unknown dtype, a shape that disagrees with its byte range, or a data
/// section whose length disagrees with the header. The message names the source, what was
/// received and what was expected.
/// </summary>
/// <remarks>
/// Derives from <see cref="IOException"/> (the BCL's <see cref="InvalidDataException"/> is sealed), so
/// one <c>catch (IOException)</c> covers both an unreadable and a corrupt checkpoint.
/// </remarks>
public sealed class SafetensorsFormatException : IOException
{
    /// <summary>Creates the exception with a generic message.</summary>
    public SafetensorsFormatException()
        : base("safetensors: the data is not a valid safetensors file.")
    {
    }

    /// <summary>Creates the exception with the given message.</summary>
    public SafetensorsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the given message and the error that caused it.</summary>
    public SafetensorsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
