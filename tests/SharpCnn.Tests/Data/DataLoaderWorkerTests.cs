using System.Collections.Concurrent;
using SharpCnn.Data;

namespace SharpCnn.Tests.Data;

/// <summary>Per-sample transforms and background workers: batches depend on (seed, epoch, batch) only.</summary>
public class DataLoaderWorkerTests
{
    /// <summary>Sample i is a 1×2×2 image filled with i, label i % 10.</summary>
    private static TensorDataset Numbered(int n)
    {
        var data = new float[n * 4];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = i / 4;
        }

        return new TensorDataset(Tensor.FromArray(data, n, 1, 2, 2), [.. Enumerable.Range(0, n).Select(i => i % 10)]);
    }

    /// <summary>Adds one uniform draw per element (so any change in the generator's seed shows), optionally wasting a varying amount of time.</summary>
    private sealed class Noise(bool jitterTiming = false) : ISampleTransform
    {
        public ConcurrentDictionary<Thread, byte> Threads { get; } = new();

        public Tensor Apply(Tensor input, Generator generator)
        {
            Threads.TryAdd(Thread.CurrentThread, 0);
            float[] x = input.ToArray();
            for (int i = 0; i < x.Length; i++)
            {
                x[i] += generator.NextSingle();
            }

            if (jitterTiming)
            {
                // Uneven work per sample so that workers finish out of order.
                Thread.SpinWait((int)(x[0] * 7919 % 20000));
            }

            return Tensor.FromArray(x, input.Shape);
        }
    }

    /// <summary>Crops a 1×2×2 sample to its first row (1×1×2), to show the batch takes the transformed shape.</summary>
    private sealed class FirstRow : ISampleTransform
    {
        public Tensor Apply(Tensor input, Generator generator) => Tensor.FromArray(input.ToArray()[..2], 1, 1, 2);
    }

    private static float[][] Flatten(IEnumerable<Batch> batches) =>
        [.. batches.Select(b => b.Inputs.ToArray().Concat(b.Targets.ToArray()).ToArray())];

    [Fact]
    public void Transform_AnyWorkerCount_SameBatches()
    {
        float[][] reference = Flatten(new DataLoader(Numbered(53), 4, shuffle: true, seed: 5, transform: new Noise(), numWorkers: 0).GetEpoch(2));
        Assert.Equal(14, reference.Length);
        foreach (int workers in new[] { 1, 2, 3, 5 })
        {
            var loader = new DataLoader(Numbered(53), 4, shuffle: true, seed: 5, transform: new Noise(jitterTiming: true), numWorkers: workers);
            Assert.Equal(reference, Flatten(loader.GetEpoch(2)));
        }
    }

    [Fact]
    public void Transform_EpochDoesNotDependOnEarlierEpochs()
    {
        var fresh = new DataLoader(Numbered(30), 7, shuffle: true, seed: 9, transform: new Noise(), numWorkers: 2);
        var used = new DataLoader(Numbered(30), 7, shuffle: true, seed: 9, transform: new Noise(), numWorkers: 2);
        _ = used.GetEpoch(0).ToList();
        _ = used.GetEpoch(1).ToList();
        Assert.Equal(Flatten(fresh.GetEpoch(2)), Flatten(used.GetEpoch(2)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void Transform_ResumeMidEpoch_SameRemainingBatches(int workers)
    {
        var loader = new DataLoader(Numbered(50), 8, shuffle: true, seed: 3, transform: new Noise(), numWorkers: workers);
        float[][] all = Flatten(loader.GetEpoch(4));
        var resumed = new DataLoader(Numbered(50), 8, shuffle: true, seed: 3, transform: new Noise(), numWorkers: workers);
        Assert.Equal(all[3..], Flatten(resumed.GetEpoch(4, startBatch: 3)));
    }

    [Fact]
    public void Transform_SampleSeed_ReproducesEachSample()
    {
        TensorDataset data = Numbered(20);
        var noise = new Noise();
        var loader = new DataLoader(data, 6, shuffle: true, seed: 77, transform: noise, numWorkers: 2);
        int[] order = loader.Order(3);
        int position = 0;
        foreach (Batch batch in loader.GetEpoch(3))
        {
            for (int i = 0; i < batch.Size; i++, position++)
            {
                int index = order[position];
                Tensor expected = noise.Apply(data.Get(index).Input, new Generator(DataLoader.SampleSeed(77, 3, index)));
                Assert.Equal(expected.ToArray(), batch.Inputs.ToArray()[(i * 4)..((i + 1) * 4)]);
                Assert.Equal(index % 10, batch.Targets.ToArray()[i]);
            }
        }

        Assert.Equal(20, position);
    }

    [Fact]
    public void Transform_Unshuffled_DiffersBetweenEpochsAndSeeds()
    {
        var a = new DataLoader(Numbered(8), 8, transform: new Noise(), numWorkers: 0);
        var b = new DataLoader(Numbered(8), 8, seed: 1, transform: new Noise(), numWorkers: 0);
        Assert.NotEqual(Flatten(a.GetEpoch(0)), Flatten(a.GetEpoch(1)));
        Assert.NotEqual(Flatten(a.GetEpoch(0)), Flatten(b.GetEpoch(0)));
        Assert.NotEqual(DataLoader.SampleSeed(0, 0, 1), DataLoader.SampleSeed(0, 1, 0));
        Assert.NotEqual(DataLoader.SampleSeed(0, 1, 0), DataLoader.SampleSeed(1, 0, 0));
    }

    [Fact]
    public void Transform_ChangesShape_BatchTakesTheNewShape()
    {
        var loader = new DataLoader(Numbered(5), 2, transform: new FirstRow(), numWorkers: 1);
        List<Batch> batches = [.. loader];
        Assert.Equal([2, 1, 1, 2], batches[0].Inputs.Shape);
        Assert.Equal([2f, 2f, 3f, 3f], batches[1].Inputs.ToArray());
    }

    private sealed class Ragged : ISampleTransform
    {
        public Tensor Apply(Tensor input, Generator generator) =>
            input[0, 0, 0] == 3 ? Tensor.Zeros(1, 1, 3) : input;
    }

    [Fact]
    public void Transform_RaggedShapes_ErrorNamesSampleAndShapes()
    {
        var loader = new DataLoader(Numbered(6), 6, transform: new Ragged(), numWorkers: 0);
        var e = Assert.Throws<InvalidOperationException>(() => loader.ToList());
        Assert.Contains("sample 3 of shape (1, 1, 3) after the transform", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Workers_ConsumerStopsEarly_AllWorkerThreadsEnd(int workers)
    {
        var noise = new Noise();
        var loader = new DataLoader(Numbered(400), 2, transform: noise, numWorkers: workers);
        foreach (Batch batch in loader)
        {
            Assert.Equal(2, batch.Size);
            break;
        }

        Thread[] used = [.. noise.Threads.Keys];
        Assert.NotEmpty(used);
        Assert.DoesNotContain(Thread.CurrentThread, used);
        Assert.All(used, t => Assert.False(t.IsAlive, $"{t.Name} is still running"));
        Assert.True(noise.Threads.Count <= workers);
    }

    private sealed class Failing(int broken) : IDataset
    {
        public int Count => 40;

        public (Tensor Input, int Label) Get(int index) =>
            index == broken ? throw new IOException($"sample {index} is broken") : (Tensor.Full([1], index), 0);
    }

    [Fact]
    public void Workers_DatasetThrows_EarlierBatchesArriveThenOriginalMessage()
    {
        var loader = new DataLoader(new Failing(broken: 21), 4, numWorkers: 3);
        var seen = new List<float>();
        var e = Assert.Throws<InvalidOperationException>(() =>
        {
            foreach (Batch b in loader)
            {
                seen.AddRange(b.Inputs.ToArray());
            }
        });
        Assert.Contains("sample 21 is broken", e.Message, StringComparison.Ordinal);
        Assert.IsType<IOException>(e.InnerException);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => (float)i), seen);
    }

    [Fact]
    public void Workers_RowDatasetWithoutTransform_SameBatchesAsSequential()
    {
        float[][] reference = Flatten(new DataLoader(Numbered(41), 5, shuffle: true, seed: 2, numWorkers: 0).GetEpoch(1));
        Assert.Equal(reference, Flatten(new DataLoader(Numbered(41), 5, shuffle: true, seed: 2, numWorkers: 4).GetEpoch(1)));
    }

    [Fact]
    public void Constructor_WorkerOptions()
    {
        Assert.Equal(1, new DataLoader(Numbered(3), 1).NumWorkers);
        Assert.Equal(0, new DataLoader(Numbered(3), 1, prefetch: false).NumWorkers);
        Assert.Equal(4, new DataLoader(Numbered(3), 1, numWorkers: 4).NumWorkers);
        Assert.False(new DataLoader(Numbered(3), 1, numWorkers: 0).Prefetch);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Numbered(3), 1, numWorkers: -1));
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(Numbered(3), 1, prefetch: false, numWorkers: 2));
        Assert.Contains("numWorkers: 2", e.Message, StringComparison.Ordinal);
        Assert.Equal(4, new DataLoader(Numbered(3), 1, false, false, new Generator(1), numWorkers: 4).NumWorkers);
    }
}
