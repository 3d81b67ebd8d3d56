namespace SharpCnn.Vision.Datasets;

/// <summary>
/// The contents of an IDX file: the element type code, the dimensions and the raw C-order data.
/// </summary>
/// <param name="DataType">The IDX type byte; <see cref="Idx.UnsignedByte"/> (0x08) is the only one read today.</param>
/// <param name="Dims">Dimensions, 1 to 3 of them, each below 2^31 (e.g. [60000, 28, 28]).</param>
/// <param name="Data">Row-major elements; for 0x08, one byte each, <c>product(Dims)</c> bytes.</param>
public sealed record IdxArray(byte DataType, int[] Dims, byte[] Data)
{
    /// <summary>The 32-bit magic number: <c>DataType · 256 + Dims.Length</c> (2051 for MNIST images, 2049 for labels).</summary>
    public int Magic => (DataType << 8) | Dims.Length;
}
