namespace SharpCnn.Autograd;

/// <summary>Switches for the define-by-run graph.</summary>
public static class Autograd
{
    [ThreadStatic]
    private static int s_noGradDepth;

    /// <summary>True unless inside a <see cref="NoGrad"/> scope on this thread.</summary>
    public static bool IsGradEnabled => s_noGradDepth == 0;

    /// <summary>
    /// Opens a scope in which no operation is recorded (as <c>torch.no_grad()</c>):
    /// <c>using (Autograd.NoGrad()) { ... }</c>. Scopes nest.
    /// </summary>
    public static NoGradScope NoGrad()
    {
        s_noGradDepth++;
        return new NoGradScope();
    }

    internal static void ExitNoGrad() => s_noGradDepth--;
}

/// <summary>The scope returned by <see cref="Autograd.NoGrad"/>; disposing it re-enables recording.</summary>
public struct NoGradScope : IDisposable
{
    private bool _disposed;

    /// <summary>Leaves the scope (once).</summary>
    public void Dispose()
    {
        if (!_disposed)
        {
            _disposed = true;
            Autograd.ExitNoGrad();
        }
    }
}
