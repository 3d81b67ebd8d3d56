using SharpCnn.Data;

namespace SharpCnn.Tests.Data;

public class DataLoaderTests
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

    /// <summary>The same samples without the row fast path.</summary>
    private sealed class Generic(IDataset inner) : IDataset
    {
        public int Count => inner.Count;

        public (Tensor Input, int Label) Get(int index) => inner.Get(index);
    }

    private static int[] Ids(Batch b) => [.. b.Inputs.ToArray().Where((_, i) => i % 4 == 0).Select(v => (int)v)];

    [Fact]
    public void Batches_InOrder_ShapesAndLastPartialBatch()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4, prefetch: false);
        List<Batch> batches = [.. loader];
        Assert.Equal(3, loader.Count);
        Assert.Equal([4, 4, 2], batches.Select(b => b.Size));
        Assert.Equal([4, 1, 2, 2], batches[0].Inputs.Shape);
        Assert.Equal([2, 1, 2, 2], batches[2].Inputs.Shape);
        Assert.Equal([2], batches[2].Targets.Shape);
        Assert.Equal([8, 9], Ids(batches[2]));
        Assert.Equal([8f, 9f], batches[2].Targets.ToArray());
    }

    [Fact]
    public void DropLast_SkipsIncompleteBatch()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4, dropLast: true);
        Assert.Equal(2, loader.Count);
        Assert.Equal([4, 4], loader.Select(b => b.Size));
    }

    [Fact]
    public void Shuffle_SameSeedAndEpoch_SameOrder_OtherEpochDiffers()
    {
        var a = new DataLoader(Numbered(100), 10, shuffle: true, seed: 7);
        var b = new DataLoader(Numbered(100), 10, shuffle: true, seed: 7);
        int[] a0 = [.. a.GetEpoch(0).SelectMany(Ids)];
        int[] b0 = [.. b.GetEpoch(0).SelectMany(Ids)];
        int[] a1 = [.. a.GetEpoch(1).SelectMany(Ids)];
        Assert.Equal(a0, b0);
        Assert.NotEqual(a0, a1);
        Assert.NotEqual(Enumerable.Range(0, 100), a0);
        Assert.Equal(Enumerable.Range(0, 100), a0.Order());
        Assert.NotEqual(a0, new DataLoader(Numbered(100), 10, shuffle: true, seed: 8).GetEpoch(0).SelectMany(Ids));
    }

    [Fact]
    public void Epoch_DependsOnlyOnSeedAndEpoch_NotOnHistory()
    {
        var fresh = new DataLoader(Numbered(50), 8, shuffle: true, seed: 3);
        var used = new DataLoader(Numbered(50), 8, shuffle: true, seed: 3);
        _ = used.GetEpoch(0).ToList();
        _ = used.GetEpoch(1).ToList();
        Assert.Equal(fresh.GetEpoch(2).SelectMany(Ids), used.GetEpoch(2).SelectMany(Ids));
    }

    [Fact]
    public void GetEpoch_StartBatch_ResumesMidEpoch()
    {
        var loader = new DataLoader(Numbered(50), 8, shuffle: true, seed: 3);
        int[] all = [.. loader.GetEpoch(4).SelectMany(Ids)];
        int[] rest = [.. loader.GetEpoch(4, startBatch: 2).SelectMany(Ids)];
        Assert.Equal(all[16..], rest);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Prefetch_GivesSameBatchesAsNoPrefetch(bool generic)
    {
        IDataset ds = generic ? new Generic(Numbered(37)) : Numbered(37);
        var with = new DataLoader(ds, 5, shuffle: true, seed: 11, prefetch: true);
        var without = new DataLoader(ds, 5, shuffle: true, seed: 11, prefetch: false);
        List<Batch> x = [.. with.GetEpoch(3)];
        List<Batch> y = [.. without.GetEpoch(3)];
        Assert.Equal(y.Count, x.Count);
        for (int i = 0; i < x.Count; i++)
        {
            Assert.Equal(y[i].Inputs.Shape, x[i].Inputs.Shape);
            Assert.Equal(y[i].Inputs.ToArray(), x[i].Inputs.ToArray());
            Assert.Equal(y[i].Targets.ToArray(), x[i].Targets.ToArray());
        }
    }

    [Fact]
    public void Prefetch_ConsumerStopsEarly_WorkerEnds()
    {
        var loader = new DataLoader(Numbered(1000), 1, prefetch: true);
        Batch first = loader.First();
        Assert.Equal([0], Ids(first));
        Assert.Equal(5, loader.Take(5).Count());
    }

    [Fact]
    public void Prefetch_DatasetThrows_ErrorReachesConsumer()
    {
        var loader = new DataLoader(new Failing(), 2, prefetch: true);
        var e = Assert.Throws<InvalidOperationException>(() => loader.ToList());
        Assert.Contains("sample 3 is broken", e.Message, StringComparison.Ordinal);
    }

    private sealed class Failing : IDataset
    {
        public int Count => 6;

        public (Tensor Input, int Label) Get(int index) =>
            index == 3 ? throw new IOException("sample 3 is broken") : (Tensor.Zeros(1), 0);
    }

    [Fact]
    public void PrefixDataset_TakesFirstN()
    {
        var ds = new PrefixDataset(Numbered(10), 3);
        Assert.Equal(3, ds.Count);
        Assert.Equal([0, 1, 2], new DataLoader(ds, 10).SelectMany(Ids));
    }

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void PooledBatches_SameValues_AndGoBackWithTheScopeThatAdoptsThem(bool rows, bool prefetch)
    {
        IDataset data = rows ? Numbered(10) : new Generic(Numbered(10));
        var loader = new DataLoader(data, 4, shuffle: true, seed: 3, prefetch: prefetch);
        List<Batch> plain = [.. loader.GetEpoch(1)];
        int i = 0;
        foreach (Batch batch in loader.GetEpoch(1, 0, pooled: true))
        {
            Batch expected = plain[i++];
            using (TensorScope.Begin())
            {
                TensorScope.Adopt(batch.Inputs);
                TensorScope.Adopt(batch.Targets);
                Assert.Equal(expected.Inputs.Shape, batch.Inputs.Shape);
                Assert.Equal(expected.Inputs.ToArray(), batch.Inputs.ToArray());
                Assert.Equal(expected.Targets.ToArray(), batch.Targets.ToArray());
            }

            Assert.Throws<InvalidOperationException>(() => batch.Inputs.ToArray());
            Assert.Throws<InvalidOperationException>(() => batch.Targets.ToArray());
        }

        Assert.Equal(plain.Count, i);
        Assert.All(plain, b => Assert.Equal(b.Size, b.Targets.ToArray().Length)); // public batches are never pooled
    }

    [Fact]
    public void Constructor_BadBatchSize_Throws() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(Numbered(3), 0));
}
