using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SharpCnn.Nn;

/// <summary>One leaf-module call in a <see cref="ModelSummary"/>.</summary>
/// <param name="Name">Dotted name (<c>features.0</c>); empty when the model itself is the leaf.</param>
/// <param name="Type">The module's class name (<c>Conv2d</c>).</param>
/// <param name="OutputShape">The output's shape, batch dimension (1) included.</param>
/// <param name="Params">Elements of the module's own parameters; 0 for a repeated call of a module already listed.</param>
/// <param name="Macs">Multiply-accumulates of this call (convolutions and linear layers only; 0 otherwise).</param>
/// <param name="Depth">Nesting depth: 1 for a child of the model, 2 for a grandchild, … (0 for the model itself).</param>
/// <param name="Repeated">True when the same module object was already called earlier in the pass.</param>
public sealed record ModelSummaryRow(string Name, string Type, IReadOnlyList<int> OutputShape, long Params, long Macs, int Depth, bool Repeated);

/// <summary>
/// A model's layer table and totals, in the spirit of torchinfo's <c>summary</c>: one forward pass of a zero batch
/// of one image, observed with forward hooks.
/// </summary>
/// <remarks>
/// <para><b>Rows</b>: one per call of a leaf module (a module with no children), in call order. A module called
/// twice (weight sharing, or used in two branches) gives two rows with MACs each time; the second has
/// <see cref="ModelSummaryRow.Repeated"/> set and 0 params, so rows never count a parameter twice. Only modules run
/// through <see cref="Module.Call"/> (<c>x.Apply(module)</c>, containers) are seen; functional calls
/// (<c>x.Relu()</c>, <c>F.Conv2d</c>) inside a forward have no row and no MACs.</para>
/// <para><b>MACs</b> follow torchvision's published "GFLOPS" (which are multiply-accumulates): only convolutions and
/// linear layers count. Conv2d: C_out·(C_in/groups)·kH·kW·H_out·W_out; Conv1d: C_out·(C_in/groups)·k·L_out;
/// Linear: in·out per row (every leading row of the output, so a Linear on (1, T, in) counts T·in·out). Bias,
/// activations, normalisation and pooling are not counted. ResNet-18 at 224×224 is then 1,814,073,344 MACs (torchvision: 1.814 GFLOPS), ResNet-50 4,089,184,256 (4.089).</para>
/// <para><b>Parameters</b> are counted once per distinct <see cref="Parameter"/> object; trainable ones have
/// <c>RequiresGrad</c>. Buffers (running statistics) are not parameters.</para>
/// <para><b>Memory</b> (1 MB = 10⁶ bytes, float32): activation bytes are the sum over the leaf rows of the
/// output's elements × 4, for one image — what a backward pass would keep, roughly; a module that returns its
/// input (Identity, Dropout in eval) or a view (Flatten) still counts. It is not the peak memory of inference.
/// Parameter bytes are the distinct parameters' elements × 4.</para>
/// </remarks>
public sealed class ModelSummary
{
    private const double Megabyte = 1e6;

    private ModelSummary(string model, IReadOnlyList<int> input, IReadOnlyList<ModelSummaryRow> rows, long totalParams, long trainableParams)
    {
        (Model, InputShape, Rows, TotalParams, TrainableParams) = (model, input, rows, totalParams, trainableParams);
    }

    /// <summary>The model's class name.</summary>
    public string Model { get; }

    /// <summary>The shape fed to the model, batch dimension (1) included: <c>[1, C, H, W]</c>.</summary>
    public IReadOnlyList<int> InputShape { get; }

    /// <summary>One row per leaf-module call, in call order.</summary>
    public IReadOnlyList<ModelSummaryRow> Rows { get; }

    /// <summary>Elements of all distinct parameters.</summary>
    public long TotalParams { get; }

    /// <summary>Elements of the parameters that require grad.</summary>
    public long TrainableParams { get; }

    /// <summary>Elements of the parameters that do not require grad (frozen).</summary>
    public long NonTrainableParams => TotalParams - TrainableParams;

    /// <summary>Multiply-accumulates of one forward pass of one image (see the remarks for what counts).</summary>
    public long TotalMacs => Rows.Sum(r => r.Macs);

    /// <summary>Sum of the leaf outputs' sizes in bytes (float32) for one image.</summary>
    public long ActivationBytes => Rows.Sum(r => r.OutputShape.Aggregate(1L, (a, d) => a * d)) * sizeof(float);

    /// <summary>Bytes of the distinct parameters (float32).</summary>
    public long ParamBytes => TotalParams * sizeof(float);

    /// <summary>
    /// Runs <paramref name="model"/> once on zeros of shape (1, <paramref name="inputShape"/>) in evaluation mode
    /// with no autograd graph, records every leaf module's call, and restores each module's training flag after.
    /// Running statistics are not changed (evaluation mode) and no randomness is drawn.
    /// </summary>
    /// <param name="model">The model.</param>
    /// <param name="inputShape">One sample's shape without the batch dimension, e.g. 3, 224, 224 (C, H, W).</param>
    /// <exception cref="ArgumentException">The shape is empty or has a non-positive dimension, or the model cannot
    /// take it; the message names the model, the input shape and the model's own error (kept as the inner exception).</exception>
    public static ModelSummary Create(Module model, params int[] inputShape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputShape);
        string modelName = model.GetType().Name;
        if (inputShape.Length == 0 || inputShape.Any(d => d <= 0))
        {
            throw new ArgumentException($"ModelSummary of {modelName}: the input shape must be one or more positive sizes (C, H, W without the batch), got ({string.Join(", ", inputShape)}).", nameof(inputShape));
        }

        int[] batched = [1, .. inputShape];
        var names = new Dictionary<Module, string>(ReferenceEqualityComparer.Instance);
        foreach ((string name, Module m) in model.NamedModules())
        {
            names.TryAdd(m, name);
        }

        var rows = new List<ModelSummaryRow>();
        var seen = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        void Record(Module m, Tensor input, Tensor output)
        {
            string name = names[m];
            bool repeated = !seen.Add(m);
            long own = repeated ? 0 : m.ParameterCount();   // a leaf's parameters are all its own
            int depth = name.Length == 0 ? 0 : name.Count(c => c == '.') + 1;
            rows.Add(new ModelSummaryRow(name, m.GetType().Name, output.Shape, own, Macs(m, output), depth, repeated));
        }

        List<(Module Module, bool Training)> modes = [.. model.NamedModules().Select(nm => (nm.Module, nm.Module.Training))];
        var handles = new List<IDisposable>();
        try
        {
            foreach (Module leaf in names.Keys.Where(m => !m.NamedChildren().Any()))
            {
                handles.Add(leaf.RegisterForwardHook(Record));
            }

            model.Eval();
            using (Autograd.Autograd.NoGrad())
            {
                model.Call(Tensor.Zeros(batched));
            }
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or IndexOutOfRangeException)
        {
            // ArgumentException.Message ends in " (Parameter 'x')"; the model's parameter names mean nothing here.
            string inner = e is ArgumentException { ParamName: { } p } && e.Message.EndsWith($" (Parameter '{p}')", StringComparison.Ordinal)
                ? e.Message[..^$" (Parameter '{p}')".Length]
                : e.Message;
            throw new ArgumentException($"{modelName} cannot take input {Shapes.Format(batched)} (one sample {string.Join("×", inputShape)}): {inner}", e);
        }
        finally
        {
            handles.ForEach(h => h.Dispose());

            // Train(mode) recurses, so restoring in pre-order (parents first) gives each module its own flag back.
            foreach ((Module m, bool training) in modes)
            {
                m.Train(training);
            }
        }

        var parameters = new HashSet<Parameter>(model.Parameters(), ReferenceEqualityComparer.Instance);
        return new ModelSummary(modelName, batched, rows,
            parameters.Sum(p => (long)p.Numel), parameters.Where(p => p.RequiresGrad).Sum(p => (long)p.Numel));
    }

    /// <summary>MACs of one call, from the module's settings and its output shape.</summary>
    private static long Macs(Module m, Tensor output)
    {
        long outputs = output.Numel;
        return m switch
        {
            // Each output element of a convolution is (C_in/groups)·kernel multiply-adds.
            Conv2d c => outputs * (c.InChannels / c.Groups) * c.KernelSize.H * c.KernelSize.W,
            Conv1d c => outputs * (c.InChannels / c.Groups) * c.KernelSize,
            // Each output element of a linear layer is in_features multiply-adds.
            Linear l => outputs * l.InFeatures,
            _ => 0,
        };
    }

    /// <summary>The table and totals (see <see cref="Format"/>).</summary>
    public override string ToString() => Format();

    /// <summary>
    /// A torchinfo-style table: <c>Layer</c> (dotted name; <c>(model)</c> when the model is a leaf), <c>Type</c>, <c>Output shape</c>,
    /// <c>Params</c> (<c>(recursive)</c> for a repeated call), <c>MACs</c>; then totals, mult-adds in millions or
    /// billions, and memory in MB (10⁶ bytes). Numbers use thousands separators; the text is culture-invariant.
    /// </summary>
    public string Format()
    {
        CultureInfo ci = CultureInfo.InvariantCulture;
        string[] header = ["Layer", "Type", "Output shape", "Params", "MACs"];
        List<string[]> cells = [.. Rows.Select(r => new[]
        {
            r.Name.Length == 0 ? "(model)" : r.Name,
            r.Type,
            "[" + string.Join(", ", r.OutputShape) + "]",
            r.Repeated ? "(recursive)" : r.Params.ToString("N0", ci),
            r.Macs.ToString("N0", ci),
        })];
        int[] widths = [.. Enumerable.Range(0, header.Length).Select(c => cells.Select(row => row[c].Length).Append(header[c].Length).Max())];
        int total = widths.Sum() + (2 * (widths.Length - 1));
        string rule = new('=', Math.Max(total, 60));
        string thin = new('-', Math.Max(total, 60));

        var sb = new StringBuilder();
        void Line(string[] row)
        {
            var line = new StringBuilder();
            for (int c = 0; c < row.Length; c++)
            {
                // Text columns left-aligned, numbers right-aligned.
                line.Append(c < 3 ? row[c].PadRight(widths[c]) : row[c].PadLeft(widths[c]));
                if (c < row.Length - 1)
                {
                    line.Append("  ");
                }
            }

            sb.Append(line.ToString().TrimEnd()).Append('\n');
        }

        sb.Append(Model).Append(", input ").Append('[').Append(string.Join(", ", InputShape)).Append("]\n");
        sb.Append(rule).Append('\n');
        Line(header);
        sb.Append(thin).Append('\n');
        cells.ForEach(Line);
        sb.Append(rule).Append('\n');
        long macs = TotalMacs;
        (string unit, double scale) = macs >= 1_000_000_000 ? ("G", 1e9) : ("M", 1e6);
        sb.Append(ci, $"Total params: {TotalParams:N0}\n");
        sb.Append(ci, $"Trainable params: {TrainableParams:N0}\n");
        sb.Append(ci, $"Non-trainable params: {NonTrainableParams:N0}\n");
        sb.Append(ci, $"Total MACs: {macs:N0}\n");
        sb.Append(ci, $"Total mult-adds ({unit}): {macs / scale:F2}\n");
        sb.Append(rule).Append('\n');
        sb.Append(ci, $"Input size: {InputShape.Aggregate(1L, (a, d) => a * d) * sizeof(float) / Megabyte:F2} MB\n");
        sb.Append(ci, $"Activation memory (one image): {ActivationBytes / Megabyte:F2} MB\n");
        sb.Append(ci, $"Params size: {ParamBytes / Megabyte:F2} MB\n");
        sb.Append(rule).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// The summary as one JSON object: <c>model</c>, <c>input</c> (shape with the batch dimension),
    /// <c>total_params</c>, <c>trainable_params</c>, <c>non_trainable_params</c>, <c>macs</c>,
    /// <c>activation_bytes</c>, <c>param_bytes</c>, and <c>layers</c>: an array of
    /// <c>{name, type, output_shape, params, macs, depth, repeated}</c>. Numbers are plain integers.
    /// </summary>
    /// <param name="indented">Pretty-print (the default) or one line.</param>
    public string ToJson(bool indented = true)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("model", Model);
            WriteShape(json, "input", InputShape);
            json.WriteNumber("total_params", TotalParams);
            json.WriteNumber("trainable_params", TrainableParams);
            json.WriteNumber("non_trainable_params", NonTrainableParams);
            json.WriteNumber("macs", TotalMacs);
            json.WriteNumber("activation_bytes", ActivationBytes);
            json.WriteNumber("param_bytes", ParamBytes);
            json.WriteStartArray("layers");
            foreach (ModelSummaryRow r in Rows)
            {
                json.WriteStartObject();
                json.WriteString("name", r.Name);
                json.WriteString("type", r.Type);
                WriteShape(json, "output_shape", r.OutputShape);
                json.WriteNumber("params", r.Params);
                json.WriteNumber("macs", r.Macs);
                json.WriteNumber("depth", r.Depth);
                json.WriteBoolean("repeated", r.Repeated);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WriteShape(Utf8JsonWriter json, string name, IReadOnlyList<int> shape)
    {
        json.WriteStartArray(name);
        foreach (int d in shape)
        {
            json.WriteNumberValue(d);
        }

        json.WriteEndArray();
    }
}
