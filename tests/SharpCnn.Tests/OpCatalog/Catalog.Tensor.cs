namespace SharpCnn.Tests.OpCatalog;

/// <summary>Tensor-level ops: arithmetic with broadcasting, unary math, reductions, matmul, shape ops.</summary>
public static partial class Catalog
{
    private static IEnumerable<OpCase> TensorOps()
    {
        int[][] pairs = [[3, 4], [3, 4], [2, 3, 4], [3, 1], [4], [1]];
        for (int p = 0; p < pairs.Length; p += 2)
        {
            int[] sa = pairs[p];
            int[] sb = pairs[p + 1];
            string tag = $"{string.Join('x', sa)}_{string.Join('x', sb)}";
            yield return new($"Add_{tag}", [sa, sb], t => t[0] + t[1], x => Ref.Binary(x[0], sa, x[1], sb, (a, b) => a + b));
            yield return new($"Sub_{tag}", [sa, sb], t => t[0] - t[1], x => Ref.Binary(x[0], sa, x[1], sb, (a, b) => a - b));
            yield return new($"Mul_{tag}", [sa, sb], t => t[0] * t[1], x => Ref.Binary(x[0], sa, x[1], sb, (a, b) => a * b));
            yield return new($"Div_{tag}", [sa, sb], t => t[0] / t[1], x => Ref.Binary(x[0], sa, x[1], sb, (a, b) => a / b), Low: 0.5, High: 2);
        }

        yield return new("Broadcast_4x1x3_2x1", [[4, 1, 3], [2, 1]], t => t[0] * t[1], x => Ref.Binary(x[0], [4, 1, 3], x[1], [2, 1], (a, b) => a * b));
        yield return new("ScalarOps_3x5", [[3, 5]], t => ((t[0] * 3f) + 1f - (2f / (t[0] + 4f))) / 2f, x => Ref.Map(x[0], v => ((v * 3) + 1 - (2 / (v + 4))) / 2));
        yield return new("Neg_7", [[7]], t => -t[0], x => Ref.Map(x[0], v => -v));
        yield return new("Exp_2x5", [[2, 5]], t => t[0].Exp(), x => Ref.Map(x[0], Math.Exp));
        yield return new("Log_2x5", [[2, 5]], t => t[0].Log(), x => Ref.Map(x[0], Math.Log), Low: 0.2, High: 3);
        yield return new("Sqrt_9", [[9]], t => t[0].Sqrt(), x => Ref.Map(x[0], Math.Sqrt), Low: 0.2, High: 3);
        yield return new("Abs_9", [[9]], t => t[0].Abs(), x => Ref.Map(x[0], Math.Abs));
        yield return new("Square_9", [[9]], t => t[0].Square(), x => Ref.Map(x[0], v => v * v));
        yield return new("Pow3_2x3", [[2, 3]], t => t[0].Pow(3), x => Ref.Map(x[0], v => v * v * v));
        yield return new("Clamp_11", [[11]], t => t[0].Clamp(-0.5f, 0.5f), x => Ref.Map(x[0], v => Math.Clamp(v, -0.5, 0.5)));
        yield return new("Maximum_3x4_4", [[3, 4], [4]], t => Tensor.Maximum(t[0], t[1]), x => Ref.Binary(x[0], [3, 4], x[1], [4], Math.Max));

        yield return new("SumAll_3x4", [[3, 4]], t => t[0].Sum(), x => [x[0].Sum()]);
        yield return new("MeanAll_2x3x2", [[2, 3, 2]], t => t[0].Mean(), x => [x[0].Average()]);
        yield return new("SumDim1_2x3x4", [[2, 3, 4]], t => t[0].Sum(1), x => Ref.Reduce(x[0], [2, 3, 4], 1, c => c.Sum()));
        yield return new("SumDimLastKeep_2x3x4", [[2, 3, 4]], t => t[0].Sum(-1, keepDim: true), x => Ref.Reduce(x[0], [2, 3, 4], 2, c => c.Sum()));
        yield return new("MeanDim0_5x3", [[5, 3]], t => t[0].Mean(0), x => Ref.Reduce(x[0], [5, 3], 0, c => c.Average()));
        yield return new("MaxDim1_4x6", [[4, 6]], t => t[0].Max(1).Values, x => Ref.Reduce(x[0], [4, 6], 1, c => c.Max()));
        yield return new("MaxDim0_3x2x2", [[3, 2, 2]], t => t[0].Max(0).Values, x => Ref.Reduce(x[0], [3, 2, 2], 0, c => c.Max()));

        yield return new("MatMul_3x5_5x4", [[3, 5], [5, 4]], t => t[0].MatMul(t[1]), x => Ref.MatMul(x[0], x[1], 1, 3, 5, 4));
        yield return new("MatMul_1x1_1x1", [[1, 1], [1, 1]], t => t[0].MatMul(t[1]), x => Ref.MatMul(x[0], x[1], 1, 1, 1, 1));
        yield return new("MatMulBatched_2x3x4_2x4x5", [[2, 3, 4], [2, 4, 5]], t => t[0].MatMul(t[1]), x => Ref.MatMul(x[0], x[1], 2, 3, 4, 5));
        yield return new("MatMulFolded_2x3x4_4x2", [[2, 3, 4], [4, 2]], t => t[0].MatMul(t[1]), x => Ref.MatMul(x[0], x[1], 1, 6, 4, 2));
        yield return new("MatVec_3x4_4", [[3, 4], [4]], t => t[0].MatMul(t[1]), x => Ref.MatMul(x[0], x[1], 1, 3, 4, 1));

        yield return new("Reshape_2x6", [[2, 6]], t => t[0].Reshape(3, -1) * t[0].Reshape(3, 4), x => x[0].Select(v => v * v).ToArray());
        yield return new("Permute_2x3x4", [[2, 3, 4]], t => t[0].Permute(2, 0, 1), x => Ref.Permute(x[0], [2, 3, 4], [2, 0, 1]));
        yield return new("Transpose_3x5", [[3, 5]], t => t[0].T, x => Ref.Permute(x[0], [3, 5], [1, 0]));
        yield return new("Narrow_4x5", [[4, 5]], t => t[0].Narrow(1, 1, 3), x => Enumerable.Range(0, 12).Select(i => x[0][((i / 3) * 5) + 1 + (i % 3)]).ToArray());
        yield return new("Select_3x4", [[3, 4]], t => t[0].Select(0, 2), x => x[0].Skip(8).ToArray());
        yield return new("IndexSelect_4x2", [[4, 2]], t => t[0].IndexSelect([3, 0, 3]), x => [x[0][6], x[0][7], x[0][0], x[0][1], x[0][6], x[0][7]]);
        yield return new("IndexSelectDim1_2x4x3", [[2, 4, 3]], t => t[0].IndexSelect(1, [3, 0, 3, 1]),
            x => (from o in Enumerable.Range(0, 2) from c in new[] { 3, 0, 3, 1 } from i in Enumerable.Range(0, 3) select x[0][(((o * 4) + c) * 3) + i]).ToArray());
        yield return new("IndexSelectDimLast_3x5", [[3, 5]], t => t[0].IndexSelect(-1, [4, 2]), x => [x[0][4], x[0][2], x[0][9], x[0][7], x[0][14], x[0][12]]);
        yield return new("CatDim1_2x2_2x3", [[2, 2], [2, 3]], t => Tensor.Cat([t[0], t[1]], 1),
            x => [x[0][0], x[0][1], x[1][0], x[1][1], x[1][2], x[0][2], x[0][3], x[1][3], x[1][4], x[1][5]]);
        yield return new("Stack_3_3", [[3], [3]], t => Tensor.Stack([t[0], t[1]], 1), x => [x[0][0], x[1][0], x[0][1], x[1][1], x[0][2], x[1][2]]);
        yield return new("SharedInput_3", [[3]], t => (t[0] * t[0]) + t[0].Exp() - t[0], x => Ref.Map(x[0], v => (v * v) + Math.Exp(v) - v));
    }
}
