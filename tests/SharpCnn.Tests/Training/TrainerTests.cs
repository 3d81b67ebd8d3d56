using SharpCnn.Data;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Serialization;
using SharpCnn.Training;

namespace SharpCnn.Tests.Training;

public sealed class TrainerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-trainer-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A 2-layer MLP whose parameters come from its own generator, so other tests drawing from the default generator cannot change it.</summary>
    private static Sequential Model(ulong seed)
    {
        var model = new Sequential(new Flatten(), new Linear(16, 12), new ReLU(), new Linear(12, 4));
        var g = new Generator(seed);
        foreach (Parameter p in model.Parameters())
        {
            Span<float> d = p.Data;
            for (int i = 0; i < d.Length; i++)
            {
                d[i] = (g.NextSingle() - 0.5f) * 0.5f;
            }
        }

        return model;
    }

    /// <summary>Four classes of 1×4×4 images: class k has a bright row k, plus seeded noise.</summary>
    private static TensorDataset Data(int n, ulong seed, bool poison = false)
    {
        var g = new Generator(seed);
        var x = new float[n * 16];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = i % 4;
            for (int j = 0; j < 16; j++)
            {
                x[(i * 16) + j] = (g.NextSingle() * 0.3f) + (j / 4 == y[i] ? 1f : 0f);
            }
        }

        if (poison)
        {
            x[0] = float.NaN;
        }

        return new TensorDataset(Tensor.FromArray(x, n, 1, 4, 4), y);
    }

    private (Trainer Trainer, Sequential Model) Make(string run, int epochs, TensorDataset? train = null)
    {
        Sequential model = Model(1);
        var optimizer = new SGD(model.Parameters(), 0.1, momentum: 0.9, nesterov: true);
        var loader = new DataLoader(train ?? Data(40, 2), 8, shuffle: true, seed: 5);
        var scheduler = new OneCycleLR(optimizer, 0.1, epochs * loader.Count);
        var trainer = new Trainer(model, optimizer, scheduler, loader, new DataLoader(Data(16, 3), 16), new Generator(9),
            new TrainerOptions { Epochs = epochs, ModelName = "mlp-test", Seed = 5, RunDirectory = Path.Combine(_dir, run) });
        return (trainer, model);
    }

    private static float[][] Params(Module m) => [.. m.Parameters().Select(p => p.ToArray())];

    [Fact]
    public void Fit_WritesMetricsAndCheckpoints_AndLearns()
    {
        (Trainer trainer, _) = Make("a", 4);
        Assert.Equal(TrainingOutcome.Completed, trainer.Fit());
        string[] lines = File.ReadAllLines(trainer.MetricsPath!);
        Assert.Equal(EpochMetrics.CsvHeader, lines[0]);
        Assert.Equal(5, lines.Length);
        Assert.True(File.Exists(trainer.LastCheckpointPath));
        Assert.True(File.Exists(trainer.BestCheckpointPath));
        Assert.Equal(4, Checkpoint.Read(trainer.LastCheckpointPath!).Info.Epoch);
        Assert.Equal(20, trainer.GlobalStep);
        Assert.True(trainer.History[^1].TestAccuracy >= 0.9, $"test accuracy {trainer.History[^1].TestAccuracy}");
    }

    [Fact]
    public void Fit_SameSeedTwice_BitIdenticalParameters()
    {
        (Trainer a, Sequential ma) = Make("a", 2);
        (Trainer b, Sequential mb) = Make("b", 2);
        a.Fit();
        b.Fit();
        Assert.Equal(Params(ma), Params(mb));
    }

    [Fact]
    public void Resume_FromEpochBoundary_MatchesUninterrupted()
    {
        (Trainer full, Sequential reference) = Make("full", 3);
        full.Fit();

        (Trainer first, _) = Make("part", 3);
        using var cts = new CancellationTokenSource();
        Assert.Equal(TrainingOutcome.Cancelled, first.Fit(new CancelAt(cts, epoch: 1, batch: 5), cts.Token));
        Assert.Equal(1, first.Epoch);

        (Trainer second, Sequential resumed) = Make("part", 3);
        second.Resume(first.LastCheckpointPath!);
        Assert.Equal(TrainingOutcome.Completed, second.Fit());
        Assert.Equal(Params(reference), Params(resumed));
        Assert.Equal(full.History[^1], second.History[^1] with { Seconds = full.History[^1].Seconds });
    }

    [Fact]
    public void Resume_FromMidEpoch_MatchesUninterrupted()
    {
        (Trainer full, Sequential reference) = Make("full", 2);
        full.Fit();

        (Trainer first, _) = Make("mid", 2);
        using var cts = new CancellationTokenSource();
        Assert.Equal(TrainingOutcome.Cancelled, first.Fit(new CancelAt(cts, epoch: 2, batch: 2), cts.Token));
        Assert.Equal((1, 2), (first.Epoch, first.BatchInEpoch));

        (Trainer second, Sequential resumed) = Make("mid", 2);
        second.Resume(first.LastCheckpointPath!);
        second.Fit();
        Assert.Equal(Params(reference), Params(resumed));
        // The running train metrics of the interrupted epoch were restored too.
        Assert.Equal(full.History[^1].TrainLoss, second.History[^1].TrainLoss, 12);
        Assert.Equal(full.History[^1].TrainAccuracy, second.History[^1].TrainAccuracy);
    }

    [Fact]
    public void Fit_NaNLoss_StopsWithEpochAndStep_KeepsLastCheckpoint()
    {
        (Trainer trainer, Sequential model) = Make("nan", 3, Data(40, 2, poison: true));
        var e = Assert.Throws<NonFiniteLossException>(() => trainer.Fit());
        Assert.Contains("epoch 1, batch", e.Message, StringComparison.Ordinal);
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);
        Assert.All(Params(model), p => Assert.All(p, v => Assert.True(float.IsFinite(v))));
    }

    [Fact]
    public void Resume_OtherModelName_Refused()
    {
        (Trainer a, _) = Make("x", 1);
        a.Fit();
        Sequential model = Model(1);
        var opt = new SGD(model.Parameters(), 0.1);
        var other = new Trainer(model, opt, null, new DataLoader(Data(8, 1), 8), null, new Generator(1),
            new TrainerOptions { ModelName = "lenet5" });
        var e = Assert.Throws<InvalidDataException>(() => other.Resume(a.LastCheckpointPath!));
        Assert.Contains("\"mlp-test\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CountCorrect_TiesGoToLowestIndex()
    {
        Tensor logits = Tensor.FromArray([1f, 1f, 0f, 0f, 2f, 2f], 2, 3);
        Assert.Equal(2, RunningMetrics.CountCorrect(logits, Tensor.FromArray([0f, 1f])));
    }

    private sealed class CancelAt(CancellationTokenSource cts, int epoch, int batch) : ITrainingObserver
    {
        public void BatchEnded(BatchProgress progress)
        {
            if (progress.Epoch == epoch && progress.Batch == batch)
            {
                cts.Cancel();
            }
        }
    }
}
