using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;

namespace SharpCnn.Tests.Tensors;

public class TensorScopeTests
{
    private static Tensor Persistent(params int[] shape) => Tensor.Randn(new Generator(1), shape);

    private static void AssertRecycled(Action access)
    {
        var e = Assert.Throws<InvalidOperationException>(access);
        Assert.Contains("recycled when its TensorScope ended", e.Message, StringComparison.Ordinal);
        Assert.Contains("Keep()", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void End_ReleasesOpResultsAndTheirViews_EveryAccessThrowsClearly()
    {
        Tensor x = Persistent(2, 3);
        Tensor y;
        Tensor view;
        Tensor detached;
        using (TensorScope.Begin())
        {
            Assert.True(TensorScope.IsActive);
            y = x.Relu() + 1f;
            view = y.Reshape(6);
            detached = y.Detach();
            Assert.Equal(y.ToArray(), view.ToArray());
        }

        Assert.False(TensorScope.IsActive);
        AssertRecycled(() => _ = y.Data.Length);
        AssertRecycled(() => _ = y[0, 0]);
        AssertRecycled(() => y[0, 0] = 1f);
        AssertRecycled(() => y.ToArray());
        AssertRecycled(() => y.ToString());
        AssertRecycled(() => (y + x).ToArray());
        AssertRecycled(() => y.Sum());
        AssertRecycled(() => y.Reshape(3, 2));
        AssertRecycled(() => y.Clone());
        AssertRecycled(() => view.ToArray());
        AssertRecycled(() => detached.ToArray());
        AssertRecycled(() => _ = new Parameter(y));
        AssertRecycled(() => y.Keep());
        Assert.Equal([2, 3], y.Shape); // the shape stays readable
    }

    [Fact]
    public void End_LeavesTensorsOverPersistentStorage_IncludingViewsMadeInside()
    {
        Tensor x = Persistent(2, 3);
        float[] before = x.ToArray();
        Tensor view;
        Tensor detached;
        Tensor wrapped;
        using (TensorScope.Begin())
        {
            view = x.Reshape(3, 2);
            detached = x.Detach();
            wrapped = new Tensor(new float[] { 1, 2 }, 2);
        }

        Assert.Equal(before, view.ToArray());
        Assert.Equal(before, detached.ToArray());
        Assert.Equal([1f, 2f], wrapped.ToArray());
    }

    [Fact]
    public void Keep_KeepsTheTensorAndItsViews_WithoutCopying()
    {
        Tensor kept;
        Tensor view;
        using (TensorScope.Begin())
        {
            kept = Tensor.Arange(6).Reshape(2, 3);
            view = kept.Reshape(6);
            Assert.Same(kept, kept.Keep());
        }

        Assert.Equal([0f, 1, 2, 3, 4, 5], kept.ToArray());
        Assert.Equal([0f, 1, 2, 3, 4, 5], view.ToArray());
        Tensor plain = Persistent(1);
        Assert.Same(plain, plain.Keep()); // nothing to keep outside scopes
    }

    [Fact]
    public void Nested_InnerEndReleasesOnlyItsOwnTensors()
    {
        Tensor outer;
        Tensor inner;
        Tensor outerViewMadeInside;
        using (TensorScope.Begin())
        {
            outer = Tensor.Ones(4);
            using (TensorScope.Begin())
            {
                inner = outer * 2f;
                outerViewMadeInside = outer.Reshape(2, 2);
            }

            AssertRecycled(() => inner.ToArray());
            Assert.Equal([1f, 1, 1, 1], outer.ToArray());
            Assert.Equal([1f, 1, 1, 1], outerViewMadeInside.ToArray()); // a view lives as long as its storage
            Assert.True(TensorScope.IsActive);
        }

        AssertRecycled(() => outer.ToArray());
        AssertRecycled(() => outerViewMadeInside.ToArray());
    }

    [Fact]
    public void Dispose_OfOuterScope_EndsInnerScopesToo_AndTwiceDoesNothing()
    {
        TensorScope outer = TensorScope.Begin();
        Tensor a = Tensor.Ones(3);
        TensorScope inner = TensorScope.Begin();
        Tensor b = Tensor.Ones(3);
        outer.Dispose();
        Assert.False(TensorScope.IsActive);
        AssertRecycled(() => a.ToArray());
        AssertRecycled(() => b.ToArray());
        inner.Dispose();
        outer.Dispose();
        default(TensorScope).Dispose();

        // A later scope reuses the frames; the old handles must not end it.
        using (TensorScope.Begin())
        {
            Tensor c = Tensor.Ones(3);
            outer.Dispose();
            inner.Dispose();
            Assert.True(TensorScope.IsActive);
            Assert.Equal([1f, 1, 1], c.ToArray());
        }
    }

    [Fact]
    public void Suspend_CreatesOrdinaryTensors_AndBeginInsideItPoolsAgain()
    {
        Tensor lasting;
        Tensor pooledAgain;
        using (TensorScope.Begin())
        {
            using (TensorScope.Suspend())
            {
                Assert.False(TensorScope.IsActive);
                lasting = Tensor.Zeros(3) + 1f;
                using (TensorScope.Begin())
                {
                    pooledAgain = Tensor.Ones(3);
                }

                AssertRecycled(() => pooledAgain.ToArray());
            }

            Assert.True(TensorScope.IsActive);
        }

        Assert.Equal([1f, 1, 1], lasting.ToArray());
    }

    [Fact]
    public void Scope_OnOneThread_DoesNotAffectAnother()
    {
        using var started = new ManualResetEventSlim();
        using var release = new ManualResetEventSlim();
        Tensor? otherThreads = null;
        bool activeThere = true;
        var thread = new Thread(() =>
        {
            started.Wait();
            activeThere = TensorScope.IsActive;
            otherThreads = Tensor.Ones(5) * 3f;
            release.Set();
        });
        thread.Start();
        using (TensorScope.Begin())
        {
            started.Set();
            release.Wait();
        }

        thread.Join();
        Assert.False(activeThere);
        Assert.Equal([3f, 3, 3, 3, 3], otherThreads!.ToArray());
    }

    [Fact]
    public void Dispose_OnAnotherThread_Throws()
    {
        TensorScope scope = TensorScope.Begin();
        try
        {
            Exception? error = null;
            var thread = new Thread(() => error = Record.Exception(scope.Dispose));
            thread.Start();
            thread.Join();
            Assert.IsType<InvalidOperationException>(error);
            Assert.True(TensorScope.IsActive);
        }
        finally
        {
            scope.Dispose();
        }
    }

    [Fact]
    public void Pool_ReusesTheSameArrays_FromOneScopeToTheNext()
    {
        object? first;
        object? second;
        using (TensorScope.Begin())
        {
            first = (Tensor.Ones(1000) * 2f).Lease;
        }

        using (TensorScope.Begin())
        {
            second = (Tensor.Ones(1000) * 2f).Lease;
        }

        Assert.NotNull(first);
        Assert.NotNull(second);

        // Another thread may have taken the array in between; the lease then differs but both are pooled.
        Assert.Equal(((StorageLease)first).SizeClass, ((StorageLease)second).SizeClass);
    }

    [Fact]
    public void Zeros_FromADirtyPool_AreZero_WhileUninitializedIsNot()
    {
        StoragePool.PoisonOnRent = true;
        try
        {
            using (TensorScope.Begin())
            {
                Assert.All(Tensor.Zeros(7, 9).ToArray(), v => Assert.Equal(0f, v));
                Assert.All(Tensor.ZerosLike(Persistent(33)).ToArray(), v => Assert.Equal(0f, v));
                Assert.All(Tensor.Uninitialized(7, 9).ToArray(), v => Assert.True(float.IsNaN(v)));
            }
        }
        finally
        {
            StoragePool.PoisonOnRent = false;
        }
    }

    [Fact]
    public void Backward_AfterTheScopeEnded_ThrowsBeforeAccumulatingAnything()
    {
        var w = new Parameter(Persistent(3, 4));
        Tensor x = Persistent(2, 3);
        Tensor loss;
        Tensor keptLoss;
        using (TensorScope.Begin())
        {
            loss = F.Relu(x.MatMul(w)).Sum();
            keptLoss = F.MaxPool2d(x.MatMul(w).Reshape(1, 1, 2, 4), 2).Sum().Keep();
        }

        var e = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("call Backward() inside the scope", e.Message, StringComparison.Ordinal);

        // Keeping the result keeps its values, not the history the scope recycled (max-pool's argmax, …).
        Assert.Throws<InvalidOperationException>(() => keptLoss.Backward());
        Assert.Null(w.Grad);
    }

    [Fact]
    public void Backward_InsideAScope_LeavesGradientsThatOutliveIt()
    {
        var w = new Parameter(Persistent(3, 4));
        Tensor x = Persistent(2, 3);
        x.RequiresGrad = true;
        F.Relu(x.MatMul(w)).Sum().Backward();
        float[] expectedW = w.Grad!.ToArray();
        float[] expectedX = x.Grad!.ToArray();
        w.ZeroGrad();
        x.ZeroGrad();
        using (TensorScope.Begin())
        {
            F.Relu(x.MatMul(w)).Sum().Backward();
        }

        Assert.Equal(expectedW, w.Grad!.ToArray());
        Assert.Equal(expectedX, x.Grad!.ToArray());
    }

    [Fact]
    public void Backward_InsideAScope_GivesBackItsTemporariesBeforeTheScopeEnds()
    {
        var w = new Parameter(Persistent(1237));
        using (TensorScope.Begin())
        {
            Tensor y = w;
            for (int i = 0; i < 12; i++)
            {
                y = (y / ((y * y) + 1f)).Tanh(); // Div's rule builds temporaries (g·a, −g·a, b·b)
            }

            Tensor loss = y.Sum();
            int forward = TensorScope.HeldArrays();
            loss.Backward();

            // Each rule's gradient dies once the next rule has consumed it; only the forward's arrays remain.
            Assert.Equal(forward, TensorScope.HeldArrays());
            Assert.Equal(1237, w.Grad!.ToArray().Count(float.IsFinite));
            Assert.Equal(1237, y.ToArray().Length); // forward tensors stay valid
        }
    }

    [Fact]
    public void Modules_BuiltInsideAScope_KeepTheirParametersAndBuffers()
    {
        BatchNorm2d bn;
        Linear linear;
        Parameter fromScoped;
        using (TensorScope.Begin())
        {
            bn = new BatchNorm2d(3);
            linear = new Linear(2, 3);
            fromScoped = new Parameter(Tensor.Ones(2) * 5f);
        }

        Assert.Equal([0f, 0, 0], bn.RunningMean!.ToArray());
        Assert.Equal([1f, 1, 1], bn.RunningVar!.ToArray());
        Assert.Equal(0f, bn.NumBatchesTracked!.Item());
        Assert.Equal([1f, 1, 1], bn.Weight!.ToArray());
        Assert.Equal(6, linear.Weight.ToArray().Length);
        Assert.Equal([5f, 5], fromScoped.ToArray());
        _ = bn.Call(Persistent(2, 3, 2, 2)).ToArray();
        Assert.Equal(1f, bn.NumBatchesTracked.Item());
    }

    [Fact]
    public void RecycleGradients_ReusesTheBuffer_AndReleasesTheOldGradient()
    {
        var w = new Parameter(Persistent(3, 4));
        var handMade = new Parameter(Persistent(2));
        var optimizer = new SGD([w, handMade], lr: 0.1);
        Tensor x = Persistent(2, 3);
        x.MatMul(w).Square().Sum().Backward();
        Tensor old = w.Grad!;
        Tensor oldView = old.Reshape(12);
        float[] expected = old.ToArray();
        var handGrad = Tensor.Ones(2);
        handMade.Grad = handGrad;

        optimizer.RecycleGradients();
        Assert.Null(w.Grad);
        Assert.Null(handMade.Grad);
        var e = Assert.Throws<InvalidOperationException>(() => old.ToArray());
        Assert.Contains("recycled when the Trainer cleared gradients", e.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => oldView.ToArray());
        Assert.Equal([1f, 1], handGrad.ToArray()); // a gradient assigned by hand is only dropped

        using (TensorScope.Begin())
        {
            x.MatMul(w).Square().Sum().Backward();
        }

        Assert.Same(old.Lease, w.Grad!.Lease);
        Assert.Equal(expected, w.Grad.ToArray());
    }

    [Fact]
    public void SizeClasses_AreAtMostAQuarterLarger_AndIncreasing()
    {
        long previous = 0;
        for (int n = 1; n < 5000; n++)
        {
            int cls = StoragePool.ClassOf(n);
            long length = StoragePool.ClassLength(cls);
            Assert.True(length >= n, $"class of {n} holds {length}");
            Assert.True(n <= StoragePool.MinLength || length <= n * 1.25, $"class of {n} holds {length}");
            Assert.True(length >= previous);
            previous = length;
        }

        Assert.Equal(-1, StoragePool.ClassOf(int.MaxValue));
        Assert.True(StoragePool.ClassOf(1 << 30) > 0);
    }
}
