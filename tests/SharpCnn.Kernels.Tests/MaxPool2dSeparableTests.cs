namespace SharpCnn.Kernels.Tests;

/// <summary>
/// Max pooling without indices (<see cref="Pool2d.MaxForwardValues"/>, <see cref="Pool2d.MaxSeparableVariantName"/>):
/// bit for bit the indexed forward's output (ties between −0 and +0, NaN payloads, ±∞, padding, ceil mode), equal
/// to the reference, and the same for 1, 2 and 3 threads.
/// </summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class MaxPool2dSeparableTests
{
    // n, c, h, w, kh, kw, sh, sw, pad h, pad w, ceil.
    public static TheoryData<int[], bool> Configs => new()
    {
        { [2, 3, 33, 40, 3, 3, 2, 2, 1, 1], false },  // ResNet's 3×3 stride 2 pad 1, odd height
        { [1, 2, 20, 37, 3, 3, 2, 2, 1, 1], true },   // odd width, ceil mode
        { [1, 2, 19, 36, 3, 3, 2, 2, 1, 1], true },   // ceil mode, odd height, even width
        { [1, 2, 7, 5, 3, 3, 2, 2, 1, 1], false },    // narrower than one vector
        { [1, 1, 9, 64, 3, 3, 2, 2, 1, 1], false },   // 32 outputs per row: whole vectors, no tail
        { [1, 3, 10, 41, 2, 2, 2, 2, 1, 1], true },   // 2×2 with padding
        { [1, 2, 12, 45, 3, 4, 1, 2, 1, 2], false },  // even kernel width, vertical stride 1, horizontal padding 2
        { [1, 1, 7, 50, 5, 5, 3, 2, 2, 2], false },   // 5×5, vertical stride 3
        { [1, 2, 8, 40, 1, 3, 1, 2, 0, 1], false },   // one row per window
        { [2, 2, 6, 6, 2, 2, 2, 2, 0, 0], false },    // tiled 2×2
        { [1, 2, 11, 13, 3, 3, 1, 1, 1, 1], false },  // horizontal stride 1: the indexed variants run
    };

    [Theory]
    [MemberData(nameof(Configs))]
    public void MaxForwardValues_AnyThreadCount_EqualsIndexedForwardBitwise(int[] s, bool ceil)
    {
        var g = new Pool2dGeometry(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], 1, 1, ceil);
        g.Validate();
        bool separable = s[7] == 2 && System.Runtime.Intrinsics.X86.Avx512F.IsSupported;
        Assert.Equal(separable ? Pool2d.MaxSeparableVariantName : Pool2d.SelectedMaxVariant(g), Pool2d.SelectedMaxValuesVariant(g));
        float[] x = TestUtil.RandomGrid(g.InputLength, 8);
        for (int i = 0; i < x.Length; i += 7)
        {
            x[i] = (i / 7 % 7) switch
            {
                0 => BitConverter.Int32BitsToSingle(0x7FC00000 | (i & 0xFFFF)), // NaNs with distinct payloads: the last one wins
                1 => float.NegativeInfinity,
                2 => float.PositiveInfinity,
                3 => -0f,
                4 => 0f,
                _ => x[Math.Max(0, i - 2)],
            };
        }

        var expected = new float[g.OutputLength];
        var arg = new int[g.OutputLength];
        var yr = new double[g.OutputLength];
        Pool2dReference.MaxForward<double>(TestUtil.ToDouble(x), g, yr, new int[g.OutputLength]);
        int keep = KernelParallel.MaxThreads;
        try
        {
            KernelParallel.MaxThreads = 1;
            Pool2d.MaxForward(x, g, expected, arg);
            foreach (int threads in new[] { 1, 2, 3 })
            {
                KernelParallel.MaxThreads = threads;
                float[] y = TestUtil.Random(g.OutputLength, 5); // garbage: must be overwritten
                Pool2d.MaxForwardValues(x, g, y);
                for (int i = 0; i < y.Length; i++)
                {
                    Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(y[i]),
                        $"{threads} threads: output {i} is {y[i]} (0x{BitConverter.SingleToInt32Bits(y[i]):X8}), the indexed forward gives {expected[i]} (0x{BitConverter.SingleToInt32Bits(expected[i]):X8})");
                    Assert.True(y[i].Equals((float)yr[i]), $"{threads} threads: output {i} is {y[i]} but the reference gives {yr[i]}");
                }
            }
        }
        finally
        {
            KernelParallel.MaxThreads = keep;
        }
    }

    [Fact]
    public void MaxForwardValues_ScalarForced_RunsIndexedVariantWithSameValues()
    {
        var g = new Pool2dGeometry(1, 2, 15, 21, 3, 3, 2, 2, 1, 1);
        float[] x = TestUtil.Random(g.InputLength, 9);
        var expected = new float[g.OutputLength];
        Pool2d.MaxForward(x, g, expected, new int[g.OutputLength]);
        var y = new float[g.OutputLength];
        try
        {
            Pool2d.ForceScalarOverride = true;
            Assert.Equal(Pool2d.MaxScalarVariantName, Pool2d.SelectedMaxValuesVariant(g));
            Pool2d.MaxForwardValues(x, g, y);
        }
        finally
        {
            Pool2d.ForceScalarOverride = null;
        }

        Assert.Equal(expected, y);
    }

    [Fact]
    public void MaxForwardValues_WrongOutputLength_ThrowsNamingIt()
    {
        var g = new Pool2dGeometry(1, 2, 8, 8, 3, 3, 2, 2, 1, 1);
        ArgumentException e = Assert.Throws<ArgumentException>(() => Pool2d.MaxForwardValues(new float[g.InputLength], g, new float[g.OutputLength + 1]));
        Assert.Contains("output", e.Message, StringComparison.Ordinal);
    }
}
