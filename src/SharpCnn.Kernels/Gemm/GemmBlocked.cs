using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SharpCnn.Kernels;

/// <summary>
/// Cache-blocked GEMM in the BLIS/GotoBLAS shape around an <see cref="IGemmMicroKernel"/>, for row-major C whose
/// columns are the vector dimension of the micro-kernel:
/// <code>
/// for ic in M by Mc:                 A block, packed once per k slice (or read in place, see remarks)
///   for pc in K by Kc:               k slices in order (C += slice by slice)
///     pack op(A)[ic.., pc..]         Mc×Kc, row micro-panels of Mr
///     for jc in N by Nc:             B block, packed per k slice (Kc×Nc ≤ L2)
///       pack op(B)[pc.., jc..]       column micro-panels of Nr, zero-padded
///       for ir in Mc by Mr:          A micro-panel (Mr×Kc, 16 KiB) stays in L1
///         for jr in Nc by Nr:        B micro-panels stream from L2
///           micro-kernel             Mr×Nr tile of C in registers
/// </code>
/// The k slices are the same for any thread count (Kc is balanced over k alone), and each C element is summed in
/// k order within a slice, so any split of C into tiles or blocks gives bitwise identical results.
/// </summary>
/// <remarks>
/// When the micro-kernel can (Vector512), A is not transposed and a block of C is at most 1024 columns wide, op(A) is
/// not packed at all: the kernel reads the 8 rows of a tile where A stores them (<see cref="IGemmMicroKernel.TileAInPlace"/>),
/// since a packed panel would serve at most two B blocks. When C has few rows (two row panels, or up to 8 with B's
/// rows close together) and B is not transposed, full B micro-panels are read in place instead of packed: B is then
/// used too few times to pay for the copy. A caller
/// that already holds op(B) in the packed layout (<see cref="GemmPackedB"/>) skips B packing altogether
/// (<see cref="RunPackedB{TKernel}"/>).
/// Threads split C into column blocks (or row blocks when C is taller than wide) through
/// <see cref="KernelParallel"/> (one fork-join per call); each block has its own B pack buffer. When the blocks read
/// A in place they share nothing but the read-only operands and, on large calls, the row panels of their last B block
/// of the last k slice, which a thread done with its own block takes over from a slower one (<see cref="StealSlot"/>;
/// same bits). Otherwise, for a column split with 2¹⁹ ≤ m·k ≤ 2²²,
/// op(A) is packed once into a buffer the blocks share, each micro-panel by the first thread that reaches it, the
/// blocks sweeping from opposite ends (<see cref="SharedPanels"/>); else the operand shared by the blocks is packed
/// by each thread, which costs m·k (or k·n) copies per thread against m·k·n/threads multiply-adds.
/// </remarks>
internal static unsafe class GemmBlocked
{
    /// <summary>
    /// Depth of a k slice. The A micro-panel (8×512 floats, 16 KiB) stays in L1 next to the streaming B panels, and
    /// every slice reads and writes all of C once: 512 halves those passes against 256, which measured 1–2% faster at
    /// 1024³ on one and two threads (docs/performance.md, "SGEMM, round three"). k is cut into equal slices of at
    /// most this depth, so the slices, and with them the result bits, depend on k alone.
    /// </summary>
    private const int Kc = 512;

    /// <summary>Rows of the packed A block: A is packed once per slice and this many rows of C (B is repacked per block).</summary>
    private const int Mc = 1024;

    /// <summary>
    /// Columns of the packed B block: Kc×Nc floats = 1 MiB, a Zen 4 core's whole L2 at full depth (each B
    /// micro-panel is read once per row panel and streams through; 256 columns measured 1–3% slower on one thread).
    /// </summary>
    private const int Nc = 512;

    /// <summary>
    /// Smallest op(A) (m·k floats) that a column split packs once for all threads: below it, packing A in every block
    /// costs less than the extra fork-join.
    /// </summary>
    private const long MinSharedA = 1 << 19;

    /// <summary>
    /// Least work per thread (multiply-adds) for which the threads share their last row panels (<see cref="StealSlot"/>):
    /// 2²⁵, about 0.3 ms here. At 1024³ on two threads the sharing measured 1.5–2% faster at the median while the box was
    /// busy and the same when quiet; at 256³ (2²³ per thread) the shared counter and the far B panels cost more than
    /// they balance (docs/performance.md, "SGEMM: the last row panels shared").
    /// </summary>
    private const long MinStealWork = 1L << 25;

    /// <summary>Largest op(A) packed once for all threads (16 MiB, kept by the calling thread for later calls).</summary>
    private const long MaxSharedA = 1 << 22;

    /// <summary>
    /// Widest block of C (columns) whose kernel reads a non-transposed A in place instead of packing it. Packing op(A)
    /// pays off only when each packed panel serves many B blocks: with at most two Nc blocks per A panel, the in-place
    /// read measured 3–5% faster on one thread and per thread on two (1024³, 512³, 256³, 1000×1024×1000,
    /// 4096×512×4096), with four or more 1.5–3% slower (2048³, 64×100352×576); docs/performance.md, "SGEMM, round
    /// five".
    /// </summary>
    private const int MaxAInPlaceColumns = 2 * Nc;

    [ThreadStatic]
    private static bool s_forcePackedA;

    private static long s_stolenPanels;

    private static readonly bool s_noSteal = KernelSwitches.Names(NoStealVariantName);

    /// <summary>Variant name that turns off the sharing of the last slice's row panels (<c>SHARPCNN_KERNEL=GemmNoSteal</c>), for A/B runs.</summary>
    internal const string NoStealVariantName = "GemmNoSteal";

    /// <summary>Gets or sets a test override of whether threads take over each other's last row panels (null: on unless <see cref="NoStealVariantName"/> is forced).</summary>
    internal static bool? StealOverride { get; set; }

    /// <summary>Gets or sets an action each thread runs right after opening its block's last slice to the others (tests delay one thread with it).</summary>
    internal static Action? LastSliceOpened { get; set; }

    /// <summary>Gets the row panels run so far by a thread other than their block's own (see <see cref="StealSlot"/>).</summary>
    internal static long StolenPanels => Interlocked.Read(ref s_stolenPanels);

    /// <summary>Gets or sets whether this thread's blocks always pack op(A) (tests compare the two paths bit for bit).</summary>
    internal static bool ForcePackedA
    {
        get => s_forcePackedA;
        set => s_forcePackedA = value;
    }

    public static void Run<TKernel>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> b, int ldb, Span<float> c, int ldc, bool accumulate, bool parallel)
        where TKernel : struct, IGemmMicroKernel
    {
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var job = new GemmJob(transA, transB, m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
            if (!parallel || KernelParallel.MaxThreads == 1)
            {
                Block<TKernel>(job, 0, m, 0, n);
            }
            else
            {
                GemmSplit<TKernel>.Run(job);
            }
        }
    }

    /// <summary>
    /// As <see cref="Run{TKernel}"/> with op(B) already packed: <paramref name="packedB"/> holds all of op(B) in the
    /// <see cref="GemmPackedB"/> layout of <typeparamref name="TKernel"/>, so no block packs B. Same blocking, thread
    /// split and operations as the plain call, hence bitwise the same C.
    /// </summary>
    public static void RunPackedB<TKernel>(bool transA, int m, int n, int k, ReadOnlySpan<float> a, int lda,
        ReadOnlySpan<float> packedB, Span<float> c, int ldc, bool accumulate, bool parallel)
        where TKernel : struct, IGemmMicroKernel
    {
        fixed (float* pa = a)
        fixed (float* pp = packedB)
        fixed (float* pc = c)
        {
            var job = new GemmJob(transA, false, m, n, k, pa, lda, null, n, pc, ldc, accumulate, pp);
            if (!parallel || KernelParallel.MaxThreads == 1)
            {
                Block<TKernel>(job, 0, m, 0, n);
            }
            else
            {
                GemmSplit<TKernel>.Run(job);
            }
        }
    }

    /// <summary>Computes rows [i0, i1) × columns [j0, j1) of C on the calling thread.</summary>
    /// <remarks>Fully optimised from the first call (no tier-0 code: a training run's first steps count too).</remarks>
    public static void Block<TKernel>(in GemmJob job, int i0, int i1, int j0, int j1)
        where TKernel : struct, IGemmMicroKernel => Block<TKernel>(job, i0, i1, j0, j1, null);

    /// <summary>
    /// As <see cref="Block{TKernel}(in GemmJob, int, int, int, int)"/>; when <paramref name="shared"/> is given, op(A)
    /// is packed into its buffer (then i0 = 0 and i1 = m), each micro-panel by whichever thread needs it first, and
    /// <paramref name="descending"/> sweeps the row panels bottom-up (the order of tiles never changes a result bit).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TKernel>(in GemmJob job, int i0, int i1, int j0, int j1, SharedPanels? shared, bool descending = false,
        StealSlot* slot = null)
        where TKernel : struct, IGemmMicroKernel
    {
        float* packedA = shared != null ? shared.Buffer : null;
        bool aInPlace = shared == null && ReadsAInPlace<TKernel>(job, j1 - j0);
        int mr = TKernel.Mr, nr = TKernel.Nr, k = job.K;
        int kcMax = SliceDepth(k);
        int mcMax = packedA != null ? i1 - i0 : Math.Min(Mc / mr * mr, RoundUp(i1 - i0, mr));
        int ncMax = Math.Min(Nc / nr * nr, RoundUp(j1 - j0, nr));
        GemmWorkspace ws = GemmWorkspace.Current;
        float* ap = packedA != null || aInPlace ? null : ws.A(mcMax * kcMax);
        float* packedB = job.PackedB;
        float* bp = packedB != null ? null : ws.B(ncMax * kcMax);
        nint paddedN = RoundUp(job.N, nr);
        nint ldc = job.Ldc;

        // A short A (few rows of C) uses each B element only a few times, so copying B into panels would cost as
        // much as the multiply: read full-width B micro-panels in place instead (the ragged last one is still
        // packed, zero-padded, so no read runs past B). Up to two row panels always; up to 8 when B's rows are
        // close together (≤ 2 KiB apart), since every row panel re-reads the micro-panels and strided rows far
        // apart stream from L2 far slower than a packed panel. Never when rows are a multiple of 1 KiB apart: the
        // rows of a micro-panel would share a few L1 sets and evict each other.
        bool direct = packedB == null && !job.TransB && job.Ldb % 256 != 0
            && (job.M <= 2 * mr || (job.M <= 8 * mr && job.Ldb <= 512));

        // The last B block of the last k slice may share its row panels with a thread that has finished its own block
        // (StealSlot): only for one A block per thread, A read in place and B packed by this block.
        if (slot != null && !(aInPlace && !direct && packedB == null && mcMax >= i1 - i0))
        {
            slot = null;
        }
        for (int ic = i0; ic < i1; ic += mcMax)
        {
            int mc = Math.Min(mcMax, i1 - ic);
            for (int p0 = 0; p0 < k; p0 += kcMax)
            {
                int kc = Math.Min(kcMax, k - p0);
                bool add = job.Accumulate || p0 > 0;
                if (packedA != null)
                {
                    ap = packedA + ((nint)job.M * p0);
                }
                else if (aInPlace)
                {
                    ap = job.A + ((nint)ic * job.Lda) + p0;
                }
                else
                {
                    GemmPacking.PackA(job, ic, mc, p0, kc, mr, ap);
                }

                for (int jc = j0; jc < j1; jc += ncMax)
                {
                    int nc = Math.Min(ncMax, j1 - jc);
                    int inPlace = 0;
                    if (packedB != null)
                    {
                        // Slice p0 of the packed op(B) holds its panels of all (padded) columns in order.
                        bp = packedB + ((nint)p0 * paddedN) + ((nint)jc * kc);
                    }
                    else if (direct)
                    {
                        inPlace = nc / nr * nr;
                        if (inPlace < nc)
                        {
                            GemmPacking.PackB(job, p0, kc, jc + inPlace, nc - inPlace, nr, bp);
                        }
                    }
                    else
                    {
                        GemmPacking.PackB(job, p0, kc, jc, nc, nr, bp);
                    }

                    float* cBlock = job.C + (ic * ldc) + jc;
                    float* bSource = job.B + ((nint)p0 * job.Ldb) + jc;
                    int tiles = (nc + nr - 1) / nr;
                    int panels = (mc + mr - 1) / mr;
                    if (slot != null && p0 + kc >= k && jc + nc >= j1)
                    {
                        // Last slice: every row panel is claimed, by this thread or by one that finished its block.
                        slot->Open(bp, ap, cBlock, kc, mc, nc, panels, add);
                        LastSliceOpened?.Invoke();
                        slot->Drain<TKernel>(job);
                        slot->WaitAllRun();
                        continue;
                    }

                    for (int step = 0; step < panels; step++)
                    {
                        // Row panels top-down, or bottom-up for a block that shares op(A) and does not start at column
                        // 0, so that two threads meet in the middle (see SharedPanels).
                        int panel = descending ? panels - 1 - step : step;
                        int nextPanel = descending ? panel - 1 : panel + 1;
                        int ir = panel * mr, irNext = nextPanel * mr;
                        int rows = Math.Min(mr, mc - ir);
                        int nextRows = nextPanel >= 0 && nextPanel < panels ? Math.Min(mr, mc - irNext) : 0;
                        float* aPanel = aInPlace ? ap + ((nint)ir * job.Lda) : ap + ((nint)ir * kc);
                        shared?.Ensure(job, p0 / kcMax, ir, rows, p0, kc, mr, aPanel, descending);
                        float* cRow = cBlock + (ir * ldc);

                        // Prefetches that hide what the micro-kernel would otherwise wait for at the start and end of
                        // a tile: the next tile's C rows into L1 (C is read and written once per k slice, and its rows
                        // are a whole stride apart), and the next packed A micro-panel into L2, a share per tile. (Not
                        // the rows of an A read in place: the hardware prefetchers follow them, and prefetching the
                        // next panel's rows as well measured 2–4% slower.)
                        float* aNext = ap + ((nint)irNext * kc);
                        float* cNextRow = cBlock + (irNext * ldc);
                        int aLines = nextRows > 0 && !aInPlace ? ((nextRows * kc) + 15) / 16 : 0;
                        int aPerTile = (aLines + tiles - 1) / tiles, aDone = 0;
                        for (int jr = 0; jr < nc; jr += nr)
                        {
                            if (Sse.IsSupported)
                            {
                                PrefetchNextTileOfC(cRow, cNextRow, jr, nr, nc, rows, nextRows, ldc);
                                int aEnd = Math.Min(aLines, aDone + aPerTile);
                                for (; aDone < aEnd; aDone++)
                                {
                                    Sse.Prefetch1(aNext + (aDone * 16));
                                }
                            }

                            float* bPanel = jr < inPlace ? bSource + jr : bp + ((nint)(jr - inPlace) * kc);
                            nint ldbPanel = jr < inPlace ? job.Ldb : nr;
                            int cols = Math.Min(nr, nc - jr);
                            if (aInPlace)
                            {
                                TKernel.TileAInPlace(rows, cols, kc, aPanel, job.Lda, bPanel, ldbPanel, cRow + jr, ldc, add);
                            }
                            else
                            {
                                TKernel.Tile(rows, cols, kc, aPanel, bPanel, ldbPanel, cRow + jr, ldc, add);
                            }
                        }
                    }
                }
            }
        }
    }

    private static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    /// <summary>
    /// Prefetches into L1 the C rows of the tile after the one at column <paramref name="jr"/> of a row panel: the next
    /// tile to the right, or after the last one the first tile of the next row panel (<paramref name="nextRows"/> rows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchNextTileOfC(float* cRow, float* cNextRow, int jr, int nr, int nc, int rows, int nextRows, nint ldc)
    {
        bool last = jr + nr >= nc;
        float* cNext = last ? cNextRow : cRow + jr + nr;
        int cRows = last ? nextRows : rows;
        for (int r = 0; r < cRows; r++)
        {
            Sse.Prefetch0(cNext + (r * ldc));
            Sse.Prefetch0(cNext + (r * ldc) + 16);
        }
    }

    /// <summary>
    /// Whether a block <paramref name="columns"/> wide reads op(A) in place (<see cref="IGemmMicroKernel.TileAInPlace"/>)
    /// rather than packing it: A not transposed, a kernel that can, and few enough columns that a packed A panel would
    /// serve at most two B blocks (<see cref="MaxAInPlaceColumns"/>). Either way every C element gets the same operations.
    /// </summary>
    private static bool ReadsAInPlace<TKernel>(in GemmJob job, int columns)
        where TKernel : struct, IGemmMicroKernel =>
        TKernel.ReadsAInPlace && !job.TransA && columns <= MaxAInPlaceColumns && !ForcePackedA;

    /// <summary>Depth of every k slice but the last: k cut into equal slices of at most <see cref="Kc"/> (depends on k alone).</summary>
    internal static int SliceDepth(int k)
    {
        int kSlices = (k + Kc - 1) / Kc;
        return (k + kSlices - 1) / kSlices;
    }

    /// <summary>
    /// The last k slice of one thread's column block, open to the other threads of the call: its row panels are claimed
    /// one at a time from <see cref="Next"/>, by the block's own thread and by any thread that has finished its own
    /// block, so a thread slowed down (by another process, an interrupt, a busier core) hands its last panels over
    /// instead of making the call wait for it. A thief reads the owner's packed B (in the owner's pack buffer, which the
    /// owner keeps until every panel has run) and A in place.
    /// </summary>
    /// <remarks>
    /// Only the last slice: a row panel's earlier slices were all added to C by the owner before the slice opens
    /// (the owner finishes a slice before packing the next), so C += the last slice's product of a panel, by whichever
    /// thread, follows them, and each C element gets the same operations in the same order as with one thread. The owner
    /// leaves the block only when every panel has been run (<see cref="WaitAllRun"/>): with more blocks than running
    /// threads it may go on to pack another block into the same buffer a thief is reading. States:
    /// 0 not started, 1 running earlier slices (a thief waits: the owner is running), 2 last slice open, 3 done (or
    /// not shareable). Each slot has its own 128 bytes.
    /// </remarks>
    [StructLayout(LayoutKind.Explicit, Size = 128)]
    private struct StealSlot
    {
        [FieldOffset(0)] public int State;
        [FieldOffset(8)] private int _kc;
        [FieldOffset(12)] private int _mc;
        [FieldOffset(16)] private int _nc;
        [FieldOffset(20)] private int _panels;
        [FieldOffset(24)] private float* _bp;
        [FieldOffset(32)] private float* _a;
        [FieldOffset(40)] private float* _c;
        [FieldOffset(48)] private bool _add;
        [FieldOffset(64)] public int Next;
        [FieldOffset(68)] private int _done;

        public void Reset()
        {
            State = 0;
            Next = 0;
            _done = 0;
        }

        /// <summary>
        /// Returns once every panel of the open slice has been run, by whichever thread. The owner calls it before its
        /// pack buffer may be reused (for another block of the same call) or regrown: a thief may still be reading it.
        /// </summary>
        public void WaitAllRun()
        {
            SpinWait spin = default;
            while (Volatile.Read(ref _done) < _panels)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }

        /// <summary>Publishes the last slice (its packed B, A and C corners) and opens its panels to other threads.</summary>
        public void Open(float* bp, float* a, float* c, int kc, int mc, int nc, int panels, bool add)
        {
            _bp = bp;
            _a = a;
            _c = c;
            _kc = kc;
            _mc = mc;
            _nc = nc;
            _panels = panels;
            _add = add;
            Volatile.Write(ref State, 2);
        }

        /// <summary>Runs panels of the open last slice until none is left; returns how many this thread ran.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Drain<TKernel>(in GemmJob job)
            where TKernel : struct, IGemmMicroKernel
        {
            int mr = TKernel.Mr, nr = TKernel.Nr, ran = 0;
            int kc = _kc, mc = _mc, nc = _nc, panels = _panels;
            nint ldc = job.Ldc, lda = job.Lda;
            int panel;
            while ((panel = Interlocked.Increment(ref Next) - 1) < panels)
            {
                int ir = panel * mr;
                int rows = Math.Min(mr, mc - ir);
                int nextRows = panel + 1 < panels ? Math.Min(mr, mc - ir - mr) : 0;
                float* cRow = _c + (ir * ldc);
                float* cNextRow = cRow + (mr * ldc);
                float* aPanel = _a + (ir * lda);
                for (int jr = 0; jr < nc; jr += nr)
                {
                    if (Sse.IsSupported)
                    {
                        // The next tile's C rows into L1, as the block's own loop does.
                        PrefetchNextTileOfC(cRow, cNextRow, jr, nr, nc, rows, nextRows, ldc);
                    }

                    TKernel.TileAInPlace(rows, Math.Min(nr, nc - jr), kc, aPanel, lda, _bp + ((nint)jr * kc), nr, cRow + jr, ldc, _add);
                }

                Interlocked.Increment(ref _done);
                ran++;
            }

            return ran;
        }
    }

    /// <summary>
    /// All of op(A) packed once for the column blocks of one parallel call: slice p0 (depth kc) is the m×kc block at
    /// <c>Buffer + m·p0</c>, laid out as <see cref="GemmPacking.PackA"/> lays out a block of all m rows. Each row
    /// micro-panel of each slice is packed by the first thread that reaches it, just before its first use (a state
    /// per panel: 0 not started, 1 being packed, 2 ready); a thread that finds it being packed spins until it is ready.
    /// </summary>
    /// <remarks>
    /// Nothing waits for a thread that has not started: a thread waits only on a panel another thread has claimed and is
    /// packing, so a block run alone (the helper late or absent) packs every panel itself. Who packs a panel never
    /// changes its contents, so results are bitwise those of one thread. Against a separate packing pass before the
    /// blocks (the `gemm90` branch), this saves a fork-join and its wait for the slower thread, and the packed
    /// panel is still in the packing thread's cache for its first sweep. The block at column 0 sweeps the row panels
    /// top-down and the others bottom-up (branch `gemm90c`): two threads sweeping the same way reach each panel
    /// together, so one packs while the other spins and the thread ahead goes on packing nearly every panel; from
    /// opposite ends each packs the half it reaches first and finds the other half ready.
    /// </remarks>
    private sealed class SharedPanels
    {
        private float[]? _array;
        private int[]? _states;
        private int* _state;
        private int _panelCount;

        /// <summary>Gets the packed op(A): 64-byte aligned, on the pinned heap.</summary>
        public float* Buffer { get; private set; }

        /// <summary>Makes room for an m×k op(A) cut into <paramref name="panels"/> row panels per slice and marks every panel not packed.</summary>
        public void Reset(int floats, int panels, int slices)
        {
            if (_array == null || _array.Length < floats + 16)
            {
                _array = GC.AllocateUninitializedArray<float>(floats + 16, pinned: true);
                nint start = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_array));
                Buffer = (float*)((start + 63) & ~(nint)63);
            }

            int count = panels * slices;
            if (_states == null || _states.Length < count)
            {
                _states = GC.AllocateArray<int>(count, pinned: true);
                _state = (int*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_states));
            }

            Array.Clear(_states, 0, count);
            _panelCount = panels;
        }

        /// <summary>
        /// Returns once the row panel at <paramref name="i0"/> of slice <paramref name="slice"/> is packed at
        /// <paramref name="dst"/>. In a top-down sweep the transposes prefetch the rows of the panel below (the next one);
        /// in a bottom-up sweep that panel is already done, so they prefetch nothing past the panel.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Ensure(in GemmJob job, int slice, int i0, int rows, int p0, int kc, int mr, float* dst, bool descending)
        {
            int* state = _state + ((nint)slice * _panelCount) + (i0 / mr);
            if (Volatile.Read(ref *state) != 2)
            {
                Claim(job, state, i0, rows, p0, kc, mr, dst, descending ? rows : job.M - i0);
            }
        }

        private static void Claim(in GemmJob job, int* state, int i0, int rows, int p0, int kc, int mr, float* dst, int available)
        {
            if (Interlocked.CompareExchange(ref *state, 1, 0) == 0)
            {
                GemmPacking.PackA(job, i0, rows, p0, kc, mr, dst, available);
                Volatile.Write(ref *state, 2);
                return;
            }

            // Another thread is packing it (a few hundred nanoseconds): spin, yielding now and then, never sleeping.
            SpinWait spin = default;
            while (Volatile.Read(ref *state) != 2)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
    }

    /// <summary>
    /// The parallel split of one call, kept per calling thread with its delegate so a call allocates nothing.
    /// C is cut along its longer side into micro-panel-aligned blocks; the operand along the other side is packed
    /// by every block.
    /// </summary>
    private sealed class GemmSplit<TKernel>
        where TKernel : struct, IGemmMicroKernel
    {
        [ThreadStatic]
        private static GemmSplit<TKernel>? s_current;

        private readonly Action<int, int> _body;
        private GemmJob _job;
        private bool _splitN;
        private SharedPanels? _panels;
        private SharedPanels? _active;
        private StealSlot[]? _slotArray;
        private StealSlot* _slots;
        private int _units;
        private int _threads;
        private bool _steal;

        private GemmSplit()
        {
            _body = Body;
        }

        public static void Run(in GemmJob job)
        {
            // Taken off the thread while in use, so a call nested in a parallel body gets its own.
            GemmSplit<TKernel> split = s_current ?? new GemmSplit<TKernel>();
            s_current = null;
            split._job = job;
            split._splitN = job.N >= job.M;
            int unit = split._splitN ? TKernel.Nr : TKernel.Mr;
            int units = ((split._splitN ? job.N : job.M) + unit - 1) / unit;
            long costPerUnit = (long)unit * (split._splitN ? job.M : job.N) * job.K;
            long sharedFloats = (long)job.M * job.K;
            int threads = Math.Min(KernelParallel.MaxThreads, units);
            int widest = threads > 0 ? (units + threads - 1) / threads * unit : 0;
            if (split._splitN && units >= 2 && !ReadsAInPlace<TKernel>(job, widest) && KernelParallel.MaxThreads >= 2 && sharedFloats >= MinSharedA && sharedFloats <= MaxSharedA
                && units * costPerUnit >= KernelParallel.MinParallelWork)
            {
                // Column blocks all need all of op(A): pack it once, shared by the threads, instead of once per
                // block (at 1024³ on 2 threads that copy was ~4% of each thread's time). The blocks pack its panels
                // as they reach them, so no separate pass.
                split._panels ??= new SharedPanels();
                split._panels.Reset((int)sharedFloats, (job.M + TKernel.Mr - 1) / TKernel.Mr, (job.K + SliceDepth(job.K) - 1) / SliceDepth(job.K));
                split._active = split._panels;
            }

            // One block per thread: more, smaller blocks would balance a busy machine better, but each also packs
            // its operand again and re-reads A micro-panels over fewer B panels (2 per thread measured 13% slower at
            // 1024³ on 2 threads; with the shared op(A), 4 blocks were still 3–5% slower). The balance comes instead
            // from the last slice's row panels, which a thread done with its block takes over (StealSlot).
            if (split._slotArray == null || split._slotArray.Length < threads)
            {
                split._slotArray = GC.AllocateArray<StealSlot>(Math.Max(threads, 2), pinned: true);
                split._slots = (StealSlot*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(split._slotArray));
            }

            for (int t = 0; t < threads; t++)
            {
                split._slots[t].Reset();
            }

            split._units = units;
            split._threads = threads;
            split._steal = (StealOverride ?? !s_noSteal) && threads >= 2 && units * costPerUnit / threads >= MinStealWork;

            // The thread count passed on, not read again: Body maps a block to its slot by this count.
            KernelParallel.For(units, costPerUnit, split._body, threads, threads);
            split._job = default;
            split._active = null;
            s_current = split;
        }

        private void Body(int start, int end)
        {
            // KernelParallel cuts the units into one block per thread, block b starting at ⌊units·b/threads⌋.
            int block = (int)((((long)start * _threads) + _units - 1) / _units);
            StealSlot* slot = _slots + block;
            if (!_steal)
            {
                RunBlock(start, end, null);
                return;
            }

            Volatile.Write(ref slot->State, 1);
            try
            {
                RunBlock(start, end, slot);
            }
            finally
            {
                Volatile.Write(ref slot->State, 3);
            }

            StealFromOthers(block);
        }

        private void RunBlock(int start, int end, StealSlot* slot)
        {
            if (_splitN)
            {
                Block<TKernel>(_job, 0, _job.M, start * TKernel.Nr, Math.Min(end * TKernel.Nr, _job.N), _active, _active != null && start > 0, slot);
            }
            else
            {
                Block<TKernel>(_job, start * TKernel.Mr, Math.Min(end * TKernel.Mr, _job.M), 0, _job.N, null, slot: slot);
            }
        }

        /// <summary>
        /// After this thread's own block: runs row panels of the other blocks' open last slices, waiting (spinning) for a
        /// block still on its earlier slices, and returns at once if some block has not started (its thread is late:
        /// <see cref="KernelParallel"/> then hands the whole block to a free thread).
        /// </summary>
        private void StealFromOthers(int own)
        {
            SpinWait spin = default;
            while (true)
            {
                bool running = false;
                for (int t = 0; t < _threads; t++)
                {
                    if (t == own)
                    {
                        continue;
                    }

                    int state = Volatile.Read(ref _slots[t].State);
                    if (state == 0)
                    {
                        return;
                    }

                    if (state == 2)
                    {
                        int stolen = _slots[t].Drain<TKernel>(_job);
                        if (stolen > 0)
                        {
                            Interlocked.Add(ref s_stolenPanels, stolen);
                        }
                    }
                    else if (state == 1)
                    {
                        running = true;
                    }
                }

                if (!running)
                {
                    return;
                }

                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
    }
}
