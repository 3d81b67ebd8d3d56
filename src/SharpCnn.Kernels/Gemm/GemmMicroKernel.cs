namespace SharpCnn.Kernels;

/// <summary>
/// A register-blocked micro-kernel for <see cref="GemmBlocked"/>: it computes one tile of C, at most
/// <see cref="Mr"/> × <see cref="Nr"/>, from a packed A micro-panel and a packed B micro-panel.
/// </summary>
/// <remarks>
/// Layouts (written by <see cref="GemmPacking"/>): the A micro-panel of a tile with <c>rows</c> rows holds
/// op(A)[r, p] at <c>a[p·rows + r]</c> (packed, no padding); the B micro-panel holds op(B)[p, j] at
/// <c>b[p·ldb + j]</c>, either packed (ldb = <see cref="Nr"/>, zero-padded to <see cref="Nr"/> columns) or read in
/// place from a row-major B. Each C element is Σ_p a·b accumulated by one fused multiply-add per p in increasing p
/// from zero, then stored or added to C: every kernel and tile shape computes an element with the same operations,
/// so the tiling (and hence the thread split) never changes a result bit.
/// </remarks>
internal unsafe interface IGemmMicroKernel
{
    /// <summary>Gets the rows of a full tile (the height of an A micro-panel).</summary>
    static abstract int Mr { get; }

    /// <summary>Gets the columns of a full tile (the width of a packed B micro-panel).</summary>
    static abstract int Nr { get; }

    /// <summary>C[rows × cols] = (or +=, when <paramref name="add"/>) Σ_p a[p·rows + r]·b[p·ldb + j].</summary>
    /// <param name="rows">Rows of the tile, 1..<see cref="Mr"/>.</param>
    /// <param name="cols">Columns of the tile, 1..<see cref="Nr"/>; only these are written.</param>
    /// <param name="kc">Depth of the panels.</param>
    /// <param name="a">Packed A micro-panel.</param>
    /// <param name="b">B micro-panel; all <see cref="Nr"/> columns of its kc rows are read.</param>
    /// <param name="ldb">Row stride of the B micro-panel.</param>
    /// <param name="c">Top-left element of the C tile.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="add">Add to C instead of overwriting it.</param>
    static abstract void Tile(int rows, int cols, int kc, float* a, float* b, nint ldb, float* c, nint ldc, bool add);

    /// <summary>Gets whether the kernel implements <see cref="TileAInPlace"/>.</summary>
    static abstract bool ReadsAInPlace { get; }

    /// <summary>
    /// As <see cref="Tile"/> with the A rows read where they are stored: op(A)[r, p] at <c>a[r·lda + p]</c> (a
    /// non-transposed A, no packing). Same operations per C element as <see cref="Tile"/>, hence the same bits.
    /// </summary>
    /// <param name="rows">Rows of the tile, 1..<see cref="Mr"/>.</param>
    /// <param name="cols">Columns of the tile, 1..<see cref="Nr"/>; only these are written.</param>
    /// <param name="kc">Depth of the panels.</param>
    /// <param name="a">op(A)[0, 0] of the tile in the stored A.</param>
    /// <param name="lda">Row stride of the stored A.</param>
    /// <param name="b">B micro-panel; all <see cref="Nr"/> columns of its kc rows are read.</param>
    /// <param name="ldb">Row stride of the B micro-panel.</param>
    /// <param name="c">Top-left element of the C tile.</param>
    /// <param name="ldc">Row stride of C.</param>
    /// <param name="add">Add to C instead of overwriting it.</param>
    /// <exception cref="NotSupportedException">The kernel does not read A in place (<see cref="ReadsAInPlace"/> is false).</exception>
    static abstract void TileAInPlace(int rows, int cols, int kc, float* a, nint lda, float* b, nint ldb, float* c, nint ldc, bool add);
}

/// <summary>A row count known to the JIT: each micro-kernel is compiled once per row count, unused rows folded away.</summary>
internal interface IGemmRows
{
    /// <summary>Gets the row count.</summary>
    static abstract int Value { get; }
}

internal readonly struct GemmRows1 : IGemmRows
{
    public static int Value => 1;
}

internal readonly struct GemmRows2 : IGemmRows
{
    public static int Value => 2;
}

internal readonly struct GemmRows3 : IGemmRows
{
    public static int Value => 3;
}

internal readonly struct GemmRows4 : IGemmRows
{
    public static int Value => 4;
}

internal readonly struct GemmRows5 : IGemmRows
{
    public static int Value => 5;
}

internal readonly struct GemmRows6 : IGemmRows
{
    public static int Value => 6;
}

internal readonly struct GemmRows7 : IGemmRows
{
    public static int Value => 7;
}

internal readonly struct GemmRows8 : IGemmRows
{
    public static int Value => 8;
}

internal readonly struct GemmRows9 : IGemmRows
{
    public static int Value => 9;
}

internal readonly struct GemmRows10 : IGemmRows
{
    public static int Value => 10;
}

internal readonly struct GemmRows11 : IGemmRows
{
    public static int Value => 11;
}

internal readonly struct GemmRows12 : IGemmRows
{
    public static int Value => 12;
}

internal readonly struct GemmRows13 : IGemmRows
{
    public static int Value => 13;
}

internal readonly struct GemmRows14 : IGemmRows
{
    public static int Value => 14;
}
