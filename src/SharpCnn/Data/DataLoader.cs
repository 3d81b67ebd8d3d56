using System.Collections;
using System.Collections.Concurrent;

namespace SharpCnn.Data;

/// <summary>One mini-batch: inputs (N, …) and class targets (N) stored as floats holding integers.</summary>
/// <param name="Inputs">The stacked inputs, e.g. (N, C, H, W).</param>
/// <param name="Targets">The class index of each sample, shape (N).</param>
public sealed record Batch(Tensor Inputs, Tensor Targets)
{
    /// <summary>Number of samples in the batch.</summary>
    public int Size => Targets.Numel;
}

/// <summary>
/// Splits a dataset into mini-batches, as <c>torch.utils.data.DataLoader</c>: optional shuffling, optional
/// dropping of the last incomplete batch, and background assembly of the next batches while the current one
/// is being used.
/// </summary>
/// <remarks>
/// Shuffling is reproducible by construction: the order of epoch <c>e</c> is a Fisher–Yates permutation drawn
/// from a generator seeded with a mix of (<see cref="Seed"/>, <c>e</c>) only, so a resumed run sees the same
/// batches as an uninterrupted one, whatever happened before. Prefetching never changes the batches, only
/// when they are built.
/// </remarks>
public sealed class DataLoader : IEnumerable<Batch>
{
    /// <summary>How many batches the background worker may build ahead of the consumer.</summary>
    public const int PrefetchDepth = 2;

    private readonly IDataset _dataset;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples; with <see cref="IRowDataset"/> rows are copied straight into the batch.</param>
    /// <param name="batchSize">Samples per batch (≥ 1).</param>
    /// <param name="shuffle">Visit samples in a new seeded random order each epoch (default: in order).</param>
    /// <param name="dropLast">Skip the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="seed">Seed of the per-epoch shuffle.</param>
    /// <param name="prefetch">Build the next batches on a worker thread (default true).</param>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0, bool prefetch = true)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _dataset = dataset;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        Prefetch = prefetch;
    }

    /// <summary>Creates a loader whose shuffle seed is drawn once from <paramref name="generator"/>.</summary>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle, bool dropLast, Generator generator, bool prefetch = true)
        : this(dataset, batchSize, shuffle, dropLast, (generator ?? throw new ArgumentNullException(nameof(generator))).NextUInt64(), prefetch)
    {
    }

    /// <summary>The dataset.</summary>
    public IDataset Dataset => _dataset;

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits samples in a seeded random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether the last incomplete batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Seed of the per-epoch shuffle.</summary>
    public ulong Seed { get; }

    /// <summary>Whether batches are built on a worker thread.</summary>
    public bool Prefetch { get; }

    /// <summary>The epoch enumerated by <see cref="GetEnumerator"/> (set it before each epoch; default 0).</summary>
    public int Epoch { get; set; }

    /// <summary>Batches per epoch.</summary>
    public int Count => DropLast ? _dataset.Count / BatchSize : (_dataset.Count + BatchSize - 1) / BatchSize;

    /// <summary>The sample order of epoch <paramref name="epoch"/> (identity when not shuffling).</summary>
    public int[] Order(int epoch)
    {
        var order = new int[_dataset.Count];
        if (Shuffle)
        {
            // Mixing through the multiplier keeps (seed, epoch) pairs apart: seed s epoch e+1 ≠ seed s+1 epoch e.
            var generator = new Generator(Seed ^ (((ulong)epoch + 1) * 0xD1B54A32D192ED03UL));
            generator.Permutation(order);
        }
        else
        {
            for (int i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }
        }

        return order;
    }

    /// <summary>The batches of <paramref name="epoch"/>, starting at batch <paramref name="startBatch"/> (for resuming mid-epoch).</summary>
    public IEnumerable<Batch> GetEpoch(int epoch, int startBatch = 0) => GetEpoch(epoch, startBatch, pooled: false);

    /// <summary>
    /// As the public overload; with <paramref name="pooled"/> the batch tensors borrow their storage from the
    /// <see cref="TensorScope"/> pool, for a consumer that hands each batch to its step's scope with
    /// <see cref="TensorScope.Adopt"/> once it has it (the <see cref="Training.Trainer"/>), so the arrays come back
    /// after the step. A pooled batch nobody adopts is simply collected by the GC.
    /// </summary>
    internal IEnumerable<Batch> GetEpoch(int epoch, int startBatch, bool pooled)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(startBatch);
        int[] order = Order(epoch);
        return Prefetch ? Prefetched(order, startBatch, pooled) : Sequential(order, startBatch, pooled);
    }

    /// <inheritdoc/>
    public IEnumerator<Batch> GetEnumerator() => GetEpoch(Epoch).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private IEnumerable<Batch> Sequential(int[] order, int startBatch, bool pooled)
    {
        for (int b = startBatch; b < Count; b++)
        {
            yield return Assemble(order, b, pooled);
        }
    }

    private IEnumerable<Batch> Prefetched(int[] order, int startBatch, bool pooled)
    {
        if (startBatch >= Count)
        {
            yield break;
        }

        using var queue = new BlockingCollection<Batch>(PrefetchDepth);
        using var stop = new CancellationTokenSource();
        Exception? failure = null;
        var worker = new Thread(() =>
        {
            try
            {
                for (int b = startBatch; b < Count; b++)
                {
                    queue.Add(Assemble(order, b, pooled), stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // The consumer stopped early.
            }
#pragma warning disable CA1031 // The failure is rethrown on the consumer's thread below.
            catch (Exception e)
            {
                failure = e;
            }
#pragma warning restore CA1031
            finally
            {
                queue.CompleteAdding();
            }
        })
        {
            IsBackground = true,
            Name = "DataLoader prefetch",
        };
        worker.Start();
        try
        {
            foreach (Batch batch in queue.GetConsumingEnumerable())
            {
                yield return batch;
            }

            if (failure is not null)
            {
                throw new InvalidOperationException($"The DataLoader worker failed: {failure.Message}", failure);
            }
        }
        finally
        {
            stop.Cancel();
            worker.Join();
        }
    }

    // Every element of a batch is written (each sample's row, each target), so pooled arrays need no clearing.
    private Batch Assemble(int[] order, int batchIndex, bool pooled)
    {
        int start = batchIndex * BatchSize;
        int n = Math.Min(BatchSize, order.Length - start);
        Tensor targets = Tensor.Borrowed([n], pooled);
        Span<float> t = targets.Data;
        if (_dataset is IRowDataset rows)
        {
            int[] sampleShape = [.. rows.SampleShape];
            int sampleSize = (int)Shapes.Numel(sampleShape);
            _ = checked(n * sampleSize); // a batch over 2³¹ elements is an OverflowException
            Tensor inputs = Tensor.Borrowed([n, .. sampleShape], pooled);
            Span<float> x = inputs.Data;
            for (int i = 0; i < n; i++)
            {
                t[i] = rows.CopySample(order[start + i], x.Slice(i * sampleSize, sampleSize));
            }

            return new Batch(inputs, targets);
        }

        Tensor? batch = null;
        int[]? shape = null;
        for (int i = 0; i < n; i++)
        {
            (Tensor input, int label) = _dataset.Get(order[start + i]);
            if (shape is null)
            {
                shape = input.Shape;
                _ = checked(n * input.Numel); // a batch over 2³¹ elements is an OverflowException
                batch = Tensor.Borrowed([n, .. shape], pooled);
            }
            else if (!input.Shape.AsSpan().SequenceEqual(shape))
            {
                throw new InvalidOperationException(
                    $"DataLoader cannot stack sample {order[start + i]} of shape {Shapes.Format(input.Shape)} with earlier samples of shape {Shapes.Format(shape)}.");
            }

            input.Data.CopyTo(batch!.Data.Slice(i * input.Numel, input.Numel));
            t[i] = label;
        }

        return new Batch(batch ?? new Tensor([], [n, .. shape ?? []]), targets);
    }
}
