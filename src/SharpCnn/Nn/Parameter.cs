namespace SharpCnn.Nn;

/// <summary>A leaf tensor owned by a module that requires grad by default, as <c>torch.nn.Parameter</c>.</summary>
public sealed class Parameter : Tensor
{
    /// <summary>Wraps <paramref name="value"/>'s storage (not copied) as a trainable parameter.</summary>
    public Parameter(Tensor value, bool requiresGrad = true)
        : base(Unwrap(value).Storage, value.Shape) => RequiresGrad = requiresGrad;

    private static Tensor Unwrap(Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return value;
    }
}
