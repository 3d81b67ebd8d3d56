using System.Globalization;
using System.Text.RegularExpressions;
using SharpCnn.Cli.Report;

namespace SharpCnn.Cli.Tests.Report;

/// <summary>A LeNet-5 trained for two epochs on synthetic MNIST, shared by the report tests.</summary>
public sealed class TrainedRunFixture : IDisposable
{
    public TrainedRunFixture()
    {
        SyntheticMnist.Write(Data, trainCount: 256, testCount: 64);
        ReportTestRun.Train(Data, Run);
    }

    public string Root { get; } = Directory.CreateTempSubdirectory("sharpcnn-report-").FullName;

    public string Data => Path.Combine(Root, "mnist");

    public string Run => Path.Combine(Root, "run");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}

[Collection("cli-training")]
public sealed partial class ReportCommandTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>, IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("sharpcnn-report-case-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    private static (int Code, string Out, string Err) Cli(params string[] args) => ReportTestRun.Cli(args);

    [GeneratedRegex(@"test accuracy: (\d+\.\d\d)%")]
    private static partial Regex AccuracyLine();

    private string Report(string runDir, params string[] extra)
    {
        string output = Path.Combine(_scratch, $"report-{Guid.NewGuid():N}.html");
        (int code, string stdout, string stderr) = Cli(["report", runDir, "--data-dir", run.Data, "--out", output, .. extra]);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains($"report: {output}", stdout, StringComparison.Ordinal);
        return File.ReadAllText(output);
    }

    [Fact]
    public void Report_TrainedRun_EverySectionAndImage()
    {
        string html = Report(run.Run);
        Assert.Equal(RunReport.SectionIds, ReportTestRun.Sections(html));

        // The mistakes the eval command finds on the same checkpoint (64 test images).
        (int code, string evalOut, _) = Cli("eval", "--checkpoint", Path.Combine(run.Run, "best.safetensors"), "--data-dir", run.Data);
        Assert.Equal(0, code);
        double accuracy = double.Parse(AccuracyLine().Match(evalOut).Groups[1].Value, CultureInfo.InvariantCulture);
        int wrong = (int)Math.Round(64 * (1 - (accuracy / 100)));
        Assert.Contains($"of 64 test images ({wrong} wrong)", html, StringComparison.Ordinal);

        var images = ReportTestRun.Images(html);
        Assert.All(images, i => Assert.Equal(i.Png, (i.Width, i.Height)));
        Assert.Equal(2, ReportTestRun.Images(ReportTestRun.Section(html, "curves")).Count);
        Assert.Single(ReportTestRun.Images(ReportTestRun.Section(html, "lr")));
        Assert.Equal((Charts.Width, Charts.Height), images[0].Png);

        // Six 5×5 filters enlarged 13× (≥ 64 px) in one row, 2-pixel gaps.
        Assert.Equal([(2 + (6 * 67), 2 + 67)], ReportTestRun.Images(ReportTestRun.Section(html, "filters")).Select(i => i.Png));

        // The input (28 px × 4), then 6 maps of 28×28 (× 2) in one row and 16 maps of 10×10 (× 6) in two rows of 8.
        Assert.Equal(
            [(116, 116), (2 + (6 * 58), 2 + 58), (2 + (8 * 62), 2 + (2 * 62))],
            ReportTestRun.Images(ReportTestRun.Section(html, "features")).Select(i => i.Png));
        Assert.Contains("<code>features.1</code> ReLU after features.0 (Conv2d) — 6×28×28", html, StringComparison.Ordinal);
        Assert.Contains("<code>features.4</code> ReLU after features.3 (Conv2d) — 16×10×10", html, StringComparison.Ordinal);

        var gallery = ReportTestRun.Images(ReportTestRun.Section(html, "mistakes"));
        Assert.Equal(Math.Min(32, wrong), gallery.Count);
        Assert.All(gallery, i => Assert.Equal((2 + 84 + 2, 2 + 84 + 2), i.Png));

        // Self-contained: no script, no external reference.
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("http:", html, StringComparison.Ordinal);
        Assert.DoesNotContain("https:", html, StringComparison.Ordinal);
        Assert.Equal(images.Count, Regex.Count(html, "src=\"data:image/png;base64,"));

        // The summary; the confusion table's two header rows, ten class rows and the precision row.
        Assert.Contains("<strong>lenet5</strong>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>Parameters</dt><dd>61,706</dd>", html, StringComparison.Ordinal);
        Assert.Contains("<dt>seed</dt><dd><code>5</code></dd>", html, StringComparison.Ordinal);
        string confusion = ReportTestRun.Section(html, "confusion");
        Assert.Equal(13, Regex.Count(confusion[..confusion.IndexOf("</table>", StringComparison.Ordinal)], "<tr>"));
        Assert.Equal(wrong > 0, confusion.Contains("<h3>Most frequent confusions</h3>", StringComparison.Ordinal));
    }

    [Fact]
    public void Report_OneCycleRun_ReplaysTheScheduleThatMetricsRecorded()
    {
        string html = Report(run.Run);
        Assert.Contains("replayed from the recorded scheduler settings", ReportTestRun.Section(html, "lr"), StringComparison.Ordinal);

        // The replay agrees with what the trainer wrote (an independent record); a different record is refused.
        MetricsTable metrics = MetricsTable.Load(Path.Combine(run.Run, "metrics.csv"));
        var info = SharpCnn.Serialization.Checkpoint.Read(Path.Combine(run.Run, "last.safetensors")).Info;
        (int, double)[] recorded = [.. Enumerable.Range(0, metrics.Count).Select(i => ((int)metrics.Value(i, "epoch"), metrics.Value(i, "lr")))];
        int batches = (int)(info.GlobalStep / info.Epoch);
        Assert.Equal(4, batches); // 256 images in batches of 64
        double[]? rates = LrSchedule.Replay(info.HyperParameters, batches, recorded);
        Assert.NotNull(rates);
        Assert.Equal(8, rates.Length);
        Assert.True(rates[3] > rates[0] && rates[3] > rates[7]); // onecycle: up, then down
        Assert.Null(LrSchedule.Replay(info.HyperParameters, batches, [.. recorded.Select(r => (r.Item1, r.Item2 * 1.001))]));
        Assert.Null(LrSchedule.Replay(info.HyperParameters, batches + 1, recorded));
        Assert.Null(LrSchedule.Replay("{\"scheduler\":\"mystery\",\"lr\":\"0.1\",\"epochs\":\"2\"}", batches, recorded));
    }

    [Fact]
    public void Report_SameInputsTwice_ByteIdentical() =>
        Assert.Equal(Report(run.Run), Report(run.Run));

    [Fact]
    public void Report_DefaultOut_WritesIntoRunFolderAtomically()
    {
        string copy = Path.Combine(_scratch, "copy");
        Directory.CreateDirectory(copy);
        foreach (string f in Directory.GetFiles(run.Run))
        {
            File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
        }

        (int code, string output, string error) = Cli("report", copy, "--data-dir", run.Data, "--limit", "20");
        Assert.True(code == 0, output + error);
        string html = File.ReadAllText(Path.Combine(copy, "report.html"));
        Assert.Contains("of 20 test images", html, StringComparison.Ordinal);
        Assert.Contains("on 20 mnist test images", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(copy), f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void Report_CheckpointLast_InspectsLast()
    {
        string html = Report(run.Run, "--checkpoint", "last");
        Assert.Contains("<code>last.safetensors</code>: epoch 2", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_NoCheckpoint_CurvesOnlyWithNote()
    {
        string bare = Path.Combine(_scratch, "bare");
        Directory.CreateDirectory(bare);
        File.Copy(Path.Combine(run.Run, "metrics.csv"), Path.Combine(bare, "metrics.csv"));
        string html = Report(bare);
        Assert.Equal(["summary", "curves", "lr"], ReportTestRun.Sections(html));
        Assert.Contains("holds no checkpoint", html, StringComparison.Ordinal);
        Assert.Equal(3, ReportTestRun.Images(html).Count);
    }

    [Fact]
    public void Report_HeaderOnlyMetricsNoCheckpoint_NotesInsteadOfCharts()
    {
        string empty = Path.Combine(_scratch, "empty");
        Directory.CreateDirectory(empty);
        File.WriteAllText(Path.Combine(empty, "metrics.csv"), SharpCnn.Training.EpochMetrics.CsvHeader + "\n");
        string html = Report(empty);
        Assert.Equal(["summary", "curves", "lr"], ReportTestRun.Sections(html));
        Assert.Empty(ReportTestRun.Images(html));
        Assert.Contains("metrics.csv has no finite loss or accuracy values to plot.", html, StringComparison.Ordinal);
        Assert.Contains("metrics.csv records no learning rate yet.", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_ExtraMetricsColumn_ShownAndPlotted()
    {
        string extra = Path.Combine(_scratch, "extra");
        ReportTestRun.WriteUntrained(extra, "lenet5", metricsCsv:
            "epoch,train_loss,train_accuracy,test_loss,test_accuracy,test_top5_accuracy,lr,seconds\n1,2.3,0.1,2.3,0.1,0.5,0.1,1.5\n2,2.2,0.2,2.2,0.2,0.6,0.1,1.5\n");
        string html = Report(extra);
        Assert.Contains("<th>test top5 accuracy</th>", html, StringComparison.Ordinal);
        Assert.Contains("<td>60.00%</td>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_LeNet5Paper_InputPaddedTo32()
    {
        string paper = Path.Combine(_scratch, "paper");
        ReportTestRun.WriteUntrained(paper, "lenet5-paper");
        string html = Report(paper);
        Assert.Equal(RunReport.SectionIds, ReportTestRun.Sections(html));
        var features = ReportTestRun.Images(ReportTestRun.Section(html, "features"));
        Assert.Equal((2 + (32 * 4) + 2, 2 + (32 * 4) + 2), features[0].Png);
        Assert.Equal(3, features.Count);
        Assert.Contains("<code>c3</code> ConnectionTableConv2d — 16×10×10", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_Mlp_NotesThatThereIsNoConvolution()
    {
        string mlp = Path.Combine(_scratch, "mlp");
        ReportTestRun.WriteUntrained(mlp, "mlp");
        string html = Report(mlp);
        Assert.Contains("mlp has no convolution, so there are no filters to show.", html, StringComparison.Ordinal);
        Assert.Contains("mlp has no convolutional stage", html, StringComparison.Ordinal);
        Assert.Single(ReportTestRun.Images(ReportTestRun.Section(html, "features"))); // the input image only
    }

    [Fact]
    public void Report_MissingFolder_FailsNamingIt()
    {
        string missing = Path.Combine(_scratch, "nope");
        (int code, _, string error) = Cli("report", missing);
        Assert.Equal(1, code);
        Assert.Equal($"sharpcnn: error: run folder \"{missing}\" does not exist.", error.Trim());
    }

    [Fact]
    public void Report_BrokenMetrics_FailsNamingLine()
    {
        string broken = Path.Combine(_scratch, "broken");
        ReportTestRun.WriteUntrained(broken, "lenet5", metricsCsv: "epoch,train_loss,lr\n1,0.5,0.1\n2,0.4\n");
        (int code, _, string error) = Cli("report", broken, "--data-dir", run.Data);
        Assert.Equal(1, code);
        Assert.Contains("metrics.csv line 3: expected 3 comma-separated values (epoch,train_loss,lr) but found 2", error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(broken, "report.html")));
    }

    [Fact]
    public void Report_MissingMetrics_Fails()
    {
        string noMetrics = Path.Combine(_scratch, "nometrics");
        ReportTestRun.WriteUntrained(noMetrics, "lenet5");
        File.Delete(Path.Combine(noMetrics, "metrics.csv"));
        (int code, _, string error) = Cli("report", noMetrics, "--data-dir", run.Data);
        Assert.Equal(1, code);
        Assert.Contains("metrics.csv\" does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_CorruptCheckpoint_Fails()
    {
        string corrupt = Path.Combine(_scratch, "corrupt");
        ReportTestRun.WriteUntrained(corrupt, "lenet5");
        File.WriteAllBytes(Path.Combine(corrupt, "best.safetensors"), [1, 2, 3]);
        (int code, _, string error) = Cli("report", corrupt, "--data-dir", run.Data);
        Assert.Equal(1, code);
        Assert.Contains("is not a readable checkpoint", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_NamedCheckpointMissing_Fails()
    {
        (int code, _, string error) = Cli("report", run.Run, "--checkpoint", Path.Combine(_scratch, "x.safetensors"));
        Assert.Equal(1, code);
        Assert.Contains("x.safetensors\" does not exist", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_MissingData_FailsSuggestingDataDir()
    {
        (int code, _, string error) = Cli("report", run.Run, "--data-dir", Path.Combine(_scratch, "nodata"), "--out", Path.Combine(_scratch, "r.html"));
        Assert.Equal(1, code);
        Assert.Contains("pass --data-dir DIR", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new string[] { "report" }, "report needs a RUN_DIR")]
    [InlineData(new string[] { "report", "a", "b" }, "unexpected argument 'b'")]
    [InlineData(new string[] { "report", "a", "--limit", "0" }, "invalid value '0' for --limit")]
    [InlineData(new string[] { "report", "a", "--colour" }, "unknown option '--colour'")]
    public void Report_BadUsage_ExitCode2(string[] args, string message)
    {
        (int code, _, string error) = Cli(args);
        Assert.Equal(2, code);
        Assert.Contains(message, error, StringComparison.Ordinal);
        Assert.Contains("usage: sharpcnn report RUN_DIR", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Report_Help_PrintsUsageWithExamples()
    {
        (int code, string output, _) = Cli("report", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--checkpoint WHICH", output, StringComparison.Ordinal);
        Assert.Contains("examples:", output, StringComparison.Ordinal);
        Assert.Contains("report RUN_DIR", Cli("--help").Out, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_FromCode_ReturnsPathAndLogs()
    {
        var lines = new List<string>();
        string output = Path.Combine(_scratch, "api.html");
        string path = RunReport.Write(run.Run, new ReportOptions { DataDir = run.Data, Out = output, Limit = 10, Log = lines.Add });
        Assert.Equal(output, path);
        Assert.True(File.Exists(path));
        Assert.Equal(2, lines.Count);
        Assert.StartsWith("evaluating best.safetensors (lenet5) on 10 mnist test images", lines[0], StringComparison.Ordinal);
    }
}
