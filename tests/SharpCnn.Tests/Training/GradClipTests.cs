using SharpCnn.Nn;

namespace SharpCnn.Tests.Training;

public class GradClipTests
{
    private static Tensor WithGrad(params float[] grad)
    {
        var t = new Tensor(new float[grad.Length], grad.Length) { RequiresGrad = true };
        (t * Tensor.FromArray(grad)).Sum().Backward();
        return t;
    }

    [Fact]
    public void ClipGradNorm_AboveLimit_ScalesByMaxOverNormPlusEps_ReturnsNorm()
    {
        // Two tensors: [3] and [4] → total L2 norm 5.
        Tensor a = WithGrad(3f), b = WithGrad(4f);
        double norm = GradClip.ClipGradNorm([a, b], maxNorm: 1.0);
        Assert.Equal(5.0, norm, 12);
        float scale = (float)(1.0 / (5.0 + 1e-6));
        Assert.Equal(3f * scale, a.Grad!.Data[0]);
        Assert.Equal(4f * scale, b.Grad!.Data[0]);
    }

    [Fact]
    public void ClipGradNorm_AtOrBelowLimit_GradientsBitwiseUnchanged()
    {
        Tensor a = WithGrad(0.3f, -0.4f);
        Assert.Equal(0.5, GradClip.ClipGradNorm([a], maxNorm: 2.0), 6);
        Assert.Equal([0.3f, -0.4f], a.Grad!.ToArray());
    }

    [Fact]
    public void ClipGradNorm_NonFinite_ThrowsAndLeavesGradients_OrScalesToNaNWhenAsked()
    {
        Tensor a = WithGrad(1f, float.NaN);
        var e = Assert.Throws<ArithmeticException>(() => GradClip.ClipGradNorm([a], 1.0));
        Assert.Contains("NaN", e.Message, StringComparison.Ordinal);
        Assert.Equal(1f, a.Grad!.Data[0]);
        Assert.True(double.IsNaN(GradClip.ClipGradNorm([a], 1.0, errorIfNonfinite: false)));
        Assert.True(float.IsNaN(a.Grad!.Data[0]));
    }

    [Fact]
    public void TotalNorm_InfinityAndP1_AndSkipsTensorsWithoutGradient()
    {
        Tensor a = WithGrad(1f, -6f), b = WithGrad(2f);
        var none = new Tensor(new float[3], 3) { RequiresGrad = true };
        Assert.Equal(6.0, GradClip.TotalNorm([a, b, none], double.PositiveInfinity));
        Assert.Equal(9.0, GradClip.TotalNorm([a, b, none], 1), 12);
        Assert.Equal(Math.Sqrt(41), GradClip.TotalNorm([a, b, none]), 12);
        Assert.Equal(0.0, GradClip.TotalNorm([none]));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.TotalNorm([a], 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradNorm([a], 0));
    }

    [Fact]
    public void ClipGradValue_ClampsElements_CountsChanges()
    {
        Tensor a = WithGrad(0.5f, -3f, 2f, float.NaN);
        Assert.Equal(2, GradClip.ClipGradValue([a], 1.0));
        float[] g = a.Grad!.ToArray();
        Assert.Equal([0.5f, -1f, 1f], g[..3]);
        Assert.True(float.IsNaN(g[3]));
    }

    [Fact]
    public void RegisterHook_GetsCompleteGradientOnce_BeforeLeafAccumulates()
    {
        var x = new Tensor([1f, 2f], 2) { RequiresGrad = true };
        Tensor h = x * 3f;
        var seen = new List<float[]>();
        using IDisposable handle = h.RegisterHook(g => seen.Add(g.ToArray()));
        // h is read twice: its gradient is the sum 2 + 1 = 3 per element, delivered once.
        ((h * 2f).Sum() + h.Sum()).Backward();
        Assert.Single(seen);
        Assert.Equal([3f, 3f], seen[0]);
        Assert.Equal([9f, 9f], x.Grad!.ToArray());
    }

    [Fact]
    public void RegisterHook_Disposed_NotCalled_AndRefusedWithoutGrad()
    {
        var x = new Tensor([1f], 1) { RequiresGrad = true };
        Tensor h = x * 2f;
        int calls = 0;
        h.RegisterHook(_ => calls++).Dispose();
        h.Sum().Backward();
        Assert.Equal(0, calls);
        var e = Assert.Throws<InvalidOperationException>(() => Tensor.FromArray([1f]).RegisterHook(_ => { }));
        Assert.Contains("does not require grad", e.Message, StringComparison.Ordinal);
    }
}
