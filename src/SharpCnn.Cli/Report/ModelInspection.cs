using SharpCnn.Data;
using SharpCnn.Nn;

namespace SharpCnn.Cli.Report;

/// <summary>One test image the model got wrong.</summary>
/// <param name="Index">Its index in the test set.</param>
/// <param name="Label">The true class.</param>
/// <param name="Predicted">The predicted class (arg-max of the logits).</param>
/// <param name="Confidence">The softmax probability of the predicted class.</param>
internal sealed record Mistake(int Index, int Label, int Predicted, double Confidence);

/// <summary>The model's predictions on (a prefix of) the test set.</summary>
/// <param name="Confusion">Counts [true class, predicted class].</param>
/// <param name="Count">Images evaluated.</param>
/// <param name="Correct">Images classified correctly.</param>
/// <param name="Mistakes">The most confident mistakes, most confident first (at most the number asked for).</param>
/// <param name="MistakeCount">All mistakes.</param>
internal sealed record TestEvaluation(long[,] Confusion, int Count, int Correct, IReadOnlyList<Mistake> Mistakes, int MistakeCount)
{
    /// <summary>Fraction correct (NaN when nothing was evaluated).</summary>
    public double Accuracy => Count == 0 ? double.NaN : (double)Correct / Count;
}

/// <summary>The activation of one stage of the network for one input image.</summary>
/// <param name="Path">Dotted module path of the tensor shown (e.g. <c>features.1</c>).</param>
/// <param name="Description">What the tensor is, e.g. <c>ReLU after features.0 (Conv2d)</c>.</param>
/// <param name="Channels">Channels C of the stage's output.</param>
/// <param name="Height">Height of the maps.</param>
/// <param name="Width">Width of the maps.</param>
/// <param name="Maps">The C×H×W values, channel-major.</param>
internal sealed record FeatureStage(string Path, string Description, int Channels, int Height, int Width, float[] Maps);

/// <summary>Looks inside a trained model: test-set predictions, the first convolution's filters, and per-stage activations.</summary>
internal static class ModelInspection
{
    /// <summary>Above this many stages only the output of each container's last stage is shown (e.g. ResNet's layer1…layer4).</summary>
    public const int MaxStages = 12;

    /// <summary>
    /// Runs the model (evaluation mode, no gradients) over <paramref name="dataset"/> in order, counting the confusion
    /// matrix and keeping the <paramref name="keepMistakes"/> most confident mistakes.
    /// </summary>
    /// <exception cref="InvalidDataException">The model's output has fewer columns than the dataset has classes, or a label is out of range.</exception>
    public static TestEvaluation Evaluate(Module model, IDataset dataset, int classes, int keepMistakes, int batchSize = 500)
    {
        var confusion = new long[classes, classes];
        var mistakes = new List<Mistake>();
        int correct = 0;
        int seen = 0;
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using (Autograd.Autograd.NoGrad())
            {
                var loader = new DataLoader(dataset, batchSize);
                foreach (Batch batch in loader)
                {
                    using TensorScope scope = TensorScope.Begin();
                    Tensor logits = model.Call(batch.Inputs);
                    int n = batch.Size;
                    int c = logits.Numel / Math.Max(n, 1);
                    if (logits.Rank != 2 || c != classes)
                    {
                        throw new InvalidDataException(
                            $"the model gives outputs of shape ({string.Join(", ", logits.Shape)}) for a batch of {n}, but the test set has {classes} classes; expected ({n}, {classes}).");
                    }

                    ReadOnlySpan<float> l = logits.Data;
                    ReadOnlySpan<float> t = batch.Targets.Data;
                    for (int i = 0; i < n; i++)
                    {
                        ReadOnlySpan<float> row = l.Slice(i * c, c);
                        int label = (int)t[i];
                        if ((uint)label >= (uint)classes)
                        {
                            throw new InvalidDataException($"test image {seen + i} has label {label}; expected 0..{classes - 1}.");
                        }

                        (int predicted, double confidence) = ArgMaxSoftmax(row);
                        confusion[label, predicted]++;
                        if (predicted == label)
                        {
                            correct++;
                        }
                        else
                        {
                            mistakes.Add(new Mistake(seen + i, label, predicted, confidence));
                        }
                    }

                    seen += n;
                }
            }
        }
        finally
        {
            model.Train(wasTraining);
        }

        // Most confident first; ties by index so the gallery is reproducible.
        List<Mistake> shown = [.. mistakes.OrderByDescending(m => m.Confidence).ThenBy(m => m.Index).Take(keepMistakes)];
        return new TestEvaluation(confusion, seen, correct, shown, mistakes.Count);
    }

    /// <summary>The arg-max (ties to the lowest index, as torch.argmax) and its softmax probability.</summary>
    internal static (int Index, double Probability) ArgMaxSoftmax(ReadOnlySpan<float> logits)
    {
        int best = 0;
        for (int j = 1; j < logits.Length; j++)
        {
            if (logits[j] > logits[best])
            {
                best = j;
            }
        }

        // p_best = 1 / Σ_j exp(l_j − l_best), stable because every exponent is ≤ 0.
        double sum = 0;
        foreach (float v in logits)
        {
            sum += Math.Exp(v - (double)logits[best]);
        }

        return (best, 1 / sum);
    }

    /// <summary>
    /// The weight (out, in, kH, kW) of the first <see cref="Conv2d"/> the model calls on <paramref name="sample"/>
    /// (1, C, H, W); null for a model without convolutions.
    /// </summary>
    public static (string Path, Tensor Weight)? FirstConv(Module model, Tensor sample)
    {
        (string Path, Tensor Weight)? first = null;
        var hooks = new List<IDisposable>();
        try
        {
            foreach ((string path, Module module) in model.NamedModules().Where(m => m.Name.Length > 0))
            {
                if (module is Conv2d conv)
                {
                    hooks.Add(module.RegisterForwardHook((_, _, _) => first ??= (path, conv.Weight)));
                }
            }

            Probe(model, sample);
        }
        finally
        {
            hooks.ForEach(h => h.Dispose());
        }

        return first;
    }

    /// <summary>
    /// The activations of every convolutional stage for one image <paramref name="sample"/> (1, C, H, W), captured with
    /// forward hooks. A stage is the outermost module that holds a <see cref="Conv2d"/> and is not a plain container
    /// (<see cref="Sequential"/>, <see cref="ModuleList"/>): a bare convolution in LeNet's <c>features</c>, a residual
    /// block in ResNet, an Inception module in GoogLeNet. Where a bare convolution is followed in its container by an
    /// activation module (after an optional batch norm), the activation's output is shown instead, so the maps are what
    /// the next layer sees. Stages whose maps are 1×1 are left out. With more than <see cref="MaxStages"/> stages, only the
    /// last stage of each container is kept (the output of ResNet's <c>layer1</c> … <c>layer4</c>).
    /// </summary>
    public static IReadOnlyList<FeatureStage> CaptureStages(Module model, Tensor sample)
    {
        List<(string Name, Module Module)> named = [.. model.NamedModules().Where(m => m.Name.Length > 0)];
        var outputs = new Dictionary<string, (int[] Shape, float[] Data)>(StringComparer.Ordinal);
        var hooks = new List<IDisposable>();
        try
        {
            foreach ((string path, Module module) in named)
            {
                hooks.Add(module.RegisterForwardHook((_, _, output) =>
                {
                    if (output.Rank == 4 && output.Size(0) == 1)
                    {
                        outputs[path] = (output.Shape, output.ToArray());
                    }
                }));
            }

            Probe(model, sample);
        }
        finally
        {
            hooks.ForEach(h => h.Dispose());
        }

        var parents = new Dictionary<string, Module>(StringComparer.Ordinal);
        foreach ((string path, Module module) in named.Prepend(("", model)))
        {
            foreach ((string child, _) in module.NamedChildren())
            {
                parents[path.Length == 0 ? child : path + "." + child] = module;
            }
        }

        var stages = new List<(string Parent, FeatureStage Stage)>();
        var chosen = new List<string>();
        foreach ((string path, Module module) in named)
        {
            if (module is IndexedModules || chosen.Any(c => path.StartsWith(c + ".", StringComparison.Ordinal))
                || !module.NamedModules().Any(m => m.Module is Conv2d) || !outputs.TryGetValue(path, out var output))
            {
                continue;
            }

            chosen.Add(path);
            string shownPath = path;
            string description = module.GetType().Name;
            if (module is Conv2d && parents.TryGetValue(path, out Module? parent) && parent is IndexedModules)
            {
                // The activation that follows in the same container, past an optional batch norm.
                List<(string Name, Module Module)> siblings = [.. parent.NamedChildren()];
                int at = siblings.FindIndex(s => ReferenceEquals(s.Module, module));
                int next = at + 1;
                if (next < siblings.Count && siblings[next].Module is BatchNormBase)
                {
                    next++;
                }

                string prefix = path[..(path.LastIndexOf('.') + 1)];
                if (next < siblings.Count && siblings[next].Module is ReLU or LeakyReLU or Tanh or Sigmoid or GELU
                    && outputs.TryGetValue(prefix + siblings[next].Name, out var activated) && activated.Shape.SequenceEqual(output.Shape))
                {
                    shownPath = prefix + siblings[next].Name;
                    description = $"{siblings[next].Module.GetType().Name} after {path} ({module.GetType().Name}{(next > at + 1 ? " + " + siblings[at + 1].Module.GetType().Name : "")})";
                    output = activated;
                }
            }

            if (output.Shape[2] * output.Shape[3] == 1)
            {
                continue;
            }

            string parentPath = path.Contains('.', StringComparison.Ordinal) ? path[..path.LastIndexOf('.')] : "";
            stages.Add((parentPath, new FeatureStage(shownPath, description, output.Shape[1], output.Shape[2], output.Shape[3], output.Data)));
        }

        if (stages.Count > MaxStages)
        {
            // Keep each container's last stage: consecutive stages with the same parent form one group.
            stages = [.. stages.Where((s, i) => i == stages.Count - 1 || stages[i + 1].Parent != s.Parent)];
        }

        return [.. stages.Select(s => s.Stage)];
    }

    private static void Probe(Module model, Tensor sample)
    {
        bool wasTraining = model.Training;
        model.Eval();
        try
        {
            using (Autograd.Autograd.NoGrad())
            {
                model.Call(sample);
            }
        }
        finally
        {
            model.Train(wasTraining);
        }
    }
}
