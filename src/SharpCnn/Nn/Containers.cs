namespace SharpCnn.Nn;

/// <summary>Children kept in order under their positions ("0", "1", …), as PyTorch names them.</summary>
public abstract class IndexedModules : Module
{
    private readonly List<Module> _items = [];

    /// <summary>Registers the given modules in order.</summary>
    private protected IndexedModules(Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (Module m in modules)
        {
            AppendItem(m);
        }
    }

    /// <summary>Number of children.</summary>
    public int Count => _items.Count;

    /// <summary>The child at <paramref name="index"/>.</summary>
    public Module this[int index] => _items[index];

    /// <summary>The children in order.</summary>
    protected IReadOnlyList<Module> Items => _items;

    /// <summary>Adds a module at the end, named by its position.</summary>
    private protected void AppendItem(Module module) =>
        _items.Add(Add(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
}

/// <summary>Runs its children in order through <see cref="Module.Call"/> (so their hooks run), each one's output feeding the next; children are named "0", "1", ….</summary>
public sealed class Sequential(params Module[] layers) : IndexedModules(layers)
{
    /// <summary>Adds a module at the end, named by its position.</summary>
    public Sequential Append(Module layer)
    {
        AppendItem(layer);
        return this;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor x = input;
        foreach (Module layer in Items)
        {
            x = layer.Call(x);
        }

        return x;
    }
}

/// <summary>Holds modules by index ("0", "1", …) without defining how they are called.</summary>
public sealed class ModuleList(params Module[] modules) : IndexedModules(modules)
{
    /// <summary>Adds a module at the end.</summary>
    public ModuleList Append(Module module)
    {
        AppendItem(module);
        return this;
    }

    /// <summary>A ModuleList has no forward of its own.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException("ModuleList has no Forward: iterate over its modules instead.");
}

/// <summary>Returns its input unchanged.</summary>
public sealed class Identity : Module
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => input;
}
