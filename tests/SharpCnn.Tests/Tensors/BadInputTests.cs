using SharpCnn.Functional;
using SharpCnn.Nn;

namespace SharpCnn.Tests.Tensors;

/// <summary>
/// Every public op, fed shapes it cannot take, must answer with an argument error that names what it got, never an
/// index or null-reference exception from inside.
/// </summary>
public class BadInputTests
{
    private static readonly int[][] s_shapes = [[], [0], [3], [2, 3], [1, 1, 1], [2, 3, 4, 5], [1, 2, 0, 4], [1, 1, 2, 2, 2]];

    public static TheoryData<string> Ops() =>
    [
        "Conv2d", "Conv1d", "Linear", "MaxPool2d", "MaxPool1d", "AvgPool2d", "AdaptiveAvgPool2d", "BatchNorm2d",
        "BatchNorm1d", "LocalResponseNorm", "Softmax", "LogSoftmax", "CrossEntropy", "NllLoss", "MseLoss", "Sum",
        "Max", "Narrow", "Select", "Transpose", "MatMul", "Cat", "Squeeze", "Permute", "IndexSelect",
    ];

    private static Tensor Run(string op, Tensor x) => op switch
    {
        "Conv2d" => new Conv2d(3, 4, 3).Forward(x),
        "Conv1d" => new Conv1d(3, 4, 3).Forward(x),
        "Linear" => new Linear(5, 2).Forward(x),
        "MaxPool2d" => F.MaxPool2d(x, 3),
        "MaxPool1d" => F.MaxPool1d(x, 3),
        "AvgPool2d" => F.AvgPool2d(x, 3),
        "AdaptiveAvgPool2d" => F.AdaptiveAvgPool2d(x, 2),
        "BatchNorm2d" => new BatchNorm2d(3).Forward(x),
        "BatchNorm1d" => new BatchNorm1d(3).Forward(x),
        "LocalResponseNorm" => F.LocalResponseNorm(x, 0),
        "Softmax" => F.Softmax(x, 4),
        "LogSoftmax" => F.LogSoftmax(x, -5),
        "CrossEntropy" => F.CrossEntropy(x, Tensor.Zeros(7)),
        "NllLoss" => F.NllLoss(x, Tensor.Zeros(7)),
        "MseLoss" => F.MseLoss(x, Tensor.Zeros(7, 7)),
        "Sum" => x.Sum(5),
        "Max" => x.Max(5).Values,
        "Narrow" => x.Narrow(0, 1, 9),
        "Select" => x.Select(6, 0),
        "Transpose" => x.Transpose(0, 7),
        "MatMul" => x.MatMul(Tensor.Zeros(7, 7, 7, 7)),
        "Cat" => Tensor.Cat([x, Tensor.Zeros(7, 7, 7, 7, 7, 7)]),
        "Squeeze" => x.Squeeze(8),
        "Permute" => x.Permute(0, 0),
        "IndexSelect" => x.IndexSelect(1, [0, 5]),
        _ => throw new ArgumentException(op),
    };

    [Theory]
    [MemberData(nameof(Ops))]
    public void Op_WrongShapes_ThrowArgumentErrors(string op)
    {
        foreach (int[] shape in s_shapes)
        {
            Tensor x = Tensor.Zeros(shape);
            try
            {
                Run(op, x);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
            }
            catch (Exception e)
            {
                Assert.Fail($"{op} on shape ({string.Join(", ", shape)}) threw {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
