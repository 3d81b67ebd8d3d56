namespace SharpCnn.Nn;

/// <summary>
/// A model with auxiliary heads that take part in training only, such as GoogLeNet's two auxiliary classifiers
/// (Szegedy et al., 2014, §5). The training loss is main + Σ weightᵢ·lossᵢ over the auxiliary outputs, computed
/// with the same criterion and targets as the main output; predictions and evaluation use the main output alone.
/// </summary>
/// <remarks>
/// <see cref="Module.Forward"/> of such a model returns the main output only. <see cref="SharpCnn.Training.Trainer"/>
/// calls <see cref="ForwardWithAuxiliary"/> in training mode and combines the losses as above.
/// </remarks>
public interface IAuxiliaryOutputs
{
    /// <summary>
    /// Runs the model once and returns the main output together with the auxiliary ones. In evaluation mode, or
    /// when the model was built without auxiliary heads, <see cref="AuxiliaryForward.Auxiliary"/> is empty.
    /// </summary>
    AuxiliaryForward ForwardWithAuxiliary(Tensor input);
}

/// <summary>The result of <see cref="IAuxiliaryOutputs.ForwardWithAuxiliary"/>.</summary>
/// <param name="Output">The main output (e.g. logits (N, numClasses)).</param>
/// <param name="Auxiliary">The auxiliary outputs with their loss weights, in the model's documented order (empty in evaluation mode).</param>
public sealed record AuxiliaryForward(Tensor Output, IReadOnlyList<AuxiliaryOutput> Auxiliary);

/// <summary>One auxiliary output and the weight of its loss in the training objective.</summary>
/// <param name="Output">The auxiliary head's output, shaped as the main output.</param>
/// <param name="Weight">Its loss weight (GoogLeNet: 0.3).</param>
public readonly record struct AuxiliaryOutput(Tensor Output, float Weight);
