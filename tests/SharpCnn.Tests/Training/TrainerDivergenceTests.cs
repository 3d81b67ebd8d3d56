using SharpCnn.Data;
using SharpCnn.Nn;
using SharpCnn.Training;
using static SharpCnn.Tests.Training.TrainingFixtures;

namespace SharpCnn.Tests.Training;

public sealed class TrainerDivergenceTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpcnn-diverge-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Serves <paramref name="inner"/>, but from read number <paramref name="after"/> on every input is NaN (so epoch 1 is clean and epoch 2 is not).</summary>
    private sealed class PoisonLater(IDataset inner, int after) : IDataset
    {
        private int _reads;

        public int Count => inner.Count;

        public (Tensor Input, int Label) Get(int index)
        {
            (Tensor input, int label) = inner.Get(index);
            if (Interlocked.Increment(ref _reads) > after)
            {
                input.Data.Fill(float.NaN);
            }

            return (input, label);
        }
    }

    /// <summary>Passes its input through, except at the given training step where it writes NaN into its output.</summary>
    private sealed class NaNAtStep(int step) : Module
    {
        private int _calls;

        public override Tensor Forward(Tensor input)
        {
            Tensor y = input * 1f;
            if (Training && ++_calls == step)
            {
                y.Data[0] = float.NaN;
            }

            return y;
        }
    }

    /// <summary>y = √x: finite forward at x = 0, but an infinite gradient there (1 / (2√x)).</summary>
    private sealed class SqrtLayer : Module
    {
        public override Tensor Forward(Tensor input) => input.Sqrt();
    }

    /// <summary>y = x + √(0·x): the forward is x itself, but the backward multiplies ∞ (√'(0)) by 0, so every gradient behind it is NaN.</summary>
    private sealed class NaNGradient : Module
    {
        public override Tensor Forward(Tensor input) => input + (input * 0f).Sqrt();
    }

    private Trainer Build(Sequential model, int epochs = 1) =>
        new(model, new SharpCnn.Optim.SGD(model.Parameters(), 0.1), null, new DataLoader(Samples(16, 2), 8), new DataLoader(Samples(8, 3), 8), new Generator(1),
            new TrainerOptions { ModelName = "m", Epochs = epochs, RunDirectory = Path.Combine(_dir, "run") });

    [Fact]
    public void NaNLossInEpoch2_MessageNamesPosition_LastCheckpointBytesUnchanged()
    {
        (Trainer trainer, Sequential model) = Make(Path.Combine(_dir, "nan"), 3, train: new PoisonLater(Samples(40, 2), after: 40));
        byte[]? afterEpoch1 = null;
        var e = Assert.Throws<NonFiniteLossException>(() => trainer.Fit(new SnapshotAfterEpoch1(trainer, b => afterEpoch1 = b)));
        Assert.Contains("Training loss became NaN at epoch 2, batch 1 (global step 6)", e.Message, StringComparison.Ordinal);
        Assert.Contains("last good checkpoint, unchanged, is", e.Message, StringComparison.Ordinal);
        Assert.Contains("(epoch 1)", e.Message, StringComparison.Ordinal);
        Assert.NotNull(afterEpoch1);
        Assert.Equal(afterEpoch1, File.ReadAllBytes(trainer.LastCheckpointPath!));
        Assert.Equal(2, File.ReadAllLines(trainer.MetricsPath!).Length);
        Assert.All(Params(model), p => Assert.All(p, v => Assert.True(float.IsFinite(v))));
    }

    private sealed class SnapshotAfterEpoch1(Trainer trainer, Action<byte[]> keep) : ITrainingObserver
    {
        public void EpochEnded(EpochMetrics metrics)
        {
            if (metrics.Epoch == 1)
            {
                keep(File.ReadAllBytes(trainer.LastCheckpointPath!));
            }
        }
    }

    /// <summary>Writes NaN into the first parameter after the given global step, as a diverging last step of an epoch would.</summary>
    private sealed class BreakWeightsAt(long step) : ITrainingCallback
    {
        public void OnBatchEnd(Trainer trainer, BatchProgress progress)
        {
            if (progress.GlobalStep == step)
            {
                trainer.Model.Parameters().First().Data[0] = float.NaN;
            }
        }
    }

    [Fact]
    public void NonFiniteWeightsAfterLastStepOfEpoch2_Stops_NoCheckpointForThatEpoch()
    {
        (Trainer trainer, _) = Make(Path.Combine(_dir, "weights"), 3);
        trainer.Callbacks.Add(new BreakWeightsAt(10));
        byte[]? afterEpoch1 = null;
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(new SnapshotAfterEpoch1(trainer, b => afterEpoch1 = b)));
        Assert.Contains("After epoch 2 (global step 10) the model's 1.weight holds NaN; training stopped and no checkpoint was written for this epoch", e.Message, StringComparison.Ordinal);
        Assert.Equal(afterEpoch1, File.ReadAllBytes(trainer.LastCheckpointPath!));
        Assert.Equal(2, File.ReadAllLines(trainer.MetricsPath!).Length);
    }

    [Fact]
    public void AnomalyDetection_ForwardNaN_NamesTheLayerAndStep()
    {
        var model = new Sequential(new Flatten(), new Linear(16, 12), new NaNAtStep(step: 2), new ReLU(), new Linear(12, 4));
        Fill(model, 1);
        Trainer trainer = Build(model);
        trainer.Callbacks.Add(new AnomalyDetection());
        var e = Assert.Throws<AnomalyDetectedException>(() => trainer.Fit());
        Assert.Equal(("2 (NaNAtStep)", false), (e.ModulePath, e.InBackward));
        Assert.Contains("Anomaly at epoch 1, batch 2 (global step 2): the forward output of 2 (NaNAtStep) holds NaN (1 of 96 values), while its input was finite", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, trainer.GlobalStep);
    }

    [Fact]
    public void AnomalyDetection_BackwardInfinity_NamesLayerAndTheBackwardThatMadeIt()
    {
        // ReLU zeroes negatives, √0 = 0 is finite, but d√x/dx = ∞ there: the gradient of ReLU's output ("2") is the
        // first non-finite one in backward, produced by the backward of "3" (SqrtLayer).
        var model = new Sequential(new Flatten(), new Linear(16, 12), new ReLU(), new SqrtLayer(), new Linear(12, 4));
        Fill(model, 1);
        Trainer trainer = Build(model);
        trainer.Callbacks.Add(new AnomalyDetection());
        var e = Assert.Throws<AnomalyDetectedException>(() => trainer.Fit());
        Assert.Equal(("2 (ReLU)", true), (e.ModulePath, e.InBackward));
        Assert.Contains("in backward, the gradient of the output of 2 (ReLU) holds", e.Message, StringComparison.Ordinal);
        Assert.Contains("it came from the backward of 3 (SqrtLayer)", e.Message, StringComparison.Ordinal);
        Assert.Contains("batch 1 (global step 1)", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, trainer.GlobalStep);
    }

    [Fact]
    public void AnomalyDetection_FiniteRun_TrainsExactlyAsWithout_AndRemovesItsHooks()
    {
        Sequential a = Model(1), b = Model(1);
        Trainer plain = Build(a, epochs: 2);
        Trainer watched = Build(b, epochs: 2);
        watched.Callbacks.Add(new AnomalyDetection());
        plain.Fit();
        Directory.Delete(Path.Combine(_dir, "run"), recursive: true);
        watched.Fit();
        Assert.Equal(Params(a), Params(b));
        int calls = 0;
        using IDisposable probe = b.RegisterForwardHook((_, _, _) => calls++);
        b.Call(Tensor.Zeros(1, 1, 4, 4));
        Assert.Equal(1, calls);
    }

    [Fact]
    public void GradientClipping_NonFiniteNorm_StopsBeforeTheStep()
    {
        var model = new Sequential(new Flatten(), new Linear(16, 12), new NaNGradient(), new Linear(12, 4));
        Fill(model, 1);
        Trainer trainer = Build(model);
        trainer.Callbacks.Add(new GradientClipping(maxNorm: 1));
        float[][] before = Params(model);
        var e = Assert.Throws<NonFiniteGradientException>(() => trainer.Fit());
        Assert.Contains("total gradient norm became NaN", e.Message, StringComparison.Ordinal);
        Assert.Contains("at epoch 1, batch 1 (global step 1)", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Params(model));
    }
}
