namespace SharpCnn.Kernels.Tests;

/// <summary>Long elementwise spans are split into chunks across threads: the bits must not depend on the thread count.</summary>
[Collection(MaxThreadsSerialGemmConv.Name)]
public class ElementwiseParallelTests
{
    private delegate void Map(ReadOnlySpan<float> x, Span<float> y);

    private delegate void Map2(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    // Unary and binary kernels whose vector and scalar code paths round differently (exp, sigmoid, gelu), and the
    // ones a ResNet step runs on large tensors (ReLU and its backward, the residual add).
    private static readonly (string Name, Map? Unary, Map2? Binary, Func<double, double, double> Reference)[] s_ops =
    [
        ("Exp", Elementwise.Exp, null, (x, _) => Math.Exp(x)),
        ("Sigmoid", Elementwise.Sigmoid, null, (x, _) => ElementwiseReference.Sigmoid(x)),
        ("Gelu", Elementwise.Gelu, null, (x, _) => ElementwiseReference.Gelu(x)),
        ("Relu", Elementwise.Relu, null, (x, _) => Math.Max(x, 0)),
        ("ReluBackward", null, Elementwise.ReluBackward, (x, y) => ElementwiseReference.ReluBackward(x, y)),
        ("Add", null, Elementwise.Add, (x, y) => x + y),
        ("AddRelu", null, Elementwise.AddRelu, (x, y) => Math.Max(x + y, 0)),
        ("Mul", null, Elementwise.Mul, (x, y) => x * y),
    ];

    [Theory]
    [InlineData(2 * ElementwiseDriver.ChunkLength)]
    [InlineData((5 * ElementwiseDriver.ChunkLength) + 37)]
    [InlineData((3 * ElementwiseDriver.ChunkLength) - 9)]
    public void Driver_LongSpans_SameBitsForAnyThreadCountAndMatchReference(int length)
    {
        float[] a = TestUtil.Random(length, 1, -4f, 4f);
        float[] b = TestUtil.Random(length, 2, -4f, 4f);
        int keep = KernelParallel.MaxThreads;
        try
        {
            foreach (var op in s_ops)
            {
                float[]? first = null;
                foreach (int threads in new[] { 1, 2, 3 })
                {
                    KernelParallel.MaxThreads = threads;
                    var y = new float[length];
                    if (op.Unary is not null)
                    {
                        op.Unary(a, y);
                    }
                    else
                    {
                        op.Binary!(a, b, y);
                    }

                    if (first is null)
                    {
                        first = y;
                        TestUtil.AssertClose(y, a.Select((v, i) => op.Reference(v, b[i])).ToArray(), op.Name);
                    }
                    else
                    {
                        Assert.True(first.AsSpan().SequenceEqual(y), $"{op.Name}, {length} elements: {threads} threads differ from 1");
                    }
                }

                // In place, chunked.
                float[] inPlace = (float[])a.Clone();
                if (op.Unary is not null)
                {
                    op.Unary(inPlace, inPlace);
                }
                else
                {
                    op.Binary!(inPlace, b, inPlace);
                }

                Assert.True(first!.AsSpan().SequenceEqual(inPlace), $"{op.Name}: in place differs");
            }
        }
        finally
        {
            KernelParallel.MaxThreads = keep;
        }
    }

    [Theory]
    [InlineData(37)]
    [InlineData((2 * ElementwiseDriver.ChunkLength) + 5)]
    public void AddRelu_EqualsAddThenRelu_Bitwise(int length)
    {
        float[] a = TestUtil.Random(length, 3);
        float[] b = TestUtil.Random(length, 4);
        a[0] = float.NaN;
        a[1] = -0f;
        b[1] = 0f;
        a[2] = float.NegativeInfinity;
        var composed = new float[length];
        Elementwise.Add(a, b, composed);
        Elementwise.Relu(composed, composed);
        var fused = new float[length];
        Elementwise.AddRelu(a, b, fused);
        Assert.True(composed.AsSpan().SequenceEqual(fused));
        Assert.True(float.IsNaN(fused[0]));
    }
}
