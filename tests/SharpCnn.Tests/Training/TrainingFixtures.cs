using SharpCnn.Data;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Training;

namespace SharpCnn.Tests.Training;

/// <summary>Small seeded models and data for trainer tests: 4 classes of 1×4×4 images (class k has a bright row k).</summary>
internal static class TrainingFixtures
{
    /// <summary>A 2-layer MLP whose parameters come from its own generator, so other tests drawing from the default generator cannot change it.</summary>
    public static Sequential Model(ulong seed, int classes = 4)
    {
        var model = new Sequential(new Flatten(), new Linear(16, 12), new ReLU(), new Linear(12, classes));
        Fill(model, seed);
        return model;
    }

    public static void Fill(Module model, ulong seed)
    {
        var g = new Generator(seed);
        foreach (Parameter p in model.Parameters())
        {
            Span<float> d = p.Data;
            for (int i = 0; i < d.Length; i++)
            {
                d[i] = (g.NextSingle() - 0.5f) * 0.5f;
            }
        }
    }

    public static TensorDataset Samples(int n, ulong seed)
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

        return new TensorDataset(Tensor.FromArray(x, n, 1, 4, 4), y);
    }

    public static float[][] Params(Module m) => [.. m.Parameters().Select(p => p.ToArray())];

    /// <summary>A trainer over <see cref="Model"/> and <see cref="Data"/> with SGD + OneCycle, as the CLI builds it.</summary>
    public static (Trainer Trainer, Sequential Model) Make(string runDirectory, int epochs, TrainerOptions? options = null, IDataset? train = null, IDataset? test = null, double lr = 0.1)
    {
        Sequential model = Model(1);
        var optimizer = new SGD(model.Parameters(), lr, momentum: 0.9, nesterov: true);
        var loader = new DataLoader(train ?? Samples(40, 2), 8, shuffle: true, seed: 5);
        var scheduler = new OneCycleLR(optimizer, lr, epochs * loader.Count);
        TrainerOptions o = (options ?? new TrainerOptions { ModelName = "mlp-test" }) with { Epochs = epochs, Seed = 5, RunDirectory = runDirectory };
        var trainer = new Trainer(model, optimizer, scheduler, loader, new DataLoader(test ?? Samples(16, 3), 16), new Generator(9), o);
        return (trainer, model);
    }

    /// <summary>Cancels <paramref name="cts"/> after batch <paramref name="batch"/> of epoch <paramref name="epoch"/>, or at the end of the epoch when batch is 0.</summary>
    public sealed class CancelAt(CancellationTokenSource cts, int epoch, int batch = 0) : ITrainingObserver
    {
        public void BatchEnded(BatchProgress progress)
        {
            if (batch > 0 && progress.Epoch == epoch && progress.Batch == batch)
            {
                cts.Cancel();
            }
        }

        public void EpochEnded(EpochMetrics metrics)
        {
            if (batch == 0 && metrics.Epoch == epoch)
            {
                cts.Cancel();
            }
        }
    }

    /// <summary>A dataset with class names.</summary>
    public sealed class Named(TensorDataset inner, params string[] classes) : IClassDataset
    {
        public IReadOnlyList<string> Classes => classes;

        public int Count => inner.Count;

        public (Tensor Input, int Label) Get(int index) => inner.Get(index);
    }
}
