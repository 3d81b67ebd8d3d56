using System.Numerics;
using System.Runtime.Intrinsics;

namespace SharpCnn;

/// <summary>
/// The library-owned pseudo-random generator (xoshiro256** seeded through SplitMix64). It drives
/// initialisation, shuffling, dropout and augmentation, so one seed fixes a whole run; its state can be
/// saved in a checkpoint and restored. Unlike <see cref="Random"/>, its sequence is fixed by this code
/// and never changes between .NET versions.
/// </summary>
/// <remarks>
/// Like <see cref="Random"/> instances, a generator is not thread-safe, and that includes <see cref="Default"/>:
/// code that builds models or draws dropout masks on several threads at once should give each thread its own
/// generator (the <c>Init</c> functions, <c>Tensor.Rand</c>/<c>Randn</c> and <c>F.Dropout</c> all take one).
/// Concurrent use does not crash, but the values drawn are then unspecified. To make code that draws from
/// <see cref="Default"/> (layer constructors, dropout) deterministic while other threads also use it, scope a
/// private generator on the current thread with <see cref="UseAsDefault"/>.
/// </remarks>
public sealed class Generator
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator seeded with <paramref name="seed"/>.</summary>
    public Generator(ulong seed = 0) => ManualSeed(seed);

    private static readonly Generator s_processDefault = new(0);

    [ThreadStatic]
    private static Generator? s_threadDefault;

    /// <summary>
    /// The generator used when none is passed: the one scoped on this thread by <see cref="UseAsDefault"/>, else
    /// the process-wide generator (seed 0 at start-up).
    /// </summary>
    public static Generator Default => s_threadDefault ?? s_processDefault;

    /// <summary>
    /// Makes <paramref name="generator"/> this thread's <see cref="Default"/> until the returned scope is disposed
    /// (on the same thread), which restores the previous one; scopes nest. Other threads keep their own default.
    /// </summary>
    /// <example><code>using (Generator.UseAsDefault(new Generator(seed))) { model = new LeNet5(); }</code></example>
    public static IDisposable UseAsDefault(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var scope = new DefaultScope(s_threadDefault);
        s_threadDefault = generator;
        return scope;
    }

    private sealed class DefaultScope(Generator? previous) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                s_threadDefault = previous;
            }
        }
    }

    /// <summary>Re-seeds this generator; the same seed always gives the same sequence.</summary>
    public void ManualSeed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>Gets or sets the full 256-bit state, as four words, for checkpoints.</summary>
    public ulong[] State
    {
        get => [_s0, _s1, _s2, _s3];
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            if (value.Length != 4 || (value[0] | value[1] | value[2] | value[3]) == 0)
            {
                throw new ArgumentException($"Generator state must be 4 words, not all zero; got {value.Length} words.", nameof(value));
            }

            (_s0, _s1, _s2, _s3) = (value[0], value[1], value[2], value[3]);
        }
    }

    /// <summary>Returns the next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Returns a uniform float in [0, 1) with 24 random bits.</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Returns a uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Returns a uniform integer in [0, <paramref name="maxExclusive"/>) without modulo bias.</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        // Lemire's multiply-shift with rejection.
        ulong range = (ulong)maxExclusive;
        ulong threshold = (0UL - range) % range;
        while (true)
        {
            ulong r = NextUInt64();
            UInt128 m = (UInt128)r * range;
            if ((ulong)m >= threshold)
            {
                return (int)(ulong)(m >> 64);
            }
        }
    }

    /// <summary>Returns a standard normal sample (Box–Muller, one value per call).</summary>
    public float NextNormal()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1], so the log is finite
        double u2 = NextDouble();
        return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2));
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with samples from N(<paramref name="mean"/>, <paramref name="std"/>²),
    /// sixteen at a time: eight pairs of uniforms give both Box–Muller outputs (r·cos θ into the first eight
    /// slots, r·sin θ into the next eight), computed with vectorised log and sin/cos in double precision. A
    /// partial last block draws a whole block and keeps its head, so the values depend only on the state and
    /// the length. About 20× faster than calling <see cref="NextNormal"/> per element (model initialisation
    /// of VGG's 138 M weights takes a fraction of a second); the two give different sequences.
    /// </summary>
    public void FillNormal(Span<float> destination, double mean = 0, double std = 1)
    {
        Span<float> block = stackalloc float[16];
        while (destination.Length > 0)
        {
            int n = Math.Min(16, destination.Length);
            Span<float> target = n == 16 ? destination[..16] : block;
            NormalBlock(target, mean, std);
            if (n < 16)
            {
                block[..n].CopyTo(destination);
            }

            destination = destination[n..];
        }
    }

    private void NormalBlock(Span<float> target, double mean, double std)
    {
        Span<double> u1 = stackalloc double[8];
        Span<double> u2 = stackalloc double[8];
        for (int i = 0; i < 8; i++)
        {
            u1[i] = 1.0 - NextDouble(); // (0, 1], so the log is finite
            u2[i] = NextDouble();
        }

        Vector512<double> r = Vector512.Sqrt(Vector512.Create(-2.0) * Vector512.Log(Vector512.Create<double>(u1)));
        (Vector512<double> sin, Vector512<double> cos) = Vector512.SinCos(Vector512.Create(2.0 * Math.PI) * Vector512.Create<double>(u2));
        Vector512<double> m = Vector512.Create(mean);
        Vector512<double> s = Vector512.Create(std);
        Vector512.Narrow(m + (s * (r * cos)), m + (s * (r * sin))).CopyTo(target);
    }

    /// <summary>Fills <paramref name="indices"/> with a random permutation of 0..n−1 (Fisher–Yates).</summary>
    public void Permutation(Span<int> indices)
    {
        for (int i = 0; i < indices.Length; i++)
        {
            indices[i] = i;
        }

        for (int i = indices.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (indices[i], indices[j]) = (indices[j], indices[i]);
        }
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
