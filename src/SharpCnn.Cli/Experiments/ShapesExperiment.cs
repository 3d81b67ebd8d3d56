using System.Globalization;
using ScottPlot;
using SharpCnn.Nn;
using SharpCnn.Vision.Models;

namespace SharpCnn.Cli.Experiments;

/// <summary>One row of the <c>experiment shapes</c> table.</summary>
/// <param name="Layer">The layer as written (grammar) or its dotted name and description (zoo model).</param>
/// <param name="Output">H, W, C of the output, or (N) after a fully connected layer or flatten.</param>
/// <param name="Formula">The worked output-size formula; empty for layers that keep the size.</param>
/// <param name="Params">Parameters of the layer (weights and biases).</param>
/// <param name="ParamsFormula">How the parameters add up, e.g. <c>10·(5·5·3 + 1)</c>; empty when there are none.</param>
/// <param name="Field">Receptive field (size and jump per axis, in input pixels), or null where it is not followed.</param>
internal sealed record ShapeRow(string Layer, IReadOnlyList<int> Output, string Formula, long Params, string ParamsFormula, ReceptiveField? Field);

/// <summary>
/// Receptive field of one output unit, per axis: its extent in input pixels (<c>Size</c>) and the distance in input
/// pixels between neighbouring output units (<c>Jump</c>, the product of the strides so far). After a layer of
/// kernel extent k and stride s: size += (k − 1)·jump, jump ·= s.
/// </summary>
internal readonly record struct ReceptiveField(int SizeH, int SizeW, int JumpH, int JumpW)
{
    public static ReceptiveField Pixel => new(1, 1, 1, 1);

    public ReceptiveField After(int kernelH, int kernelW, int strideH, int strideW)
    {
        (int sh, int jh) = ShapeArithmetic.ReceptiveField(SizeH, JumpH, kernelH, strideH);
        (int sw, int jw) = ShapeArithmetic.ReceptiveField(SizeW, JumpW, kernelW, strideW);
        return new(sh, sw, jh, jw);
    }

    public string SizeText => $"{SizeH}×{SizeW}";

    public string JumpText => JumpH == JumpW ? JumpH.ToString(CultureInfo.InvariantCulture) : $"{JumpH}×{JumpW}";
}

/// <summary>
/// <c>sharpcnn experiment shapes</c>: the lecture's layer arithmetic without training. Each layer's output size
/// comes from the engine (a zero tensor run through the real <see cref="Conv2d"/>, <see cref="MaxPool2d"/>, …
/// modules) and is printed next to the formula ⌊(W − F + 2P)/S⌋ + 1 worked out; the two are checked to agree.
/// </summary>
internal static class ShapesExperiment
{
    /// <summary>Largest tensor (elements) the engine check builds.</summary>
    private const long MaxElements = 1L << 26;

    public static readonly string Usage = $"""
        usage: sharpcnn experiment shapes --input HxWxC --layer SPEC [--layer SPEC ...] [--out DIR]
               sharpcnn experiment shapes --model NAME [--input HxWxC] [--out DIR]

        Prints, per layer, the output size (H×W×C, the lecture's order) with the formula
        ⌊(W − F + 2P)/S⌋ + 1 worked out (F = the kernel's extent, d·(K − 1) + 1 when dilated), the parameters,
        and the receptive field of one output unit (its size and its jump, both in input pixels). The sizes are
        those of the engine: a zero image runs through the real modules, and the formula is checked against them.

          --input HxWxC         input height, width and channels, e.g. 32x32x3 (HxW: one channel)
          --layer SPEC          one layer, see the grammar below (repeat, in order)
          --model NAME          a zoo model instead of --layer: its modules in call order (default input:
                                the model's own); the receptive field is followed while the modules form a
                                chain (each one's input the previous one's output)
          --out DIR             also write shapes.csv, shapes.json and shapes.png (size and receptive field
                                per layer) into DIR

        {LayerSpec.Grammar}

        examples:
          sharpcnn experiment shapes --input 32x32x3 --layer conv:3@5x5 --layer conv:3@5x5,pad2 --layer conv:10@5x5,pad2 --layer pool:2x2/2
          sharpcnn experiment shapes --input 28x28x1 --layer conv:6@5x5,pad2 --layer relu --layer pool:2x2/2 --layer conv:16@5x5 --layer pool:2x2/2 --layer fc:120
          sharpcnn experiment shapes --input 32x32x1 --layer conv:8@3x3,s2 --layer conv:8@3x3     (receptive field 7×7)
          sharpcnn experiment shapes --model lenet5
        """;

    public static int Run(IReadOnlyList<string> args, TextWriter output)
    {
        // --layer repeats, which ParsedOptions (last value wins) does not keep: take the layers out first.
        var layers = new List<string>();
        var rest = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] == "--layer")
            {
                if (i + 1 >= args.Count)
                {
                    throw new UsageException("option '--layer' needs a value", Usage);
                }

                layers.Add(args[++i]);
            }
            else if (args[i].StartsWith("--layer=", StringComparison.Ordinal))
            {
                layers.Add(args[i]["--layer=".Length..]);
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        ParsedOptions o = ParsedOptions.Parse(rest, [new("input", true), new("model", true), new("out", true), new("help", false)], Usage);
        if (o.Switch("help"))
        {
            output.WriteLine(Usage);
            return Commands.Ok;
        }

        o.NoPositionals();
        string? model = o.String("model");
        IReadOnlyList<ShapeRow> rows;
        (int H, int W, int C) input;
        string title;
        if (model is not null)
        {
            if (layers.Count > 0)
            {
                throw new UsageException("give either --model or --layer, not both", Usage);
            }

            if (!ModelZoo.Names.Contains(model, StringComparer.OrdinalIgnoreCase))
            {
                throw new UsageException($"unknown model '{model}'; known models: {string.Join(", ", ModelZoo.Names)}", Usage);
            }

            (int c, int h, int w) = ModelZoo.DefaultInput(model);
            input = o.Has("input") ? ParseInput(o.String("input")!) : (h, w, c);
            rows = ForModel(model, input);
            title = $"{model.ToLowerInvariant()}, input {Hwc(input)}";
        }
        else
        {
            if (!o.Has("input"))
            {
                throw new UsageException("shapes needs --input HxWxC (or --model NAME)", Usage);
            }

            if (layers.Count == 0)
            {
                throw new UsageException("shapes needs at least one --layer SPEC (or --model NAME)", Usage);
            }

            input = ParseInput(o.String("input")!);
            List<LayerSpec> specs = [.. layers.Select(l => LayerSpec.Parse(l, Usage))];
            rows = ForLayers(input, specs);
            title = $"input {Hwc(input)}";
        }

        foreach (string line in Table(title, input, rows))
        {
            output.WriteLine(line);
        }

        if (o.String("out") is string outDir)
        {
            Directory.CreateDirectory(outDir);
            WriteFiles(outDir, title, input, rows);
            output.WriteLine($"files: {Path.Combine(outDir, "shapes.csv")}, {Path.Combine(outDir, "shapes.json")}, {Path.Combine(outDir, "shapes.png")}");
        }

        return Commands.Ok;
    }

    /// <summary>Parses <c>HxWxC</c> (or <c>HxW</c>, one channel), the lecture's order.</summary>
    public static (int H, int W, int C) ParseInput(string text)
    {
        string[] parts = text.Split('x', 'X', '×');
        var sizes = new List<int>();
        foreach (string part in parts)
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int v) || v <= 0)
            {
                break;
            }

            sizes.Add(v);
        }

        if (sizes.Count != parts.Length || sizes.Count is not (2 or 3))
        {
            throw new UsageException($"invalid value '{text}' for --input; expected HxWxC (height, width, channels) or HxW with positive sizes, e.g. 32x32x3", Usage);
        }

        (int h, int w, int c) = (sizes[0], sizes[1], sizes.Count == 3 ? sizes[2] : 1);
        if ((long)h * w * c > MaxElements)
        {
            throw new UsageException($"input {h}×{w}×{c} has more than {MaxElements:N0} values, too many for the engine check", Usage);
        }

        return (h, w, c);
    }

    /// <summary>
    /// The rows for a list of grammar layers on an H×W×C input. Each layer is built as the engine's module and run on
    /// the previous layer's zero output; its shape is compared with <see cref="ShapeArithmetic"/>'s.
    /// </summary>
    /// <exception cref="InvalidOperationException">A layer cannot take its input (output ≤ 0, a convolution after a
    /// fully connected layer); the message names the layer.</exception>
    public static IReadOnlyList<ShapeRow> ForLayers((int H, int W, int C) input, IReadOnlyList<LayerSpec> layers)
    {
        var rows = new List<ShapeRow>();
        using IDisposable seeded = Generator.UseAsDefault(new Generator(0));   // initial weights are irrelevant here
        using IDisposable noGrad = Autograd.Autograd.NoGrad();
        Tensor x = Tensor.Zeros(1, input.C, input.H, input.W);
        ReceptiveField field = ReceptiveField.Pixel;
        for (int i = 0; i < layers.Count; i++)
        {
            LayerSpec spec = layers[i];
            string name = $"layer {i + 1} ({spec.Text})";
            bool flat = x.Rank == 2;
            int c = x.Size(1), h = flat ? 1 : x.Size(2), w = flat ? 1 : x.Size(3);
            Module module;
            int[] expected;
            string formula = "", paramsFormula = "";
            long expectedParams = 0;
            switch (spec.Kind)
            {
                case LayerKind.Conv or LayerKind.MaxPool or LayerKind.AvgPool:
                    {
                        if (flat)
                        {
                            throw new InvalidOperationException($"{name} needs an H×W×C input, but it follows a fully connected layer (output {c})");
                        }

                        int kh = spec.EffectiveKernelH, kw = spec.EffectiveKernelW;
                        (int pbh, int pah) = spec.Padding(spec.KernelH);
                        (int pbw, int paw) = spec.Padding(spec.KernelW);
                        int oh = ShapeArithmetic.OutSize(h, kh, pbh, pah, spec.Stride);
                        int ow = ShapeArithmetic.OutSize(w, kw, pbw, paw, spec.Stride);
                        int oc = spec.Kind == LayerKind.Conv ? spec.Channels : c;
                        formula = AxisFormulas(h, w, kh, kw, (pbh, pah), (pbw, paw), spec.Stride, spec.Stride, oh, ow, ceil: false);
                        if (oh <= 0 || ow <= 0)
                        {
                            string kernel = spec.Dilation > 1 ? $"{spec.KernelH}×{spec.KernelW} kernel dilated {spec.Dilation} ({kh}×{kw})"
                                : spec.Kind == LayerKind.Conv ? $"{kh}×{kw} kernel" : $"{kh}×{kw} window";
                            throw new InvalidOperationException(
                                $"{name} on {h}×{w}×{c}: output {oh}×{ow}×{oc} is empty ({formula}): the {kernel} does not fit the padded {h + pbh + pah}×{w + pbw + paw} input");
                        }

                        CheckSize(name, (long)oh * ow * oc);
                        if (spec.Kind == LayerKind.Conv)
                        {
                            Padding padding = spec.Same ? Nn.Padding.FromString("same") : spec.Pad;
                            module = new Conv2d(c, spec.Channels, new Size2(spec.KernelH, spec.KernelW), spec.Stride, padding, spec.Dilation);
                            expectedParams = (long)spec.Channels * ((long)spec.KernelH * spec.KernelW * c + 1);
                            paramsFormula = $"{spec.Channels}·({spec.KernelH}·{spec.KernelW}·{c} + 1)";
                        }
                        else
                        {
                            var window = new Size2(spec.KernelH, spec.KernelW);
                            module = spec.Kind == LayerKind.MaxPool
                                ? new MaxPool2d(window, spec.Stride, spec.Pad)
                                : new AvgPool2d(window, spec.Stride, spec.Pad);
                        }

                        expected = [1, oc, oh, ow];
                        field = field.After(kh, kw, spec.Stride, spec.Stride);
                        break;
                    }

                case LayerKind.GlobalAvgPool:
                    if (flat)
                    {
                        throw new InvalidOperationException($"{name} needs an H×W×C input, but it follows a fully connected layer (output {c})");
                    }

                    module = new AdaptiveAvgPool2d(1);
                    formula = $"mean of each {h}×{w} channel";
                    expected = [1, c, 1, 1];
                    field = field.After(h, w, 1, 1);
                    break;

                case LayerKind.Fc:
                    {
                        long inputs = (long)c * h * w;
                        CheckSize(name, inputs * spec.Channels);
                        module = flat
                            ? new Linear(c, spec.Channels)
                            : new Sequential(new Flatten(), new Linear((int)inputs, spec.Channels));
                        formula = flat ? $"{c} inputs → {spec.Channels}" : $"{h}·{w}·{c} = {inputs} inputs → {spec.Channels}";
                        expectedParams = spec.Channels * (inputs + 1);
                        paramsFormula = $"{spec.Channels}·({inputs} + 1)";
                        expected = [1, spec.Channels];
                        field = field.After(h, w, 1, 1);
                        break;
                    }

                default:
                    module = new ReLU();
                    expected = [.. x.Shape];
                    break;
            }

            Tensor y;
            try
            {
                y = module.Call(x);
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException($"{name} on {h}×{w}×{c}: the engine refused it: {e.Message}", e);
            }

            // The engine's shape is the truth; the formula is the explanation. They must agree.
            if (!y.Shape.SequenceEqual(expected) || module.ParameterCount() != expectedParams)
            {
                throw new InvalidOperationException(
                    $"{name}: the formula gives [{string.Join(", ", expected)}] with {expectedParams} parameters but the engine gives [{string.Join(", ", y.Shape)}] with {module.ParameterCount()}");
            }

            rows.Add(new ShapeRow(spec.Text, OutputOf(y), formula, module.ParameterCount(), paramsFormula, field));
            x = y;
        }

        return rows;
    }

    /// <summary>
    /// The rows for a zoo model: one per leaf-module call in call order, from forward hooks on a zero image. The
    /// formula is shown for convolutions and poolings (checked against the engine's shape); the receptive field is
    /// followed while each module's input is the previous module's output and every module is one whose geometry is
    /// known, and left out (null) from the first module where that stops.
    /// </summary>
    public static IReadOnlyList<ShapeRow> ForModel(string name, (int H, int W, int C) input)
    {
        Module model = ModelZoo.Create(name, inChannels: input.C);
        var calls = new List<(string Name, Module Module, Tensor Input, Tensor Output)>();
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        foreach ((string n, Module m) in model.NamedModules())
        {
            names.TryAdd(m, n);
        }

        var hooks = new List<IDisposable>();
        Tensor x = Tensor.Zeros(1, input.C, input.H, input.W);
        try
        {
            foreach (Module leaf in names.Keys.Where(m => !m.NamedChildren().Any()))
            {
                hooks.Add(leaf.RegisterForwardHook((m, i, o) => calls.Add((names[m], m, i, o))));
            }

            model.Eval();
            using (Autograd.Autograd.NoGrad())
            {
                model.Call(x);
            }
        }
        catch (ArgumentException e)
        {
            throw new InvalidOperationException($"{name} cannot take input {Hwc(input)}: {e.Message}", e);
        }
        finally
        {
            hooks.ForEach(h => h.Dispose());
        }

        var rows = new List<ShapeRow>();
        ReceptiveField? field = ReceptiveField.Pixel;
        Tensor previous = x;
        (int H, int W) lastMap = (input.H, input.W);
        foreach ((string leafName, Module m, Tensor i, Tensor o) in calls)
        {
            if (!ReferenceEquals(i, previous))
            {
                field = null;   // a branch or a functional op in between: no single chain to follow
            }

            previous = o;
            (string description, string formula, field) = Describe(m, i, o, field, lastMap, leafName);
            if (o.Rank == 4)
            {
                lastMap = (o.Size(2), o.Size(3));
            }
            else if (o.Rank == 2)
            {
                lastMap = (1, 1);
            }

            rows.Add(new ShapeRow($"{leafName} {description}", OutputOf(o), formula, m.ParameterCount(), "", field));
        }

        return rows;
    }

    private static (string Description, string Formula, ReceptiveField? Field) Describe(Module m, Tensor i, Tensor o, ReceptiveField? field,
        (int H, int W) lastMap, string leafName)
    {
        bool spatialIn = i.Rank == 4, spatialOut = o.Rank == 4;
        int h = spatialIn ? i.Size(2) : 1, w = spatialIn ? i.Size(3) : 1;
        switch (m)
        {
            case Conv2d conv:
                {
                    int kh = (conv.Dilation.H * (conv.KernelSize.H - 1)) + 1, kw = (conv.Dilation.W * (conv.KernelSize.W - 1)) + 1;
                    (int pbh, int pah, int pbw, int paw) = conv.Padding.IsSame
                        ? (conv.Dilation.H * (conv.KernelSize.H - 1) / 2, (conv.Dilation.H * (conv.KernelSize.H - 1)) - (conv.Dilation.H * (conv.KernelSize.H - 1) / 2),
                           conv.Dilation.W * (conv.KernelSize.W - 1) / 2, (conv.Dilation.W * (conv.KernelSize.W - 1)) - (conv.Dilation.W * (conv.KernelSize.W - 1) / 2))
                        : (conv.Padding.H, conv.Padding.H, conv.Padding.W, conv.Padding.W);
                    int oh = ShapeArithmetic.OutSize(h, kh, pbh, pah, conv.Stride.H), ow = ShapeArithmetic.OutSize(w, kw, pbw, paw, conv.Stride.W);
                    Agree(leafName, o, oh, ow);
                    string d = $"conv:{conv.OutChannels}@{conv.KernelSize.H}x{conv.KernelSize.W}"
                        + (conv.Stride.H != 1 || conv.Stride.W != 1 ? $",s{Pair(conv.Stride)}" : "")
                        + (conv.Padding.IsSame ? ",same" : conv.Padding.H != 0 || conv.Padding.W != 0 ? $",pad{Pair(new Size2(conv.Padding.H, conv.Padding.W))}" : "")
                        + (conv.Dilation.H != 1 || conv.Dilation.W != 1 ? $",d{Pair(conv.Dilation)}" : "")
                        + (conv.Groups != 1 ? $",g{conv.Groups}" : "");
                    return (d, AxisFormulas(h, w, kh, kw, (pbh, pah), (pbw, paw), conv.Stride.H, conv.Stride.W, oh, ow, ceil: false),
                        field?.After(kh, kw, conv.Stride.H, conv.Stride.W));
                }

            case MaxPool2d pool:
                {
                    int kh = (pool.Dilation.H * (pool.KernelSize.H - 1)) + 1, kw = (pool.Dilation.W * (pool.KernelSize.W - 1)) + 1;
                    int oh = ShapeArithmetic.OutSize(h, kh, pool.Padding.H, pool.Padding.H, pool.Stride.H, pool.CeilMode);
                    int ow = ShapeArithmetic.OutSize(w, kw, pool.Padding.W, pool.Padding.W, pool.Stride.W, pool.CeilMode);
                    Agree(leafName, o, oh, ow);
                    string d = $"pool:{pool.KernelSize.H}x{pool.KernelSize.W}/{Pair(pool.Stride)}"
                        + (pool.Padding.H != 0 || pool.Padding.W != 0 ? $",pad{Pair(pool.Padding)}" : "")
                        + (pool.CeilMode ? ",ceil" : "");
                    return (d, AxisFormulas(h, w, kh, kw, (pool.Padding.H, pool.Padding.H), (pool.Padding.W, pool.Padding.W), pool.Stride.H, pool.Stride.W, oh, ow, pool.CeilMode),
                        field?.After(kh, kw, pool.Stride.H, pool.Stride.W));
                }

            case AdaptiveAvgPool2d adaptive:
                {
                    int oh = o.Size(2), ow = o.Size(3);
                    string d = $"adaptiveavgpool:{oh}x{ow}";
                    if (h % oh == 0 && w % ow == 0)
                    {
                        // Even windows: the same as a pool with kernel = stride = in/out.
                        return (d, $"windows of {h / oh}×{w / ow}, stride {h / oh}×{w / ow}", field?.After(h / oh, w / ow, h / oh, w / ow));
                    }

                    return (d, $"uneven windows over {h}×{w}", null);
                }

            case Linear linear:
                return ($"fc:{linear.OutFeatures}", $"{linear.InFeatures} inputs → {linear.OutFeatures}", field?.After(lastMap.H, lastMap.W, 1, 1));

            default:
                {
                    // Shape-keeping modules (activations, normalisation, dropout) and flatten leave the field as it is;
                    // anything else that changes the spatial size is not followed.
                    bool keeps = !spatialOut || (spatialIn && o.Size(2) == h && o.Size(3) == w);
                    return (m.GetType().Name.ToLowerInvariant(), "", keeps ? field : null);
                }
        }
    }

    private static void Agree(string name, Tensor output, int oh, int ow)
    {
        if (output.Rank != 4 || output.Size(2) != oh || output.Size(3) != ow)
        {
            throw new InvalidOperationException($"{name}: the formula gives {oh}×{ow} but the engine gives [{string.Join(", ", output.Shape)}]");
        }
    }

    private static string Pair(Size2 s) => s.H == s.W ? s.H.ToString(CultureInfo.InvariantCulture) : $"{s.H}x{s.W}";

    private static string AxisFormulas(int h, int w, int kh, int kw, (int Before, int After) padH, (int Before, int After) padW,
        int strideH, int strideW, int oh, int ow, bool ceil)
    {
        string fh = ShapeArithmetic.Formula(h, kh, padH.Before, padH.After, strideH, oh, ceil);
        string fw = ShapeArithmetic.Formula(w, kw, padW.Before, padW.After, strideW, ow, ceil);
        return fh == fw ? fh : $"H: {fh}; W: {fw}";
    }

    private static void CheckSize(string name, long elements)
    {
        if (elements > MaxElements)
        {
            throw new InvalidOperationException($"{name} would need {elements:N0} values, more than the {MaxElements:N0} the engine check builds");
        }
    }

    /// <summary>H, W, C of an NCHW output, or (N) of a flat one.</summary>
    private static int[] OutputOf(Tensor y) => y.Rank == 4 ? [y.Size(2), y.Size(3), y.Size(1)] : [.. y.Shape.Skip(1)];

    /// <summary>H×W×C, or N for a flat output.</summary>
    public static string Size(IReadOnlyList<int> output) => output.Count == 3 ? $"{output[0]}×{output[1]}×{output[2]}" : string.Join("×", output);

    private static string Hwc((int H, int W, int C) s) => $"{s.H}×{s.W}×{s.C}";

    /// <summary>The printed table: header, input row, one row per layer, totals.</summary>
    public static IEnumerable<string> Table(string title, (int H, int W, int C) input, IReadOnlyList<ShapeRow> rows)
    {
        string[] header = ["#", "layer", "output", "output size", "params", "RF", "jump"];
        List<string[]> cells =
        [
            ["0", "input", Hwc(input), "", "", ReceptiveField.Pixel.SizeText, ReceptiveField.Pixel.JumpText],
            .. rows.Select((r, i) => new[]
            {
                (i + 1).ToString(CultureInfo.InvariantCulture), r.Layer, Size(r.Output), r.Formula,
                r.Params == 0 ? "0" : r.ParamsFormula.Length > 0 ? $"{r.Params:N0} = {r.ParamsFormula}" : r.Params.ToString("N0", CultureInfo.InvariantCulture),
                r.Field?.SizeText ?? "—", r.Field?.JumpText ?? "—",
            }),
        ];
        int[] widths = [.. Enumerable.Range(0, header.Length).Select(c => Math.Max(header[c].Length, cells.Max(row => row[c].Length)))];
        string Line(string[] row) => string.Join("  ", row.Select((cell, c) => c == 0 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd();

        yield return title;
        yield return Line(header);
        yield return new string('-', widths.Sum() + (2 * (widths.Length - 1)));
        foreach (string[] row in cells)
        {
            yield return Line(row);
        }

        yield return new string('-', widths.Sum() + (2 * (widths.Length - 1)));
        yield return $"output: {Size(rows[^1].Output)}; parameters: {rows.Sum(r => r.Params):N0}";
        if (rows.Any(r => r.Field is null))
        {
            yield return "RF —: not followed past a branch, a functional op or a layer with uneven windows (the model is not a plain chain there)";
        }
    }

    private static void WriteFiles(string dir, string title, (int H, int W, int C) input, IReadOnlyList<ShapeRow> rows)
    {
        ExperimentFiles.WriteCsv(Path.Combine(dir, "shapes.csv"), "index,layer,out_h,out_w,out_c,formula,params,rf_h,rf_w,jump_h,jump_w",
            rows.Select((r, i) => new object[]
            {
                i + 1, r.Layer, r.Output.Count == 3 ? r.Output[0] : 1, r.Output.Count == 3 ? r.Output[1] : 1, r.Output[^1], r.Formula, r.Params,
                r.Field?.SizeH.ToString(CultureInfo.InvariantCulture) ?? "", r.Field?.SizeW.ToString(CultureInfo.InvariantCulture) ?? "",
                r.Field?.JumpH.ToString(CultureInfo.InvariantCulture) ?? "", r.Field?.JumpW.ToString(CultureInfo.InvariantCulture) ?? "",
            }));
        ExperimentFiles.WriteJson(Path.Combine(dir, "shapes.json"), new Dictionary<string, object?>
        {
            ["experiment"] = "shapes",
            ["title"] = title,
            ["input"] = new[] { input.H, input.W, input.C },
            ["total_params"] = rows.Sum(r => r.Params),
            ["layers"] = rows.Select(r => new Dictionary<string, object?>
            {
                ["layer"] = r.Layer,
                ["output"] = r.Output,
                ["formula"] = r.Formula,
                ["params"] = r.Params,
                ["params_formula"] = r.ParamsFormula,
                ["receptive_field"] = r.Field is ReceptiveField f ? new[] { f.SizeH, f.SizeW } : null,
                ["jump"] = r.Field is ReceptiveField g ? new[] { g.JumpH, g.JumpW } : null,
            }).ToList(),
        });

        // Spatial size (output height) and receptive field height per layer; flat outputs count as 1×1.
        double[] index = [.. Enumerable.Range(0, rows.Count + 1).Select(i => (double)i)];
        double[] size = [input.H, .. rows.Select(r => (double)(r.Output.Count == 3 ? r.Output[0] : 1))];
        int known = rows.TakeWhile(r => r.Field is not null).Count();
        double[] rf = [1, .. rows.Take(known).Select(r => (double)r.Field!.Value.SizeH)];
        ExperimentFiles.WriteLinePlot(Path.Combine(dir, "shapes.png"), $"{title}: size and receptive field per layer", "layer", "pixels",
            [("output height", index, size), ("receptive field (height)", index[..(known + 1)], rf)], legend: Alignment.UpperRight);
    }
}
