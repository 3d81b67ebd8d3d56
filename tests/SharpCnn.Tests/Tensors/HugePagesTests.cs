using System.Globalization;
using System.Runtime.InteropServices;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;

namespace SharpCnn.Tests.Tensors;

/// <summary>
/// The huge-page advice on large tensor storage (<see cref="HugePages"/>). Every test that switches the feature or
/// routes its native call lives in this class, which runs alone (<see cref="HugePagesAlone"/>): no other test allocates
/// through the hook or sees the switch flipped meanwhile.
/// </summary>
[Collection(HugePagesAlone.Name)]
public class HugePagesTests
{
    private const long TwoMiB = HugePages.PageBytes;

    [Theory]
    [InlineData(0L, 0L, 0L, 0L)] // empty
    [InlineData(4096L, 1L << 20, 0L, 0L)] // smaller than 2 MiB
    [InlineData(TwoMiB * 3, TwoMiB - 4, 0L, 0L)] // aligned start, one byte short of a page
    [InlineData((TwoMiB * 3) + 16, (TwoMiB * 2) - 32, TwoMiB * 4, 0L)] // unaligned start: no whole page inside
    [InlineData((TwoMiB * 3) + 16, (TwoMiB * 3) - 16, TwoMiB * 4, TwoMiB * 2)] // unaligned start, ends aligned
    [InlineData(TwoMiB * 3, TwoMiB * 2, TwoMiB * 3, TwoMiB * 2)] // exactly aligned
    [InlineData((TwoMiB * 3) - 16, (TwoMiB * 5) + 100, TwoMiB * 3, TwoMiB * 5)] // both ends ragged
    public void Interior_RaggedRanges_IsTheAlignedWholePagesInside(long address, long bytes, long start, long length)
    {
        (long s, long n) = HugePages.Interior(address, bytes);
        Assert.Equal(length, n);
        if (length > 0)
        {
            Assert.Equal(start, s);
            Assert.Equal(0, s % TwoMiB);
            Assert.True(s >= address && s + n <= address + bytes);
        }
    }

    [Fact]
    public void Advise_SmallAndUnalignedArrays_AdvisesOnlyWholeAlignedPagesInsideTheArray()
    {
        var calls = new List<(nint Address, nuint Length, int Advice)>();
        using (HugePages.OverrideForTests((a, n, advice) =>
        {
            calls.Add((a, n, advice));
            return 0;
        }))
        {
            // Below the threshold: an ordinary array, never advised.
            float[] small = HugePages.AllocateUninitialized(1000);
            Assert.Equal(1000, small.Length);
            Assert.Empty(calls);

            // An array of 1 MiB has no whole 2 MiB page inside: asking anyway calls nothing.
            Assert.False(HugePages.Advise(new float[1 << 18]));
            Assert.Empty(calls);

            // A large array: one call, on the 2 MiB-aligned interior of its elements (its start is not aligned:
            // the array header sits before the elements).
            float[] large = HugePages.AllocateZeroed(HugePages.MinFloats + 12345);
            Assert.All(large, v => Assert.Equal(0f, v));
            (nint address, nuint length, int advice) = Assert.Single(calls);
            Assert.Equal(14, advice); // MADV_HUGEPAGE
            GCHandle handle = GCHandle.Alloc(large, GCHandleType.Pinned);
            long begin = handle.AddrOfPinnedObject();
            handle.Free();
            long end = begin + ((long)large.Length * sizeof(float));
            Assert.Equal(0, address % TwoMiB);
            Assert.Equal(0UL, length % (ulong)TwoMiB);
            Assert.True(address >= begin && address + (long)length <= end);
            Assert.True(address - begin < TwoMiB && end - (address + (long)length) < TwoMiB, "the interior must be all whole pages inside");
        }
    }

    [Fact]
    public void AllocatePinned_SmallAndLarge_OnlyLargeAdvised()
    {
        var calls = new List<(nint Address, nuint Length, int Advice)>();
        using (HugePages.OverrideForTests((a, n, advice) =>
        {
            calls.Add((a, n, advice));
            return 0;
        }))
        {
            // The convolutions' prepared weights: every size pinned (a kernel addresses them across calls), only
            // those of 4 MiB and more advised.
            float[] small = HugePages.AllocatePinned(1000);
            Assert.Equal(1000, small.Length);
            Assert.Empty(calls);

            float[] large = HugePages.AllocatePinned(HugePages.MinFloats + 777);
            Assert.Equal(HugePages.MinFloats + 777, large.Length);
            Assert.Equal(14, Assert.Single(calls).Advice);
        }
    }

    [Fact]
    public void AllocateUninitialized_UsedPartGiven_AdvisesOnlyWholePagesOfTheUsedPart()
    {
        var calls = new List<(nint Address, nuint Length)>();
        using (HugePages.OverrideForTests((a, n, _) =>
        {
            calls.Add((a, n));
            return 0;
        }))
        {
            // A pool-class array longer than the tensor it is rented for: its unwritten tail is not advised.
            int used = (HugePages.MinFloats * 2) + 1000;
            float[] array = HugePages.AllocateUninitialized(HugePages.MinFloats * 3, used);
            (nint address, nuint length) = Assert.Single(calls);
            GCHandle handle = GCHandle.Alloc(array, GCHandleType.Pinned);
            long begin = handle.AddrOfPinnedObject();
            handle.Free();
            Assert.True(address + (long)length <= begin + ((long)used * sizeof(float)));
            Assert.True(begin + ((long)used * sizeof(float)) - (address + (long)length) < TwoMiB);

            // A used part below the threshold is not advised at all, whatever the array's length.
            calls.Clear();
            Assert.Equal(HugePages.MinFloats * 3, HugePages.AllocateZeroed(HugePages.MinFloats * 3, HugePages.MinFloats - 1).Length);
            Assert.Empty(calls);
        }
    }

    [Fact]
    public void Advise_FailingMadvise_TurnsTheFeatureOffWithoutThrowing()
    {
        int calls = 0;
        using (HugePages.OverrideForTests((_, _, _) =>
        {
            calls++;
            return -1; // EINVAL, as from a kernel without THP
        }))
        {
            Assert.True(HugePages.Enabled);
            float[] first = HugePages.AllocateUninitialized(HugePages.MinFloats * 2);
            Assert.Equal(HugePages.MinFloats * 2, first.Length);
            Assert.Equal(1, calls);
            Assert.False(HugePages.Enabled);

            // Off from now on: allocation still works, nothing more is asked of the OS.
            float[] second = HugePages.AllocateZeroed(HugePages.MinFloats * 2);
            Assert.All(second, v => Assert.Equal(0f, v));
            Assert.False(HugePages.Advise(second));
            Assert.Equal(1, calls);
        }

        using (HugePages.OverrideForTests((_, _, _) => throw new EntryPointNotFoundException("madvise")))
        {
            Assert.False(HugePages.Advise(GC.AllocateUninitializedArray<float>(HugePages.MinFloats * 2, pinned: true)));
            Assert.False(HugePages.Enabled);
        }
    }

    [Fact]
    public void AllocateZeroed_LargeArray_InteriorReleasedEndsClearedAllZero()
    {
        var drops = new List<(long Address, long Length)>();
        int result = 0;
        using (HugePages.OverrideForTests((_, _, _) => 0))
        using (HugePages.OverridePageDropForTests(
            (a, n) =>
            {
                drops.Add((a, (long)n));
                if (result == 0)
                {
                    // Stands in for the kernel: a dropped range of anonymous memory reads back as zeros.
                    Marshal.Copy(new float[(int)(n / sizeof(float))], 0, a, (int)(n / sizeof(float)));
                }

                return result;
            },
            null))
        {
            int length = (HugePages.MinFloats * 2) + 777;
            long droppedBefore = HugePages.DroppedArrays;
            float[] array = HugePages.AllocateZeroed(length);
            Assert.All(array, v => Assert.Equal(0f, v));
            (long address, long bytes) = Assert.Single(drops);
            Assert.Equal(HugePages.Interior(AddressOf(array), (long)length * sizeof(float)), (address, bytes));
            Assert.Equal(droppedBefore + 1, HugePages.DroppedArrays);

            // A failing drop changes nothing but the way the array is zeroed: all of it by hand.
            result = -1;
            drops.Clear();
            float[] second = HugePages.AllocateZeroed(length);
            Assert.Single(drops);
            Assert.All(second, v => Assert.Equal(0f, v));
            Assert.Equal(droppedBefore + 1, HugePages.DroppedArrays);
            Assert.True(HugePages.Enabled);
        }
    }

    [Fact]
    public void AllocateUninitialized_ResidentOrFreshInterior_DropsOnlyResidentPages()
    {
        var drops = new List<(long Address, long Length)>();
        bool resident = false;
        using (HugePages.OverrideForTests((_, _, _) => 0))
        using (HugePages.OverridePageDropForTests(
            (a, n) =>
            {
                drops.Add((a, (long)n));
                return 0;
            },
            (_, n, vector) =>
            {
                int pages = (int)(n / 4096);
                Array.Clear(vector, 0, pages);
                vector[pages / 2] = resident ? (byte)1 : (byte)0; // one resident page in the middle, or none
                return 0;
            }))
        {
            // Fresh memory (nothing resident): left alone.
            float[] fresh = HugePages.AllocateUninitialized(HugePages.MinFloats * 3, HugePages.MinFloats * 2);
            Assert.Equal(HugePages.MinFloats * 3, fresh.Length);
            Assert.Empty(drops);

            // Memory the GC hands out again, partly resident: the advised interior (of the used part) is dropped.
            resident = true;
            float[] reused = HugePages.AllocateUninitialized(HugePages.MinFloats * 3, HugePages.MinFloats * 2);
            (long address, long bytes) = Assert.Single(drops);
            Assert.Equal(HugePages.Interior(AddressOf(reused), (long)HugePages.MinFloats * 2 * sizeof(float)), (address, bytes));
        }
    }

    [HugePagesFact]
    public void ReleaseInterior_TouchedPinnedArray_InteriorReadsZeroEndsKept()
    {
        // What AllocateZeroed relies on, checked against the real kernel: after MADV_DONTNEED the GC's private
        // anonymous memory reads back as zeros, and only the aligned interior is touched.
        using (HugePages.SwitchForTests(true))
        {
            int length = (HugePages.MinFloats * 2) + 1234;
            float[] array = GC.AllocateUninitializedArray<float>(length, pinned: true);
            array.AsSpan().Fill(1f);
            (long first, long count) = HugePages.ReleaseInterior(array, length);
            Assert.True(count >= HugePages.PageBytes / sizeof(float), "madvise(MADV_DONTNEED) failed");
            Assert.Equal(HugePages.Interior(AddressOf(array), (long)length * sizeof(float)).Length, count * sizeof(float));
            for (long i = 0; i < length; i++)
            {
                Assert.Equal(i >= first && i < first + count ? 0f : 1f, array[i]);
            }

            array.AsSpan().Fill(2f); // the released pages are usable again
            Assert.All(array, v => Assert.Equal(2f, v));
        }
    }

    private static long AddressOf(float[] pinnedArray)
    {
        GCHandle handle = GCHandle.Alloc(pinnedArray, GCHandleType.Pinned);
        try
        {
            return handle.AddrOfPinnedObject();
        }
        finally
        {
            handle.Free();
        }
    }

    [Theory]
    [InlineData("0", true)]
    [InlineData(" off ", true)]
    [InlineData("FALSE", true)]
    [InlineData("1", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsSwitchedOff_VariableValues_OnlyZeroFalseOffSwitchOff(string? value, bool off) =>
        Assert.Equal(off, HugePages.IsSwitchedOff(value));

    [Fact]
    public void TrainingStep_FeatureOnAndOff_BitIdenticalResults()
    {
        // Tensors of (4, 32, 64, 64) = 2 MiB floats = 8 MiB each: every activation and gradient is advised when on.
        (float[] Loss, float[] GradW, float[] GradX) Run(bool enabled)
        {
            using (HugePages.SwitchForTests(enabled))
            {
                TensorScope.ReleasePooledMemory(); // fresh arrays from this mode's allocation path
                var g = new Generator(7);
                Tensor x = Tensor.Randn(g, 4, 32, 64, 64);
                x.RequiresGrad = true;
                Tensor w = Tensor.Randn(g, 32, 32, 3, 3) * 0.1f;
                w = w.Detach();
                w.RequiresGrad = true;
                Tensor gamma = Tensor.Ones(32);
                gamma.RequiresGrad = true;
                float[] loss;
                using (TensorScope.Begin())
                {
                    Tensor y = F.Conv2d(x, w, padding: 1);
                    y = F.BatchNorm(y, null, null, gamma, null, training: true);
                    y = F.MaxPool2d(F.Relu(y), 2);
                    Tensor l = (y * y).Sum();
                    l.Backward();
                    loss = l.ToArray();
                }

                return (loss, w.Grad!.ToArray(), x.Grad!.ToArray());
            }
        }

        var on = Run(true);
        var off = Run(false);
        var on2 = Run(true);
        Assert.Equal(off.Loss, on.Loss);
        Assert.Equal(off.GradW, on.GradW);
        Assert.Equal(off.GradX, on.GradX);
        Assert.Equal(on.GradX, on2.GradX);
        Assert.Contains(on.GradX, v => v != 0f);
    }

    [Fact]
    public void BatchNormTrainingLoop_SteadyState_EveryLargeBufferAdvisedOnceAndReused()
    {
        // The bench row's loop (docs/performance.md, "Batch norm, round four"): batch norm forward + backward into
        // recycled leaf gradients inside a scope. Every large buffer it touches (input, upstream gradient, output,
        // input gradient) must sit on advised storage, and after the first steps no storage is allocated any more
        // (a new array each step would be faulted in afresh, on pages the GC may already have touched).
        var calls = new List<(long Address, long Length)>();
        using (HugePages.OverrideForTests((a, n, _) =>
        {
            lock (calls)
            {
                calls.Add((a, (long)n));
            }

            return 0;
        }))
        {
            TensorScope.ReleasePooledMemory();
            var g = new Generator(3);
            Tensor x = Tensor.Randn(g, 4, 16, 128, 130); // 1,064,960 floats: above the 4 MiB threshold, ragged
            Tensor dy = Tensor.Randn(g, 4, 16, 128, 130);
            Tensor runningMean = Tensor.Zeros(16), runningVar = Tensor.Ones(16);
            Parameter[] leaves = [new Parameter(x), new Parameter(Tensor.Ones(16)), new Parameter(Tensor.Zeros(16))];
            var sgd = new SGD(leaves, lr: 0.01);
            float[]? output = null;
            void Step()
            {
                using (TensorScope.Begin())
                {
                    sgd.RecycleGradients();
                    Tensor y = F.BatchNorm(leaves[0], runningMean, runningVar, leaves[1], leaves[2], training: true);
                    output = y.Storage;
                    y.Backward(dy);
                }
            }

            for (int i = 0; i < 3; i++)
            {
                Step();
            }

            int settled = calls.Count;
            var outputs = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
            var gradients = new HashSet<float[]>(ReferenceEqualityComparer.Instance);
            for (int i = 0; i < 6; i++)
            {
                Step();
                outputs.Add(output!);
                gradients.Add(leaves[0].Grad!.Storage);
                foreach (float[] buffer in new[] { x.Storage, dy.Storage, output!, leaves[0].Grad!.Storage })
                {
                    AssertInteriorAdvised(buffer, x.Numel, calls);
                }
            }

            Assert.Equal(settled, calls.Count); // nothing allocated (and advised) after the first steps
            Assert.True(outputs.Count + gradients.Count <= 4, $"{outputs.Count} output and {gradients.Count} gradient arrays over 6 steps: the pool should cycle a few");
        }
    }

    private static void AssertInteriorAdvised(float[] buffer, int used, List<(long Address, long Length)> calls)
    {
        GCHandle handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        long begin = handle.AddrOfPinnedObject();
        handle.Free();
        (long start, long length) = HugePages.Interior(begin, (long)used * sizeof(float));
        Assert.True(length > 0);
        Assert.Contains(calls, c => c.Address <= start && start + length <= c.Address + c.Length);
    }

    [HugePagesFact]
    public void Rent_LargePooledTensor_InteriorAdvisedToTheKernel()
    {
        // Whether the first write then really gets 2 MiB pages is the kernel's call (fragmentation, and memory the
        // GC reuses may have been touched already: a clean-clone CI run got none here while a quiet box got them), so
        // the deterministic check is that the kernel recorded the advice: "hg" in the VmFlags of every mapping over
        // the tensor's 2 MiB-aligned interior.
        using (HugePages.SwitchForTests(true))
        {
            TensorScope.ReleasePooledMemory();
            long advisedBefore = HugePages.AdvisedArrays;
            using (TensorScope.Begin())
            {
                Tensor t = Tensor.Zeros(4, 64, 128, 128); // 16 MiB, pooled
                float[] storage = t.Storage;
                Assert.True(HugePages.Enabled, "madvise(MADV_HUGEPAGE) failed on this kernel");
                Assert.True(HugePages.AdvisedArrays > advisedBefore);
                GCHandle handle = GCHandle.Alloc(storage, GCHandleType.Pinned);
                long begin = handle.AddrOfPinnedObject();
                handle.Free();
                long bytes = (long)t.Numel * sizeof(float);
                long lo = (begin + TwoMiB - 1) & ~(TwoMiB - 1), hi = (begin + bytes) & ~(TwoMiB - 1);
                List<string> flags = VmFlagsOver(lo, hi);
                Assert.NotEmpty(flags);
                Assert.All(flags, f => Assert.Contains(" hg", f, StringComparison.Ordinal));
            }
        }
    }

    /// <summary>The VmFlags lines of the mappings of /proc/self/smaps that overlap [begin, end).</summary>
    private static List<string> VmFlagsOver(long begin, long end)
    {
        var flags = new List<string>();
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-', StringComparison.Ordinal);
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && IsHex(line.AsSpan(0, dash)))
            {
                long lo = long.Parse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                long hi = long.Parse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                inside = lo < end && hi > begin;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                flags.Add(line + " ");
            }
        }

        return flags;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return s.Length > 0;
    }

    /// <summary>A fact that is skipped, saying why, where transparent huge pages cannot be had.</summary>
    private sealed class HugePagesFactAttribute : FactAttribute
    {
        public HugePagesFactAttribute()
        {
            const string Setting = "/sys/kernel/mm/transparent_hugepage/enabled";
            if (!OperatingSystem.IsLinux())
            {
                Skip = "Huge pages are advised on Linux only.";
            }
            else if (!File.Exists(Setting))
            {
                Skip = $"{Setting} does not exist: the kernel has no transparent huge pages.";
            }
            else if (File.ReadAllText(Setting).Contains("[never]", StringComparison.Ordinal))
            {
                Skip = $"{Setting} says [never]: the kernel gives no process huge pages.";
            }
        }
    }
}

/// <summary>
/// <see cref="HugePages"/>' switch and madvise hook are process-wide, so its tests run alone: otherwise another class's
/// large allocation calls the hook mid-test (a clean-clone CI run saw a second call) or a test flips the switch under
/// another.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HugePagesAlone
{
    public const string Name = "HugePages (alone)";
}
