using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace SharpCnn.Serialization;

/// <summary>
/// One named tensor of a safetensors file: its dtype, its row-major shape and its raw
/// little-endian bytes. This is a neutral carrier (no dependency on the library's tensor type).
/// </summary>
/// <remarks>
/// <para>A shape of <c>[]</c> is a 0-rank scalar (one element); a shape containing 0 is an empty
/// tensor (no bytes). <see cref="Data"/> always holds exactly
/// <c>product(Shape) · dtype size</c> bytes.</para>
/// <para>The arrays are held, not copied: callers that keep mutating them after construction
/// change the tensor. <see cref="FromFloats"/> and <see cref="ToFloats"/> copy. Record equality
/// compares the array references, not their contents.</para>
/// </remarks>
public sealed record SafetensorsTensor
{
    /// <summary>Creates a tensor after checking that the byte count matches the shape.</summary>
    /// <param name="name">The key in the file, e.g. <c>"conv1.weight"</c>; not empty and not <c>"__metadata__"</c>.</param>
    /// <param name="dtype">The element type.</param>
    /// <param name="shape">Dimensions, each ≥ 0; <c>[]</c> for a scalar.</param>
    /// <param name="data">Exactly <c>product(shape) · dtype.SizeInBytes()</c> little-endian bytes.</param>
    /// <exception cref="ArgumentException">The name is empty or reserved, a dimension is negative, the element count overflows, or the data length does not match.</exception>
    public SafetensorsTensor(string name, SafetensorsDtype dtype, long[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (name.Length == 0 || name == Safetensors.MetadataKey)
        {
            throw new ArgumentException(
                $"A safetensors tensor name must be non-empty and not \"{Safetensors.MetadataKey}\", but got \"{name}\".",
                nameof(name));
        }

        long byteCount = ByteCountOrThrow(name, dtype, shape);
        if (data.LongLength != byteCount)
        {
            throw new ArgumentException(
                $"Tensor '{name}' has shape {FormatShape(shape)} and dtype {dtype.ToFileName()}, so it needs " +
                $"{byteCount:N0} bytes, but {data.LongLength:N0} bytes were given.",
                nameof(data));
        }

        Name = name;
        Dtype = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>The key in the file.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public SafetensorsDtype Dtype { get; }

    /// <summary>Row-major dimensions; empty for a scalar.</summary>
    public long[] Shape { get; }

    /// <summary>The raw little-endian element bytes.</summary>
    public byte[] Data { get; }

    /// <summary>Number of elements: the product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount => Data.LongLength / Dtype.SizeInBytes();

    /// <summary>Creates an F32 tensor from float values (copied).</summary>
    /// <exception cref="ArgumentException">The value count is not the product of the shape.</exception>
    public static SafetensorsTensor FromFloats(string name, long[] shape, ReadOnlySpan<float> values)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckCount(name, shape, values.Length, "float");
        var data = new byte[checked((long)values.Length * sizeof(float))];
        if (BitConverter.IsLittleEndian)
        {
            MemoryMarshal.AsBytes(values).CopyTo(data);
        }
        else
        {
            for (int i = 0; i < values.Length; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(data.AsSpan(i * sizeof(float)), values[i]);
            }
        }

        return new SafetensorsTensor(name, SafetensorsDtype.F32, shape, data);
    }

    /// <summary>Creates an I64 tensor from long values (copied).</summary>
    /// <exception cref="ArgumentException">The value count is not the product of the shape.</exception>
    public static SafetensorsTensor FromInt64s(string name, long[] shape, ReadOnlySpan<long> values)
    {
        ArgumentNullException.ThrowIfNull(shape);
        CheckCount(name, shape, values.Length, "long");
        var data = new byte[checked((long)values.Length * sizeof(long))];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * sizeof(long)), values[i]);
        }

        return new SafetensorsTensor(name, SafetensorsDtype.I64, shape, data);
    }

    /// <summary>Copies the elements of an F32 tensor into a new float array.</summary>
    /// <exception cref="InvalidOperationException">The dtype is not F32.</exception>
    public float[] ToFloats()
    {
        RequireDtype(SafetensorsDtype.F32);
        var values = new float[Data.Length / sizeof(float)];
        if (BitConverter.IsLittleEndian)
        {
            Data.AsSpan().CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        else
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(i * sizeof(float)));
            }
        }

        return values;
    }

    /// <summary>Copies the elements of an I64 tensor into a new long array.</summary>
    /// <exception cref="InvalidOperationException">The dtype is not I64.</exception>
    public long[] ToInt64s()
    {
        RequireDtype(SafetensorsDtype.I64);
        var values = new long[Data.Length / sizeof(long)];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(i * sizeof(long)));
        }

        return values;
    }

    /// <summary>Formats a shape as <c>[120, 400]</c>.</summary>
    internal static string FormatShape(IEnumerable<long> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";

    /// <summary>Product of the shape times the element size, or null when a dimension is negative or the product overflows a long.</summary>
    internal static long? TryByteCount(SafetensorsDtype dtype, long[] shape, out long elementCount)
    {
        elementCount = 1;
        foreach (long d in shape)
        {
            if (d < 0)
            {
                return null;
            }

            // numel·size in checked long arithmetic: an overflow is a malformed file, not a crash.
            if (d != 0 && elementCount > long.MaxValue / d)
            {
                return null;
            }

            elementCount *= d;
        }

        int size = dtype.SizeInBytes();
        if (elementCount > long.MaxValue / size)
        {
            return null;
        }

        return elementCount * size;
    }

    private static long ByteCountOrThrow(string name, SafetensorsDtype dtype, long[] shape)
    {
        foreach (long d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException(
                    $"Tensor '{name}' has a negative dimension in shape {FormatShape(shape)}; dimensions must be ≥ 0.",
                    nameof(shape));
            }
        }

        return TryByteCount(dtype, shape, out _) ?? throw new ArgumentException(
            $"Tensor '{name}' shape {FormatShape(shape)} with dtype {dtype.ToFileName()} has more bytes than a 64-bit count can hold.",
            nameof(shape));
    }

    private static void CheckCount(string name, long[] shape, int count, string what)
    {
        long? expected = TryByteCount(SafetensorsDtype.U8, shape, out long elements) is null ? null : elements;
        if (expected != count)
        {
            throw new ArgumentException(
                $"Tensor '{name}' has shape {FormatShape(shape)} ({(expected is null ? "invalid" : expected.Value.ToString("N0", CultureInfo.InvariantCulture))} elements) " +
                $"but {count:N0} {what} values were given.",
                nameof(shape));
        }
    }

    private void RequireDtype(SafetensorsDtype expected)
    {
        if (Dtype != expected)
        {
            throw new InvalidOperationException(
                $"Tensor '{Name}' has dtype {Dtype.ToFileName()}, but {expected.ToFileName()} was expected.");
        }
    }
}
