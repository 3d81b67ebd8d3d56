namespace SharpCnn.Nn;

/// <summary>Runs its children in order, each one's output feeding the next; children are named "0", "1", ….</summary>
public sealed class Sequential : Module
{
    private readonly List<Module> _layers = [];

    /// <summary>Creates a sequence of the given modules.</summary>
    public Sequential(params Module[] layers)
    {
        ArgumentNullException.ThrowIfNull(layers);
        foreach (Module layer in layers)
        {
            Append(layer);
        }
    }

    /// <summary>Number of children.</summary>
    public int Count => _layers.Count;

    /// <summary>The child at <paramref name="index"/>.</summary>
    public Module this[int index] => _layers[index];

    /// <summary>Adds a module at the end, named by its position.</summary>
    public Sequential Append(Module layer)
    {
        _layers.Add(Add(_layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), layer));
        return this;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        Tensor x = input;
        foreach (Module layer in _layers)
        {
            x = layer.Forward(x);
        }

        return x;
    }
}

/// <summary>Holds modules by index ("0", "1", …) without defining how they are called.</summary>
public sealed class ModuleList : Module
{
    private readonly List<Module> _items = [];

    /// <summary>Creates a list of the given modules.</summary>
    public ModuleList(params Module[] modules)
    {
        ArgumentNullException.ThrowIfNull(modules);
        foreach (Module m in modules)
        {
            Append(m);
        }
    }

    /// <summary>Number of modules.</summary>
    public int Count => _items.Count;

    /// <summary>The module at <paramref name="index"/>.</summary>
    public Module this[int index] => _items[index];

    /// <summary>Adds a module at the end.</summary>
    public ModuleList Append(Module module)
    {
        _items.Add(Add(_items.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module));
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
