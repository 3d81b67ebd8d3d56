using System.Runtime.InteropServices;

namespace SharpCnn;

/// <summary>
/// Asks Linux to back large tensor storage with transparent huge pages (2 MiB), best effort. The engine's DRAM-bound
/// kernels (batch norm, pooling, element-wise ops, the large convolution activations) read 1.6–2.5× faster per core
/// from 2 MiB pages than from 4 KB pages on the machines measured (see docs/performance.md, "Huge pages for large
/// tensors"), and with THP in its common <c>madvise</c> mode a process only gets them for memory it asks for.
/// </summary>
/// <remarks>
/// <para>
/// This is the one place where the engine calls into native code: <c>madvise(2)</c> from the operating system's own
/// C library, through a plain <see cref="DllImportAttribute"/> with blittable arguments (the way the base class
/// library reaches the OS). Nothing else in the core is native, and nothing depends on this succeeding: the page
/// size is invisible to the kernels, so results are the same bits with and without it.
/// </para>
/// <para>
/// Storage of at least <see cref="MinBytes"/> is allocated on the pinned object heap (it never moves, so the advice
/// stays with its addresses) and the 2 MiB-aligned interior of the array is advised <c>MADV_HUGEPAGE</c> <b>before its
/// first write</b>: the first write of each 2 MiB then faults in a huge page directly, at no extra cost. (Collapsing
/// already-written pages with <c>MADV_COLLAPSE</c> costs 20–60 ms per 25 MB array, so it is never used; memory the
/// GC reuses keeps the advice of its address range.) The array's ends outside the aligned interior stay on 4 KB
/// pages. Only the part a tensor uses is advised (a pool array is up to 25% longer than the tensor it is first rented
/// for), so every advised 2 MiB is written in full and the resident size does not grow.
/// </para>
/// <para>
/// Off on other operating systems and when <c>SHARPCNN_HUGE_PAGES=0</c> (read once, at first use); then the
/// allocation is exactly what it was without this class. Every failure (no C library, an old kernel, THP compiled
/// out, <c>EINVAL</c>, <c>ENOMEM</c>) turns the feature off for the rest of the process, silently; nothing here
/// throws.
/// </para>
/// </remarks>
internal static class HugePages
{
    /// <summary>The environment variable; <c>0</c> (or <c>false</c>, <c>off</c>) turns the feature off.</summary>
    public const string Variable = "SHARPCNN_HUGE_PAGES";

    /// <summary>Smallest array (bytes) that is advised: from 4 MiB on, the aligned interior holds at least one 2 MiB page.</summary>
    public const long MinBytes = 4L << 20;

    /// <summary>Smallest array (floats) that is advised.</summary>
    public const int MinFloats = (int)(MinBytes / sizeof(float));

    /// <summary>The transparent huge page size on x86-64 and (with 4 KB base pages) arm64.</summary>
    public const long PageBytes = 2L << 20;

    private const int MadvHugePage = 14;

    // 0 = not decided yet, 1 = on, −1 = off.
    private static int s_state;
    private static Func<nint, nuint, int, int>? s_madviseOverride;

    /// <summary>True while large storage is advised (Linux, not switched off, no failure so far).</summary>
    public static bool Enabled
    {
        get
        {
            int state = Volatile.Read(ref s_state);
            if (state == 0)
            {
                state = Decide();
                Interlocked.CompareExchange(ref s_state, state, 0);
                state = Volatile.Read(ref s_state);
            }

            return state > 0;
        }
    }

    /// <summary>Arrays advised so far (diagnostics and tests).</summary>
    public static long AdvisedArrays => Interlocked.Read(ref s_advisedArrays);

    private static long s_advisedArrays;

    /// <summary>
    /// A new array of <paramref name="length"/> floats whose contents are unspecified (the caller writes every element
    /// it reads), on the pinned heap and advised when large and <see cref="Enabled"/>; a plain
    /// <see cref="GC.AllocateUninitializedArray{T}(int, bool)"/> otherwise.
    /// </summary>
    /// <remarks>
    /// Only the first <paramref name="used"/> floats (all of them when −1) are advised: a pool array is longer than the
    /// tensor it is rented for, and a huge page over its unwritten tail would be resident for nothing.
    /// </remarks>
    public static float[] AllocateUninitialized(int length, int used = -1)
    {
        int advised = used < 0 ? length : Math.Min(used, length);
        if (advised < MinFloats || !Enabled)
        {
            return GC.AllocateUninitializedArray<float>(length);
        }

        float[] array = GC.AllocateUninitializedArray<float>(length, pinned: true);
        Advise(array, advised);
        return array;
    }

    /// <summary>
    /// A new zero-filled array of <paramref name="length"/> floats (as <c>new float[length]</c>), on the pinned heap and
    /// advised when large and <see cref="Enabled"/>. The GC zeroes only memory that is not fresh from the OS; fresh
    /// memory is untouched until the caller's first write, so it still faults in as huge pages.
    /// </summary>
    /// <remarks>Only the first <paramref name="used"/> floats (all of them when −1) are advised, as for <see cref="AllocateUninitialized"/>.</remarks>
    public static float[] AllocateZeroed(int length, int used = -1)
    {
        int advised = used < 0 ? length : Math.Min(used, length);
        if (advised < MinFloats || !Enabled)
        {
            return new float[length];
        }

        float[] array = GC.AllocateArray<float>(length, pinned: true);
        Advise(array, advised);
        return array;
    }

    /// <summary>
    /// Advises the 2 MiB-aligned interior of the first <paramref name="count"/> floats of <paramref name="array"/> (all
    /// of them when −1; the array must not move: allocated pinned) for huge pages. False when the feature is off, the
    /// range has no whole aligned 2 MiB inside it, or the call failed (which turns the feature off).
    /// </summary>
    public static bool Advise(float[] array, int count = -1)
    {
        ArgumentNullException.ThrowIfNull(array);
        int n = count < 0 ? array.Length : Math.Min(count, array.Length);
        if (n == 0 || !Enabled)
        {
            return false;
        }

        GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            return AdviseRange(handle.AddrOfPinnedObject(), (long)n * sizeof(float));
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>
    /// The 2 MiB-aligned part of [<paramref name="address"/>, <paramref name="address"/> + <paramref name="bytes"/>):
    /// its start and length, length 0 when there is none.
    /// </summary>
    public static (long Start, long Length) Interior(long address, long bytes)
    {
        if (bytes <= 0)
        {
            return (address, 0);
        }

        long start = (address + PageBytes - 1) & ~(PageBytes - 1);
        long end = (address + bytes) & ~(PageBytes - 1);
        return end > start ? (start, end - start) : (start, 0);
    }

    /// <summary>
    /// Advises the aligned interior of a memory range; false when there is none or the call failed (the first failure
    /// turns the feature off). Never throws.
    /// </summary>
    internal static bool AdviseRange(nint address, long bytes)
    {
        (long start, long length) = Interior(address, bytes);
        if (length == 0 || !Enabled)
        {
            return false;
        }

        int result;
        try
        {
            Func<nint, nuint, int, int>? hook = Volatile.Read(ref s_madviseOverride);
            result = hook is not null ? hook((nint)start, (nuint)length, MadvHugePage) : Native.Madvise((nint)start, (nuint)length, MadvHugePage);
        }
#pragma warning disable CA1031 // Best effort by design: any failure of the native call only turns the feature off.
        catch (Exception)
#pragma warning restore CA1031
        {
            result = -1;
        }

        if (result != 0)
        {
            Volatile.Write(ref s_state, -1);
            return false;
        }

        Interlocked.Increment(ref s_advisedArrays);
        return true;
    }

    /// <summary>
    /// Test hook: routes the native call through <paramref name="madvise"/> (arguments: address, length, advice;
    /// 0 = success) and turns the feature on (as on Linux) until the returned handle is disposed, which restores the
    /// native call and lets the feature decide again from the environment.
    /// </summary>
    internal static IDisposable OverrideForTests(Func<nint, nuint, int, int> madvise)
    {
        Volatile.Write(ref s_madviseOverride, madvise);
        Volatile.Write(ref s_state, 1);
        return new Restore();
    }

    /// <summary>
    /// Test hook: forces the feature on (with the native call) or off until the returned handle is disposed, which lets
    /// it decide again from the environment.
    /// </summary>
    internal static IDisposable SwitchForTests(bool enabled)
    {
        Volatile.Write(ref s_state, enabled ? 1 : -1);
        return new Restore();
    }

    /// <summary>Forgets a decision (or an earlier failure), so the next use reads the environment again (tests).</summary>
    internal static void ResetForTests() => Volatile.Write(ref s_state, 0);

    /// <summary>True when the variable's value switches the feature off.</summary>
    internal static bool IsSwitchedOff(string? value) =>
        value is not null && (value.Trim() is "0" || value.Trim().Equals("false", StringComparison.OrdinalIgnoreCase) || value.Trim().Equals("off", StringComparison.OrdinalIgnoreCase));

    private static int Decide() =>
        OperatingSystem.IsLinux() && !IsSwitchedOff(Environment.GetEnvironmentVariable(Variable)) ? 1 : -1;

    private sealed class Restore : IDisposable
    {
        public void Dispose()
        {
            Volatile.Write(ref s_madviseOverride, null);
            Volatile.Write(ref s_state, 0);
        }
    }

    /// <summary>
    /// <c>int madvise(void* addr, size_t length, int advice)</c> from the C library: glibc's soname first, then the
    /// generic name (musl and others). A missing library or entry point surfaces as an exception that
    /// <see cref="AdviseRange"/> turns into "off".
    /// </summary>
    private static class Native
    {
        private static bool s_useGeneric;

        public static int Madvise(nint address, nuint length, int advice)
        {
            if (!s_useGeneric)
            {
                try
                {
                    return MadviseGlibc(address, length, advice);
                }
                catch (DllNotFoundException)
                {
                    s_useGeneric = true;
                }
            }

            return MadviseGeneric(address, length, advice);
        }

        [DllImport("libc.so.6", EntryPoint = "madvise", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int MadviseGlibc(nint address, nuint length, int advice);

        [DllImport("libc", EntryPoint = "madvise", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int MadviseGeneric(nint address, nuint length, int advice);
    }
}
