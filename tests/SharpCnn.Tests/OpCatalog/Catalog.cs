namespace SharpCnn.Tests.OpCatalog;

public static partial class Catalog
{
    private static readonly Lazy<Dictionary<string, OpCase>> s_all = new(() =>
        TensorOps().Concat(NnOps()).ToDictionary(c => c.Name));

    public static IEnumerable<OpCase> All() => s_all.Value.Values;

    public static OpCase Get(string name) => s_all.Value[name];
}
