using SharpCnn.Cli.Report;
using SharpCnn.Training;

namespace SharpCnn.Cli.Tests.Report;

public class MetricsTableTests
{
    // The header of runs written before the top-5 column was added (the parser must read both).
    private const string SevenColumnHeader = "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds";

    [Fact]
    public void Parse_TrainerFormat_ReadsEveryColumnByName()
    {
        string[] lines =
        [
            EpochMetrics.CsvHeader,
            new EpochMetrics(1, 0.5, 0.8, 0.25, 0.9, 0.05, 3.25).ToCsv(),
            new EpochMetrics(2, 0.125, 0.95, 0.0625, 0.97, 0.01, 2.5).ToCsv(),
        ];
        MetricsTable t = MetricsTable.Parse(lines, "metrics.csv");
        Assert.Equal(EpochMetrics.CsvHeader.Split(','), t.Columns);
        Assert.Equal(2, t.Count);
        Assert.Equal([1.0, 2.0], t.Column("epoch")!);
        Assert.Equal([0.9, 0.97], t.Column("test_accuracy")!);
        Assert.Equal([3.25, 2.5], t.Column("seconds")!);
        Assert.Equal(0.01, t.Value(1, "lr"));
    }

    [Fact]
    public void Parse_ExtraAndReorderedColumns_Tolerated()
    {
        string[] lines =
        [
            "test_top5_accuracy,epoch,train_loss,test_accuracy",
            "0.99,1,0.5,0.9",
            "",
            "1,2,0.25,NaN",
        ];
        MetricsTable t = MetricsTable.Parse(lines, "m.csv");
        Assert.Equal(2, t.Count);
        Assert.Equal([0.99, 1.0], t.Column("test_top5_accuracy")!);
        Assert.Equal([1.0, 2.0], t.Column("epoch")!);
        Assert.True(double.IsNaN(t.Value(1, "test_accuracy")));
        Assert.False(t.Has("lr"));
        Assert.Null(t.Column("lr"));
        Assert.True(double.IsNaN(t.Value(0, "lr")));
    }

    [Fact]
    public void Parse_HeaderOnly_NoRows()
    {
        MetricsTable t = MetricsTable.Parse([EpochMetrics.CsvHeader], "m.csv");
        Assert.Equal(0, t.Count);
        Assert.Empty(t.Column("train_loss")!);
    }

    [Fact]
    public void Parse_RowWithMissingCell_NamesLineAndExpectedColumns()
    {
        string[] lines = [SevenColumnHeader, "1,0.5,0.8,0.25,0.9,0.05,3.2", "2,0.4,0.85,0.2"];
        var e = Assert.Throws<InvalidDataException>(() => MetricsTable.Parse(lines, "run/metrics.csv"));
        Assert.Contains("run/metrics.csv line 3", e.Message, StringComparison.Ordinal);
        Assert.Contains("expected 7 comma-separated values", e.Message, StringComparison.Ordinal);
        Assert.Contains("found 4", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_CellNotANumber_NamesLineColumnAndValue()
    {
        string[] lines = [SevenColumnHeader, "1,0.5,0.8,oops,0.9,0.05,3.2"];
        var e = Assert.Throws<InvalidDataException>(() => MetricsTable.Parse(lines, "m.csv"));
        Assert.Equal("m.csv line 2, column \"test_loss\": \"oops\" is not a number.", e.Message);
    }

    [Theory]
    [InlineData("train_loss,test_loss", "has no \"epoch\" column")]
    [InlineData("epoch,,lr", "empty column name")]
    [InlineData("epoch,lr,lr", "column \"lr\" appears twice")]
    public void Parse_BadHeader_Throws(string header, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => MetricsTable.Parse([header, "1,2"], "m.csv"));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 1", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EmptyFile_SaysWhatWasExpected()
    {
        var e = Assert.Throws<InvalidDataException>(() => MetricsTable.Parse(["", "  "], "m.csv"));
        Assert.Contains("is empty", e.Message, StringComparison.Ordinal);
        Assert.Contains(EpochMetrics.CsvHeader, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFile_FileNotFound()
    {
        string path = Path.Combine(Path.GetTempPath(), $"sharpcnn-missing-{Guid.NewGuid():N}", "metrics.csv");
        var e = Assert.Throws<FileNotFoundException>(() => MetricsTable.Load(path));
        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }
}
