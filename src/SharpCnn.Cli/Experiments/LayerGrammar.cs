using System.Globalization;
using System.Text.RegularExpressions;

namespace SharpCnn.Cli.Experiments;

/// <summary>The kinds of layer the <c>experiment shapes</c> grammar knows.</summary>
internal enum LayerKind
{
    /// <summary><c>conv:C@KxK[,sS][,padP|,same][,dD]</c>.</summary>
    Conv,

    /// <summary><c>pool:KxK[/S][,padP]</c> (max pooling).</summary>
    MaxPool,

    /// <summary><c>avgpool:KxK[/S][,padP]</c>.</summary>
    AvgPool,

    /// <summary><c>avgpool</c> alone: global average pooling to 1×1.</summary>
    GlobalAvgPool,

    /// <summary><c>fc:N</c>: flatten, then a fully connected layer with N outputs (bias included).</summary>
    Fc,

    /// <summary><c>relu</c>: elementwise, shape unchanged.</summary>
    Relu,
}

/// <summary>
/// One layer of the <c>experiment shapes</c> grammar, parsed and checked. Sizes are (height, width); padding is per
/// side, with <see cref="Same"/> meaning PyTorch's <c>padding="same"</c> (stride 1, the odd extra row/column at the
/// bottom/right).
/// </summary>
internal sealed partial record LayerSpec(string Text, LayerKind Kind)
{
    public const string Grammar = """
        layer grammar (one --layer per layer, applied in order; sizes in pixels):
          conv:C@K[xK][,sS][,padP | ,same][,dD]   C filters of K×K (stride S, zero padding P per side or 'same',
                                                   dilation D; defaults s1, pad0, d1), bias included
          pool:K[xK][/S][,padP]                    max pooling, stride S (default K)
          avgpool:K[xK][/S][,padP]                 average pooling; 'avgpool' alone pools each channel to 1×1
          fc:N                                     fully connected layer with N outputs (flattens its input)
          relu                                     elementwise; the shape does not change
        """;

    /// <summary>Filters (conv) or outputs (fc).</summary>
    public int Channels { get; init; }

    public int KernelH { get; init; } = 1;

    public int KernelW { get; init; } = 1;

    public int Stride { get; init; } = 1;

    public int Pad { get; init; }

    public bool Same { get; init; }

    public int Dilation { get; init; } = 1;

    /// <summary>The dilated kernel extent along the height, d·(K − 1) + 1.</summary>
    public int EffectiveKernelH => (Dilation * (KernelH - 1)) + 1;

    /// <summary>The dilated kernel extent along the width.</summary>
    public int EffectiveKernelW => (Dilation * (KernelW - 1)) + 1;

    /// <summary>Parses one layer; a malformed one is a <see cref="UsageException"/> naming it and the expected form.</summary>
    public static LayerSpec Parse(string text, string usage)
    {
        ArgumentNullException.ThrowIfNull(text);
        string t = text.Trim().ToLowerInvariant();
        UsageException Bad(string why) => new($"invalid layer '{text}': {why}", usage);

        if (t == "relu")
        {
            return new LayerSpec(text, LayerKind.Relu);
        }

        if (t == "avgpool")
        {
            return new LayerSpec(text, LayerKind.GlobalAvgPool);
        }

        if (t.StartsWith("fc:", StringComparison.Ordinal))
        {
            return new LayerSpec(text, LayerKind.Fc) { Channels = Positive(t[3..], "the number of outputs", Bad) };
        }

        string[] parts = t.Split(',');
        Match conv = ConvHead().Match(parts[0]);
        Match pool = PoolHead().Match(parts[0]);
        LayerSpec spec;
        if (conv.Success)
        {
            int k = Positive(conv.Groups[2].Value, "the kernel size", Bad);
            spec = new LayerSpec(text, LayerKind.Conv)
            {
                Channels = Positive(conv.Groups[1].Value, "the number of filters", Bad),
                KernelH = k,
                KernelW = conv.Groups[3].Success ? Positive(conv.Groups[3].Value, "the kernel width", Bad) : k,
            };
        }
        else if (pool.Success)
        {
            int k = Positive(pool.Groups[2].Value, "the window size", Bad);
            int kw = pool.Groups[3].Success ? Positive(pool.Groups[3].Value, "the window width", Bad) : k;
            if (k != kw && !pool.Groups[4].Success)
            {
                throw Bad("a non-square window needs its stride given (pool:KxK/S)");
            }

            spec = new LayerSpec(text, pool.Groups[1].Value == "avgpool" ? LayerKind.AvgPool : LayerKind.MaxPool)
            {
                KernelH = k,
                KernelW = kw,
                Stride = pool.Groups[4].Success ? Positive(pool.Groups[4].Value, "the stride", Bad) : k,
            };
        }
        else
        {
            throw Bad("expected conv:C@KxK[,sS][,padP|,same][,dD], pool:KxK[/S][,padP], avgpool[:KxK[/S]], fc:N or relu");
        }

        foreach (string option in parts[1..])
        {
            if (option == "same" && spec.Kind == LayerKind.Conv)
            {
                spec = spec with { Same = true };
            }
            else if (option.StartsWith("pad", StringComparison.Ordinal))
            {
                spec = spec with { Pad = NonNegative(option[3..], "the padding", Bad) };
            }
            else if (option.StartsWith('s') && spec.Kind == LayerKind.Conv)
            {
                spec = spec with { Stride = Positive(option[1..], "the stride", Bad) };
            }
            else if (option.StartsWith('d') && spec.Kind == LayerKind.Conv)
            {
                spec = spec with { Dilation = Positive(option[1..], "the dilation", Bad) };
            }
            else
            {
                throw Bad(spec.Kind == LayerKind.Conv
                    ? $"unknown option '{option}'; expected sS (stride), padP or same (padding), dD (dilation)"
                    : $"unknown option '{option}'; a pooling layer takes padP (its stride is written /S)");
            }
        }

        if (spec.Same && spec.Pad > 0)
        {
            throw Bad("give either padP or same, not both");
        }

        if (spec.Same && spec.Stride != 1)
        {
            throw Bad("'same' padding needs stride 1 (as PyTorch)");
        }

        if (spec.Kind is LayerKind.MaxPool or LayerKind.AvgPool && (2 * spec.Pad > spec.KernelH || 2 * spec.Pad > spec.KernelW))
        {
            throw Bad($"pooling padding must be at most half the window (got pad {spec.Pad} for a {spec.KernelH}×{spec.KernelW} window)");
        }

        return spec;
    }

    /// <summary>Padding before and after along one axis: the fixed <see cref="Pad"/>, or PyTorch's split for 'same'.</summary>
    public (int Before, int After) Padding(int kernel)
    {
        if (!Same)
        {
            return (Pad, Pad);
        }

        int total = Dilation * (kernel - 1);
        return (total / 2, total - (total / 2));
    }

    private static int Positive(string s, string what, Func<string, UsageException> bad) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) && v > 0 ? v : throw bad($"{what} must be a positive integer, got '{s}'");

    private static int NonNegative(string s, string what, Func<string, UsageException> bad) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : throw bad($"{what} must be a non-negative integer, got '{s}'");

    [GeneratedRegex(@"^conv:([^@]*)@(\d+)(?:x(\d+))?$")]
    private static partial Regex ConvHead();

    [GeneratedRegex(@"^(pool|maxpool|avgpool):(\d+)(?:x(\d+))?(?:/(\d+))?$")]
    private static partial Regex PoolHead();
}

/// <summary>
/// The lecture's output-size arithmetic, written out: ⌊(W − F + 2P)/S⌋ + 1 with F the (dilated) kernel extent.
/// <c>experiment shapes</c> prints it next to the engine's own output shape and checks that both agree.
/// </summary>
internal static class ShapeArithmetic
{
    /// <summary>⌊(size − kernel + padBefore + padAfter) / stride⌋ + 1 with floor division (≤ 0 when the kernel does not fit); with <paramref name="ceil"/>, PyTorch's ceil-mode rule.</summary>
    public static int OutSize(int size, int kernel, int padBefore, int padAfter, int stride, bool ceil = false)
    {
        long numerator = (long)size - kernel + padBefore + padAfter;
        long quotient = ceil ? CeilDiv(numerator, stride) : FloorDiv(numerator, stride);
        long result = quotient + 1;

        // Ceil mode: a last window that would start inside the right padding is dropped (PyTorch).
        if (ceil && result > 1 && (result - 1) * stride >= (long)size + padBefore)
        {
            result--;
        }

        return (int)Math.Clamp(result, int.MinValue, int.MaxValue);
    }

    /// <summary>The worked formula, e.g. <c>⌊(32 − 5 + 2·0)/1⌋ + 1 = 28</c>.</summary>
    public static string Formula(int size, int kernel, int padBefore, int padAfter, int stride, int result, bool ceil = false)
    {
        string pad = padBefore == padAfter ? $"2·{padBefore}" : $"({padBefore}+{padAfter})";
        (string open, string close) = ceil ? ("⌈", "⌉") : ("⌊", "⌋");
        return $"{open}({size} − {kernel} + {pad})/{stride}{close} + 1 = {result}";
    }

    /// <summary>Receptive field after a layer of kernel extent <paramref name="kernel"/> and stride: r + (k − 1)·j, jump j·s.</summary>
    public static (int Size, int Jump) ReceptiveField(int size, int jump, int kernel, int stride) =>
        (size + ((kernel - 1) * jump), jump * stride);

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    private static long CeilDiv(long a, long b) => -FloorDiv(-a, b);
}
