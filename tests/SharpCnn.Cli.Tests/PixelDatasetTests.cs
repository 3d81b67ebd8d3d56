using SharpCnn.Cli.Experiments;
using SharpCnn.Data;
using SharpCnn.Nn;

namespace SharpCnn.Cli.Tests;

/// <summary>The dataset wrappers of the experiments: the pixel permutation and the shifts.</summary>
public class PixelDatasetTests
{
    /// <summary>n samples of shape (c, h, w) whose value at flat position p of sample i is 1000·i + p.</summary>
    private static TensorDataset Indexed(int n, int c, int h, int w)
    {
        int size = c * h * w;
        var data = new float[n * size];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (1000 * (i / size)) + (i % size);
        }

        return new TensorDataset(Tensor.FromArray(data, n, c, h, w), [.. Enumerable.Range(0, n).Select(i => i % 10)]);
    }

    private static float[] Sample(IRowDataset d, int index)
    {
        var buffer = new float[d.SampleShape.Aggregate(1, (a, b) => a * b)];
        d.CopySample(index, buffer);
        return buffer;
    }

    [Fact]
    public void PermutationCreate_SameSeed_SameBijection()
    {
        int[] p = PermutedDataset.Create(784, 5);
        Assert.Equal(Enumerable.Range(0, 784), p.Order());
        Assert.Equal(p, PermutedDataset.Create(784, 5));
        Assert.NotEqual(p, PermutedDataset.Create(784, 6));
        Assert.True(p.Where((v, i) => v != i).Count() > 700, "a random permutation moves almost every pixel");
    }

    [Fact]
    public void PermutedDataset_CopySample_PixelJComesFromPermutationJ()
    {
        TensorDataset inner = Indexed(3, 1, 4, 5);
        int[] p = PermutedDataset.Create(20, 9);
        var permuted = new PermutedDataset(inner, p);
        for (int i = 0; i < 3; i++)
        {
            float[] original = Sample(inner, i), moved = Sample(permuted, i);
            Assert.Equal(p.Select(j => original[j]), moved);
            Assert.Equal(original.Order(), moved.Order());   // nothing lost or duplicated
        }

        Assert.Equal(inner.Get(2).Label, permuted.Get(2).Label);
        Assert.Equal([1, 4, 5], permuted.Get(0).Input.Shape);
    }

    [Fact]
    public void Shuffled_TrainAndTest_UseOnePermutation()
    {
        TensorDataset train = Indexed(4, 1, 28, 28), test = Indexed(2, 1, 28, 28);
        int[] p = PermutedDataset.Create(784, ShuffleExperiment.PermutationSeed(0));
        (PermutedDataset shuffledTrain, PermutedDataset shuffledTest) = ShuffleExperiment.Shuffled(train, test, p);
        Assert.Equal(shuffledTrain.Permutation, shuffledTest.Permutation);

        // Sample 1 holds the same pixels in both splits, so it must come out the same.
        Assert.Equal(Sample(shuffledTrain, 1), Sample(shuffledTest, 1));
        Assert.Equal(Sample(shuffledTrain, 1), Sample(shuffledTrain, 1));   // fixed, not redrawn per read
    }

    [Theory]
    [InlineData(new[] { 0, 1, 1 })]
    [InlineData(new[] { 0, 1 })]
    [InlineData(new[] { 0, 1, 3 })]
    public void PermutedDataset_NotAPermutation_Throws(int[] p)
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => new PermutedDataset(Indexed(1, 1, 1, 3), p));
        Assert.Contains("permutation", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PermuteColumns_LinearOnPermutedInput_SameOutput()
    {
        using IDisposable seeded = Generator.UseAsDefault(new Generator(3));
        var original = new Linear(12, 5);
        var permuted = new Linear(12, 5);
        original.Weight.Data.CopyTo(permuted.Weight.Data);
        original.Bias!.Data.CopyTo(permuted.Bias!.Data);
        int[] p = PermutedDataset.Create(12, 4);
        PermutedDataset.PermuteColumns(permuted.Weight, p);

        var x = new float[2 * 12];
        new Generator(8).FillNormal(x);
        float[] xp = [.. Enumerable.Range(0, 2 * 12).Select(i => x[((i / 12) * 12) + p[i % 12]])];
        float[] y = original.Call(Tensor.FromArray(x, 2, 12)).ToArray();
        float[] yp = permuted.Call(Tensor.FromArray(xp, 2, 12)).ToArray();
        for (int i = 0; i < y.Length; i++)
        {
            Assert.True(Math.Abs(y[i] - yp[i]) <= 1e-5 + (1e-4 * Math.Abs(y[i])), $"output {i}: {y[i]} vs {yp[i]}");
        }

        Assert.NotEqual(original.Weight.ToArray(), permuted.Weight.ToArray());
    }

    [Theory]
    [InlineData(1, 2)]     // down 1, right 2
    [InlineData(-2, 0)]    // up 2
    [InlineData(0, -3)]    // left 3
    [InlineData(3, -1)]
    public void ShiftedDataset_MovesContentAndFillsBackground(int down, int right)
    {
        TensorDataset inner = Indexed(2, 2, 4, 5);
        var shifted = new ShiftedDataset(inner, down, right, fill: -7f);
        float[] source = Sample(inner, 1), moved = Sample(shifted, 1);
        for (int c = 0; c < 2; c++)
        {
            for (int y = 0; y < 4; y++)
            {
                for (int x = 0; x < 5; x++)
                {
                    int sy = y - down, sx = x - right;
                    float expected = sy is >= 0 and < 4 && sx is >= 0 and < 5 ? source[(((c * 4) + sy) * 5) + sx] : -7f;
                    Assert.Equal(expected, moved[(((c * 4) + y) * 5) + x]);
                }
            }
        }
    }

    [Fact]
    public void ShiftedDataset_RightByOne_FirstColumnIsBackground()
    {
        TensorDataset inner = Indexed(1, 1, 3, 3);
        float[] moved = Sample(new ShiftedDataset(inner, 0, 1, fill: -1f), 0);
        Assert.Equal([-1, 0, 1, -1, 3, 4, -1, 6, 7], moved);
        Assert.Equal([-1, -1, -1, 0, 1, 2, 3, 4, 5], Sample(new ShiftedDataset(inner, 1, 0, fill: -1f), 0));
    }

    [Fact]
    public void ShiftedDataset_ZeroOrPastTheBorder_IdentityOrAllBackground()
    {
        TensorDataset inner = Indexed(1, 1, 3, 4);
        Assert.Equal(Sample(inner, 0), Sample(new ShiftedDataset(inner, 0, 0, 5f), 0));
        Assert.All(Sample(new ShiftedDataset(inner, 0, 4, 5f), 0), v => Assert.Equal(5f, v));
        Assert.All(Sample(new ShiftedDataset(inner, -3, 0, 5f), 0), v => Assert.Equal(5f, v));
    }

    [Fact]
    public void RandomShiftDataset_EachReadIsASeededShiftWithinRange()
    {
        TensorDataset inner = Indexed(40, 1, 8, 8);
        var a = new RandomShiftDataset(inner, 2, -1f, seed: 11);
        var b = new RandomShiftDataset(inner, 2, -1f, seed: 11);
        var offsets = new HashSet<(int, int)>();
        for (int read = 0; read < 3; read++)
        {
            for (int i = 0; i < inner.Count; i++)
            {
                (int down, int right) = a.Offset(i, read);
                Assert.InRange(down, -2, 2);
                Assert.InRange(right, -2, 2);
                offsets.Add((down, right));
                float[] got = Sample(a, i);
                Assert.Equal(Sample(new ShiftedDataset(inner, down, right, -1f), i), got);
                Assert.Equal(got, Sample(b, i));   // same seed, same read number: same shift
            }
        }

        Assert.True(offsets.Count >= 20, $"only {offsets.Count} of the 25 offsets drawn in 120 reads");
        Assert.NotEqual(Enumerable.Range(0, 40).Select(i => a.Offset(i, 0)), Enumerable.Range(0, 40).Select(i => a.Offset(i, 1)));
    }
}
