using System.Buffers.Binary;

namespace SharpCnn.Serialization;

/// <summary>Converts safetensors elements to the library's float32 values.</summary>
internal static class SafetensorsConversions
{
    /// <summary>True for the dtypes <see cref="ToSingles"/> converts: F32, F64, F16, BF16, and with integers I64, I32.</summary>
    public static bool CanConvert(SafetensorsDtype dtype, bool allowIntegers) => dtype switch
    {
        SafetensorsDtype.F32 or SafetensorsDtype.F64 or SafetensorsDtype.F16 or SafetensorsDtype.BF16 => true,
        SafetensorsDtype.I64 or SafetensorsDtype.I32 => allowIntegers,
        _ => false,
    };

    /// <summary>
    /// Writes the elements as float32 into <paramref name="destination"/> (rounded to nearest: F64 and integers
    /// beyond 2²⁴ lose precision; F16 and BF16 widen exactly).
    /// </summary>
    /// <exception cref="InvalidOperationException">The dtype is not one <see cref="CanConvert"/> accepts with integers.</exception>
    public static void ToSingles(SafetensorsTensor tensor, Span<float> destination)
    {
        ReadOnlySpan<byte> d = tensor.Data;
        int n = checked((int)tensor.ElementCount);
        if (destination.Length != n)
        {
            throw new ArgumentException($"Tensor '{tensor.Name}' has {n} elements but the destination holds {destination.Length}.", nameof(destination));
        }

        switch (tensor.Dtype)
        {
            case SafetensorsDtype.F32:
                for (int i = 0; i < n; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(d[(i * 4)..]);
                }

                break;
            case SafetensorsDtype.F64:
                for (int i = 0; i < n; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(d[(i * 8)..]);
                }

                break;
            case SafetensorsDtype.F16:
                for (int i = 0; i < n; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(d[(i * 2)..]);
                }

                break;
            case SafetensorsDtype.BF16:
                // bfloat16 is the upper half of a float32.
                for (int i = 0; i < n; i++)
                {
                    destination[i] = BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(d[(i * 2)..]) << 16);
                }

                break;
            case SafetensorsDtype.I64:
                for (int i = 0; i < n; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt64LittleEndian(d[(i * 8)..]);
                }

                break;
            case SafetensorsDtype.I32:
                for (int i = 0; i < n; i++)
                {
                    destination[i] = BinaryPrimitives.ReadInt32LittleEndian(d[(i * 4)..]);
                }

                break;
            default:
                throw new InvalidOperationException($"Tensor '{tensor.Name}' has dtype {tensor.Dtype.ToFileName()}, which cannot be converted to float32.");
        }
    }
}
