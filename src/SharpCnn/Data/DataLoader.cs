using System.Collections;

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
/// dropping of the last incomplete batch, an optional per-sample transform (augmentation), and background
/// workers that build the next batches while the current one is being used.
/// </summary>
/// <remarks>
/// <para>Everything a batch holds is a function of (<see cref="Seed"/>, epoch, batch index) only, so a resumed
/// run sees the same batches as an uninterrupted one, whatever happened before, and the worker count changes
/// only when batches are built, never what they hold:</para>
/// <list type="bullet">
/// <item>The order of epoch <c>e</c> is a Fisher–Yates permutation drawn from a generator seeded with a mix of
/// (<see cref="Seed"/>, <c>e</c>) only (<see cref="Order"/>).</item>
/// <item>The transform's randomness for sample <c>i</c> (dataset index) in epoch <c>e</c> comes from a generator
/// seeded with <see cref="SampleSeed"/>(<see cref="Seed"/>, <c>e</c>, <c>i</c>), re-seeded for every sample. It
/// does not depend on the worker that builds the batch, on the batch size, on the position of the sample in the
/// epoch or on earlier epochs. (PyTorch instead seeds each worker once with base_seed + worker_id, so its
/// augmentations change with <c>num_workers</c>.)</item>
/// </list>
/// <para>With <see cref="NumWorkers"/> = 0 batches are built on the consumer's thread when asked for. With
/// <c>k</c> ≥ 1, <c>k</c> background threads (started per epoch enumeration, joined when it ends or is
/// disposed) claim batch indices in order and build them concurrently; the consumer receives them in order.
/// Workers stay at most <see cref="PrefetchDepth"/> + <c>k</c> batches ahead of the consumer. A failure while
/// building batch <c>b</c> is rethrown on the consumer when it reaches <c>b</c>, as an
/// <see cref="InvalidOperationException"/> carrying the original message and the original exception as inner
/// exception. Stopping early (break, <c>Take</c>, disposing the enumerator) stops and joins the workers; an
/// enumerator that is neither finished nor disposed leaves its (background) workers waiting.</para>
/// <para>With workers, <see cref="IDataset.Get"/> (or <see cref="IRowDataset.CopySample"/>) and the transform are
/// called from several threads at once: they must be safe for concurrent use (the built-in datasets and
/// transforms are).</para>
/// </remarks>
public sealed class DataLoader : IEnumerable<Batch>
{
    /// <summary>How many finished batches the workers may hold beyond those being built.</summary>
    public const int PrefetchDepth = 2;

    private readonly IDataset _dataset;
    private readonly ISampleTransform? _transform;

    /// <summary>Creates a loader.</summary>
    /// <param name="dataset">The samples; with <see cref="IRowDataset"/> and no transform, rows are copied straight into the batch.</param>
    /// <param name="batchSize">Samples per batch (≥ 1).</param>
    /// <param name="shuffle">Visit samples in a new seeded random order each epoch (default: in order).</param>
    /// <param name="dropLast">Skip the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="seed">Seed of the per-epoch shuffle and of the transform's per-sample randomness.</param>
    /// <param name="prefetch">Build batches on a background worker (default true); false means <paramref name="numWorkers"/> 0.</param>
    /// <param name="transform">Applied to each sample before stacking (default none); all samples of a batch must come out with one shape.</param>
    /// <param name="numWorkers">Background threads building batches (≥ 0; 0 builds them on the consumer's thread). Default: 1 with <paramref name="prefetch"/>, else 0.</param>
    /// <exception cref="ArgumentException"><paramref name="prefetch"/> is false while <paramref name="numWorkers"/> is positive.</exception>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle = false, bool dropLast = false, ulong seed = 0, bool prefetch = true,
                      ISampleTransform? transform = null, int? numWorkers = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        if (numWorkers is int k)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(k, nameof(numWorkers));
            if (!prefetch && k > 0)
            {
                throw new ArgumentException($"DataLoader got prefetch: false together with numWorkers: {k}; pass numWorkers alone (0 = no background work).", nameof(numWorkers));
            }
        }

        _dataset = dataset;
        _transform = transform;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        Seed = seed;
        NumWorkers = numWorkers ?? (prefetch ? 1 : 0);
    }

    /// <summary>Creates a loader whose seed is drawn once from <paramref name="generator"/>.</summary>
    public DataLoader(IDataset dataset, int batchSize, bool shuffle, bool dropLast, Generator generator, bool prefetch = true,
                      ISampleTransform? transform = null, int? numWorkers = null)
        : this(dataset, batchSize, shuffle, dropLast, (generator ?? throw new ArgumentNullException(nameof(generator))).NextUInt64(), prefetch,
               transform, numWorkers)
    {
    }

    /// <summary>The dataset.</summary>
    public IDataset Dataset => _dataset;

    /// <summary>The per-sample transform, or null.</summary>
    public ISampleTransform? Transform => _transform;

    /// <summary>Samples per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch visits samples in a seeded random order.</summary>
    public bool Shuffle { get; }

    /// <summary>Whether the last incomplete batch is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Seed of the per-epoch shuffle and of the per-sample transform randomness.</summary>
    public ulong Seed { get; }

    /// <summary>Background threads that build batches (0: built on the consumer's thread).</summary>
    public int NumWorkers { get; }

    /// <summary>Whether batches are built in the background (<see cref="NumWorkers"/> &gt; 0).</summary>
    public bool Prefetch => NumWorkers > 0;

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

    /// <summary>
    /// The seed of the generator that drives the transform of dataset sample <paramref name="index"/> in epoch
    /// <paramref name="epoch"/> under loader seed <paramref name="seed"/>: <c>new Generator(SampleSeed(s, e, i))</c>
    /// reproduces that sample's augmentation anywhere.
    /// </summary>
    /// <remarks>
    /// h = M(M(M(s ⊕ D) ⊕ e) ⊕ i) with M the SplitMix64 finaliser (a bijection of 64-bit words) and D a constant
    /// that keeps this stream apart from the shuffle's <c>s ⊕ (e + 1)·K</c>. Distinct (e, i) under one seed give
    /// distinct seeds unless two 64-bit hashes collide.
    /// </remarks>
    public static ulong SampleSeed(ulong seed, int epoch, int index) =>
        Mix(Mix(Mix(seed ^ 0x243F6A8885A308D3UL) ^ (uint)epoch) ^ (uint)index);

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
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
        return NumWorkers > 0 ? Workers(order, epoch, startBatch, pooled) : Sequential(order, epoch, startBatch, pooled);
    }

    /// <inheritdoc/>
    public IEnumerator<Batch> GetEnumerator() => GetEpoch(Epoch).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private IEnumerable<Batch> Sequential(int[] order, int epoch, int startBatch, bool pooled)
    {
        Generator? rng = _transform is null ? null : new Generator();
        for (int b = startBatch; b < Count; b++)
        {
            yield return Assemble(order, epoch, b, pooled, rng);
        }
    }

    private IEnumerable<Batch> Workers(int[] order, int epoch, int startBatch, bool pooled)
    {
        int count = Count;
        if (startBatch >= count)
        {
            yield break;
        }

        // A ring of `capacity` slots: batch b lives in slot b % capacity from when a worker finishes it until the
        // consumer takes it. A worker claims b only while b < consumerNext + capacity, so slots never collide.
        int capacity = PrefetchDepth + NumWorkers;
        var slots = new Batch?[capacity];
        var failures = new Exception?[capacity];
        var ready = new bool[capacity];
        object gate = new();
        int next = startBatch;         // the next batch index a worker may claim
        int consumerNext = startBatch; // the batch the consumer waits for
        bool stopped = false;

        void Work()
        {
            Generator? rng = _transform is null ? null : new Generator();
            while (true)
            {
                int b;
                lock (gate)
                {
                    while (!stopped && next < count && next >= consumerNext + capacity)
                    {
                        Monitor.Wait(gate);
                    }

                    if (stopped || next >= count)
                    {
                        return;
                    }

                    b = next++;
                }

                Batch? batch = null;
                Exception? failure = null;
                try
                {
                    batch = Assemble(order, epoch, b, pooled, rng);
                }
#pragma warning disable CA1031 // The failure is rethrown on the consumer's thread when it reaches batch b.
                catch (Exception e)
                {
                    failure = e;
                }
#pragma warning restore CA1031

                lock (gate)
                {
                    slots[b % capacity] = batch;
                    failures[b % capacity] = failure;
                    ready[b % capacity] = true;
                    Monitor.PulseAll(gate);
                }
            }
        }

        var workers = new Thread[NumWorkers];
        for (int w = 0; w < workers.Length; w++)
        {
            workers[w] = new Thread(Work) { IsBackground = true, Name = $"DataLoader worker {w}" };
        }

        try
        {
            foreach (Thread worker in workers)
            {
                worker.Start();
            }

            for (int b = startBatch; b < count; b++)
            {
                Batch? batch;
                Exception? failure;
                lock (gate)
                {
                    int slot = b % capacity;
                    while (!ready[slot])
                    {
                        Monitor.Wait(gate);
                    }

                    (batch, failure) = (slots[slot], failures[slot]);
                    (slots[slot], failures[slot], ready[slot]) = (null, null, false);
                    consumerNext = b + 1;
                    Monitor.PulseAll(gate);
                }

                if (failure is not null)
                {
                    throw new InvalidOperationException($"The DataLoader worker failed on batch {b}: {failure.Message}", failure);
                }

                yield return batch!;
            }
        }
        finally
        {
            lock (gate)
            {
                stopped = true;
                Monitor.PulseAll(gate);
            }

            foreach (Thread worker in workers)
            {
                if (worker.ThreadState != ThreadState.Unstarted)
                {
                    worker.Join();
                }
            }
        }
    }

    // Every element of a batch is written (each sample's row, each target), so pooled arrays need no clearing.
    private Batch Assemble(int[] order, int epoch, int batchIndex, bool pooled, Generator? rng)
    {
        int start = batchIndex * BatchSize;
        int n = Math.Min(BatchSize, order.Length - start);
        Tensor targets = Tensor.Borrowed([n], pooled);
        Span<float> t = targets.Data;
        if (_transform is null && _dataset is IRowDataset rows)
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
            int index = order[start + i];
            (Tensor input, int label) = _dataset.Get(index);
            if (_transform is not null)
            {
                rng!.ManualSeed(SampleSeed(Seed, epoch, index));
                input = _transform.Apply(input, rng);
            }

            if (shape is null)
            {
                shape = input.Shape;
                _ = checked(n * input.Numel); // a batch over 2³¹ elements is an OverflowException
                batch = Tensor.Borrowed([n, .. shape], pooled);
            }
            else if (!input.Shape.AsSpan().SequenceEqual(shape))
            {
                string after = _transform is null ? "" : " after the transform";
                throw new InvalidOperationException(
                    $"DataLoader cannot stack sample {index} of shape {Shapes.Format(input.Shape)}{after} with earlier samples of shape {Shapes.Format(shape)}.");
            }

            input.Data.CopyTo(batch!.Data.Slice(i * input.Numel, input.Numel));
            t[i] = label;
        }

        return new Batch(batch ?? new Tensor([], [n, .. shape ?? []]), targets);
    }
}
