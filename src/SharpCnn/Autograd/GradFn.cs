namespace SharpCnn.Autograd;

/// <summary>
/// A recorded operation: the inputs it read and the rule that maps the gradient of its output to the
/// gradients of those inputs (one entry per input, null for inputs that need none).
/// </summary>
public sealed class GradFn
{
    private readonly Func<Tensor, Tensor?[]> _backward;

    // The TensorScope the operation was recorded in (null outside scopes): the tensors its rule captured are
    // recycled when that scope ends, so the node can no longer be differentiated after that.
    private readonly object? _scope;
    private readonly int _scopeVersion;

    internal GradFn(string name, Tensor[] inputs, Func<Tensor, Tensor?[]> backward)
    {
        Name = name;
        Inputs = inputs;
        _backward = backward;
        (_scope, _scopeVersion) = TensorScope.CurrentStamp();
    }

    /// <summary>The operation's name as shown in errors, e.g. <c>Conv2dBackward</c>.</summary>
    public string Name { get; }

    /// <summary>The tensors the operation read.</summary>
    public IReadOnlyList<Tensor> Inputs { get; }

    /// <summary>False once the <see cref="TensorScope"/> this operation was recorded in has ended.</summary>
    internal bool IsUsable => TensorScope.IsOpen(_scope, _scopeVersion);

    internal Tensor?[] Backward(Tensor gradOutput) => _backward(gradOutput);
}
