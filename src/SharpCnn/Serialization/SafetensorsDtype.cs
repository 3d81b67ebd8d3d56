namespace SharpCnn.Serialization;

/// <summary>
/// Element types of the safetensors format. The names in the file are the upper-case strings
/// returned by <see cref="SafetensorsDtypes.ToFileName"/> ("F32", "I64", "BOOL", ...).
/// All multi-byte types are little-endian in the file.
/// </summary>
/// <remarks>
/// The declaration order is the reference implementation's <c>Dtype</c> order; the writer sorts by
/// it, so do not reorder the members.
/// </remarks>
public enum SafetensorsDtype
{
    /// <summary>Boolean, one byte per element (0 or 1).</summary>
    Bool,

    /// <summary>Unsigned 8-bit integer.</summary>
    U8,

    /// <summary>Signed 8-bit integer.</summary>
    I8,

    /// <summary>Signed 16-bit integer.</summary>
    I16,

    /// <summary>Unsigned 16-bit integer.</summary>
    U16,

    /// <summary>IEEE 754 half precision.</summary>
    F16,

    /// <summary>bfloat16 (the upper half of a float32).</summary>
    BF16,

    /// <summary>Signed 32-bit integer.</summary>
    I32,

    /// <summary>Unsigned 32-bit integer.</summary>
    U32,

    /// <summary>IEEE 754 single precision; the library's tensor type.</summary>
    F32,

    /// <summary>IEEE 754 double precision.</summary>
    F64,

    /// <summary>Signed 64-bit integer (PyTorch's <c>num_batches_tracked</c>).</summary>
    I64,

    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
}

/// <summary>Names and sizes of <see cref="SafetensorsDtype"/> values.</summary>
public static class SafetensorsDtypes
{
    /// <summary>Bytes per element: 1 for BOOL/U8/I8, 2 for I16/U16/F16/BF16, 4 for I32/U32/F32, 8 for F64/I64/U64.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined dtype.</exception>
    public static int SizeInBytes(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool or SafetensorsDtype.U8 or SafetensorsDtype.I8 => 1,
        SafetensorsDtype.I16 or SafetensorsDtype.U16 or SafetensorsDtype.F16 or SafetensorsDtype.BF16 => 2,
        SafetensorsDtype.I32 or SafetensorsDtype.U32 or SafetensorsDtype.F32 => 4,
        SafetensorsDtype.F64 or SafetensorsDtype.I64 or SafetensorsDtype.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a defined safetensors dtype"),
    };

    /// <summary>The dtype's name as written in a safetensors header ("F32", "BOOL", ...).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not a defined dtype.</exception>
    public static string ToFileName(this SafetensorsDtype dtype) => dtype switch
    {
        SafetensorsDtype.Bool => "BOOL",
        SafetensorsDtype.U8 => "U8",
        SafetensorsDtype.I8 => "I8",
        SafetensorsDtype.I16 => "I16",
        SafetensorsDtype.U16 => "U16",
        SafetensorsDtype.F16 => "F16",
        SafetensorsDtype.BF16 => "BF16",
        SafetensorsDtype.I32 => "I32",
        SafetensorsDtype.U32 => "U32",
        SafetensorsDtype.F32 => "F32",
        SafetensorsDtype.F64 => "F64",
        SafetensorsDtype.I64 => "I64",
        SafetensorsDtype.U64 => "U64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a defined safetensors dtype"),
    };

    /// <summary>
    /// Parses a header dtype name (exact, case-sensitive, as the reference implementation does).
    /// Returns false for names this library does not read, such as the 8-bit float types.
    /// </summary>
    public static bool TryParse(string? name, out SafetensorsDtype dtype)
    {
        SafetensorsDtype? parsed = name switch
        {
            "BOOL" => SafetensorsDtype.Bool,
            "U8" => SafetensorsDtype.U8,
            "I8" => SafetensorsDtype.I8,
            "I16" => SafetensorsDtype.I16,
            "U16" => SafetensorsDtype.U16,
            "F16" => SafetensorsDtype.F16,
            "BF16" => SafetensorsDtype.BF16,
            "I32" => SafetensorsDtype.I32,
            "U32" => SafetensorsDtype.U32,
            "F32" => SafetensorsDtype.F32,
            "F64" => SafetensorsDtype.F64,
            "I64" => SafetensorsDtype.I64,
            "U64" => SafetensorsDtype.U64,
            _ => null,
        };
        dtype = parsed.GetValueOrDefault();
        return parsed.HasValue;
    }
}
