using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using KernelParallel = SharpCnn.Kernels.KernelParallel;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>
/// The memory-bandwidth rows (<see cref="MemoryStreamWorkload"/>): dst = a (read 1) or dst = a + b (read 2), Vector512
/// loads and aligned non-temporal stores (a scalar head up to the first 64-byte boundary of dst, then a store fence per
/// thread), the threads taking contiguous halves through <see cref="KernelParallel"/>, as the batch-norm kernels do.
/// The tensors are allocated as the batch-norm rows' are (<c>Tensor.Randn</c> outside a scope: pinned, and on huge
/// pages where the machine offers them), so both see the same page size.
/// </summary>
internal static class MemoryStreamBench
{
    public static ActionRun Prepare(MemoryStreamWorkload w, Generator gen)
    {
        int len = checked((int)w.Floats);

        // Three sets of sources in turn: between two reads of one set the two others (≥ 51.4 MB) pass through the
        // caches, far more than the 32 MiB L3 holds, so every read comes from DRAM.
        const int Sets = 3;
        Tensor[][] sources = [.. Enumerable.Range(0, Sets).Select(_ => Enumerable.Range(0, w.Reads).Select(_ => Tensor.Randn(gen, len)).ToArray())];
        Tensor dst = Tensor.Zeros(len);
        int set = 0;
        return new ActionRun(() =>
        {
            Tensor[] src = sources[set];
            set = (set + 1) % Sets;
            Stream(src[0], w.Reads > 1 ? src[1] : null, dst, len);
        });
    }

    /// <summary>dst[i] = a[i] (+ b[i]) over [0, len), split in one contiguous range per thread.</summary>
    private static unsafe void Stream(Tensor a, Tensor? b, Tensor dst, int len)
    {
        const int Chunk = 1 << 14;
        int chunks = (len + Chunk - 1) / Chunk;
        fixed (float* pa = a.Data)
        fixed (float* pb = b is null ? default : b.Data)
        fixed (float* pd = dst.Data)
        {
            float* xa = pa, xb = pb, xd = pd;
            KernelParallel.For(chunks, 2L * Chunk, (start, end) =>
            {
                int from = start * Chunk, to = (int)Math.Min((long)end * Chunk, len);
                Copy(xa + from, xb is null ? null : xb + from, xd + from, to - from);
                if (Sse.IsSupported)
                {
                    Sse.StoreFence();
                }
            }, KernelParallel.MaxThreads);
        }
    }

    private static unsafe void Copy(float* a, float* b, float* d, int count)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            while (i < count && ((nuint)(d + i) & 63) != 0)
            {
                d[i] = b is null ? a[i] : a[i] + b[i];
                i++;
            }

            if (b is null)
            {
                for (; i <= count - 16; i += 16)
                {
                    Vector512.Load(a + i).StoreAlignedNonTemporal(d + i);
                }
            }
            else
            {
                for (; i <= count - 16; i += 16)
                {
                    (Vector512.Load(a + i) + Vector512.Load(b + i)).StoreAlignedNonTemporal(d + i);
                }
            }
        }

        for (; i < count; i++)
        {
            d[i] = b is null ? a[i] : a[i] + b[i];
        }
    }
}
