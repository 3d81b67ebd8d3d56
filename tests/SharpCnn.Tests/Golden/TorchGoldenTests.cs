using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Serialization;

namespace SharpCnn.Tests.Golden;

/// <summary>
/// Our ops against values PyTorch 1.13 computed (tests/golden/gen/make_golden.py wrote the file): outputs and
/// the gradients of L = Σ y·r. The catalog checks our own references; this checks we agree with PyTorch.
/// </summary>
public class TorchGoldenTests
{
    private static readonly Lazy<SafetensorsFile> s_file = new(() =>
        Safetensors.Read(Path.Combine(AppContext.BaseDirectory, "golden", "torch_ops.safetensors")));

    public static TheoryData<string> OpCases() =>
    [
        "conv2d_s2_p1_d1_g2", "conv2d_dil2_p2", "conv2d_same_even", "conv1d_same_dil2", "maxpool2d_k3_s2_p1_ceil",
        "maxpool2d_k2_dil2", "maxpool1d_k3_s2_p1", "avgpool2d_k3_s2_p1_ceil_excl", "avgpool2d_k3_s2_p1_incl",
        "adaptive_avgpool_5x7_to_3x2", "lrn_size3", "lrn_size4", "gelu", "gelu_tanh", "softmax_dim1",
        "log_softmax_dim0", "leaky_relu", "sigmoid_tanh", "cross_entropy", "cross_entropy_sum",
        "cross_entropy_weighted", "cross_entropy_weighted_none", "nll_weighted",
    ];

    private static Tensor Golden(string name)
    {
        SafetensorsTensor t = s_file.Value[name];
        return new Tensor(t.ToFloats(), [.. t.Shape.Select(d => (int)d)]);
    }

    private static Tensor Apply(string name, Tensor[] x) => name switch
    {
        "conv2d_s2_p1_d1_g2" => F.Conv2d(x[0], x[1], x[2], stride: 2, padding: 1, groups: 2),
        "conv2d_dil2_p2" => F.Conv2d(x[0], x[1], null, padding: 2, dilation: 2),
        "conv2d_same_even" => F.Conv2d(x[0], x[1], null, padding: "same"),
        "conv1d_same_dil2" => F.Conv1d(x[0], x[1], x[2], padding: "same", dilation: 2),
        "maxpool2d_k3_s2_p1_ceil" => F.MaxPool2d(x[0], 3, 2, 1, ceilMode: true),
        "maxpool2d_k2_dil2" => F.MaxPool2d(x[0], 2, 1, 0, dilation: 2),
        "maxpool1d_k3_s2_p1" => F.MaxPool1d(x[0], 3, 2, 1),
        "avgpool2d_k3_s2_p1_ceil_excl" => F.AvgPool2d(x[0], 3, 2, 1, ceilMode: true, countIncludePad: false),
        "avgpool2d_k3_s2_p1_incl" => F.AvgPool2d(x[0], 3, 2, 1),
        "adaptive_avgpool_5x7_to_3x2" => F.AdaptiveAvgPool2d(x[0], (3, 2)),
        "lrn_size3" => F.LocalResponseNorm(x[0], 3, 0.1, 0.75, 1.0),
        "lrn_size4" => F.LocalResponseNorm(x[0], 4, 0.2, 0.5, 2.0),
        "gelu" => F.Gelu(x[0]),
        "gelu_tanh" => F.Gelu(x[0], "tanh"),
        "softmax_dim1" => F.Softmax(x[0], 1),
        "log_softmax_dim0" => F.LogSoftmax(x[0], 0),
        "leaky_relu" => F.LeakyRelu(x[0], 0.2f),
        "sigmoid_tanh" => F.Sigmoid(x[0]) * F.Tanh(x[0]),
        "cross_entropy" => F.CrossEntropy(x[0], Golden("cross_entropy.target"), labelSmoothing: 0.1f),
        "cross_entropy_sum" => F.CrossEntropy(x[0], Golden("cross_entropy.target").Clamp(0, 100), reduction: Reduction.Sum),
        "cross_entropy_weighted" => F.CrossEntropy(x[0], Golden("weighted.target"), 0.1f, weight: Golden("weighted.weight")),
        "cross_entropy_weighted_none" => F.CrossEntropy(x[0], Golden("weighted.target"), reduction: Reduction.None, weight: Golden("weighted.weight")),
        "nll_weighted" => F.NllLoss(F.LogSoftmax(x[0], 1), Golden("weighted.target"), weight: Golden("weighted.weight")),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(OpCases))]
    public void Op_OutputAndGradients_MatchTorch(string name)
    {
        var inputs = new List<Tensor>();
        while (s_file.Value.TryGetTensor($"{name}.x{inputs.Count}", out _))
        {
            Tensor x = Golden($"{name}.x{inputs.Count}");
            x.RequiresGrad = true;
            inputs.Add(x);
        }

        Tensor y = Apply(name, [.. inputs]);
        AssertClose(Golden($"{name}.y"), y, name + ".y");
        (y * Golden($"{name}.r")).Sum().Backward();
        for (int i = 0; i < inputs.Count; i++)
        {
            AssertClose(Golden($"{name}.grad{i}"), inputs[i].Grad!, $"{name}.grad{i}");
        }
    }

    [Fact]
    public void BatchNorm2d_TrainStepAndEval_MatchTorch()
    {
        var bn = new BatchNorm2d(3);
        Golden("batchnorm2d.weight").Data.CopyTo(bn.Weight!.Data);
        Golden("batchnorm2d.bias").Data.CopyTo(bn.Bias!.Data);
        Tensor x = Golden("batchnorm2d.x0");
        x.RequiresGrad = true;
        Tensor y = bn.Forward(x);
        AssertClose(Golden("batchnorm2d.y"), y, "y");
        (y * Golden("batchnorm2d.r")).Sum().Backward();
        AssertClose(Golden("batchnorm2d.grad0"), x.Grad!, "grad x");
        AssertClose(Golden("batchnorm2d.grad_weight"), bn.Weight.Grad!, "grad weight");
        AssertClose(Golden("batchnorm2d.grad_bias"), bn.Bias.Grad!, "grad bias");
        AssertClose(Golden("batchnorm2d.running_mean"), bn.RunningMean!, "running mean");
        AssertClose(Golden("batchnorm2d.running_var"), bn.RunningVar!, "running var");
        bn.Eval();
        AssertClose(Golden("batchnorm2d.eval_y"), bn.Forward(x.Detach()), "eval y");
    }

    [Theory]
    [InlineData("sgd_nesterov_wd")]
    [InlineData("sgd_dampening")]
    [InlineData("adam")]
    [InlineData("adam_amsgrad")]
    [InlineData("adamw")]
    public void Optimizer_ThreeSteps_MatchTorch(string name)
    {
        var p = new Parameter(Golden("optim.p0"));
        Optimizer opt = name switch
        {
            "sgd_nesterov_wd" => new SGD([p], lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01),
            "sgd_dampening" => new SGD([p], lr: 0.1, momentum: 0.8, dampening: 0.3),
            "adam" => new Adam([p], lr: 0.01, betas: (0.8, 0.9), eps: 1e-6, weightDecay: 0.1),
            "adam_amsgrad" => new Adam([p], lr: 0.01, amsgrad: true),
            _ => new AdamW([p], lr: 0.01, weightDecay: 0.1),
        };
        Tensor grads = Golden("optim.grads");
        for (int k = 0; k < 3; k++)
        {
            p.Grad = grads.Select(0, k).Detach();
            opt.Step();
        }

        AssertClose(Golden($"optim.{name}"), p, name);
    }

    [Fact]
    public void OneCycleLR_TheCliRecipe_MatchesTorch()
    {
        var p = new Parameter(Tensor.Zeros(1));
        var opt = new SGD([p], lr: 0.05, momentum: 0.9, nesterov: true);
        var schedule = new OneCycleLR(opt, maxLr: 0.05, totalSteps: 20);
        float[] lrs = Golden("onecycle.lr").ToArray();
        float[] momenta = Golden("onecycle.momentum").ToArray();
        for (int step = 0; step < 20; step++)
        {
            Assert.Equal(lrs[step], (float)opt.ParamGroups[0].Lr, 6);
            Assert.Equal(momenta[step], (float)opt.ParamGroups[0].Momentum, 6);
            p.Grad = Tensor.Zeros(1);
            opt.Step();
            schedule.Step();
        }
    }

    private static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        ReadOnlySpan<float> e = expected.Data;
        ReadOnlySpan<float> a = actual.Data;
        for (int i = 0; i < e.Length; i++)
        {
            // PyTorch's float32 kernels sum in their own order: agreement to float32 rounding, |a − e| ≤ 1e-5 + 1e-4·|e|.
            Assert.True(Math.Abs(a[i] - e[i]) <= 1e-5 + (1e-4 * Math.Abs(e[i])), $"{what}[{i}]: got {a[i]}, torch {e[i]}");
        }
    }
}
