namespace SharpCnn.Kernels.Tests;

/// <summary>
/// The training forward takes a plane's Σx and Σ(x − x̄)² in one pass (<see cref="BatchNormVector.Moments"/>), each
/// lane shifted by one of its own values, and combines the planes of a channel (<see cref="BatchNormVector.Combine"/>).
/// Checked against a two-pass double reference, including the layouts that break a naive one-pass Σx² − (Σx)²/n.
/// </summary>
public class BatchNormMomentsTests
{
    public static TheoryData<int> Lengths => [1, 2, 7, 15, 16, 17, 63, 64, 65, 100, 1023, 1024, 1025, 3136, 4099];

    [Theory]
    [MemberData(nameof(Lengths))]
    public unsafe void Moments_RandomAndOffsetPlanes_MatchTwoPassDoubleReference(int len)
    {
        // Values around 0, and the same spread around 1000 (a one-pass sum of squares without a shift loses every
        // digit of the variance there: 1e6·len against a spread of about len).
        foreach (float offset in new[] { 0f, 1000f })
        {
            float[] x = TestUtil.Random(len, 900 + len);
            for (int i = 0; i < len; i++)
            {
                x[i] += offset;
            }

            (double sum, double m2) = Reference(x);
            fixed (float* p = x)
            {
                (double s, double q) = BatchNormVector.Moments(p, len);
                Assert.True(Math.Abs(s - sum) <= 1e-6 * AbsSum(x), $"len {len} offset {offset}: Σx {s} against {sum}");
                Assert.True(Math.Abs(q - m2) <= 1e-5 * m2 + 1e-9, $"len {len} offset {offset}: Σ(x − x̄)² {q} against {m2}");
            }
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(3136)]
    [InlineData(4099)]
    public unsafe void Moments_OutlierAsEveryLanesShift_KeepsTheVarianceToAFloatSumOfTheLaneCount(int len)
    {
        // Every lane's shift (its first value) is an outlier 1e4 away from all the other values, which are nearly
        // equal: Σ(x − K)² is then about count·1e8 per lane, for squared deviations of about 1e8 in all. The error stays
        // within a float sum of each lane's count (≤ 257 values here): 2⁻²⁴·257·4 ≈ 6e-5 of the result.
        float[] x = new float[len];
        for (int i = 0; i < len; i++)
        {
            x[i] = i < 16 ? 1e4f : 1f + (1e-3f * (i % 7));
        }

        (double sum, double m2) = Reference(x);
        fixed (float* p = x)
        {
            (double s, double q) = BatchNormVector.Moments(p, len);
            Assert.True(Math.Abs(s - sum) <= 1e-6 * AbsSum(x), $"len {len}: Σx {s} against {sum}");
            Assert.True(Math.Abs(q - m2) <= 1e-4 * m2, $"len {len}: Σ(x − x̄)² {q} against {m2}");
        }
    }

    [Fact]
    public unsafe void Combine_PlanesWithDifferentMeans_MatchesTwoPassOverTheChannel()
    {
        // Five planes of 300 values whose means differ by 10: most of the channel's variance is the planes' spread.
        const int Planes = 5, Len = 300;
        float[] x = TestUtil.Random(Planes * Len, 950);
        for (int i = 0; i < x.Length; i++)
        {
            x[i] += 10f * (i / Len);
        }

        (double sum, double m2) = Reference(x);
        double* sums = stackalloc double[Planes];
        double* m2s = stackalloc double[Planes];
        fixed (float* p = x)
        {
            for (int s = 0; s < Planes; s++)
            {
                (sums[s], m2s[s]) = BatchNormVector.Moments(p + (s * Len), Len);
            }
        }

        (float mean, double q) = BatchNormVector.Combine(sums, m2s, Planes, Len);
        Assert.Equal((float)(sum / x.Length), mean);
        Assert.True(Math.Abs(q - m2) <= 1e-6 * m2, $"Σ(x − μ)² {q} against {m2}");
    }

    /// <summary>
    /// What Σx's rounding is measured against: each lane sums x − K (K its first value; 16 lanes for Vector512, 8 for
    /// Vector256) as float sums of at most 16 terms widened to double, which stay within about 2⁻²⁴·16 of Σ|x − K|;
    /// the scalar tail sums |x|. Bounded here by all three.
    /// </summary>
    private static double AbsSum(float[] x)
    {
        double total = 0;
        for (int i = 0; i < x.Length; i++)
        {
            total += Math.Abs(x[i]) + Math.Abs(x[i] - x[i % 16]) + Math.Abs(x[i] - x[i % 8]);
        }

        return total;
    }

    private static (double Sum, double M2) Reference(float[] x)
    {
        double sum = 0;
        foreach (float v in x)
        {
            sum += v;
        }

        double mean = sum / x.Length, m2 = 0;
        foreach (float v in x)
        {
            m2 += (v - mean) * (v - mean);
        }

        return (sum, m2);
    }
}
