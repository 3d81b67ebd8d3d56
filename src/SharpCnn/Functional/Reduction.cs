namespace SharpCnn.Functional;

/// <summary>How a loss combines per-element values, as PyTorch's <c>reduction</c> argument.</summary>
public enum Reduction
{
    /// <summary>Average (weighted by class weights where they apply).</summary>
    Mean,

    /// <summary>Sum.</summary>
    Sum,

    /// <summary>No reduction: one value per sample.</summary>
    None,
}
