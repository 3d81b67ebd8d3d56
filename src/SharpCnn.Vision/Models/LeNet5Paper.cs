using SharpCnn.Functional;
using SharpCnn.Nn;
using NnInit = SharpCnn.Init.Init;

namespace SharpCnn.Vision.Models;

/// <summary>
/// LeNet-5 as described in LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document
/// Recognition" (Proc. IEEE, 1998), Section II.B: trainable subsampling, the scaled-tanh squashing function,
/// the partial C3 connection table of Table I, and an output layer of Euclidean RBF units with fixed ±1 centres.
/// Exactly 60,000 trainable parameters for 10 classes and one input channel. For the common modern simplification
/// (ReLU, max pooling, full C3) see <see cref="LeNet5"/>.
/// </summary>
/// <remarks>
/// <para>
/// Input (N, inChannels, 32, 32) → output (N, numClasses): the negated RBF distances −y_i, so the class whose
/// centre is nearest has the largest logit and <c>F.CrossEntropy</c> can train the model.
/// </para>
/// <para>
/// Layers (trainable parameters for one input channel): C1 6@5×5 (156); S2 subsampling (12); C3 16@5×5 over
/// Table I (1,516); S4 subsampling (32); C5 120@5×5 (48,120); F6 fully connected 84 (10,164); RBF output (no
/// trainable parameters). Every layer up to F6 is followed by the squashing function f(a) = 1.7159·tanh(2a/3)
/// (Section II.B: "units in layers up to F6 compute a dot product … passed through a sigmoid squashing function";
/// Appendix A gives A = 1.7159, S = 2/3). C1 is included: the paper's wording covers it, though some
/// re-implementations leave it linear.
/// </para>
/// <para>
/// Initialisation follows Appendix A: every weight and bias from U(−2.4/F, 2.4/F), F the fan-in of its unit
/// (25·input maps for the convolutions, 4 for a subsampling unit, 120 for F6).
/// </para>
/// <para>
/// Deviations from the paper. (1) The RBF centres: the paper drew them as ±1 bitmaps of 7×12 ASCII characters;
/// here centre i is row i of the 128×128 Sylvester–Hadamard matrix cut to its first 84 columns,
/// w_ij = (−1)^popcount(i AND j), so up to 128 classes get distinct codes at Hamming distance ≥ 20 (≥ 32 for up
/// to 64 classes; 10 classes are 40 to 42 apart). (2) The loss: the paper trained with its MAP criterion,
/// y_{D_p} + log(e^−j + Σ_i e^−y_i); training this model with cross-entropy on −y drops the constant j.
/// (3) Training used the paper's stochastic diagonal Levenberg–Marquardt method; any optimiser may be used here.
/// </para>
/// <para>
/// State-dict keys: <c>c1</c>, <c>s2</c>, <c>c3.from3</c>, <c>c3.from4</c>, <c>c3.from6</c>, <c>s4</c>, <c>c5</c>,
/// <c>f6</c> (each <c>.weight</c> and <c>.bias</c>) and the buffer <c>rbf.centers</c>.
/// </para>
/// </remarks>
public sealed class LeNet5Paper : Module
{
    /// <summary>Amplitude A of the squashing function f(a) = A·tanh(S·a) (Appendix A).</summary>
    public const float SquashAmplitude = 1.7159f;

    /// <summary>Slope S of the squashing function f(a) = A·tanh(S·a) (Appendix A).</summary>
    public const float SquashSlope = 2f / 3f;

    private readonly Conv2d _c1;
    private readonly Subsampling2d _s2;
    private readonly ConnectionTableConv2d _c3;
    private readonly Subsampling2d _s4;
    private readonly Conv2d _c5;
    private readonly Linear _f6;
    private readonly EuclideanRbf _rbf;

    /// <summary>Creates the network for (N, <paramref name="inChannels"/>, 32, 32) inputs.</summary>
    /// <param name="numClasses">Output classes, 1 to 128 (default 10).</param>
    /// <param name="inChannels">Input channels (default 1, as the paper's grey-level images).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inChannels"/> is not positive, or <paramref name="numClasses"/> is outside 1..128.</exception>
    public LeNet5Paper(int numClasses = 10, int inChannels = 1)
    {
        if (numClasses is <= 0 or > MaxClasses)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses,
                $"LeNet5Paper: numClasses must be in 1..{MaxClasses} (the 84-bit output code has {MaxClasses} distinct rows), got {numClasses}.");
        }

        if (inChannels <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(inChannels), inChannels, $"LeNet5Paper: inChannels must be positive, got {inChannels}.");
        }

        _c1 = Add("c1", new Conv2d(inChannels, 6, 5));
        _s2 = Add("s2", new Subsampling2d(6));
        _c3 = Add("c3", new ConnectionTableConv2d(C3Connections, 5));
        _s4 = Add("s4", new Subsampling2d(16));
        _c5 = Add("c5", new Conv2d(16, 120, 5));
        _f6 = Add("f6", new Linear(120, 84));
        _rbf = Add("rbf", new EuclideanRbf(OutputCode(numClasses)));
        InitPaper();
    }

    /// <summary>
    /// Table I of the paper: row i is S2 feature map i, column j is C3 feature map j, and X marks a connection.
    /// Maps 0–5 take 3 contiguous S2 maps (cyclically), 6–11 take 4 contiguous, 12–14 take 4 non-contiguous, and
    /// 15 takes all 6: 60 connections, 60·25 + 16 = 1,516 parameters.
    /// </summary>
    public static IReadOnlyList<string> C3Connections { get; } =
    [
        // C3 map:  0123456789012345
        /* S2 0 */ "X   XXX  XXXX XX",
        /* S2 1 */ "XX   XXX  XXXX X",
        /* S2 2 */ "XXX   XXX  X XXX",
        /* S2 3 */ " XXX  XXXX  X XX",
        /* S2 4 */ "  XXX  XXXX XX X",
        /* S2 5 */ "   XXX  XXXX XXX",
    ];

    /// <summary>The largest number of classes the fixed 84-bit output code supports.</summary>
    public const int MaxClasses = 128;

    /// <summary>The RBF output layer, whose fixed centres (numClasses, 84) are the buffer <c>rbf.centers</c>.</summary>
    public EuclideanRbf Rbf => _rbf;

    /// <summary>
    /// The fixed ±1 code used as RBF centres: (numClasses, 84) with w_ij = (−1)^popcount(i AND j), row i of the
    /// Sylvester–Hadamard matrix of order 128 cut to its first 84 columns.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is outside 1..128.</exception>
    public static Tensor OutputCode(int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(numClasses);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(numClasses, MaxClasses);
        const int Width = 84;
        var code = new float[numClasses * Width];
        for (int i = 0; i < numClasses; i++)
        {
            for (int j = 0; j < Width; j++)
            {
                code[(i * Width) + j] = (System.Numerics.BitOperations.PopCount((uint)(i & j)) & 1) == 0 ? 1f : -1f;
            }
        }

        return Tensor.FromArray(code, numClasses, Width);
    }

    /// <summary>f(a) = 1.7159·tanh(2a/3), the paper's squashing function (Appendix A).</summary>
    public static Tensor Squash(Tensor a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return (a * SquashSlope).Tanh() * SquashAmplitude;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor x = Squash(input.Apply(_c1));    // C1: N×6×28×28
        x = Squash(x.Apply(_s2));               // S2: N×6×14×14
        x = Squash(x.Apply(_c3));               // C3: N×16×10×10
        x = Squash(x.Apply(_s4));               // S4: N×16×5×5
        x = Squash(x.Apply(_c5)).Flatten(1);    // C5: N×120
        x = Squash(x.Apply(_f6));               // F6: N×84
        return -x.Apply(_rbf);                  // −y: N×numClasses
    }

    private void InitPaper()
    {
        // Appendix A: U(−2.4/F, 2.4/F) with F the number of inputs of the unit the weight belongs to.
        Uniform(_c1.Weight, _c1.Bias!, _c1.InChannels * 25);
        Uniform(_s2.Weight, _s2.Bias, 4);
        foreach ((Conv2d conv, _) in _c3.Groups)
        {
            Uniform(conv.Weight, conv.Bias!, conv.InChannels / conv.Groups * 25);
        }

        Uniform(_s4.Weight, _s4.Bias, 4);
        Uniform(_c5.Weight, _c5.Bias!, 16 * 25);
        Uniform(_f6.Weight, _f6.Bias!, 120);

        static void Uniform(Tensor weight, Tensor bias, int fanIn)
        {
            double bound = 2.4 / fanIn;
            NnInit.Uniform(weight, -bound, bound);
            NnInit.Uniform(bias, -bound, bound);
        }
    }
}

/// <summary>
/// LeNet-5's trainable subsampling (S2, S4): each output is the sum of a non-overlapping k×k window of its input
/// map, times a trainable coefficient, plus a trainable bias, one pair per map: (N, C, H, W) → (N, C, H/k, W/k).
/// </summary>
/// <remarks>Parameters <c>weight</c> (C) and <c>bias</c> (C), 2·C in all; the caller applies any squashing.</remarks>
public sealed class Subsampling2d : Module
{
    /// <summary>Creates the layer for <paramref name="channels"/> maps with a <paramref name="kernelSize"/> window (default 2, stride equal).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="channels"/> or the window is not positive.</exception>
    public Subsampling2d(int channels, int kernelSize = 2)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        (Channels, KernelSize) = (channels, kernelSize);
        Weight = AddParameter("weight", Tensor.Ones(channels))!;
        Bias = AddParameter("bias", Tensor.Zeros(channels))!;
    }

    /// <summary>Number of maps C.</summary>
    public int Channels { get; }

    /// <summary>Window size and stride k.</summary>
    public int KernelSize { get; }

    /// <summary>The coefficient per map (C).</summary>
    public Parameter Weight { get; }

    /// <summary>The bias per map (C).</summary>
    public Parameter Bias { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Size(1) != Channels)
        {
            throw new ArgumentException($"Subsampling2d expected input (N, {Channels}, H, W) but got {ShapeText.Of(input)}.", nameof(input));
        }

        // Average pooling with divisor 1 is the window sum.
        Tensor sum = F.AvgPool2d(input, KernelSize, KernelSize, divisorOverride: 1);
        return (sum * Weight.Reshape(1, Channels, 1, 1)) + Bias.Reshape(1, Channels, 1, 1);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Channels}, kernel_size={KernelSize}";
}

/// <summary>
/// A convolution in which each output map sees only the input maps its column of a connection table marks, as
/// LeNet-5's C3 (Table I): (N, C_in, H, W) → (N, C_out, H_out, W_out), H_out = H − k + 1.
/// </summary>
/// <remarks>
/// Output maps are grouped by how many inputs they take; each group gathers its inputs along the channel
/// dimension (<see cref="Tensor.IndexSelect(int, ReadOnlySpan{int})"/>) and runs one grouped convolution, so only
/// connected weights exist: Σ_j (fanIn_j·kH·kW + 1) parameters. Children are named <c>from{n}</c> for the group
/// of maps with n inputs, in increasing n; within a group, output maps and their inputs keep increasing order.
/// </remarks>
public sealed class ConnectionTableConv2d : Module
{
    private readonly List<(Conv2d Conv, int[] Inputs)> _groups = [];
    private readonly bool[,] _connected;
    private readonly int[]? _order;

    /// <summary>Creates the layer.</summary>
    /// <param name="table">One string per input map; character j is 'X' when output map j reads that input, ' ' or '.' when not.</param>
    /// <param name="kernelSize">Square kernel size.</param>
    /// <exception cref="ArgumentException">The table is empty or ragged, has other characters, or leaves an output map without inputs.</exception>
    public ConnectionTableConv2d(IReadOnlyList<string> table, int kernelSize)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(kernelSize);
        if (table.Count == 0 || table[0].Length == 0 || table.Any(r => r is null || r.Length != table[0].Length))
        {
            throw new ArgumentException("ConnectionTableConv2d: the table needs one non-empty row per input map, all of the same length.", nameof(table));
        }

        (InChannels, OutChannels, KernelSize) = (table.Count, table[0].Length, kernelSize);
        _connected = new bool[InChannels, OutChannels];
        var inputsOf = new List<int>[OutChannels];
        for (int j = 0; j < OutChannels; j++)
        {
            inputsOf[j] = [];
            for (int i = 0; i < InChannels; i++)
            {
                char c = table[i][j];
                if (c is not ('X' or ' ' or '.'))
                {
                    throw new ArgumentException($"ConnectionTableConv2d: row {i}, column {j} holds '{c}'; use 'X' for a connection and ' ' or '.' for none.", nameof(table));
                }

                if (c == 'X')
                {
                    _connected[i, j] = true;
                    inputsOf[j].Add(i);
                }
            }

            if (inputsOf[j].Count == 0)
            {
                throw new ArgumentException($"ConnectionTableConv2d: output map {j} has no input.", nameof(table));
            }
        }

        var concatenated = new List<int>();
        foreach (IGrouping<int, int> group in Enumerable.Range(0, OutChannels).GroupBy(j => inputsOf[j].Count).OrderBy(g => g.Key))
        {
            int[] outputs = [.. group];
            int[] inputs = [.. outputs.SelectMany(j => inputsOf[j])];
            var conv = new Conv2d(inputs.Length, outputs.Length, kernelSize, groups: outputs.Length);
            _groups.Add((Add($"from{group.Key}", conv), inputs));
            concatenated.AddRange(outputs);
        }

        // The groups' outputs come out in the order `concatenated`; put each map back at its own index.
        if (!concatenated.SequenceEqual(Enumerable.Range(0, OutChannels)))
        {
            _order = new int[OutChannels];
            for (int k = 0; k < concatenated.Count; k++)
            {
                _order[concatenated[k]] = k;
            }
        }
    }

    /// <summary>Input maps C_in (the table's rows).</summary>
    public int InChannels { get; }

    /// <summary>Output maps C_out (the table's columns).</summary>
    public int OutChannels { get; }

    /// <summary>Square kernel size.</summary>
    public int KernelSize { get; }

    /// <summary>The grouped convolutions and, for each, the input maps it gathers (its outputs' inputs in order).</summary>
    public IReadOnlyList<(Conv2d Conv, IReadOnlyList<int> Inputs)> Groups => [.. _groups.Select(g => (g.Conv, (IReadOnlyList<int>)g.Inputs.AsReadOnly()))];

    /// <summary>Whether output map <paramref name="output"/> reads input map <paramref name="input"/> (the table's mark at row input, column output).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A map index is out of range.</exception>
    public bool IsConnected(int input, int output)
    {
        if ((uint)input >= (uint)InChannels || (uint)output >= (uint)OutChannels)
        {
            throw new ArgumentOutOfRangeException(nameof(input), $"ConnectionTableConv2d: map pair ({input}, {output}) is outside the {InChannels}×{OutChannels} table.");
        }

        return _connected[input, output];
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.Size(1) != InChannels)
        {
            throw new ArgumentException($"ConnectionTableConv2d expected input (N, {InChannels}, H, W) but got {ShapeText.Of(input)}.", nameof(input));
        }

        var parts = new Tensor[_groups.Count];
        for (int g = 0; g < parts.Length; g++)
        {
            (Conv2d conv, int[] inputs) = _groups[g];
            parts[g] = input.IndexSelect(1, inputs).Apply(conv);
        }

        Tensor output = parts.Length == 1 ? parts[0] : Tensor.Cat(parts, 1);
        return _order is null ? output : output.IndexSelect(1, _order);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{InChannels}, {OutChannels}, kernel_size=({KernelSize}, {KernelSize}), connections={_groups.Sum(g => g.Inputs.Length)}";
}

/// <summary>
/// Euclidean radial basis function units, LeNet-5's output layer: y_i = Σ_j (x_j − w_ij)² for (N, D) input and
/// fixed centres w (K, D), giving (N, K) squared distances.
/// </summary>
/// <remarks>The centres are a persistent buffer (<c>centers</c>), saved in the state dict but not trained.</remarks>
public sealed class EuclideanRbf : Module
{
    /// <summary>Creates the layer with a copy of <paramref name="centers"/> (K, D).</summary>
    /// <exception cref="ArgumentException">The centres are not a non-empty 2-D tensor.</exception>
    public EuclideanRbf(Tensor centers)
    {
        ArgumentNullException.ThrowIfNull(centers);
        if (centers.Rank != 2 || centers.Numel == 0)
        {
            throw new ArgumentException($"EuclideanRbf expected centres (K, D) with K, D > 0 but got {ShapeText.Of(centers)}.", nameof(centers));
        }

        Centers = AddBuffer("centers", Tensor.FromArray(centers.Data.ToArray(), centers.Shape));
    }

    /// <summary>The fixed centres (K, D), one row per unit.</summary>
    public Tensor Centers { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int k = Centers.Size(0);
        int d = Centers.Size(1);
        if (input.Rank != 2 || input.Size(1) != d)
        {
            throw new ArgumentException($"EuclideanRbf expected input (N, {d}) but got {ShapeText.Of(input)}.", nameof(input));
        }

        // (N, 1, D) − (1, K, D) → (N, K, D), squared and summed over D.
        return (input.Unsqueeze(1) - Centers.Reshape(1, k, d)).Square().Sum(2);
    }

    /// <inheritdoc/>
    protected override string ExtraRepr() => $"{Centers.Size(1)}, {Centers.Size(0)}";
}

file static class ShapeText
{
    public static string Of(Tensor t) => "(" + string.Join(", ", t.Shape) + ")";
}
