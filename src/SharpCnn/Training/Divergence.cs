namespace SharpCnn.Training;

/// <summary>
/// Training stopped because numbers stopped being finite: the loss (<see cref="NonFiniteLossException"/>), the
/// gradient norm (<see cref="NonFiniteGradientException"/>) or, with anomaly detection, a layer's output or output
/// gradient (<see cref="AnomalyDetectedException"/>). The optimizer did not apply the failing step, and no
/// checkpoint was written after the last good one. The message names epoch, batch and global step.
/// </summary>
public class TrainingDivergedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TrainingDivergedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public TrainingDivergedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public TrainingDivergedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Thrown when the training loss is NaN or infinite (checked before backward, so the step is not applied).</summary>
public sealed class NonFiniteLossException : TrainingDivergedException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteLossException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonFiniteLossException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public NonFiniteLossException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Thrown by <see cref="GradientClipping"/> when the total gradient norm is NaN or infinite (before the optimizer step).</summary>
public sealed class NonFiniteGradientException : TrainingDivergedException
{
    /// <summary>Creates the exception.</summary>
    public NonFiniteGradientException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public NonFiniteGradientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public NonFiniteGradientException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Thrown by <see cref="AnomalyDetection"/>: a layer's forward output, or the gradient of its output in backward,
/// holds NaN or infinity. <see cref="ModulePath"/> names the layer (<c>features.3</c>).
/// </summary>
public sealed class AnomalyDetectedException : TrainingDivergedException
{
    /// <summary>Creates the exception.</summary>
    public AnomalyDetectedException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public AnomalyDetectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    public AnomalyDetectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a layer.</summary>
    public AnomalyDetectedException(string message, string modulePath, bool inBackward)
        : base(message) => (ModulePath, InBackward) = (modulePath, inBackward);

    /// <summary>The dotted path of the layer (<c>""</c> for the model itself).</summary>
    public string ModulePath { get; } = "";

    /// <summary>False: the forward output was non-finite; true: the gradient of the output was, in backward.</summary>
    public bool InBackward { get; }
}
