namespace SharpCnn.Kernels.Tests;

/// <summary>The convolution configurations every Conv2d test runs over (the op catalog for this family).</summary>
internal static class Conv2dCases
{
    private static readonly (int Before, int After) s_same4 = Conv2dGeometry.SamePadding(4);

    public static IReadOnlyDictionary<string, Conv2dGeometry> All { get; } = new Dictionary<string, Conv2dGeometry>
    {
        ["Basic3x3Pad1"] = new(2, 3, 7, 6, 4, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["Stride2OddSize"] = new(1, 2, 9, 8, 3, 3, 3, StrideH: 2, StrideW: 2, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
        ["SameEvenKernelAsymmetricPad"] = new(2, 2, 6, 5, 3, 4, 4, PadTop: s_same4.Before, PadLeft: s_same4.Before, PadBottom: s_same4.After, PadRight: s_same4.After),
        ["Dilation2"] = new(2, 2, 9, 10, 3, 3, 3, PadTop: 2, PadLeft: 2, PadBottom: 2, PadRight: 2, DilationH: 2, DilationW: 2),
        ["Groups2"] = new(2, 4, 6, 7, 6, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 2),
        ["Depthwise"] = new(3, 3, 8, 5, 3, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 3),
        ["DepthwiseMultiplier2"] = new(1, 3, 6, 6, 6, 3, 3, StrideH: 2, StrideW: 2, Groups: 3),
        ["Pointwise1x1"] = new(3, 5, 4, 6, 7, 1, 1),
        ["Pointwise1x1Groups2"] = new(2, 4, 3, 5, 6, 1, 1, Groups: 2),
        ["OneByOneStride2"] = new(2, 3, 5, 5, 2, 1, 1, StrideH: 2, StrideW: 2),
        ["FirstLayer5x5"] = new(3, 1, 12, 11, 6, 5, 5),
        ["Rect7x5MixedStridePad"] = new(1, 2, 11, 9, 3, 7, 5, StrideH: 2, StrideW: 1, PadTop: 3, PadLeft: 2, PadBottom: 3, PadRight: 2),
        ["StrideDilationGroupsAsymmetric"] = new(2, 4, 10, 9, 4, 3, 3, StrideH: 2, StrideW: 2, PadTop: 2, PadLeft: 1, PadBottom: 1, PadRight: 2, DilationH: 2, DilationW: 2, Groups: 2),
        ["WiderThanTall"] = new(1, 2, 3, 17, 2, 2, 3, StrideW: 3, PadLeft: 1, PadRight: 0),
        ["GemmTiles"] = new(2, 16, 12, 12, 40, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1),
    };

    public static TheoryData<string> Names()
    {
        var data = new TheoryData<string>();
        foreach (string name in All.Keys)
        {
            data.Add(name);
        }

        return data;
    }

    /// <summary>Configurations small enough for central differences (one forward per input and weight element).</summary>
    public static TheoryData<string> SmallNames()
    {
        var data = new TheoryData<string>();
        foreach ((string name, Conv2dGeometry g) in All)
        {
            if (g.InputLength + g.WeightLength <= 700)
            {
                data.Add(name);
            }
        }

        return data;
    }
}
