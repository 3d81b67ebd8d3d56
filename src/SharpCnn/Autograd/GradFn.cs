namespace SharpCnn.Autograd;

/// <summary>
/// A recorded operation: the inputs it read and the rule that maps the gradient of its output to the
/// gradients of those inputs (one entry per input, null for inputs that need none).
/// </summary>
public sealed class GradFn
{
    private readonly Func<Tensor, Tensor?[]> _backward;

    internal GradFn(string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        Name = name;
        Inputs = inputs;
        _backward = backward;
    }

    /// <summary>The operation's name as shown in errors, e.g. <c>Conv2dBackward</c>.</summary>
    public string Name { get; }

    /// <summary>The tensors the operation read.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    internal Tensor?[] Backward(Tensor gradOutput) => _backward(gradOutput);
}
