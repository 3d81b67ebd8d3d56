namespace SharpCnn.Nn;

/// <summary>A leaf tensor owned by a module that requires grad by default, as <c>torch.nn.Parameter</c>.</summary>
public sealed class Parameter : Tensor
{
    /// <summary>
    /// Wraps <paramref name="value"/>'s storage (not copied) as a trainable parameter. A value created inside a
    /// <see cref="TensorScope"/> is kept (<see cref="Tensor.Keep"/>): parameters outlive scopes.
    /// </summary>
    public Parameter(Tensor value, bool requiresGrad = true)
        : base(Persist(value)) => RequiresGrad = requiresGrad;

    /// <summary>The buffer of this parameter's last gradient, taken back by <see cref="Optim.Optimizer.RecycleGradients"/> for the next one.</summary>
    internal StorageLease? SpareGradient { get; set; }

    private static Tensor Persist(Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value.Keep();
    }
}
