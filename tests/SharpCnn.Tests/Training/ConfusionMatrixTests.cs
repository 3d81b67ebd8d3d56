using SharpCnn.Training;

namespace SharpCnn.Tests.Training;

public class ConfusionMatrixTests
{
    // actual:    0 0 0 1 1 2
    // predicted: 0 0 1 1 2 2
    private static ConfusionMatrix Sample()
    {
        var m = new ConfusionMatrix(3);
        foreach ((int a, int p) in new[] { (0, 0), (0, 0), (0, 1), (1, 1), (1, 2), (2, 2) })
        {
            m.Add(a, p);
        }

        return m;
    }

    [Fact]
    public void Counts_PrecisionRecallF1_MatchHandComputation()
    {
        ConfusionMatrix m = Sample();
        Assert.Equal((6L, 4L), (m.Total, m.Correct));
        Assert.Equal(2L, m[0, 0]);
        Assert.Equal(1L, m[0, 1]);
        Assert.Equal(0L, m[1, 0]);
        Assert.Equal((3L, 2L, 1L), (m.Support(0), m.Support(1), m.Support(2)));
        Assert.Equal((2L, 2L, 2L), (m.Predicted(0), m.Predicted(1), m.Predicted(2)));
        // class 0: tp 2, predicted 2, actual 3; class 1: tp 1, predicted 2, actual 2; class 2: tp 1, predicted 2, actual 1.
        Assert.Equal(1.0, m.Precision(0));
        Assert.Equal(2.0 / 3, m.Recall(0), 12);
        Assert.Equal(0.8, m.F1(0), 12);
        Assert.Equal((0.5, 0.5, 0.5), (m.Precision(1), m.Recall(1), m.F1(1)));
        Assert.Equal((0.5, 1.0), (m.Precision(2), m.Recall(2)));
        Assert.Equal(2.0 / 3, m.F1(2), 12);
        Assert.Equal((0.8 + 0.5 + (2.0 / 3)) / 3, m.MacroF1, 12);
        Assert.Equal(4.0 / 6, m.Accuracy, 12);
    }

    [Fact]
    public void Precision_ClassNeverPredicted_IsZero()
    {
        var m = new ConfusionMatrix(2);
        m.Add(1, 0);
        Assert.Equal((0.0, 0.0, 0.0), (m.Precision(1), m.Recall(0), m.F1(1)));
    }

    [Fact]
    public void AddLogits_ArgmaxWithTiesToLowestIndex()
    {
        var m = new ConfusionMatrix(3);
        m.Add(Tensor.FromArray([1f, 1f, 0f, 0f, 2f, 3f], 2, 3), Tensor.FromArray([1f, 2f]));
        Assert.Equal(1L, m[1, 0]);
        Assert.Equal(1L, m[2, 2]);
    }

    [Fact]
    public void Add_WrongShapeOrClass_ClearErrors()
    {
        var m = new ConfusionMatrix(3);
        var e = Assert.Throws<ArgumentException>(() => m.Add(Tensor.Zeros(2, 4), Tensor.FromArray([0f, 1f])));
        Assert.Contains("(N, 3)", e.Message, StringComparison.Ordinal);
        Assert.Contains("[2, 4]", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Add(3, 0));
        Assert.Throws<ArgumentException>(() => m.ToTable(["a", "b"]));
    }

    [Fact]
    public void ToTable_AlignedWithNames()
    {
        string[] lines = Sample().ToTable(["cat", "dog", "bird"]).TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.Equal(lines[0].Length, l.Length));
        Assert.StartsWith("actual \\ predicted  cat  dog  bird", lines[0], StringComparison.Ordinal);
        Assert.Equal("cat                   2    1     0", lines[1]);
        Assert.Equal("bird                  0    0     1", lines[3]);
    }

    [Fact]
    public void ToClassReport_RowPerClassThenAccuracyAndMacro()
    {
        string[] lines = Sample().ToClassReport().TrimEnd('\n').Split('\n');
        Assert.Equal(6, lines.Length);
        Assert.Equal("0             1.0000     0.6667     0.8000          3", lines[1]);
        Assert.StartsWith("accuracy", lines[4], StringComparison.Ordinal);
        Assert.EndsWith("0.6667          6", lines[4], StringComparison.Ordinal);
        Assert.StartsWith("macro avg", lines[5], StringComparison.Ordinal);
    }

    [Fact]
    public void ToCsv_QuotesNamesWithCommas()
    {
        var m = new ConfusionMatrix(2);
        m.Add(0, 1);
        Assert.Equal("actual\\predicted,\"a,b\",\"say \"\"hi\"\"\"\n\"a,b\",0,1\n\"say \"\"hi\"\"\",0,0\n", m.ToCsv(["a,b", "say \"hi\""]));
    }

    [Fact]
    public void CountTopK_AgainstBruteForce_AndTop1EqualsCountCorrect()
    {
        var g = new Generator(4);
        const int N = 50, C = 7;
        var logits = new float[N * C];
        var targets = new float[N];
        for (int i = 0; i < logits.Length; i++)
        {
            // Few distinct values, so ties are common.
            logits[i] = g.NextInt(4);
        }

        for (int i = 0; i < N; i++)
        {
            targets[i] = g.NextInt(C);
        }

        Tensor l = Tensor.FromArray(logits, N, C), t = Tensor.FromArray(targets);
        for (int k = 1; k <= C; k++)
        {
            long expected = 0;
            for (int i = 0; i < N; i++)
            {
                // Sort classes by (value descending, index ascending) and look for the target among the first k.
                int[] order = [.. Enumerable.Range(0, C).OrderByDescending(j => logits[(i * C) + j]).ThenBy(j => j)];
                expected += order.Take(k).Contains((int)targets[i]) ? 1 : 0;
            }

            Assert.Equal(expected, RunningMetrics.CountTopK(l, t, k));
        }

        Assert.Equal(RunningMetrics.CountCorrect(l, t), RunningMetrics.CountTopK(l, t, 1));
        Assert.Equal(N, RunningMetrics.CountTopK(l, t, C));
    }
}
