using SharpCnn.Functional;
using SharpCnn.Kernels;

namespace SharpCnn.Tests.OpCatalog;

/// <summary>Layer ops: linear, convolution, pooling, activations, normalisation, dropout, losses.</summary>
public static partial class Catalog
{
    private static double[] Conv(double[][] x, Conv2dGeometry g, bool bias)
    {
        var y = new double[g.Batch * g.OutChannels * g.OutHeight * g.OutWidth];
        Conv2dReference.Forward<double>(x[0], x[1], bias ? x[2] : default, g, y);
        return y;
    }

    private static IEnumerable<OpCase> ConvOps()
    {
        // (name, N, C, H, W, K, kh, kw, stride, pad, dilation, groups, bias)
        (string Name, int N, int C, int H, int W, int K, int Kh, int Kw, int S, int P, int D, int G, bool Bias)[] configs =
        [
            ("Basic", 1, 2, 5, 5, 3, 3, 3, 1, 0, 1, 1, true),
            ("Stride2Pad1_Batch2", 2, 3, 7, 6, 4, 3, 3, 2, 1, 1, 1, true),
            ("Dilation2", 1, 2, 7, 7, 2, 3, 3, 1, 2, 2, 1, false),
            ("Groups2_NonSquareKernel", 2, 4, 6, 5, 6, 3, 2, 1, 1, 1, 2, true),
            ("Depthwise", 1, 3, 5, 5, 3, 3, 3, 1, 1, 1, 3, true),
            ("OneByOne", 2, 3, 4, 4, 5, 1, 1, 1, 0, 1, 1, true),
            ("Kernel5_FirstLayer", 2, 1, 8, 8, 2, 5, 5, 1, 2, 1, 1, true),
        ];
        foreach (var c in configs)
        {
            var g = new Conv2dGeometry(c.N, c.C, c.H, c.W, c.K, c.Kh, c.Kw, c.S, c.S, c.P, c.P, c.P, c.P, c.D, c.D, c.G);
            int[][] shapes = c.Bias ? [[c.N, c.C, c.H, c.W], [c.K, c.C / c.G, c.Kh, c.Kw], [c.K]] : [[c.N, c.C, c.H, c.W], [c.K, c.C / c.G, c.Kh, c.Kw]];
            yield return new($"Conv2d_{c.Name}", shapes,
                t => F.Conv2d(t[0], t[1], c.Bias ? t[2] : null, c.S, c.P, c.D, c.G), x => Conv(x, g, c.Bias));
        }

        // "same" with an even kernel: the extra row/column goes at the bottom/right.
        var same = new Conv2dGeometry(1, 2, 5, 6, 3, 4, 2, 1, 1, 1, 0, 2, 1, 1, 1, 1);
        yield return new("Conv2d_SameEvenKernel", [[1, 2, 5, 6], [3, 2, 4, 2]], t => F.Conv2d(t[0], t[1], null, padding: "same"), x => Conv(x, same, false));

        var c1 = new Conv2dGeometry(2, 3, 1, 9, 4, 1, 3, 1, 2, 0, 1, 0, 1, 1, 1, 1);
        yield return new("Conv1d_Stride2Pad1", [[2, 3, 9], [4, 3, 3], [4]], t => F.Conv1d(t[0], t[1], t[2], stride: 2, padding: 1), x => Conv(x, c1, true));
        var c1Same = new Conv2dGeometry(1, 2, 1, 8, 2, 1, 3, 1, 1, 0, 2, 0, 2, 1, 2, 1);
        yield return new("Conv1d_SameDilation2", [[1, 2, 8], [2, 2, 3]], t => F.Conv1d(t[0], t[1], null, padding: "same", dilation: 2), x => Conv(x, c1Same, false));

        yield return new("Linear_4x5_3", [[4, 5], [3, 5], [3]], t => F.Linear(t[0], t[1], t[2]),
            x => Ref.Binary(Ref.MatMul(x[0], Ref.Permute(x[1], [3, 5], [1, 0]), 1, 4, 5, 3), [4, 3], x[2], [3], (a, b) => a + b));
        yield return new("Linear_2x3x4_NoBias", [[2, 3, 4], [2, 4]], t => F.Linear(t[0], t[1]),
            x => Ref.MatMul(x[0], Ref.Permute(x[1], [2, 4], [1, 0]), 1, 6, 4, 2));
    }

    private static IEnumerable<OpCase> PoolOps()
    {
        // Distinct values 0.05 apart: no near-ties, so finite differences cannot move the argmax.
        static double[] Distinct(int i, int n) => i != 0 ? null! : Enumerable.Range(0, n).Select(k => (double)(float)(((k * 37) % n) * 0.05 - 1)).ToArray();

        (string Name, int H, int W, int K, int S, int P, int D, bool Ceil)[] maxConfigs =
        [
            ("K2", 6, 6, 2, 2, 0, 1, false),
            ("K3S2Pad1", 7, 5, 3, 2, 1, 1, false),
            ("K3S2Ceil", 6, 6, 3, 2, 0, 1, true),
            ("K2S2Pad1Ceil", 5, 5, 2, 2, 1, 1, true),
            ("K2Dilation2", 7, 7, 2, 1, 0, 2, false),
        ];
        foreach (var c in maxConfigs)
        {
            var g = new Pool2dGeometry(2, 3, c.H, c.W, c.K, c.K, c.S, c.S, c.P, c.P, c.D, c.D, c.Ceil);
            yield return new($"MaxPool2d_{c.Name}", [[2, 3, c.H, c.W]], t => F.MaxPool2d(t[0], c.K, c.S, c.P, c.D, c.Ceil), x =>
            {
                var y = new double[2 * 3 * g.OutHeight * g.OutWidth];
                Pool2dReference.MaxForward<double>(x[0], g, y, new int[y.Length]);
                return y;
            }, CustomInput: Distinct);
        }

        var g1 = new Pool2dGeometry(2, 2, 1, 9, 1, 3, 1, 2, 0, 1, 1, 1, false);
        yield return new("MaxPool1d_K3S2Pad1", [[2, 2, 9]], t => F.MaxPool1d(t[0], 3, 2, 1), x =>
        {
            var y = new double[2 * 2 * g1.OutWidth];
            Pool2dReference.MaxForward<double>(x[0], g1, y, new int[y.Length]);
            return y;
        }, CustomInput: Distinct);

        (string Name, int H, int K, int S, int P, bool Ceil, bool Include)[] avgConfigs =
        [
            ("K2", 6, 2, 2, 0, false, true),
            ("K3S2Pad1IncludePad", 7, 3, 2, 1, false, true),
            ("K3S2Pad1ExcludePad", 7, 3, 2, 1, false, false),
            ("K3S2Pad1CeilExcludePad", 6, 3, 2, 1, true, false),
            ("K2S2CeilIncludePad", 5, 2, 2, 0, true, true),
        ];
        foreach (var c in avgConfigs)
        {
            var g = new Pool2dGeometry(1, 2, c.H, c.H, c.K, c.K, c.S, c.S, c.P, c.P, 1, 1, c.Ceil);
            yield return new($"AvgPool2d_{c.Name}", [[1, 2, c.H, c.H]], t => F.AvgPool2d(t[0], c.K, c.S, c.P, c.Ceil, c.Include), x =>
            {
                var y = new double[2 * g.OutHeight * g.OutWidth];
                Pool2dReference.AvgForward<double>(x[0], g, c.Include, 0, y);
                return y;
            });
        }

        foreach ((int h, int w, int oh, int ow) in new[] { (5, 7, 3, 2), (6, 6, 1, 1), (4, 4, 4, 4) })
        {
            yield return new($"AdaptiveAvgPool2d_{h}x{w}_to_{oh}x{ow}", [[2, 2, h, w]], t => F.AdaptiveAvgPool2d(t[0], (oh, ow)), x =>
            {
                var y = new double[4 * oh * ow];
                Pool2dReference.AdaptiveAvgForward<double>(x[0], 4, h, w, oh, ow, y);
                return y;
            });
        }
    }

    private static IEnumerable<OpCase> ActivationOps()
    {
        yield return new("Relu_3x7", [[3, 7]], t => F.Relu(t[0]), x => Ref.Map(x[0], ElementwiseReference.Relu));
        yield return new("AddRelu_2x3x5", [[2, 3, 5], [2, 3, 5]], t => F.AddRelu(t[0], t[1]), x => x[0].Select((v, i) => Math.Max(0, v + x[1][i])).ToArray());
        yield return new("LeakyRelu_3x7", [[3, 7]], t => F.LeakyRelu(t[0], 0.2f), x => Ref.Map(x[0], v => v > 0 ? v : (double)0.2f * v));
        yield return new("Sigmoid_37", [[37]], t => F.Sigmoid(t[0]), x => Ref.Map(x[0], v => 1 / (1 + Math.Exp(-v))), Low: -4, High: 4);
        yield return new("Tanh_37", [[37]], t => F.Tanh(t[0]), x => Ref.Map(x[0], Math.Tanh), Low: -3, High: 3);
        yield return new("Gelu_37", [[37]], t => F.Gelu(t[0]), x => Ref.Map(x[0], ElementwiseReference.Gelu), Low: -3, High: 3);
        yield return new("GeluTanh_37", [[37]], t => F.Gelu(t[0], "tanh"), x => Ref.Map(x[0], ElementwiseReference.GeluTanh), Low: -3, High: 3);
        yield return new("Dropout_Eval_4x5", [[4, 5]], t => F.Dropout(t[0], 0.5, training: false), x => x[0]);
        yield return new("Dropout_Train_6x7", [[6, 7]], t => F.Dropout(t[0], 0.3, true, new Generator(9)), x =>
        {
            // The reference redraws the mask from the same seed: keep where u ≥ p, scale by 1/(1 − p).
            var g = new Generator(9);
            return x[0].Select(v => g.NextDouble() >= 0.3 ? v * (float)(1 / 0.7) : 0).ToArray();
        });
    }

    private static IEnumerable<OpCase> NormOps()
    {
        foreach ((string name, int[] shape) in new[] { ("2d", new[] { 3, 2, 3, 4 }), ("1d", new[] { 5, 3 }), ("1dL", new[] { 2, 3, 4 }) })
        {
            int n = shape[0];
            int c = shape[1];
            int spatial = shape.Skip(2).Aggregate(1, (a, b) => a * b);
            yield return new($"BatchNorm{name}_Train", [shape, [c], [c]], t => F.BatchNorm(t[0], null, null, t[1], t[2], training: true), x =>
            {
                var y = new double[x[0].Length];
                NormReference.BatchNormForwardTraining<double>(x[0], x[1], x[2], n, c, spatial, 1e-5, y, new double[c], new double[c]);
                return y;
            });
        }

        foreach ((string name, int[] shape) in new[] { ("2d", new[] { 3, 2, 3, 5 }), ("1d", new[] { 6, 3 }) })
        {
            int n = shape[0];
            int c = shape[1];
            int spatial = shape.Skip(2).Aggregate(1, (a, b) => a * b);
            yield return new($"BatchNormRelu{name}_Train", [shape, [c], [c]], t => F.BatchNormRelu(t[0], null, null, t[1], t[2], training: true), x =>
            {
                var y = new double[x[0].Length];
                NormReference.BatchNormForwardTraining<double>(x[0], x[1], x[2], n, c, spatial, 1e-5, y, new double[c], new double[c]);
                return Ref.Map(y, ElementwiseReference.Relu);
            });
        }

        foreach ((string name, int[] shape) in new[] { ("2d", new[] { 3, 2, 3, 5 }), ("1d", new[] { 6, 3 }) })
        {
            int n = shape[0];
            int c = shape[1];
            int spatial = shape.Skip(2).Aggregate(1, (a, b) => a * b);
            yield return new($"BatchNormAddRelu{name}_Train", [shape, [c], [c], shape], t => F.BatchNormAddRelu(t[0], t[3], null, null, t[1], t[2], training: true), x =>
            {
                var y = new double[x[0].Length];
                NormReference.BatchNormForwardTraining<double>(x[0], x[1], x[2], n, c, spatial, 1e-5, y, new double[c], new double[c]);
                return y.Select((v, i) => Math.Max(0, v + x[3][i])).ToArray();
            });
        }

        yield return new("BatchNormAddRelu2d_Eval", [[2, 3, 2, 2], [3], [3], [3], [3], [2, 3, 2, 2]], t => F.BatchNormAddRelu(t[0], t[5], t[3], t[4], t[1], t[2], training: false), x =>
        {
            var y = new double[x[0].Length];
            for (int i = 0; i < y.Length; i++)
            {
                int ch = (i / 4) % 3;
                y[i] = Math.Max(0, ((x[0][i] - x[3][ch]) / Math.Sqrt(x[4][ch] + 1e-5) * x[1][ch]) + x[2][ch] + x[5][i]);
            }

            return y;
        }, NoGradInputs: [3, 4], CustomInput: (i, n) => i == 4 ? Enumerable.Range(0, n).Select(k => 0.5 + (0.25 * k)).ToArray() : null!);

        yield return new("BatchNormRelu2d_Eval", [[2, 3, 2, 2], [3], [3], [3], [3]], t => F.BatchNormRelu(t[0], t[3], t[4], t[1], t[2], training: false), x =>
        {
            var y = new double[x[0].Length];
            for (int i = 0; i < y.Length; i++)
            {
                int ch = (i / 4) % 3;
                y[i] = Math.Max(0, ((x[0][i] - x[3][ch]) / Math.Sqrt(x[4][ch] + 1e-5) * x[1][ch]) + x[2][ch]);
            }

            return y;
        }, NoGradInputs: [3, 4], CustomInput: (i, n) => i == 4 ? Enumerable.Range(0, n).Select(k => 0.5 + (0.25 * k)).ToArray() : null!);

        yield return new("BatchNorm2d_Eval", [[2, 3, 2, 2], [3], [3], [3], [3]], t => F.BatchNorm(t[0], t[3], t[4], t[1], t[2], training: false), x =>
        {
            var y = new double[x[0].Length];
            for (int i = 0; i < y.Length; i++)
            {
                int ch = (i / 4) % 3;
                y[i] = ((x[0][i] - x[3][ch]) / Math.Sqrt(x[4][ch] + 1e-5) * x[1][ch]) + x[2][ch];
            }

            return y;
        }, NoGradInputs: [3, 4], CustomInput: (i, n) => i == 4 ? Enumerable.Range(0, n).Select(k => 0.5 + (0.25 * k)).ToArray() : null!);

        foreach (int size in new[] { 3, 4 })
        {
            yield return new($"LocalResponseNorm_Size{size}", [[2, 5, 2, 3]], t => F.LocalResponseNorm(t[0], size, 0.1, 0.75, 1.0), x =>
            {
                var y = new double[x[0].Length];
                NormReference.LrnForward<double>(x[0], 2, 5, 6, size, 0.1, 0.75, 1.0, y);
                return y;
            });
        }
    }

    private static IEnumerable<OpCase> NnOps() =>
        ConvOps().Concat(PoolOps()).Concat(ActivationOps()).Concat(NormOps()).Concat(LossOps());
}
