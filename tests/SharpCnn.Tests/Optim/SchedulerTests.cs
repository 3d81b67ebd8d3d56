using SharpCnn.Nn;
using SharpCnn.Optim;
using static SharpCnn.Tests.Optim.OptimTestData;

namespace SharpCnn.Tests.Optim;

public class SchedulerTests
{
    private static SGD NewSgd(double lr = 0.1, double momentum = 0.9) => new([NewParameter()], lr, momentum);

    /// <summary>The rate after construction followed by the rates after each of <paramref name="steps"/> steps.</summary>
    private static double[] Run(LRScheduler scheduler, int steps)
    {
        var lrs = new double[steps + 1];
        lrs[0] = scheduler.Optimizer.Lr;
        for (int t = 1; t <= steps; t++)
        {
            scheduler.Step();
            lrs[t] = scheduler.Optimizer.Lr;
            Assert.Equal(lrs[t], scheduler.GetLastLr()[0]);
        }

        return lrs;
    }

    private static void AssertSequence(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-12 + (1e-12 * Math.Abs(expected[i])),
                $"epoch {i}: expected {expected[i]:R} but got {actual[i]:R}");
        }
    }

    [Fact]
    public void StepLR_TenEpochs_DecaysEveryStepSize()
    {
        double[] expected = new double[10];
        for (int t = 0; t < 10; t++)
        {
            expected[t] = 0.1 * Math.Pow(0.5, t / 3);
        }

        AssertSequence(expected, Run(new StepLR(NewSgd(), stepSize: 3, gamma: 0.5), 9));
    }

    [Fact]
    public void MultiStepLR_Milestones_DecayAtEachAndTwiceForRepeats()
    {
        double[] lrs = Run(new MultiStepLR(NewSgd(), [6, 2, 6], gamma: 0.1), 7);
        AssertSequence([0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.0001, 0.0001], lrs);
    }

    [Fact]
    public void CosineAnnealingLR_PastTMax_FollowsClosedForm()
    {
        double[] expected = new double[9];
        for (int t = 0; t < expected.Length; t++)
        {
            expected[t] = 0.01 + ((0.1 - 0.01) * (1 + Math.Cos(Math.PI * t / 5)) / 2);
        }

        double[] lrs = Run(new CosineAnnealingLR(NewSgd(), tMax: 5, etaMin: 0.01), 8);
        AssertSequence(expected, lrs);
        Assert.Equal(0.01, lrs[5], 1e-15);
    }

    [Fact]
    public void LinearLR_Defaults_WarmsUpOverFiveEpochsThenHolds()
    {
        double[] expected = new double[8];
        for (int t = 0; t < expected.Length; t++)
        {
            expected[t] = 0.1 * ((1.0 / 3) + ((2.0 / 3) * Math.Min(t, 5) / 5));
        }

        AssertSequence(expected, Run(new LinearLR(NewSgd()), 7));
    }

    [Fact]
    public void LinearLR_BadFactor_ThrowsWithValue()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new LinearLR(NewSgd(), startFactor: 0));
        Assert.Contains("got 0", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OneCycleLR_TenSteps_ListsPyTorchRatesAndMomenta()
    {
        // initial = 0.1/25 = 0.004, min = 0.004/1e4 = 4e-7; phase ends at 0.3·10 − 1 = 2 and 9.
        static double Cos(double start, double end, double pct) => end + ((start - end) / 2 * (Math.Cos(Math.PI * pct) + 1));
        double[] lrs = new double[10], momenta = new double[10];
        for (int t = 0; t < 10; t++)
        {
            (lrs[t], momenta[t]) = t <= 2
                ? (Cos(0.004, 0.1, t / 2.0), Cos(0.95, 0.85, t / 2.0))
                : (Cos(0.1, 4e-7, (t - 2) / 7.0), Cos(0.85, 0.95, (t - 2) / 7.0));
        }

        AssertSequence([0.004, 0.052, 0.1], lrs[..3]);
        SGD sgd = NewSgd(lr: 1, momentum: 0.5);
        var scheduler = new OneCycleLR(sgd, maxLr: 0.1, totalSteps: 10);
        var gotLr = new double[10];
        var gotMomentum = new double[10];
        for (int t = 0; t < 10; t++)
        {
            if (t > 0)
            {
                scheduler.Step();
            }

            gotLr[t] = sgd.Lr;
            gotMomentum[t] = sgd.ParamGroups[0].Momentum;
        }

        AssertSequence(lrs, gotLr);
        AssertSequence(momenta, gotMomentum);
        Assert.Equal([0.95, 0.9, 0.85], gotMomentum[..3].Select(m => Math.Round(m, 12)));
        Assert.Equal(4e-7, gotLr[9], 1e-18);
        Assert.Equal(0.004, sgd.ParamGroups[0].InitialLr);
    }

    [Fact]
    public void OneCycleLR_SteppingPastTotalSteps_Throws()
    {
        var scheduler = new OneCycleLR(NewSgd(), maxLr: 0.1, totalSteps: 10);
        for (int t = 1; t <= 10; t++)
        {
            scheduler.Step(); // step 10 is still allowed, as in PyTorch
        }

        double lr = scheduler.Optimizer.Lr;
        var ex = Assert.Throws<InvalidOperationException>(scheduler.Step);
        Assert.Contains("11", ex.Message, StringComparison.Ordinal);
        Assert.Contains("totalSteps = 10", ex.Message, StringComparison.Ordinal);
        Assert.Equal(10, scheduler.LastEpoch);
        Assert.Equal(lr, scheduler.Optimizer.Lr);
    }

    [Fact]
    public void OneCycleLR_Adam_CyclesBeta1()
    {
        var adam = new Adam([NewParameter()], betas: (0.9, 0.99));
        var scheduler = new OneCycleLR(adam, maxLr: 0.01, totalSteps: 20, pctStart: 0.25);
        Assert.Equal(0.95, adam.ParamGroups[0].Beta1);
        for (int t = 0; t < 4; t++)
        {
            scheduler.Step();
        }

        Assert.Equal(0.85, adam.ParamGroups[0].Beta1, 1e-12); // peak at step 0.25·20 − 1 = 4
        Assert.Equal(0.01, adam.Lr, 1e-15);
        Assert.Equal(0.99, adam.ParamGroups[0].Beta2);
    }

    [Fact]
    public void OneCycleLR_ThreePhaseLinear_MatchesFormula()
    {
        // Ends at 0.25·20 − 1 = 4, 2·0.25·20 − 2 = 8, 19; initial 0.01, max 0.1, min 0.01/100.
        static double Lin(double start, double end, double pct) => ((end - start) * pct) + start;
        var expected = new double[21];
        for (int t = 0; t <= 20; t++)
        {
            expected[t] = t <= 4 ? Lin(0.01, 0.1, t / 4.0)
                : t <= 8 ? Lin(0.1, 0.01, (t - 4) / 4.0)
                : Lin(0.01, 1e-4, (t - 8) / 11.0);
        }

        SGD sgd = NewSgd();
        var scheduler = new OneCycleLR(sgd, 0.1, 20, pctStart: 0.25, annealStrategy: AnnealStrategy.Linear,
                                       cycleMomentum: false, divFactor: 10, finalDivFactor: 100, threePhase: true);
        AssertSequence(expected, Run(scheduler, 20));
        Assert.Equal(0.9, sgd.ParamGroups[0].Momentum);
    }

    [Fact]
    public void OneCycleLR_BadArguments_Throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(NewSgd(), 0.1, totalSteps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycleLR(NewSgd(), 0.1, 10, pctStart: 1.5));
        Assert.Throws<ArgumentException>(() => new OneCycleLR(NewSgd(), [0.1, 0.2], 10));
    }

    [Fact]
    public void SequentialLR_LinearWarmupThenCosine_ComposesAsPyTorch()
    {
        SGD sgd = NewSgd();
        var warmup = new LinearLR(sgd, startFactor: 1.0 / 3, totalIters: 3);
        var cosine = new CosineAnnealingLR(sgd, tMax: 7, etaMin: 0.001);
        var scheduler = new SequentialLR(sgd, [warmup, cosine], [3]);
        var expected = new double[11];
        for (int t = 0; t < expected.Length; t++)
        {
            expected[t] = t < 3
                ? 0.1 * ((1.0 / 3) + ((2.0 / 3) * t / 3))
                : 0.001 + ((0.1 - 0.001) * (1 + Math.Cos(Math.PI * (t - 3) / 7)) / 2);
        }

        AssertSequence(expected, Run(scheduler, 10));
    }

    [Fact]
    public void SequentialLR_WrongMilestoneCount_Throws()
    {
        SGD sgd = NewSgd();
        Assert.Throws<ArgumentException>(() => new SequentialLR(sgd, [new LinearLR(sgd), new StepLR(sgd, 2)], [3, 5]));
    }

    [Fact]
    public void ChainedScheduler_StepAndWarmup_MultipliesFactors()
    {
        SGD sgd = NewSgd();
        var chained = new ChainedScheduler([new StepLR(sgd, stepSize: 2, gamma: 0.5), new LinearLR(sgd, startFactor: 0.5, totalIters: 4)]);
        var expected = new double[8];
        for (int t = 0; t < expected.Length; t++)
        {
            expected[t] = 0.1 * Math.Pow(0.5, t / 2) * (0.5 + (0.5 * Math.Min(t, 4) / 4));
        }

        AssertSequence(expected, Run(chained, 7));
    }

    [Fact]
    public void Constructor_First_SetsInitialLrOnce()
    {
        SGD sgd = NewSgd(lr: 0.2);
        _ = new StepLR(sgd, 1, 0.5);
        _ = new LinearLR(sgd);
        Assert.Equal(0.2, sgd.ParamGroups[0].InitialLr);
    }

    [Fact]
    public void LoadStateDict_OneCycleWithOptimizer_ResumesExactly()
    {
        SGD first = NewSgd();
        var a = new OneCycleLR(first, 0.1, 30);
        for (int t = 0; t < 7; t++)
        {
            a.Step();
        }

        SGD second = NewSgd();
        var b = new OneCycleLR(second, 0.1, 30);
        second.LoadStateDict(first.StateDict());
        b.LoadStateDict(a.StateDict());
        Assert.Equal(7, b.LastEpoch);
        for (int t = 0; t < 10; t++)
        {
            a.Step();
            b.Step();
            Assert.Equal(first.Lr, second.Lr);
            Assert.Equal(first.ParamGroups[0].Momentum, second.ParamGroups[0].Momentum);
        }
    }

    [Fact]
    public void LoadStateDict_SequentialLR_ResumesExactly()
    {
        static SequentialLR Make(SGD sgd) =>
            new(sgd, [new LinearLR(sgd, totalIters: 3), new StepLR(sgd, 2, 0.5)], [3]);
        SGD first = NewSgd();
        SequentialLR a = Make(first);
        for (int t = 0; t < 2; t++)
        {
            a.Step();
        }

        SGD second = NewSgd();
        SequentialLR b = Make(second);
        second.LoadStateDict(first.StateDict());
        b.LoadStateDict(a.StateDict());
        for (int t = 0; t < 6; t++)
        {
            a.Step();
            b.Step();
            Assert.Equal(first.Lr, second.Lr);
        }
    }

    [Fact]
    public void LoadStateDict_SequentialLR_RejectedPart_ChangesNothing()
    {
        SGD sgd = NewSgd();
        var warmup = new LinearLR(sgd, totalIters: 3);
        var step = new StepLR(sgd, 2, 0.5);
        var scheduler = new SequentialLR(sgd, [warmup, step], [3]);
        var saved = new Dictionary<string, Tensor>(scheduler.StateDict());
        for (int t = 0; t < 4; t++)
        {
            scheduler.Step();
        }

        int warmupEpoch = warmup.LastEpoch;
        int stepEpoch = step.LastEpoch;

        // The first sub-scheduler's part is valid, the second's is missing a key: nothing may change.
        saved.Remove("schedulers.1.last_epoch");
        Assert.Throws<InvalidDataException>(() => scheduler.LoadStateDict(saved));
        Assert.Equal(warmupEpoch, warmup.LastEpoch);
        Assert.Equal(stepEpoch, step.LastEpoch);
    }

    [Fact]
    public void LoadStateDict_MissingKey_ThrowsNamingKey()
    {
        var scheduler = new StepLR(NewSgd(), 2);
        var dict = new Dictionary<string, Tensor>(scheduler.StateDict());
        dict.Remove("last_epoch");
        var ex = Assert.Throws<InvalidDataException>(() => scheduler.LoadStateDict(dict));
        Assert.Contains("'last_epoch'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadStateDict_UnknownKey_ThrowsNamingKey()
    {
        var scheduler = new StepLR(NewSgd(), 2);
        var dict = new Dictionary<string, Tensor>(scheduler.StateDict()) { ["base_lrs.4"] = Tensor.Zeros(3) };
        var ex = Assert.Throws<InvalidDataException>(() => scheduler.LoadStateDict(dict));
        Assert.Contains("'base_lrs.4'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Step_SgdDrivenByScheduler_UsesScheduledRate()
    {
        Parameter p = NewParameter([1.0]);
        var sgd = new SGD([p], lr: 0.1);
        var scheduler = new StepLR(sgd, stepSize: 1, gamma: 0.5);
        SetGrad(p, [1.0]);
        sgd.Step(); // 1 − 0.1
        scheduler.Step();
        sgd.Step(); // 0.9 − 0.05
        AssertClose([0.85], p.Data);
    }
}
