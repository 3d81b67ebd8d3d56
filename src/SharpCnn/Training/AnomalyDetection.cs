using SharpCnn.Nn;

namespace SharpCnn.Training;

/// <summary>
/// Finds the layer where numbers first stop being finite (the goal of <c>torch.autograd.detect_anomaly</c>, told in
/// module paths). During training steps it checks every module's forward output and, in backward, the gradient of
/// every module's output; the first non-finite one stops training with <see cref="AnomalyDetectedException"/>
/// naming the layer (<c>features.3 (Conv2d)</c>), epoch, batch and global step, before the optimizer step.
/// </summary>
/// <remarks>
/// Forward: outputs are checked in the order modules finish, so a leaf is checked before the container around it,
/// and the first hit is the innermost module that produced a non-finite value (a container is named when its own
/// code, e.g. a residual addition, did). Backward: gradients are checked in backward order (nearest the loss first);
/// the named layer is the one whose output received the non-finite gradient, and the message also names the layer
/// that consumed that output, whose backward produced the gradient (or the leaf modules, when several read it). Evaluation (eval
/// mode) is not checked. Every module output is scanned, so a step is slower: use it to diagnose, not by default.
/// </remarks>
public sealed class AnomalyDetection : ITrainingCallback
{
    private readonly List<IDisposable> _handles = [];
    private readonly Dictionary<Tensor, string> _consumers = new(ReferenceEqualityComparer.Instance);
    private Trainer? _trainer;

    /// <inheritdoc/>
    public void OnFitStart(Trainer trainer)
    {
        ArgumentNullException.ThrowIfNull(trainer);
        Detach();
        _trainer = trainer;
        foreach ((string path, Module module) in trainer.Model.NamedModules())
        {
            string name = Describe(path, module);
            bool leaf = !module.NamedChildren().Any();
            _handles.Add(module.RegisterForwardHook((m, input, output) => Check(m, input, output, name, leaf)));
        }
    }

    /// <inheritdoc/>
    public void OnFitEnd(Trainer trainer) => Detach();

    /// <inheritdoc/>
    public void OnBatchStart(Trainer trainer) => _consumers.Clear();

    private static string Describe(string path, Module module) =>
        (path.Length == 0 ? "the model" : path) + " (" + module.GetType().Name + ")";

    private void Check(Module module, Tensor input, Tensor output, string name, bool leaf)
    {
        if (!module.Training || _trainer is not { } trainer)
        {
            return;
        }

        if (leaf)
        {
            // Who read this tensor: when its gradient turns out non-finite, one of those modules' backward produced it.
            _consumers[input] = !_consumers.TryGetValue(input, out string? others) ? name
                : others.Split(", ").Contains(name) ? others
                : others + ", " + name;
        }

        if (Count(output.Data) is { NonFinite: > 0 } bad)
        {
            throw new AnomalyDetectedException(
                $"Anomaly at {trainer.StepPosition}: the forward output of {name} holds {bad.What} ({bad.NonFinite:N0} of {output.Numel:N0} values), " +
                $"while its input was {(Count(input.Data).NonFinite == 0 ? "finite" : "already non-finite")}; training stopped. {trainer.KeptCheckpointNote}",
                name, inBackward: false);
        }

        if (output.RequiresGrad)
        {
            output.RegisterHook(grad =>
            {
                if (Count(grad.Data) is { NonFinite: > 0 } g)
                {
                    string source = !_consumers.TryGetValue(output, out string? consumer) ? ""
                        : consumer.Contains(", ", StringComparison.Ordinal) ? $"; it came from the backward of one of the layers that read that output: {consumer}"
                        : $"; it came from the backward of {consumer}, which read that output";
                    throw new AnomalyDetectedException(
                        $"Anomaly at {trainer.StepPosition}: in backward, the gradient of the output of {name} holds {g.What} ({g.NonFinite:N0} of {grad.Numel:N0} values){source}; " +
                        $"training stopped before the optimizer step. {trainer.KeptCheckpointNote}",
                        name, inBackward: true);
                }
            });
        }
    }

    private static (int NonFinite, string What) Count(ReadOnlySpan<float> values)
    {
        int nan = 0, inf = 0;
        foreach (float v in values)
        {
            if (float.IsNaN(v))
            {
                nan++;
            }
            else if (float.IsInfinity(v))
            {
                inf++;
            }
        }

        string what = nan > 0 && inf > 0 ? "NaN and infinity" : nan > 0 ? "NaN" : "infinity";
        return (nan + inf, what);
    }

    private void Detach()
    {
        foreach (IDisposable h in _handles)
        {
            h.Dispose();
        }

        _handles.Clear();
        _consumers.Clear();
        _trainer = null;
    }
}
