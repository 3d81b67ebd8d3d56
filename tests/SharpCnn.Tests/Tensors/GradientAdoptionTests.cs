using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;

namespace SharpCnn.Tests.Tensors;

/// <summary>
/// A leaf's first gradient takes over the pooled storage the backward rule produced, when nothing else holds it,
/// instead of copying it (Graph.Accumulate, Tensor.AdoptGradient). These tests pin down that this is invisible:
/// values equal the copying path's, and no tensor ever shares storage with a gradient it should not.
/// </summary>
public class GradientAdoptionTests
{
    private static Tensor Persistent(int seed, params int[] shape) => Tensor.Randn(new Generator((ulong)seed), shape);

    /// <summary>The same computation outside any scope (plain arrays, so gradients are always copies).</summary>
    private static float[] UnscopedGrad(Func<Tensor, Tensor> loss, Tensor leafValue)
    {
        var leaf = new Tensor(leafValue.ToArray(), leafValue.Shape) { RequiresGrad = true };
        loss(leaf).Backward();
        return leaf.Grad!.ToArray();
    }

    /// <summary>Rents every array of the pool's classes near <paramref name="numel"/> in a new scope and fills them, to catch a gradient left in the pool.</summary>
    private static void ScribbleOverThePool(int numel)
    {
        using (TensorScope.Begin())
        {
            for (int i = 0; i < 8; i++)
            {
                Tensor.Full([numel], 1234.5f);
            }
        }
    }

    [Fact]
    public void Backward_InAScope_LeafTakesOverTheRulesBuffer_AndKeepsItAfterTheScope()
    {
        var w = new Parameter(Persistent(1, 3, 40));
        Tensor k = Persistent(2, 3, 40);
        float[] expected = UnscopedGrad(t => (t * k).Sum(), w);
        float[]? seenArray = null;
        Tensor? seen = null;
        using IDisposable hook = w.RegisterHook(g => (seen, seenArray) = (g, g.Storage));
        using (TensorScope.Begin())
        {
            (w * k).Sum().Backward();
            Assert.Same(seenArray, w.Grad!.Storage); // adopted, not copied
        }

        // The pooled tensor the rule returned is released (as when it went back to the pool), never an alias.
        Assert.Throws<InvalidOperationException>(() => seen!.ToArray());
        ScribbleOverThePool(120);
        Assert.Equal(expected, w.Grad!.ToArray());
        Assert.Equal(LeaseKind.Gradient, w.Grad.Lease!.Kind);
    }

    [Fact]
    public void Backward_OutsideScopes_CopiesAsBefore()
    {
        Tensor x = Persistent(1, 50);
        x.RequiresGrad = true;
        float[]? seenArray = null;
        using IDisposable hook = x.RegisterHook(g => seenArray = g.Storage);
        (x * 3f).Sum().Backward();
        Assert.NotSame(seenArray, x.Grad!.Storage);
        Assert.All(x.Grad.ToArray(), v => Assert.Equal(3f, v));
    }

    [Fact]
    public void TwoPathsIntoTheSameLeaf_TheSumIsAdopted_ValuesEqualTheUnscopedRun()
    {
        var w = new Parameter(Persistent(3, 7, 9));
        Tensor k = Persistent(4, 7, 9);
        static Tensor Loss(Tensor t, Tensor k) => ((t * k) + (t * 2f).Relu() + t.Reshape(63).Reshape(7, 9)).Sum();
        float[] expected = UnscopedGrad(t => Loss(t, k), w);
        using (TensorScope.Begin())
        {
            Loss(w, k).Backward();
        }

        ScribbleOverThePool(63);
        Assert.Equal(expected, w.Grad!.ToArray());
    }

    [Fact]
    public void OneGradientHandedToTwoLeaves_EachLeafGetsItsOwnStorage()
    {
        // Add's rule returns the very tensor it received for both inputs: only the last taker may adopt it.
        var a = new Parameter(Persistent(5, 4, 6));
        var b = new Parameter(Persistent(6, 4, 6));
        Tensor k = Persistent(7, 4, 6);
        using (TensorScope.Begin())
        {
            ((a + b) * k).Sum().Backward();
            Assert.NotSame(a.Grad!.Storage, b.Grad!.Storage);
            a.Grad.Data.Fill(-1f);
            Assert.Equal(k.ToArray(), b.Grad.ToArray());
        }

        ScribbleOverThePool(24);
        Assert.All(a.Grad!.ToArray(), v => Assert.Equal(-1f, v));
        Assert.Equal(k.ToArray(), b.Grad!.ToArray());
    }

    [Fact]
    public void GradientThatIsAViewOfAnotherLeafsGradient_IsCopiedUntilTheLastReference()
    {
        // Reshape's rule hands back a view of g, Clone's rule g itself: the table holds g's storage twice.
        var a = new Parameter(Persistent(8, 6, 5));
        var b = new Parameter(Persistent(9, 30));
        Tensor k = Persistent(10, 30);
        using (TensorScope.Begin())
        {
            Tensor shared = a.Reshape(30) + b.Clone();
            (shared * k).Sum().Backward();
            Assert.NotSame(a.Grad!.Storage, b.Grad!.Storage);
        }

        ScribbleOverThePool(30);
        Assert.Equal(k.ToArray(), a.Grad!.ToArray());
        Assert.Equal(k.ToArray(), b.Grad!.ToArray());
    }

    [Fact]
    public void ExplicitSeed_IsNeverAdopted_EvenWhenItFlowsStraightToTheLeaf()
    {
        var w = new Parameter(Persistent(11, 2, 8));
        using (TensorScope.Begin())
        {
            Tensor seed = Tensor.Full([16], 2f);
            w.Reshape(16).Backward(seed);
            Assert.NotSame(seed.Storage, w.Grad!.Storage);
            seed.Data.Fill(9f);
            Assert.All(w.Grad.ToArray(), v => Assert.Equal(2f, v));
        }
    }

    [Fact]
    public void LeafAsTheRoot_AdoptsTheOnesSeed()
    {
        var s = new Parameter(Tensor.FromArray([3f]));
        using (TensorScope.Begin())
        {
            s.Backward();
        }

        ScribbleOverThePool(1);
        Assert.Equal([1f], s.Grad!.ToArray());
    }

    [Fact]
    public void HookThatKeepsTheGradient_PreventsAdoption_AndKeepsItsValues()
    {
        var w = new Parameter(Persistent(12, 40));
        Tensor k = Persistent(13, 40);
        Tensor? kept = null;
        using IDisposable hook = w.RegisterHook(g => kept = g.Keep());
        using (TensorScope.Begin())
        {
            (w * k).Sum().Backward();
            Assert.NotSame(kept!.Storage, w.Grad!.Storage);
        }

        w.Grad!.Data.Fill(-3f);
        ScribbleOverThePool(40);
        Assert.Equal(k.ToArray(), kept.ToArray());
    }

    [Fact]
    public void HookOnAnIntermediateThatKeepsItsGradient_PreventsAdoptionOfTheSameStorageDownstream()
    {
        // Clone hands the intermediate's gradient to the leaf unchanged; the hook kept it, so the leaf must copy.
        var w = new Parameter(Persistent(14, 25));
        Tensor k = Persistent(15, 25);
        Tensor? kept = null;
        using (TensorScope.Begin())
        {
            Tensor h = w.Clone();
            using IDisposable hook = h.RegisterHook(g => kept = g.Keep());
            (h * k).Sum().Backward();
            Assert.NotSame(kept!.Storage, w.Grad!.Storage);
        }

        w.Grad!.Data.Fill(-3f);
        Assert.Equal(k.ToArray(), kept.ToArray());
    }

    [Fact]
    public void RetainedGraph_SecondBackwardAccumulates_AndZeroGradThenBackwardLeavesTheOldGradientIntact()
    {
        var w = new Parameter(Persistent(16, 5, 5));
        Tensor k = Persistent(17, 5, 5);
        float[] once = UnscopedGrad(t => (t * k).Relu().Sum(), w);
        using (TensorScope.Begin())
        {
            Tensor loss = (w * k).Relu().Sum();
            loss.Backward();
            loss.Backward();
            Assert.Equal(once.Select(v => v + v).ToArray(), w.Grad!.ToArray());

            Tensor old = w.Grad;
            w.ZeroGrad();
            loss.Backward();
            Assert.NotSame(old.Storage, w.Grad!.Storage);
            w.Grad.Data.Fill(5f);
            Assert.Equal(once.Select(v => v + v).ToArray(), old.ToArray()); // ZeroGrad keeps the old gradient readable
            w.ZeroGrad();
            loss.Backward();
        }

        ScribbleOverThePool(25);
        Assert.Equal(once, w.Grad!.ToArray());
    }

    [Fact]
    public void PlainLeafTensor_AdoptsToo_AndSurvivesLaterScopes()
    {
        Tensor x = Persistent(18, 3, 33);
        x.RequiresGrad = true;
        float[] expected = UnscopedGrad(t => (t * t).Sum(), x);
        using (TensorScope.Begin())
        {
            (x * x).Sum().Backward();
        }

        ScribbleOverThePool(99);
        Assert.Equal(expected, x.Grad!.ToArray());
    }

    [Fact]
    public void RecycleGradients_SteadyLoop_ExchangesBuffersWithThePool_WithoutAllocatingOrAliasing()
    {
        const int Numel = 1 << 18; // 1 MiB of gradient per step
        var w = new Parameter(Persistent(19, Numel));
        Tensor k = Persistent(20, Numel);
        var optimizer = new SGD([w], lr: 0.1);
        StorageLease? lease = null;
        long allocated = 0;
        for (int step = 0; step < 6; step++)
        {
            float[] expected = UnscopedGrad(t => (t * k).Square().Sum(), w);
            Tensor? previous = w.Grad;
            long before = GC.GetAllocatedBytesForCurrentThread();
            using (TensorScope.Begin())
            {
                optimizer.RecycleGradients();
                (w * k).Square().Sum().Backward();
                optimizer.Step();
            }

            allocated += step >= 3 ? GC.GetAllocatedBytesForCurrentThread() - before : 0;

            if (step >= 1)
            {
                // The same gradient lease every step (over the array the pool handed out this step), the old tensor released.
                lease ??= w.Grad!.Lease;
                Assert.Same(lease, w.Grad!.Lease);
                Assert.Throws<InvalidOperationException>(() => previous!.ToArray());
            }

            ScribbleOverThePool(Numel);
            Assert.Equal(expected, w.Grad!.ToArray());
        }

        // Three steady steps allocate small objects only: no gradient or pool array.
        Assert.InRange(allocated, 0, Numel * sizeof(float) / 4);
    }

    [Fact]
    public void BatchNormRow_AsTheBenchRunsIt_AdoptsTheInputGradient_AndMatchesTheUnscopedRun()
    {
        Tensor x = Persistent(21, 4, 6, 5, 7);
        Tensor dy = Persistent(22, 4, 6, 5, 7);
        Parameter[] wrt = [new Parameter(x), new Parameter(Tensor.Ones(6)), new Parameter(Tensor.Zeros(6))];
        Tensor[] plain = [.. wrt.Select(p => new Tensor(p.ToArray(), p.Shape) { RequiresGrad = true })];
        F.BatchNorm(plain[0], null, null, plain[1], plain[2], training: true).Backward(dy);
        var optimizer = new SGD(wrt, lr: 0.1);
        for (int step = 0; step < 3; step++)
        {
            float[]? seenArray = null;
            using IDisposable hook = wrt[0].RegisterHook(g => seenArray = g.Storage);
            using (TensorScope.Begin())
            {
                optimizer.RecycleGradients();
                F.BatchNorm(wrt[0], null, null, wrt[1], wrt[2], training: true).Backward(dy);
                Assert.Same(seenArray, wrt[0].Grad!.Storage);
            }

            ScribbleOverThePool(x.Numel);
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(plain[i].Grad!.ToArray(), wrt[i].Grad!.ToArray());
            }
        }
    }
}
