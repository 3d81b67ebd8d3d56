using System.Runtime.Intrinsics;

namespace SharpCnn.Kernels;

/// <summary>
/// Batch normalisation over [n, c, spatial] (spatial = h·w, or 1 for BatchNorm1d on (N, C)), PyTorch semantics.
/// Two variants: <see cref="VectorVariantName"/> (Vector512/Vector256 passes, the default where either is
/// accelerated) and <see cref="ScalarVariantName"/> (scalar loops summing in double); <c>SHARPCNN_KERNEL=BatchNormScalar</c>
/// forces the latter. Each channel's sums run in a fixed order, so results are bitwise identical for any thread count.
/// </summary>
public static class BatchNorm
{
    /// <summary>Variant name of the scalar loops (every sum in double, element by element).</summary>
    public const string ScalarVariantName = "BatchNormScalar";

    /// <summary>
    /// Variant name of the vector loops: per plane, float lanes in blocks of 1024 elements widened into double
    /// lanes; threads take whole channels (or, with few channels, (channel, sample) planes whose partial sums are
    /// added in sample order).
    /// </summary>
    public const string VectorVariantName = "BatchNormVector";

    private static readonly Lazy<bool> s_forceScalar = new(() => KernelSwitches.Names(ScalarVariantName));

    /// <summary>Gets or sets a forced choice (tests): true runs the scalar loops, false the vector ones.</summary>
    internal static bool? ForceScalarOverride { get; set; }

    /// <summary>Gets the variant the kernels run: <see cref="VectorVariantName"/> or <see cref="ScalarVariantName"/>.</summary>
    public static string SelectedVariant =>
        BatchNormVector.IsSupported && !(ForceScalarOverride ?? s_forceScalar.Value) ? VectorVariantName : ScalarVariantName;

    private static bool UseVector => SelectedVariant == VectorVariantName;

    /// <summary>
    /// Training-mode forward: normalises with the batch mean and biased variance,
    /// y = (x − mean)·invStd·γ + β with invStd = 1/√(var + eps).
    /// </summary>
    /// <remarks>
    /// PyTorch updates running statistics with the unbiased variance var·m/(m − 1), m = n·spatial: pass
    /// <paramref name="unbiasedVar"/> to receive it, then call <see cref="UpdateRunningStats"/>.
    /// Throws when m &lt; 2, as PyTorch does ("Expected more than 1 value per channel when training").
    /// </remarks>
    /// <param name="input">Input [n, c, spatial].</param>
    /// <param name="gamma">Scale [c], or empty for affine=false (γ = 1).</param>
    /// <param name="beta">Shift [c], or empty for affine=false (β = 0).</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="eps">Added to the variance (PyTorch default 1e-5).</param>
    /// <param name="output">Output [n, c, spatial], overwritten.</param>
    /// <param name="saveMean">Batch mean per channel [c], overwritten.</param>
    /// <param name="saveInvStd">1/√(biased var + eps) per channel [c], overwritten.</param>
    /// <param name="unbiasedVar">Optional [c]: receives the unbiased batch variance; empty to skip.</param>
    /// <param name="relu">
    /// Also apply ReLU (y &lt; 0 → 0, NaN kept) in the same pass: the output is exactly <c>Relu</c> of the plain
    /// output, with no intermediate tensor. Pass the output as <c>reluOutput</c> to <see cref="Backward"/>.
    /// </param>
    /// <param name="residual">
    /// Optional [n, c, spatial], empty to skip: added to the normalised value before the ReLU (a ResNet block's
    /// shortcut), y = max(0, BN(x) + residual) with <paramref name="relu"/>: exactly batch norm, then
    /// <see cref="Elementwise.AddRelu"/> (or <c>Elementwise.Add</c>) of its output and the residual, bit for bit.
    /// May not overlap <paramref name="output"/>.
    /// </param>
    public static unsafe void ForwardTraining(
        ReadOnlySpan<float> input,
        ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> beta,
        int n,
        int c,
        int spatial,
        float eps,
        Span<float> output,
        Span<float> saveMean,
        Span<float> saveInvStd,
        Span<float> unbiasedVar = default,
        bool relu = false,
        ReadOnlySpan<float> residual = default)
    {
        CheckShape(input.Length, output.Length, gamma, beta, n, c, spatial);
        bool hasResidual = !residual.IsEmpty;
        if (hasResidual)
        {
            Pool2d.CheckLength(nameof(residual), residual.Length, (long)n * c * spatial);
        }

        Pool2d.CheckLength(nameof(saveMean), saveMean.Length, c);
        Pool2d.CheckLength(nameof(saveInvStd), saveInvStd.Length, c);
        if (!unbiasedVar.IsEmpty)
        {
            Pool2d.CheckLength(nameof(unbiasedVar), unbiasedVar.Length, c);
        }

        long m = (long)n * spatial;
        if (m < 2)
        {
            throw new ArgumentException($"BatchNorm expected more than 1 value per channel when training, but got n={n}, spatial={spatial}");
        }

        bool hasGamma = !gamma.IsEmpty;
        bool hasBeta = !beta.IsEmpty;
        bool wantUnbiased = !unbiasedVar.IsEmpty;
        fixed (float* pIn = input)
        fixed (float* pOut = output)
        fixed (float* pG = gamma)
        fixed (float* pB = beta)
        fixed (float* pMean = saveMean)
        fixed (float* pInv = saveInvStd)
        fixed (float* pVar = unbiasedVar)
        fixed (float* pRes = residual)
        {
            if (UseVector)
            {
                BatchNormVector.ForwardTraining(pIn, hasGamma ? pG : null, hasBeta ? pB : null, n, c, spatial, eps, pOut, pMean, pInv, wantUnbiased ? pVar : null, relu,
                    hasResidual ? pRes : null);
                return;
            }

            float* xIn = pIn, yOut = pOut, g = pG, b = pB, mean = pMean, inv = pInv, uvar = pVar, res = pRes;
            KernelParallel.For(c, 3 * m, (start, end) =>
            {
                for (int ch = start; ch < end; ch++)
                {
                    double sum = 0;
                    for (int s = 0; s < n; s++)
                    {
                        sum += SumDouble(new ReadOnlySpan<float>(xIn + ((((long)s * c) + ch) * spatial), spatial));
                    }

                    double mu = sum / m;
                    double sq = 0;
                    for (int s = 0; s < n; s++)
                    {
                        sq += SumSquaredDeviation(new ReadOnlySpan<float>(xIn + ((((long)s * c) + ch) * spatial), spatial), mu);
                    }

                    double var = sq / m;
                    double invStd = 1.0 / Math.Sqrt(var + eps);
                    mean[ch] = (float)mu;
                    inv[ch] = (float)invStd;
                    if (wantUnbiased)
                    {
                        uvar[ch] = (float)(sq / (m - 1));
                    }

                    double scale = (hasGamma ? g[ch] : 1.0) * invStd;
                    double shift = (hasBeta ? b[ch] : 0.0) - (mu * scale);
                    var op = new ScaleShiftOperator((float)scale, (float)shift);
                    for (int s = 0; s < n; s++)
                    {
                        long offset = (((long)s * c) + ch) * spatial;
                        ElementwiseDriver.Unary(new ReadOnlySpan<float>(xIn + offset, spatial), new Span<float>(yOut + offset, spatial), op);
                        if (hasResidual)
                        {
                            var yPlane = new Span<float>(yOut + offset, spatial);
                            var rPlane = new ReadOnlySpan<float>(res + offset, spatial);
                            if (relu)
                            {
                                ElementwiseDriver.Binary(yPlane, rPlane, yPlane, default(AddReluOperator));
                            }
                            else
                            {
                                ElementwiseDriver.Binary(yPlane, rPlane, yPlane, default(AddOperator));
                            }
                        }
                        else if (relu)
                        {
                            ElementwiseDriver.Unary(new ReadOnlySpan<float>(yOut + offset, spatial), new Span<float>(yOut + offset, spatial), default(ReluOperator));
                        }
                    }
                }
            });
        }
    }

    /// <summary>
    /// Running-statistics update as PyTorch does it: running = (1 − momentum)·running + momentum·batch,
    /// with the batch mean and the unbiased batch variance from <see cref="ForwardTraining"/>.
    /// </summary>
    /// <param name="batchMean">Batch mean [c].</param>
    /// <param name="batchUnbiasedVar">Unbiased batch variance [c].</param>
    /// <param name="momentum">PyTorch momentum (default 0.1).</param>
    /// <param name="runningMean">Running mean [c], updated in place.</param>
    /// <param name="runningVar">Running variance [c], updated in place.</param>
    public static void UpdateRunningStats(ReadOnlySpan<float> batchMean, ReadOnlySpan<float> batchUnbiasedVar, float momentum, Span<float> runningMean, Span<float> runningVar)
    {
        int c = batchMean.Length;
        Pool2d.CheckLength(nameof(batchUnbiasedVar), batchUnbiasedVar.Length, c);
        Pool2d.CheckLength(nameof(runningMean), runningMean.Length, c);
        Pool2d.CheckLength(nameof(runningVar), runningVar.Length, c);
        for (int i = 0; i < c; i++)
        {
            runningMean[i] = ((1f - momentum) * runningMean[i]) + (momentum * batchMean[i]);
            runningVar[i] = ((1f - momentum) * runningVar[i]) + (momentum * batchUnbiasedVar[i]);
        }
    }

    /// <summary>Evaluation-mode forward: y = (x − runningMean)/√(runningVar + eps)·γ + β.</summary>
    /// <param name="input">Input [n, c, spatial].</param>
    /// <param name="runningMean">Running mean [c].</param>
    /// <param name="runningVar">Running variance [c].</param>
    /// <param name="gamma">Scale [c] or empty.</param>
    /// <param name="beta">Shift [c] or empty.</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="output">Output [n, c, spatial], overwritten.</param>
    /// <param name="relu">Also apply ReLU in the same pass (exactly <c>Relu</c> of the plain output).</param>
    public static unsafe void ForwardInference(
        ReadOnlySpan<float> input,
        ReadOnlySpan<float> runningMean,
        ReadOnlySpan<float> runningVar,
        ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> beta,
        int n,
        int c,
        int spatial,
        float eps,
        Span<float> output,
        bool relu = false)
    {
        CheckShape(input.Length, output.Length, gamma, beta, n, c, spatial);
        Pool2d.CheckLength(nameof(runningMean), runningMean.Length, c);
        Pool2d.CheckLength(nameof(runningVar), runningVar.Length, c);
        if (UseVector)
        {
            fixed (float* pIn = input)
            fixed (float* pMean = runningMean)
            fixed (float* pVar = runningVar)
            fixed (float* pG = gamma)
            fixed (float* pB = beta)
            fixed (float* pOut = output)
            {
                BatchNormVector.ForwardInference(pIn, pMean, pVar, gamma.IsEmpty ? null : pG, beta.IsEmpty ? null : pB, n, c, spatial, eps, pOut, relu);
            }

            return;
        }

        for (int ch = 0; ch < c; ch++)
        {
            double scale = (gamma.IsEmpty ? 1.0 : gamma[ch]) / Math.Sqrt(runningVar[ch] + (double)eps);
            double shift = (beta.IsEmpty ? 0.0 : beta[ch]) - (runningMean[ch] * scale);
            var op = new ScaleShiftOperator((float)scale, (float)shift);
            for (int s = 0; s < n; s++)
            {
                int offset = ((s * c) + ch) * spatial;
                ElementwiseDriver.Unary(input.Slice(offset, spatial), output.Slice(offset, spatial), op);
                if (relu)
                {
                    ElementwiseDriver.Unary(output.Slice(offset, spatial), output.Slice(offset, spatial), default(ReluOperator));
                }
            }
        }
    }

    /// <summary>
    /// Training-mode backward with the saved batch statistics (x̂ = (x − mean)·invStd, m = n·spatial):
    /// gradBeta = Σ g, gradGamma = Σ g·x̂, gradInput = γ·invStd·(g − Σg/m − x̂·Σ(g·x̂)/m).
    /// </summary>
    /// <param name="gradOutput">Gradient of the output [n, c, spatial].</param>
    /// <param name="input">Forward input [n, c, spatial].</param>
    /// <param name="gamma">Scale [c] or empty (γ = 1).</param>
    /// <param name="saveMean">Saved batch mean [c].</param>
    /// <param name="saveInvStd">Saved inverse std [c].</param>
    /// <param name="n">Batch size.</param>
    /// <param name="c">Channels.</param>
    /// <param name="spatial">Elements per channel per sample.</param>
    /// <param name="gradInput">Gradient of the input, overwritten.</param>
    /// <param name="gradGamma">Gradient of γ [c], overwritten; empty to skip.</param>
    /// <param name="gradBeta">Gradient of β [c], overwritten; empty to skip.</param>
    /// <param name="reluOutput">
    /// Empty for plain batch norm. For the fused forward (<c>relu: true</c>), its output [n, c, spatial]: the
    /// gradient is first set to 0 where that output is ≤ 0 (ReLU's backward), exactly as ReLU's backward kernel
    /// followed by this one would compute it.
    /// </param>
    /// <param name="gradResidual">
    /// Optional [n, c, spatial], empty to skip: receives the gradient of the residual of a fused
    /// <c>ForwardTraining(…, residual)</c>, which is the incoming gradient masked as above (or the incoming gradient
    /// itself without <paramref name="reluOutput"/>), written in the same pass as <paramref name="gradInput"/>.
    /// May not overlap the other arrays.
    /// </param>
    public static unsafe void Backward(
        ReadOnlySpan<float> gradOutput,
        ReadOnlySpan<float> input,
        ReadOnlySpan<float> gamma,
        ReadOnlySpan<float> saveMean,
        ReadOnlySpan<float> saveInvStd,
        int n,
        int c,
        int spatial,
        Span<float> gradInput,
        Span<float> gradGamma,
        Span<float> gradBeta,
        ReadOnlySpan<float> reluOutput = default,
        Span<float> gradResidual = default)
    {
        CheckShape(input.Length, gradInput.Length, gamma, default, n, c, spatial);
        Pool2d.CheckLength(nameof(gradOutput), gradOutput.Length, (long)n * c * spatial);
        Pool2d.CheckLength(nameof(saveMean), saveMean.Length, c);
        Pool2d.CheckLength(nameof(saveInvStd), saveInvStd.Length, c);
        if (!gradGamma.IsEmpty)
        {
            Pool2d.CheckLength(nameof(gradGamma), gradGamma.Length, c);
        }

        if (!gradBeta.IsEmpty)
        {
            Pool2d.CheckLength(nameof(gradBeta), gradBeta.Length, c);
        }

        bool masked = !reluOutput.IsEmpty;
        if (masked)
        {
            Pool2d.CheckLength(nameof(reluOutput), reluOutput.Length, (long)n * c * spatial);
        }

        bool wantResidual = !gradResidual.IsEmpty;
        if (wantResidual)
        {
            Pool2d.CheckLength(nameof(gradResidual), gradResidual.Length, (long)n * c * spatial);
        }

        long m = (long)n * spatial;
        bool hasGamma = !gamma.IsEmpty;
        bool wantGamma = !gradGamma.IsEmpty;
        bool wantBeta = !gradBeta.IsEmpty;
        fixed (float* pGo = gradOutput)
        fixed (float* pIn = input)
        fixed (float* pG = gamma)
        fixed (float* pMean = saveMean)
        fixed (float* pInv = saveInvStd)
        fixed (float* pGi = gradInput)
        fixed (float* pGg = gradGamma)
        fixed (float* pGb = gradBeta)
        fixed (float* pMask = reluOutput)
        fixed (float* pGr = gradResidual)
        {
            if (UseVector)
            {
                BatchNormVector.Backward(pGo, pIn, hasGamma ? pG : null, pMean, pInv, n, c, spatial, pGi, wantGamma ? pGg : null, wantBeta ? pGb : null, masked ? pMask : null,
                    wantResidual ? pGr : null);
                return;
            }

            float* go = pGo, xIn = pIn, g = pG, mean = pMean, inv = pInv, gi = pGi, gg = pGg, gb = pGb;
            if (wantResidual)
            {
                // The residual's gradient (ReLU's backward, or a copy) first; the loops below then read it in place of gradOutput.
                if (masked)
                {
                    ElementwiseDriver.Binary(new ReadOnlySpan<float>(pGo, gradInput.Length), new ReadOnlySpan<float>(pMask, gradInput.Length), gradResidual, default(ReluBackwardOperator));
                }
                else
                {
                    gradOutput.CopyTo(gradResidual);
                }

                go = pGr;
            }
            else if (masked)
            {
                // ReLU's backward into gradInput first; the loops below then read it in place of gradOutput.
                ElementwiseDriver.Binary(new ReadOnlySpan<float>(pGo, gradInput.Length), new ReadOnlySpan<float>(pMask, gradInput.Length), gradInput, default(ReluBackwardOperator));
                go = pGi;
            }

            KernelParallel.For(c, 4 * m, (start, end) =>
            {
                for (int ch = start; ch < end; ch++)
                {
                    double mu = mean[ch];
                    double invStd = inv[ch];
                    double sumG = 0;
                    double sumGX = 0;
                    for (int s = 0; s < n; s++)
                    {
                        long offset = (((long)s * c) + ch) * spatial;
                        for (int k = 0; k < spatial; k++)
                        {
                            double gv = go[offset + k];
                            sumG += gv;
                            sumGX += gv * (xIn[offset + k] - mu);
                        }
                    }

                    if (wantBeta)
                    {
                        gb[ch] = (float)sumG;
                    }

                    if (wantGamma)
                    {
                        gg[ch] = (float)(sumGX * invStd);
                    }

                    // gi = A·g + B·(x − mean) + C with A = γ·invStd, B = −A·invStd²·Σg(x − mean)/m, C = −A·Σg/m.
                    double a = (hasGamma ? g[ch] : 1.0) * invStd;
                    double bx = -a * invStd * invStd * sumGX / m;
                    double cst = -a * sumG / m;
                    var op = new AffineCombineOperator((float)a, (float)bx, (float)mu, (float)cst);
                    for (int s = 0; s < n; s++)
                    {
                        long offset = (((long)s * c) + ch) * spatial;
                        ElementwiseDriver.Binary(
                            new ReadOnlySpan<float>(go + offset, spatial),
                            new ReadOnlySpan<float>(xIn + offset, spatial),
                            new Span<float>(gi + offset, spatial),
                            op);
                    }
                }
            });
        }
    }

    private static double SumDouble(ReadOnlySpan<float> x)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++)
        {
            s += x[i];
        }

        return s;
    }

    private static double SumSquaredDeviation(ReadOnlySpan<float> x, double mu)
    {
        double s = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double d = x[i] - mu;
            s += d * d;
        }

        return s;
    }

    private static void CheckShape(int inputLength, int outputLength, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, int n, int c, int spatial)
    {
        if (n < 0 || c < 1 || spatial < 1)
        {
            throw new ArgumentException($"BatchNorm expected n ≥ 0, c ≥ 1, spatial ≥ 1 but got n={n}, c={c}, spatial={spatial}");
        }

        long length = (long)n * c * spatial;
        Pool2d.CheckLength("input", inputLength, length);
        Pool2d.CheckLength("output", outputLength, length);
        if (!gamma.IsEmpty)
        {
            Pool2d.CheckLength(nameof(gamma), gamma.Length, c);
        }

        if (!beta.IsEmpty)
        {
            Pool2d.CheckLength(nameof(beta), beta.Length, c);
        }
    }

    private readonly struct ScaleShiftOperator(float scale, float shift) : IUnaryOperator
    {
        private readonly float _scale = scale;
        private readonly float _shift = shift;

        public float Invoke(float x) => (x * _scale) + _shift;

        public Vector256<float> Invoke(Vector256<float> x) => (x * _scale) + Vector256.Create(_shift);

        public Vector512<float> Invoke(Vector512<float> x) => (x * _scale) + Vector512.Create(_shift);
    }

    // a·x + b·(y − mu) + c: the centring keeps precision when the mean is large next to the spread.
    private readonly struct AffineCombineOperator(float a, float b, float mu, float c) : IBinaryOperator
    {
        private readonly float _a = a;
        private readonly float _b = b;
        private readonly float _mu = mu;
        private readonly float _c = c;

        public float Invoke(float x, float y) => (_a * x) + (_b * (y - _mu)) + _c;

        public Vector256<float> Invoke(Vector256<float> x, Vector256<float> y) =>
            (x * _a) + ((y - Vector256.Create(_mu)) * _b) + Vector256.Create(_c);

        public Vector512<float> Invoke(Vector512<float> x, Vector512<float> y) =>
            (x * _a) + ((y - Vector512.Create(_mu)) * _b) + Vector512.Create(_c);
    }
}
