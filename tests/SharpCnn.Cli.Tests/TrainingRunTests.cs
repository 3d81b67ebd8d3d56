using System.Diagnostics;
using SharpCnn.Serialization;
using static SharpCnn.Cli.Tests.CliRunner;

namespace SharpCnn.Cli.Tests;

/// <summary>Pausing, resuming, crashing and diverging through the CLI, on tiny synthetic MNIST files written by the test.</summary>
[Collection("cli-training")]
public sealed class TrainingRunTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("sharpcnn-runs-").FullName;
    private readonly string _data;

    public TrainingRunTests()
    {
        _data = Path.Combine(_root, "mnist");
        SyntheticMnist.Write(_data);
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string[] TrainArgs(string run, params string[] extra) =>
        ["train", "--data-dir", _data, "--out", Path.Combine(_root, run), "--threads", "2", "--seed", "3", "--model", "mlp", "--limit", "128",
         "--progress", "plain", .. extra];

    [Fact]
    public void StopAfterEpoch1_ThenResumeRunFolder_SameMetricsAndBitIdenticalWeights()
    {
        string[] options = ["--epochs", "3", "--early-stop", "3", "--monitor", "test_loss", "--clip-grad", "0.5", "--label-smoothing", "0.1", "--keep", "2"];
        (int code, string output, string error) = Run(TrainArgs("full", options));
        Assert.True(code == 0, output + error);
        Assert.Contains("clip grad norm 0.5, early stop on test_loss after 3 epoch(s)", output, StringComparison.Ordinal);

        (code, output, error) = Run(TrainArgs("paused", [.. options, "--stop-after-epoch", "1"]));
        Assert.True(code == 0, output + error);
        Assert.Contains("paused after epoch 1 of 3 (--stop-after-epoch)", output, StringComparison.Ordinal);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(_root, "paused", "metrics.csv")).Length);

        // A run folder is enough to resume: its last.safetensors, with the recorded options (clipping, early stopping, ...).
        (code, output, error) = Run("train", "--resume", Path.Combine(_root, "paused"), "--data-dir", _data, "--threads", "2", "--progress", "plain");
        Assert.True(code == 0, output + error);
        Assert.Contains("resumed from", output, StringComparison.Ordinal);
        Assert.Contains("clip grad norm 0.5", output, StringComparison.Ordinal);
        Assert.Equal(Rows(Path.Combine(_root, "full")), Rows(Path.Combine(_root, "paused")));
        Assert.Equal(ModelTensors(Path.Combine(_root, "full", "last.safetensors")), ModelTensors(Path.Combine(_root, "paused", "last.safetensors")));
        Assert.Equal(
            Checkpoint.Read(Path.Combine(_root, "full", "last.safetensors")).Info.Extra.Where(kv => kv.Key.StartsWith("callback.", StringComparison.Ordinal)),
            Checkpoint.Read(Path.Combine(_root, "paused", "last.safetensors")).Info.Extra.Where(kv => kv.Key.StartsWith("callback.", StringComparison.Ordinal)));
        Assert.Equal(["epoch-002.safetensors", "epoch-003.safetensors"],
            Directory.GetFiles(Path.Combine(_root, "paused"), "epoch-*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// A child process is killed (Environment.FailFast, via the test-only SHARPCNN_TEST_CRASH_CHECKPOINT) while writing
    /// checkpoint file K of the run: 1-3 are epoch 1's epoch-001, last and best; 4 is epoch-002, 5 epoch 2's last.
    /// </summary>
    [Theory]
    [InlineData(4, ".epoch-002.safetensors.")]
    [InlineData(5, ".last.safetensors.")]
    public void KilledWhileWritingCheckpoint_ResumeUsesPreviousOne_RemovesTemp_EndsIdentical(int file, string tempPrefix)
    {
        Assert.Equal(0, Run(TrainArgs("reference", "--epochs", "3")).Code);

        string run = Path.Combine(_root, "crashed");
        (int exit, string childOut) = RunChild(file, TrainArgs("crashed", "--epochs", "3")[..]);
        Assert.True(exit != 0, childOut);
        Assert.Contains("simulated crash while writing a checkpoint", childOut, StringComparison.Ordinal);
        string temp = Assert.Single(Directory.GetFiles(run, ".*.tmp"));
        Assert.StartsWith(tempPrefix, Path.GetFileName(temp), StringComparison.Ordinal);
        Assert.Equal(1, Checkpoint.Read(Path.Combine(run, "last.safetensors")).Info.Epoch);
        // metrics.csv is written before the checkpoints: it already has epoch 2's row.
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run, "metrics.csv")).Length);

        (int code, string output, string error) = Run("train", "--resume", run, "--data-dir", _data, "--threads", "2", "--progress", "plain");
        Assert.True(code == 0, output + error);
        Assert.Contains($"resumed from {Path.Combine(run, "last.safetensors")}: 1 epoch(s) done", output, StringComparison.Ordinal);
        Assert.Contains($"removed {Path.GetFileName(temp)}: an unfinished write", output, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(run, ".*"));
        Assert.Equal(Rows(Path.Combine(_root, "reference")), Rows(run));
        Assert.Equal(ModelTensors(Path.Combine(_root, "reference", "last.safetensors")), ModelTensors(Path.Combine(run, "last.safetensors")));
    }

    private static (int Exit, string Output) RunChild(int crashFile, string[] args)
    {
        string cli = typeof(Program).Assembly.Location;
        string host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["SHARPCNN_TEST_CRASH_CHECKPOINT"] = $"{crashFile}:1000";
        start.Environment["DOTNET_DbgEnableMiniDump"] = "0";
        using Process child = Process.Start(start)!;
        Task<string> stdout = child.StandardOutput.ReadToEndAsync();
        Task<string> stderr = child.StandardError.ReadToEndAsync();
        Assert.True(child.WaitForExit(TimeSpan.FromMinutes(3)), "the child process did not end");
        return (child.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void HugeLearningRate_StopsWithPositionAndLoss_ExitCode1_NoCheckpoint()
    {
        (int code, string output, string error) = Run(TrainArgs("diverge", "--model", "lenet5", "--lr", "1e6", "--epochs", "1", "--limit", "256"));
        Assert.True(code == 1, output + error);
        string line = Assert.Single(output.Split('\n'), l => l.StartsWith("error: ", StringComparison.Ordinal));
        Assert.Matches(@"^error: Training loss became (NaN|-?∞|-?Infinity) at epoch 1, batch \d+ \(global step \d+\); training stopped before the optimizer step\. No checkpoint was written", line);
        Assert.False(File.Exists(Path.Combine(_root, "diverge", "last.safetensors")));

        (code, output, error) = Run(TrainArgs("anomaly", "--model", "lenet5", "--lr", "1e6", "--epochs", "1", "--limit", "256", "--detect-anomaly"));
        Assert.True(code == 1, output + error);
        Assert.Matches(@"error: Anomaly at epoch 1, batch \d+ \(global step \d+\): (the forward output of|in backward, the gradient of the output of) (features|classifier)\.\d \(\w+\) holds", output);
    }

    [Fact]
    public void EarlyStop_NoImprovement_StopsWithReason_ExitCode0_ResumeStaysStopped()
    {
        // lr 0: the weights never change, so test accuracy never improves after epoch 1.
        (int code, string output, string error) = Run(TrainArgs("early", "--epochs", "6", "--lr", "0", "--early-stop", "2"));
        Assert.True(code == 0, output + error);
        Assert.Contains("stopped after epoch 3 of 6: early stopping: test_accuracy has not improved by more than 0 for 2 epochs (best ", output, StringComparison.Ordinal);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(_root, "early", "metrics.csv")).Length);

        (code, output, error) = Run("train", "--resume", Path.Combine(_root, "early"), "--data-dir", _data, "--progress", "plain");
        Assert.True(code == 0, output + error);
        Assert.Contains("stopped after epoch 3 of 6", output, StringComparison.Ordinal);
        Assert.DoesNotContain("epoch 4/6", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ResumeRunFolder_LastUnreadable_FallsBackToNewestReadableEpochFile()
    {
        Assert.Equal(0, Run(TrainArgs("fallback", "--epochs", "2")).Code);
        string run = Path.Combine(_root, "fallback");
        File.WriteAllBytes(Path.Combine(run, "last.safetensors"), [1, 2, 3]);
        File.WriteAllBytes(Path.Combine(run, "epoch-002.safetensors"), [4, 5]);
        using var output = new StringWriter();
        string chosen = Commands.ResolveResume(run, output);
        Assert.Equal(Path.Combine(run, "epoch-001.safetensors"), chosen);
        Assert.Contains("skipping " + Path.Combine(run, "epoch-002.safetensors"), output.ToString(), StringComparison.Ordinal);
        Assert.Contains("cannot be used", output.ToString(), StringComparison.Ordinal);

        File.Delete(Path.Combine(run, "epoch-001.safetensors"));
        var e = Assert.Throws<InvalidDataException>(() => Commands.ResolveResume(run, TextWriter.Null));
        Assert.Contains("holds no readable checkpoint", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_PrintsConfusionMatrixClassReportAndTop5()
    {
        Assert.Equal(0, Run(TrainArgs("e", "--epochs", "1")).Code);
        (int code, string output, string error) = Run("eval", "--checkpoint", Path.Combine(_root, "e", "best.safetensors"), "--data-dir", _data);
        Assert.True(code == 0, output + error);
        string[] lines = output.TrimEnd().Split('\n');
        int header = Array.FindIndex(lines, l => l.StartsWith("actual \\ predicted", StringComparison.Ordinal));
        Assert.True(header > 0, output);
        Assert.All(lines[header..(header + 11)], l => Assert.Equal(lines[header].Length, l.Length));
        Assert.Contains(lines, l => l.StartsWith("class      precision     recall         f1    support", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("macro avg", StringComparison.Ordinal));
        Assert.StartsWith("top-5 accuracy: ", lines[^2], StringComparison.Ordinal);
        Assert.StartsWith("test accuracy: ", lines[^1], StringComparison.Ordinal);
        string[] confusion = File.ReadAllLines(Path.Combine(_root, "e", "confusion.csv"));
        Assert.Equal("actual\\predicted,0,1,2,3,4,5,6,7,8,9", confusion[0]);
        Assert.Equal(64, confusion.Skip(1).Sum(l => l.Split(',').Skip(1).Sum(int.Parse)));
    }
}
