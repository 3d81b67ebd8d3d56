using SharpCnn.Functional;

namespace SharpCnn.Tests.OpCatalog;

public static partial class Catalog
{
    private static readonly double[] s_targets = [2, 0, 4, 1, 4];

    private static double[] Targets(int i, int n) => i == 1 ? s_targets[..n] : null!;

    private static IEnumerable<OpCase> LossOps()
    {
        yield return new("Softmax_Dim1_3x5", [[3, 5]], t => F.Softmax(t[0], 1), x => Ref.AlongDim(x[0], [3, 5], 1, Ref.Softmax), Low: -3, High: 3);
        yield return new("Softmax_Dim0_4x2x3", [[4, 2, 3]], t => F.Softmax(t[0], 0), x => Ref.AlongDim(x[0], [4, 2, 3], 0, Ref.Softmax));
        yield return new("LogSoftmax_DimLast_2x3x6", [[2, 3, 6]], t => F.LogSoftmax(t[0], -1), x => Ref.AlongDim(x[0], [2, 3, 6], 2, Ref.LogSoftmax), Low: -5, High: 5);

        foreach ((string name, float smoothing, Reduction reduction) in new[]
        {
            ("Mean", 0f, Reduction.Mean), ("Sum", 0f, Reduction.Sum), ("None", 0f, Reduction.None), ("Smoothing0.1", 0.1f, Reduction.Mean),
        })
        {
            yield return new($"CrossEntropy_{name}", [[5, 6], [5]], t => F.CrossEntropy(t[0], t[1], smoothing, reduction), x =>
            {
                var per = new double[5];
                for (int i = 0; i < 5; i++)
                {
                    double[] logp = Ref.LogSoftmax(x[0].Skip(i * 6).Take(6).ToArray());
                    per[i] = ((1 - (double)smoothing) * -logp[(int)x[1][i]]) + ((double)smoothing * -logp.Average());
                }

                return reduction switch
                {
                    Reduction.Mean => [per.Average()],
                    Reduction.Sum => [per.Sum()],
                    _ => per,
                };
            }, Low: -3, High: 3, NoGradInputs: [1], CustomInput: Targets);
        }

        yield return new("CrossEntropy_IgnoreIndex", [[3, 4], [3]], t => F.CrossEntropy(t[0], t[1]), x =>
        {
            // Row 1 is ignored: the mean runs over the other two rows.
            double a = -Ref.LogSoftmax(x[0][0..4])[3];
            double b = -Ref.LogSoftmax(x[0][8..12])[0];
            return [(a + b) / 2];
        }, NoGradInputs: [1], CustomInput: (i, n) => i == 1 ? [3, -100, 0] : null!);

        yield return new("CrossEntropy_ClassWeightsSmoothing", [[5, 6], [5], [6]], t => F.CrossEntropy(t[0], t[1], 0.2f, weight: t[2]), x =>
        {
            double total = 0;
            double weights = 0;
            for (int i = 0; i < 5; i++)
            {
                double[] logp = Ref.LogSoftmax(x[0].Skip(i * 6).Take(6).ToArray());
                int t = (int)x[1][i];
                double smooth = Enumerable.Range(0, 6).Sum(c => x[2][c] * -logp[c]);
                total += (0.8 * x[2][t] * -logp[t]) + ((double)0.2f / 6 * smooth);
                weights += x[2][t];
            }

            return [total / weights];
        }, Low: -3, High: 3, NoGradInputs: [1, 2], CustomInput: (i, n) => i == 1 ? s_targets[..n] : i == 2 ? [.. Enumerable.Range(0, n).Select(c => 0.5 + (0.25 * c))] : null!);

        yield return new("NllLoss_Mean", [[5, 6], [5]], t => F.NllLoss(t[0], t[1]),
            x => [Enumerable.Range(0, 5).Average(i => -x[0][(i * 6) + (int)x[1][i]])], NoGradInputs: [1], CustomInput: Targets);
        yield return new("MseLoss_Mean_3x4", [[3, 4], [3, 4]], t => F.MseLoss(t[0], t[1]), x => [x[0].Zip(x[1], (a, b) => (a - b) * (a - b)).Average()]);
        yield return new("MseLoss_Sum_5", [[5], [5]], t => F.MseLoss(t[0], t[1], Reduction.Sum), x => [x[0].Zip(x[1], (a, b) => (a - b) * (a - b)).Sum()]);
    }
}
