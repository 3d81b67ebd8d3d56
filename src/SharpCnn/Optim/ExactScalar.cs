namespace SharpCnn.Optim;

/// <summary>
/// Stores a double in a float32 tensor without loss: element 0 is the value rounded to float, elements 1
/// and 2 the float-rounded remainders, and their sum in double is the original value. A double has 53
/// significant bits and three floats hold 72, so the split is exact for zero and for magnitudes between
/// about 1e-29 and 3e38 (every learning rate, momentum and counter a run uses). Element 0 alone reads as
/// the value when a checkpoint is inspected.
/// </summary>
internal static class ExactScalar
{
    public static Tensor Encode(double value)
    {
        float hi = (float)value;
        double r1 = value - hi;
        float mid = (float)r1;
        float lo = (float)(r1 - mid);
        return new Tensor([hi, mid, lo], 3);
    }

    public static double Decode(Tensor t, string key)
    {
        if (t.Rank != 1 || t.Numel != 3)
        {
            throw new InvalidDataException(
                $"State key '{key}' must be an exact scalar of shape (3) but has shape {Shapes.Format(t.ShapeSpan)}.");
        }

        ReadOnlySpan<float> d = t.Data;
        return (double)d[0] + d[1] + d[2];
    }
}
