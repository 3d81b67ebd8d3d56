using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Serialization;
using SharpCnn.Training;
using static SharpCnn.Tests.Training.TrainingFixtures;

namespace SharpCnn.Tests.Training;

public sealed class TrainerCallbackTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-callbacks-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Run(string name) => Path.Combine(_dir, name);

    /// <summary>metrics.csv rows without the seconds column (wall time differs between runs).</summary>
    private static string[] RowsWithoutSeconds(string metricsPath)
    {
        string[] lines = File.ReadAllLines(metricsPath);
        int seconds = Array.IndexOf(lines[0].Split(','), "seconds");
        return [.. lines.Select(l => string.Join(",", l.Split(',').Where((_, i) => i != seconds)))];
    }

    private static void AddCallbacks(Trainer t) => (t.Callbacks as List<ITrainingCallback>)!.AddRange(
        [new GradientClipping(maxNorm: 0.5), new EarlyStopping("test_loss", patience: 2, minDelta: 0.05)]);

    [Fact]
    public void Resume_AfterEpoch1_WithClippingEarlyStoppingAndSmoothing_SameRowsWeightsAndState()
    {
        var options = new TrainerOptions { ModelName = "mlp-test", LabelSmoothing = 0.1f, KeepCheckpoints = 2 };
        (Trainer full, Sequential reference) = Make(Run("full"), 3, options);
        AddCallbacks(full);
        full.Fit();

        (Trainer first, _) = Make(Run("part"), 3, options);
        AddCallbacks(first);
        using var cts = new CancellationTokenSource();
        Assert.Equal(TrainingOutcome.Cancelled, first.Fit(new CancelAt(cts, epoch: 1), cts.Token));
        Assert.Equal((1, 0), (first.Epoch, first.BatchInEpoch));

        (Trainer second, Sequential resumed) = Make(Run("part"), 3, options);
        AddCallbacks(second);
        second.Resume(Path.Combine(Run("part"), "last.safetensors"));
        Assert.Equal("5", second.Callbacks[0].GetState()["steps"]);
        second.Fit();

        Assert.Equal(Params(reference), Params(resumed));
        Assert.Equal(RowsWithoutSeconds(full.MetricsPath!), RowsWithoutSeconds(second.MetricsPath!));
        Assert.Equal(full.Callbacks[0].GetState(), second.Callbacks[0].GetState());
        Assert.Equal(full.Callbacks[1].GetState(), second.Callbacks[1].GetState());
        Assert.Equal(File.ReadAllBytes(Path.Combine(Run("full"), "confusion.csv")), File.ReadAllBytes(Path.Combine(Run("part"), "confusion.csv")));
        // The clipping really clipped (max norm 0.5 is below this model's early gradient norms).
        Assert.True(((GradientClipping)full.Callbacks[0]).ClippedSteps > 0);
    }

    [Fact]
    public void Fit_KeepTwo_WritesEpochFilesLastAndBest_AsCopies()
    {
        (Trainer t, _) = Make(Run("keep"), 4, new TrainerOptions { ModelName = "mlp-test", KeepCheckpoints = 2, Monitor = "test_loss" });
        t.Fit();
        string[] files = [.. Directory.GetFiles(Run("keep"), "*.safetensors").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(["best.safetensors", "epoch-003.safetensors", "epoch-004.safetensors", "last.safetensors"], files);
        Assert.Equal(File.ReadAllBytes(t.EpochCheckpointPath(4)!), File.ReadAllBytes(t.LastCheckpointPath!));
        int bestEpoch = t.History.MinBy(m => m.TestLoss)!.Epoch;
        Assert.Equal(bestEpoch, Checkpoint.Read(t.BestCheckpointPath!).Info.Epoch);
        Assert.Equal(t.History.Min(m => m.TestLoss), t.BestMetric);
        Assert.Empty(Directory.GetFiles(Run("keep"), ".*"));
    }

    [Fact]
    public void Fit_KeepZero_NoEpochFiles()
    {
        (Trainer t, _) = Make(Run("none"), 2, new TrainerOptions { ModelName = "mlp-test", KeepCheckpoints = 0 });
        t.Fit();
        Assert.Empty(Directory.GetFiles(Run("none"), "epoch-*"));
        Assert.Equal(2, Checkpoint.Read(t.LastCheckpointPath!).Info.Epoch);
    }

    [Fact]
    public void EarlyStopping_NoImprovementForPatience_StopsAndResumeStaysStopped()
    {
        // lr 0: nothing changes, so test loss never improves after epoch 1.
        (Trainer t, _) = Make(Run("stop"), 10, lr: 0);
        var stopper = new EarlyStopping("test_loss", patience: 2);
        t.Callbacks.Add(stopper);
        Assert.Equal(TrainingOutcome.Stopped, t.Fit());
        Assert.Equal(3, t.Epoch);
        Assert.Equal((3, 2, 1), (stopper.StoppedEpoch, stopper.Wait, stopper.BestEpoch));
        Assert.Contains("test_loss has not improved", t.StopReason, StringComparison.Ordinal);
        Assert.Equal(4, File.ReadAllLines(t.MetricsPath!).Length);

        (Trainer again, _) = Make(Run("stop"), 10, lr: 0);
        var restored = new EarlyStopping("test_loss", patience: 2);
        again.Callbacks.Add(restored);
        again.Resume(t.LastCheckpointPath!);
        Assert.Equal((3, 2, stopper.Best), (restored.StoppedEpoch, restored.Wait, restored.Best));
        Assert.Equal(TrainingOutcome.Stopped, again.Fit());
        Assert.Equal(3, again.Epoch);
    }

    [Fact]
    public void EarlyStopping_StateOfAnotherMetric_Ignored()
    {
        var loss = new EarlyStopping("test_loss", patience: 5);
        loss.SetState(new Dictionary<string, string> { ["monitor"] = "test_loss", ["best"] = "0.5", ["best_epoch"] = "2", ["wait"] = "3", ["stopped_epoch"] = "0" });
        Assert.Equal((0.5, 2, 3), (loss.Best, loss.BestEpoch, loss.Wait));
        var accuracy = new EarlyStopping("test_accuracy", patience: 5);
        accuracy.SetState(loss.GetState());
        Assert.Equal((double.NaN, 0, 0), (accuracy.Best, accuracy.BestEpoch, accuracy.Wait));
        var e = Assert.Throws<InvalidDataException>(() => loss.SetState(new Dictionary<string, string> { ["best"] = "x" }));
        Assert.Contains("\"best\" entry (got \"x\")", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(MonitorMode.Min, 1.0, 0.9, 0.0, true)]
    [InlineData(MonitorMode.Min, 1.0, 0.95, 0.1, false)]
    [InlineData(MonitorMode.Max, 0.5, 0.7, 0.1, true)]
    [InlineData(MonitorMode.Max, 0.5, 0.55, 0.1, false)]
    [InlineData(MonitorMode.Max, double.NaN, 0.1, 0.0, true)]
    [InlineData(MonitorMode.Max, 0.5, double.NaN, 0.0, false)]
    public void MetricMonitor_Improves_RespectsModeAndMinDelta(MonitorMode mode, double best, double value, double minDelta, bool expected) =>
        Assert.Equal(expected, new MetricMonitor("test_accuracy", mode, minDelta).Improves(value, best));

    [Fact]
    public void MetricMonitor_AutoMode_FromName_UnknownNameRefused()
    {
        Assert.Equal(MonitorMode.Min, new MetricMonitor("train_loss").Mode);
        Assert.Equal(MonitorMode.Max, new MetricMonitor("test_top5_accuracy").Mode);
        var e = Assert.Throws<ArgumentException>(() => new MetricMonitor("val_acc"));
        Assert.Contains("test_loss, test_accuracy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Fit_AfterResumeFromEpoch1_DropsLaterMetricsRows()
    {
        (Trainer full, _) = Make(Run("trunc"), 3);
        full.Fit();
        File.Copy(full.EpochCheckpointPath(1)!, Path.Combine(_dir, "epoch1.safetensors"));
        string[] before = RowsWithoutSeconds(full.MetricsPath!);

        // As after a crash between metrics.csv and the checkpoint: rows 2 and 3 exist, the checkpoint is epoch 1.
        (Trainer resumed, _) = Make(Run("trunc"), 3);
        resumed.Resume(Path.Combine(_dir, "epoch1.safetensors"));
        resumed.Fit();
        Assert.Equal(before, RowsWithoutSeconds(resumed.MetricsPath!));
    }

    [Fact]
    public void Fit_OldMetricsHeader_RowsCarriedOverByName()
    {
        string dir = Run("old");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "metrics.csv"), "epoch,train_loss,train_accuracy,test_loss,test_accuracy,lr,seconds\n1,0.5,0.8,0.4,0.9,0.01,1.000\n");
        (Trainer t, _) = Make(dir, 2);
        (Trainer first, _) = Make(Run("src"), 2);
        using var cts = new CancellationTokenSource();
        first.Fit(new CancelAt(cts, epoch: 1), cts.Token);
        t.Resume(first.LastCheckpointPath!);
        t.Fit();
        string[] lines = File.ReadAllLines(t.MetricsPath!);
        Assert.Equal(EpochMetrics.CsvHeader, lines[0]);
        Assert.Equal("1,0.5,0.8,0.4,0.9,0.01,1.000,", lines[1]);
        Assert.StartsWith("2,", lines[2], StringComparison.Ordinal);
        Assert.Equal(8, lines[2].Split(',').Length);
    }

    [Fact]
    public void Fit_ConfusionCsv_UsesTestDatasetClassNames_AndTop5NaNForFourClasses()
    {
        var test = new Named(Samples(16, 3), "zero", "one", "two", "three");
        (Trainer t, _) = Make(Run("names"), 1, test: test);
        t.Fit();
        string[] csv = File.ReadAllLines(t.ConfusionPath!);
        Assert.Equal("actual\\predicted,zero,one,two,three", csv[0]);
        Assert.Equal(5, csv.Length);
        Assert.Equal(16, csv.Skip(1).Sum(l => l.Split(',').Skip(1).Sum(int.Parse)));
        Assert.Equal(t.LastEvaluation!.Confusion!.Accuracy, t.History[0].TestAccuracy);
        Assert.True(double.IsNaN(t.History[0].TestTop5Accuracy));
    }

    [Fact]
    public void EvaluateDetailed_TenClasses_Top5BetweenTop1AndOne()
    {
        Sequential model = Model(3, classes: 10);
        var g = new Generator(1);
        var x = new float[30 * 16];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = g.NextSingle();
        }

        var data = new TensorDataset(Tensor.FromArray(x, 30, 1, 4, 4), [.. Enumerable.Range(0, 30).Select(i => i % 10)]);
        EvaluationResult r = Trainer.EvaluateDetailed(model, new DataLoader(data, 7));
        Tensor logits = model.Call(Tensor.FromArray(x, 30, 1, 4, 4));
        Tensor targets = Tensor.FromArray([.. Enumerable.Range(0, 30).Select(i => (float)(i % 10))]);
        Assert.Equal(RunningMetrics.CountTopK(logits, targets, 5) / 30.0, r.Top5Accuracy, 12);
        Assert.Equal(RunningMetrics.CountCorrect(logits, targets) / 30.0, r.Accuracy, 12);
        Assert.Equal(30, r.Count);
        Assert.Equal(["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"], r.ClassNames);
    }

    [Fact]
    public void LabelSmoothing_TrainLossIsSmoothedCrossEntropy_TestLossPlain()
    {
        TensorDataset data = Samples(8, 2);
        Sequential model = Model(1);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0), null, new DataLoader(data, 8), new DataLoader(data, 8), new Generator(1),
            new TrainerOptions { ModelName = "mlp-test", LabelSmoothing = 0.2f });
        Tensor x = Tensor.FromArray([.. Enumerable.Range(0, 8).SelectMany(i => data.Get(i).Input.ToArray())], 8, 1, 4, 4);
        Tensor y = Tensor.FromArray([.. Enumerable.Range(0, 8).Select(i => (float)data.Get(i).Label)]);
        double smoothed = F.CrossEntropy(model.Call(x), y, 0.2f).Item();
        double plain = F.CrossEntropy(model.Call(x), y).Item();
        trainer.Fit();
        Assert.Equal(smoothed, trainer.History[0].TrainLoss, 6);
        Assert.Equal(plain, trainer.History[0].TestLoss, 6);
        Assert.NotEqual(smoothed, plain, 3);
    }

    [Fact]
    public void Callbacks_DuplicateStateKeys_Refused()
    {
        (Trainer t, _) = Make(Run("dup"), 1);
        t.Callbacks.Add(new EarlyStopping());
        t.Callbacks.Add(new EarlyStopping("test_accuracy"));
        var e = Assert.Throws<InvalidOperationException>(() => t.Fit());
        Assert.Contains("\"EarlyStopping\"", e.Message, StringComparison.Ordinal);
    }
}
