using SharpCnn.Nn;

namespace SharpCnn.Tests.Nn;

public class ForwardHookTests
{
    private sealed class TwoBranch : Module
    {
        private readonly Linear _shared;
        private readonly ReLU _relu;

        public TwoBranch()
        {
            _shared = Add("shared", new Linear(3, 3));
            _relu = Add("relu", new ReLU());
        }

        // The shared layer runs twice, once per branch.
        public override Tensor Forward(Tensor input) => input.Apply(_shared).Apply(_relu) + input.Apply(_shared);
    }

    [Fact]
    public void Apply_RunsHookWithModuleInputAndOutput()
    {
        var relu = new ReLU();
        (Module Module, Tensor Input, Tensor Output)? seen = null;
        using IDisposable handle = relu.RegisterForwardHook((m, i, o) => seen = (m, i, o));
        Tensor x = Tensor.FromArray([-1f, 2f], 2);
        Tensor y = x.Apply(relu);
        Assert.NotNull(seen);
        Assert.Same(relu, seen.Value.Module);
        Assert.Same(x, seen.Value.Input);
        Assert.Same(y, seen.Value.Output);
    }

    [Fact]
    public void PreHook_RunsBeforeForwardWithInput_DisposeRemovesIt()
    {
        var seq = new Sequential(new Linear(4, 3), new ReLU());
        var order = new List<string>();
        IDisposable pre = seq.RegisterForwardPreHook((m, i) => order.Add($"pre {i.Size(1)}"));
        using IDisposable post = seq.RegisterForwardHook((m, i, o) => order.Add($"post {o.Size(1)}"));
        using IDisposable child = seq[0].RegisterForwardPreHook((m, i) => order.Add("child pre"));
        Assert.True(seq.HasForwardHooks);
        seq.Call(Tensor.Zeros(2, 4));
        Assert.Equal(["pre 4", "child pre", "post 3"], order);
        pre.Dispose();
        pre.Dispose();
        order.Clear();
        seq.Call(Tensor.Zeros(2, 4));
        Assert.Equal(["child pre", "post 3"], order);
    }

    [Fact]
    public void Sequential_CallsChildrenThroughHooks_InCallOrder_ParentLast()
    {
        var seq = new Sequential(new Linear(4, 3), new ReLU(), new Linear(3, 2));
        var order = new List<string>();
        var handles = seq.NamedModules().Select(nm => nm.Module.RegisterForwardHook((m, _, o) => order.Add($"{nm.Name}:{m.GetType().Name}:{o.Size(-1)}"))).ToList();
        Tensor.Zeros(1, 4).Apply(seq);
        Assert.Equal(["0:Linear:3", "1:ReLU:3", "2:Linear:2", ":Sequential:2"], order);
        handles.ForEach(h => h.Dispose());
    }

    [Fact]
    public void Dispose_RemovesHook_SecondDisposeHarmless()
    {
        var relu = new ReLU();
        int calls = 0;
        IDisposable a = relu.RegisterForwardHook((_, _, _) => calls++);
        IDisposable b = relu.RegisterForwardHook((_, _, _) => calls += 10);
        Tensor.Zeros(2).Apply(relu);
        Assert.Equal(11, calls);
        a.Dispose();
        a.Dispose();
        Tensor.Zeros(2).Apply(relu);
        Assert.Equal(21, calls);
        b.Dispose();
        Tensor.Zeros(2).Apply(relu);
        Assert.Equal(21, calls);
    }

    [Fact]
    public void SameDelegateTwice_RunsTwice_EachHandleRemovesOne()
    {
        var relu = new ReLU();
        int calls = 0;
        ForwardHook hook = (_, _, _) => calls++;
        IDisposable first = relu.RegisterForwardHook(hook);
        using IDisposable second = relu.RegisterForwardHook(hook);
        relu.Call(Tensor.Zeros(1));
        Assert.Equal(2, calls);
        first.Dispose();
        relu.Call(Tensor.Zeros(1));
        Assert.Equal(3, calls);
    }

    [Fact]
    public void HookRemovingItselfDuringCall_OtherHooksStillRun()
    {
        var relu = new ReLU();
        var log = new List<string>();
        IDisposable? self = null;
        self = relu.RegisterForwardHook((_, _, _) =>
        {
            log.Add("self");
            self!.Dispose();
        });
        using IDisposable other = relu.RegisterForwardHook((_, _, _) => log.Add("other"));
        relu.Call(Tensor.Zeros(1));
        relu.Call(Tensor.Zeros(1));
        Assert.Equal(["self", "other", "other"], log);
    }

    [Fact]
    public void SharedModule_HookRunsPerCall()
    {
        var model = new TwoBranch();
        Module shared = model.NamedChildren().First().Module;
        int calls = 0;
        using IDisposable h = shared.RegisterForwardHook((_, _, _) => calls++);
        model.Call(Tensor.Zeros(2, 3));
        Assert.Equal(2, calls);
    }

    [Fact]
    public void Forward_Direct_SkipsHooks()
    {
        var relu = new ReLU();
        int calls = 0;
        using IDisposable h = relu.RegisterForwardHook((_, _, _) => calls++);
        relu.Forward(Tensor.Zeros(1));
        Assert.Equal(0, calls);
    }

    [Fact]
    public void RegisterForwardHook_Null_Throws() =>
        Assert.Throws<ArgumentNullException>(() => new ReLU().RegisterForwardHook(null!));
}
