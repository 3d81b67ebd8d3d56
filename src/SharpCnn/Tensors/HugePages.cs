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
/// already-written pages with <c>MADV_COLLAPSE</c> costs 20–60 ms per 25 MB array, so it is never used. Memory the
/// GC hands out again may still be resident on 4 KB pages, which the advice does not change: a new array's advised
/// interior is then given back first with <c>MADV_DONTNEED</c>, after which it reads as zeros and its first write
/// faults in 2 MiB pages; dirty arrays do so only when <c>mincore</c> finds a page resident, zero-filled ones always,
/// in place of clearing it.) The array's ends outside the aligned interior stay on 4 KB
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

    private const int MadvDontNeed = 4;

    // 0 = not decided yet, 1 = on, −1 = off.
    private static int s_state;
    private static Func<nint, nuint, int, int>? s_madviseOverride;
    private static Func<nint, nuint, int>? s_dropOverride;
    private static Func<nint, nuint, byte[], int>? s_residentOverride;

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
        if (Advise(array, advised))
        {
            // Memory the GC hands out again may already be resident on 4 KB pages, which the advice does not change;
            // its contents do not matter here, so give such pages back and let the first write fault in huge pages.
            WithInterior(array, advised, static (start, bytes) => DropIfResident(start, bytes));
        }

        return array;
    }

    /// <summary>
    /// A new <b>pinned</b> array of <paramref name="length"/> floats whose contents are unspecified, advised when large and
    /// <see cref="Enabled"/> (as <see cref="AllocateUninitialized"/>); below <see cref="MinFloats"/>, or when off, a plain
    /// pinned array. For storage a kernel addresses across calls and reads in full on every call: the convolutions'
    /// prepared (packed, transformed) weights.
    /// </summary>
    public static float[] AllocatePinned(int length) =>
        length >= MinFloats && Enabled ? AllocateUninitialized(length) : GC.AllocateUninitializedArray<float>(length, pinned: true);

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

        // Uninitialized, then zeroed here: the advised interior by dropping its pages (anonymous memory reads back as
        // zeros and its first write faults in huge pages, also where the GC reuses memory already resident on 4 KB
        // pages), the rest by clearing it.
        float[] array = GC.AllocateUninitializedArray<float>(length, pinned: true);
        (long first, long count) = Advise(array, advised) ? ReleaseInterior(array, advised) : (0, 0);
        if (count == 0)
        {
            Array.Clear(array);
        }
        else
        {
            array.AsSpan(0, (int)first).Clear();
            array.AsSpan((int)(first + count)).Clear();
        }

        return array;
    }

    /// <summary>
    /// Gives the pages of the 2 MiB-aligned interior of the first <paramref name="used"/> floats of the pinned
    /// <paramref name="array"/> back to the OS (<c>MADV_DONTNEED</c>): that part then reads as zeros and is faulted in
    /// afresh by its next write. Returns the interior as (first float, floats), or (0, 0) when there is none or the call
    /// failed (then nothing changed). Only for arrays whose interior contents are not needed.
    /// </summary>
    internal static (long First, long Count) ReleaseInterior(float[] array, int used) =>
        WithInterior(array, used, static (start, bytes) => Drop(start, bytes) ? bytes : 0);

    /// <summary>Arrays whose already-resident interior was given back so that it faults in as huge pages (diagnostics and tests).</summary>
    public static long DroppedArrays => Interlocked.Read(ref s_droppedArrays);

    private static long s_droppedArrays;

    /// <summary>
    /// Calls <paramref name="action"/> on the 2 MiB-aligned interior of the first <paramref name="used"/> floats of the
    /// pinned <paramref name="array"/>; returns (first float, floats) of the interior when the action returned a
    /// non-zero byte count for it, else (0, 0).
    /// </summary>
    private static (long First, long Count) WithInterior(float[] array, int used, Func<nint, long, long> action)
    {
        GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
        try
        {
            nint begin = handle.AddrOfPinnedObject();
            (long start, long length) = Interior(begin, (long)used * sizeof(float));
            if (length == 0 || action((nint)start, length) == 0)
            {
                return (0, 0);
            }

            return ((start - begin) / sizeof(float), length / sizeof(float));
        }
        finally
        {
            handle.Free();
        }
    }

    /// <summary>
    /// <c>madvise(MADV_DONTNEED)</c> on an aligned range of private anonymous memory whose contents are not needed: its
    /// pages go back to the OS, it reads back as zeros, and (being advised) its first write faults in 2 MiB pages.
    /// False when the call failed (nothing else changes: the feature stays on, the caller zeroes by hand).
    /// </summary>
    private static bool Drop(nint start, long bytes)
    {
        int result;
        try
        {
            result = s_dropOverride is { } hook ? hook(start, (nuint)bytes) : Native.Madvise(start, (nuint)bytes, MadvDontNeed);
        }
#pragma warning disable CA1031 // Best effort: a failure only means the caller zeroes the memory itself.
        catch (Exception)
#pragma warning restore CA1031
        {
            result = -1;
        }

        if (result != 0)
        {
            return false;
        }

        Interlocked.Increment(ref s_droppedArrays);
        return true;
    }

    /// <summary>
    /// <see cref="Drop"/> when any page of the range is resident (<c>mincore</c>): fresh memory is left alone (the call
    /// would cost a page-table walk for nothing). Returns the bytes dropped, 0 when none.
    /// </summary>
    private static long DropIfResident(nint start, long bytes)
    {
        long pages = bytes / 4096;
        byte[] resident = System.Buffers.ArrayPool<byte>.Shared.Rent((int)pages);
        try
        {
            int ok;
            try
            {
                ok = s_residentOverride is { } hook ? hook(start, (nuint)bytes, resident) : Native.Mincore(start, (nuint)bytes, resident);
            }
#pragma warning disable CA1031 // Best effort: without the answer the pages are left as they are.
            catch (Exception)
#pragma warning restore CA1031
            {
                ok = -1;
            }

            return ok == 0 && resident.AsSpan(0, (int)pages).ContainsAnyExcept((byte)0) && Drop(start, bytes) ? bytes : 0;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(resident);
        }
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
    /// Test hook: routes <c>madvise(MADV_DONTNEED)</c> through <paramref name="drop"/> (address, length; 0 = success) and
    /// <c>mincore</c> through <paramref name="resident"/> (address, length, one byte per 4 KB page; 0 = success) until
    /// the returned handle is disposed. A drop hook that reports success must zero the range itself (the callers rely
    /// on it reading back as zeros).
    /// </summary>
    internal static IDisposable OverridePageDropForTests(Func<nint, nuint, int>? drop, Func<nint, nuint, byte[], int>? resident)
    {
        Volatile.Write(ref s_dropOverride, drop);
        Volatile.Write(ref s_residentOverride, resident);
        return new RestorePageDrop();
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

    private sealed class RestorePageDrop : IDisposable
    {
        public void Dispose()
        {
            Volatile.Write(ref s_dropOverride, null);
            Volatile.Write(ref s_residentOverride, null);
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

        public static int Mincore(nint address, nuint length, byte[] vector)
        {
            if (!s_useGeneric)
            {
                try
                {
                    return MincoreGlibc(address, length, vector);
                }
                catch (DllNotFoundException)
                {
                    s_useGeneric = true;
                }
            }

            return MincoreGeneric(address, length, vector);
        }

        // The byte array is blittable: it is pinned and passed as a pointer, so the call's writes land in it.
        [DllImport("libc.so.6", EntryPoint = "mincore", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int MincoreGlibc(nint address, nuint length, [Out] byte[] vector);

        [DllImport("libc", EntryPoint = "mincore", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int MincoreGeneric(nint address, nuint length, [Out] byte[] vector);

        [DllImport("libc.so.6", EntryPoint = "madvise", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int MadviseGlibc(nint address, nuint length, int advice);

        [DllImport("libc", EntryPoint = "madvise", ExactSpelling = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        private static extern int MadviseGeneric(nint address, nuint length, int advice);
    }
}
