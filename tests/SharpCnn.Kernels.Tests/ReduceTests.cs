namespace SharpCnn.Kernels.Tests;

public class ReduceTests
{
    public static TheoryData<int, int, int> Shapes() => new()
    {
        { 1, 1, 1 }, { 1, 7, 1 }, { 3, 5, 1 }, { 2, 3, 17 }, { 1, 70, 33 }, { 4, 1, 9 }, { 0, 3, 2 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void SumAlong_MatchesReference(int outer, int dim, int inner)
    {
        float[] x = TestUtil.Random(outer * dim * inner, seed: outer + (dim * 7) + inner);
        var y = new float[outer * inner];
        var expected = new double[outer * inner];
        Reduce.SumAlong(x, outer, dim, inner, y);
        ReduceReference.SumAlong<double>(TestUtil.ToDouble(x), outer, dim, inner, expected);
        TestUtil.AssertClose(y, expected, "sum");
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MaxAlong_MatchesReference_OnTiesToo(int outer, int dim, int inner)
    {
        // A 1/16 grid makes ties common, so the first-maximum rule is exercised.
        float[] x = TestUtil.RandomGrid(outer * dim * inner, seed: 3 + outer + dim + inner);
        var values = new float[outer * inner];
        var indices = new int[outer * inner];
        var expectedValues = new double[outer * inner];
        var expectedIndices = new int[outer * inner];
        Reduce.MaxAlong(x, outer, dim, inner, values, indices);
        ReduceReference.MaxAlong<double>(TestUtil.ToDouble(x), outer, dim, inner, expectedValues, expectedIndices);
        TestUtil.AssertClose(values, expectedValues, "max");
        Assert.Equal(expectedIndices, indices);
    }

    [Fact]
    public void MaxAlong_NaN_IsTheMaximum_FirstNaNWins()
    {
        float[] x = [1f, float.NaN, 5f, float.NaN];
        var v = new float[1];
        var i = new int[1];
        Reduce.MaxAlong(x, 1, 4, 1, v, i);
        Assert.True(float.IsNaN(v[0]));
        Assert.Equal(1, i[0]);
    }

    [Fact]
    public void SumAlong_WrongLength_NamesShape()
    {
        var e = Assert.Throws<ArgumentException>(() => Reduce.SumAlong(new float[5], 2, 3, 1, new float[2]));
        Assert.Contains("[outer 2, dim 3, inner 1]", e.Message, StringComparison.Ordinal);
    }
}
