namespace SharpCnn.Kernels.Tests;

public class Conv2dGeometryTests
{
    [Theory]
    [InlineData(28, 5, 1, 0, 0, 1, 24)]   // LeNet conv1
    [InlineData(32, 3, 1, 1, 1, 1, 32)]   // 3×3 "same"
    [InlineData(224, 7, 2, 3, 3, 1, 112)] // ResNet stem
    [InlineData(7, 3, 2, 1, 1, 1, 4)]     // odd size, stride 2: ⌊(7 + 2 − 3) / 2⌋ + 1
    [InlineData(8, 3, 2, 0, 0, 1, 3)]     // floor drops the last partial window
    [InlineData(10, 3, 1, 2, 2, 2, 10)]   // dilation 2 with padding 2 keeps the size
    [InlineData(5, 4, 1, 1, 2, 1, 5)]     // even kernel, "same" with the extra pad after
    [InlineData(3, 3, 1, 0, 0, 1, 1)]     // kernel exactly fits
    public void OutSize_Cases_FollowFormula(int size, int kernel, int stride, int padBefore, int padAfter, int dilation, int expected)
    {
        var g = new Conv2dGeometry(1, 1, size, size + 1, 1, kernel, kernel, stride, stride, padBefore, padBefore, padAfter, padAfter, dilation, dilation);
        g.Validate();
        Assert.Equal(expected, g.OutHeight);
        Assert.Equal((size + 1 + padBefore + padAfter - (dilation * (kernel - 1)) - 1) / stride + 1, g.OutWidth);
    }

    [Theory]
    [InlineData(1, 1, 0, 0)]
    [InlineData(3, 1, 1, 1)]
    [InlineData(4, 1, 1, 2)]
    [InlineData(5, 1, 2, 2)]
    [InlineData(2, 1, 0, 1)]
    [InlineData(4, 2, 3, 3)]
    public void SamePadding_Kernel_PutsExtraAfter(int kernel, int dilation, int before, int after)
    {
        Assert.Equal((before, after), Conv2dGeometry.SamePadding(kernel, dilation));
        (int b, int a) = Conv2dGeometry.SamePadding(kernel, dilation);
        var g = new Conv2dGeometry(1, 1, 9, 6, 1, kernel, kernel, PadTop: b, PadLeft: b, PadBottom: a, PadRight: a, DilationH: dilation, DilationW: dilation);
        Assert.Equal((9, 6), (g.OutHeight, g.OutWidth));
    }

    [Fact]
    public void Validate_KernelLargerThanPaddedInput_ThrowsNamingSizes()
    {
        var g = new Conv2dGeometry(1, 1, 3, 3, 1, 5, 5);
        var error = Assert.Throws<ArgumentException>(g.Validate);
        Assert.Equal("Conv2d: kernel (5×5, dilation 1) is larger than the padded input (3×3).", error.Message);
        Assert.True(g.OutHeight <= 0);
    }

    [Fact]
    public void Validate_DilatedKernelLargerThanInput_ThrowsNamingDilation()
    {
        var g = new Conv2dGeometry(1, 1, 4, 6, 1, 3, 3, PadLeft: 1, DilationH: 2, DilationW: 3);
        var error = Assert.Throws<ArgumentException>(g.Validate);
        Assert.Equal("Conv2d: kernel (3×3, dilation 2×3) is larger than the padded input (4×7).", error.Message);
    }

    [Theory]
    [InlineData(0, 1, 1, 1, 1, "stride must be positive but got 0×1")]
    [InlineData(1, -1, 1, 1, 1, "stride must be positive but got 1×-1")]
    [InlineData(1, 1, 0, 1, 1, "dilation must be positive but got 0×1")]
    [InlineData(1, 1, 1, 0, 1, "groups must be positive but got 0")]
    [InlineData(1, 1, 1, 2, 1, "in_channels (3) and out_channels (4) must both be divisible by groups (2)")]
    [InlineData(1, 1, 1, 1, -1, "padding must be non-negative but got top -1")]
    public void Validate_BadArgument_ThrowsNamingValue(int strideH, int strideW, int dilationH, int groups, int padTop, string message)
    {
        var g = new Conv2dGeometry(1, 3, 8, 8, 4, 3, 3, strideH, strideW, padTop, 0, 0, 0, dilationH, 1, groups);
        var error = Assert.Throws<ArgumentException>(g.Validate);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Lengths_Grouped_CountElements()
    {
        var g = new Conv2dGeometry(2, 4, 5, 6, 8, 3, 3, PadTop: 1, PadLeft: 1, PadBottom: 1, PadRight: 1, Groups: 2);
        Assert.Equal(2 * 4 * 5 * 6, g.InputLength);
        Assert.Equal(2 * 8 * 5 * 6, g.OutputLength);
        Assert.Equal(8 * 2 * 3 * 3, g.WeightLength);
    }
}
