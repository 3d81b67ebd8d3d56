using System.Text;

namespace SharpCnn.Nn;

/// <summary>
/// Base class of all layers and models, as <c>torch.nn.Module</c>: owns named parameters, buffers and
/// child modules, switches between training and evaluation, and saves and loads its state dict.
/// State-dict keys are the names given at registration joined by dots (<c>features.0.weight</c>).
/// </summary>
public abstract partial class Module
{
    private readonly List<(string Name, Parameter? Value)> _parameters = [];
    private readonly List<(string Name, Tensor? Value, bool Persistent)> _buffers = [];
    private readonly List<(string Name, Module Value)> _modules = [];

    // Copy-on-write, so a hook may remove itself (or register another) while the hooks run, and a call with no
    // hooks costs one null check.
    private ForwardHook[]? _forwardHooks;
    private ForwardPreHook[]? _forwardPreHooks;

    /// <summary>True in training mode (the default); false after <see cref="Eval"/>.</summary>
    public bool Training { get; private set; } = true;

    /// <summary>Computes the module's output. Call modules through <see cref="Call"/> (or <c>x.Apply(module)</c>) so hooks run.</summary>
    public abstract Tensor Forward(Tensor input);

    /// <summary>
    /// Gets a value indicating whether forward hooks or pre-hooks are registered on this module (not its children).
    /// Fused paths that skip a module's <see cref="Call"/> (batch norm + ReLU, a batch norm folded into a convolution)
    /// check it and run the plain calls instead, so hooks always see every call.
    /// </summary>
    public bool HasForwardHooks => _forwardHooks is not null || _forwardPreHooks is not null;

    /// <summary>
    /// Runs the forward pre-hooks, <see cref="Forward"/>, then the forward hooks, each in registration order, as PyTorch's <c>module(x)</c>
    /// (<c>__call__</c>). This is the path models and containers use to call their children
    /// (<c>x.Apply(module)</c> is the same call); calling <see cref="Forward"/> directly skips the hooks.
    /// </summary>
    /// <returns>The output of <see cref="Forward"/>.</returns>
    public Tensor Call(Tensor input)
    {
        ForwardPreHook[]? preHooks = _forwardPreHooks;
        if (preHooks is not null)
        {
            foreach (ForwardPreHook hook in preHooks)
            {
                hook(this, input);
            }
        }

        Tensor output = Forward(input);
        ForwardHook[]? hooks = _forwardHooks;
        if (hooks is not null)
        {
            foreach (ForwardHook hook in hooks)
            {
                hook(this, input, output);
            }
        }

        return output;
    }

    /// <summary>
    /// Registers <paramref name="hook"/> to run after every <see cref="Call"/> of this module (not of its children)
    /// with the module, its input and its output, as PyTorch's <c>register_forward_hook</c>. Hooks observe; they
    /// cannot replace the output. Registration is not thread-safe.
    /// </summary>
    /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook (a second dispose does nothing).</returns>
    public IDisposable RegisterForwardHook(ForwardHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        _forwardHooks = [.. _forwardHooks ?? [], hook];
        return new ForwardHookHandle(this, hook);
    }

    /// <summary>
    /// Registers <paramref name="hook"/> to run before every <see cref="Call"/> of this module with the module and its
    /// input, as PyTorch's <c>register_forward_pre_hook</c> (e.g. to time a module together with a forward hook).
    /// Pre-hooks observe; they cannot replace the input. Registration is not thread-safe.
    /// </summary>
    /// <returns>A handle whose <see cref="IDisposable.Dispose"/> removes the hook (a second dispose does nothing).</returns>
    public IDisposable RegisterForwardPreHook(ForwardPreHook hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        _forwardPreHooks = [.. _forwardPreHooks ?? [], hook];
        return new ForwardPreHookHandle(this, hook);
    }

    private void RemoveForwardPreHook(ForwardPreHook hook)
    {
        ForwardPreHook[]? hooks = _forwardPreHooks;
        int index = hooks is null ? -1 : Array.IndexOf(hooks, hook);
        if (index >= 0)
        {
            _forwardPreHooks = hooks!.Length == 1 ? null : [.. hooks[..index], .. hooks[(index + 1)..]];
        }
    }

    private sealed class ForwardPreHookHandle(Module module, ForwardPreHook hook) : IDisposable
    {
        private Module? _module = module;

        public void Dispose()
        {
            _module?.RemoveForwardPreHook(hook);
            _module = null;
        }
    }

    private void RemoveForwardHook(ForwardHook hook)
    {
        ForwardHook[]? hooks = _forwardHooks;
        int index = hooks is null ? -1 : Array.IndexOf(hooks, hook);
        if (index >= 0)
        {
            _forwardHooks = hooks!.Length == 1 ? null : [.. hooks[..index], .. hooks[(index + 1)..]];
        }
    }

    private sealed class ForwardHookHandle(Module module, ForwardHook hook) : IDisposable
    {
        private Module? _module = module;

        public void Dispose()
        {
            _module?.RemoveForwardHook(hook);
            _module = null;
        }
    }

    /// <summary>Registers a child module under <paramref name="name"/> and returns it.</summary>
    protected T Add<T>(string name, T module)
        where T : Module
    {
        ArgumentNullException.ThrowIfNull(module);
        CheckName(name);
        _modules.Add((name, module));
        return module;
    }

    /// <summary>
    /// Registers a parameter (a null value is kept out of the state dict, as PyTorch's <c>None</c>). A value created
    /// inside a <see cref="TensorScope"/> is kept: parameters outlive scopes.
    /// </summary>
    protected Parameter? AddParameter(string name, Tensor? value)
    {
        CheckName(name);
        Parameter? p = value is null ? null : value as Parameter ?? new Parameter(value);
        _parameters.Add((name, p));
        return p;
    }

    /// <summary>
    /// Registers a buffer: state that is saved but not trained (e.g. running means). A value created inside a
    /// <see cref="TensorScope"/> is kept (<see cref="Tensor.Keep"/>): buffers outlive scopes.
    /// </summary>
    protected Tensor AddBuffer(string name, Tensor value, bool persistent = true)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckName(name);
        value.Keep();
        _buffers.Add((name, value, persistent));
        return value;
    }

    /// <summary>Sets training mode on this module and every descendant.</summary>
    public Module Train(bool mode = true)
    {
        Training = mode;
        foreach ((_, Module m) in _modules)
        {
            m.Train(mode);
        }

        return this;
    }

    /// <summary>Sets evaluation mode (dropout off, batch norm uses running statistics).</summary>
    public Module Eval() => Train(false);

    /// <summary>Direct children with their names.</summary>
    public IEnumerable<(string Name, Module Module)> NamedChildren() => _modules;

    /// <summary>All parameters with dotted names, depth first in registration order.</summary>
    public IEnumerable<(string Name, Parameter Parameter)> NamedParameters(string prefix = "")
    {
        foreach ((string name, Parameter? p) in _parameters)
        {
            if (p is not null)
            {
                yield return (prefix + name, p);
            }
        }

        foreach ((string name, Module m) in _modules)
        {
            foreach ((string Name, Parameter Parameter) item in m.NamedParameters(prefix + name + "."))
            {
                yield return item;
            }
        }
    }

    /// <summary>All parameters.</summary>
    public IEnumerable<Parameter> Parameters() => NamedParameters().Select(p => p.Parameter);

    /// <summary>All buffers (persistent or not) with dotted names.</summary>
    public IEnumerable<(string Name, Tensor Buffer)> NamedBuffers(string prefix = "")
    {
        foreach ((string name, Tensor? b, _) in _buffers)
        {
            if (b is not null)
            {
                yield return (prefix + name, b);
            }
        }

        foreach ((string name, Module m) in _modules)
        {
            foreach ((string Name, Tensor Buffer) item in m.NamedBuffers(prefix + name + "."))
            {
                yield return item;
            }
        }
    }

    /// <summary>This module and all descendants with dotted names ("" for this one).</summary>
    public IEnumerable<(string Name, Module Module)> NamedModules(string prefix = "")
    {
        yield return (prefix.TrimEnd('.'), this);
        foreach ((string name, Module m) in _modules)
        {
            foreach ((string Name, Module Module) item in m.NamedModules(prefix + name + "."))
            {
                yield return item;
            }
        }
    }

    /// <summary>Number of parameter elements (trainable only when <paramref name="trainableOnly"/>).</summary>
    public long ParameterCount(bool trainableOnly = false) =>
        Parameters().Where(p => !trainableOnly || p.RequiresGrad).Sum(p => (long)p.Numel);

    /// <summary>Clears the gradient of every parameter.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in Parameters())
        {
            p.ZeroGrad();
        }
    }

    /// <summary>
    /// Parameters and persistent buffers by dotted key, in PyTorch's order (each module's parameters, then
    /// its buffers, then its children). The tensors share storage with the module.
    /// </summary>
    public OrderedDictionary<string, Tensor> StateDict()
    {
        var state = new OrderedDictionary<string, Tensor>();
        CollectState(state, "");
        return state;
    }

    private void CollectState(OrderedDictionary<string, Tensor> state, string prefix)
    {
        foreach ((string name, Parameter? p) in _parameters)
        {
            if (p is not null)
            {
                state.Add(prefix + name, p);
            }
        }

        foreach ((string name, Tensor? b, bool persistent) in _buffers)
        {
            if (b is not null && persistent)
            {
                state.Add(prefix + name, b);
            }
        }

        foreach ((string name, Module m) in _modules)
        {
            m.CollectState(state, prefix + name + ".");
        }
    }

    /// <summary>The arguments shown inside the parentheses when printing, as PyTorch's <c>extra_repr</c>.</summary>
    protected virtual string ExtraRepr() => "";

    /// <summary>The module tree, formatted as PyTorch prints modules.</summary>
    public override string ToString()
    {
        string extra = ExtraRepr();
        if (_modules.Count == 0)
        {
            return $"{GetType().Name}({extra})";
        }

        var sb = new StringBuilder(GetType().Name).Append('(');
        if (extra.Length > 0)
        {
            sb.Append("\n  ").Append(extra);
        }

        foreach ((string name, Module m) in _modules)
        {
            string child = m.ToString().Replace("\n", "\n  ", StringComparison.Ordinal);
            sb.Append("\n  (").Append(name).Append("): ").Append(child);
        }

        return sb.Append("\n)").ToString();
    }

    private void CheckName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (name.Contains('.', StringComparison.Ordinal))
        {
            throw new ArgumentException($"Module member name \"{name}\" must not contain '.'.", nameof(name));
        }

        if (_parameters.Any(p => p.Name == name) || _buffers.Any(b => b.Name == name) || _modules.Any(m => m.Name == name))
        {
            throw new ArgumentException($"{GetType().Name} already has a member named \"{name}\".", nameof(name));
        }
    }
}

/// <summary>A forward hook: runs after a module's forward with the module, its input and its output.</summary>
/// <param name="module">The module that ran.</param>
/// <param name="input">The tensor it was called with.</param>
/// <param name="output">The tensor its forward returned.</param>
public delegate void ForwardHook(Module module, Tensor input, Tensor output);

/// <summary>A forward pre-hook: called with the module and its input before <see cref="Module.Forward"/> runs.</summary>
public delegate void ForwardPreHook(Module module, Tensor input);

/// <summary>Fluent helpers so a model reads in dataflow order: <c>x.Apply(conv).Relu()</c>.</summary>
public static class ModuleExtensions
{
    /// <summary>Same as <c>module.Call(input)</c>: the module's forward, then its forward hooks.</summary>
    public static Tensor Apply(this Tensor input, Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.Call(input);
    }
}
