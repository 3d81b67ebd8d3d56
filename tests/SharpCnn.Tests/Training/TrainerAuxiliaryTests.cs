using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Training;

namespace SharpCnn.Tests.Training;

/// <summary>The trainer's handling of models with auxiliary heads (<see cref="IAuxiliaryOutputs"/>).</summary>
public sealed class TrainerAuxiliaryTests
{
    /// <summary>
    /// A main linear head that classifies the one-hot-like inputs correctly and an auxiliary head (weight 0.4)
    /// that gets them all wrong, so the main and auxiliary losses and accuracies differ.
    /// </summary>
    private sealed class TwoHeads : Module, IAuxiliaryOutputs
    {
        public const float AuxWeight = 0.4f;

        public TwoHeads()
        {
            Main = Add("main", new Linear(4, 4));
            Aux = Add("aux", new Linear(4, 4));
            var g = new Generator(3);
            for (int i = 0; i < 16; i++)
            {
                Main.Weight.Data[i] = (i / 4 == i % 4 ? 2f : 0f) + (0.1f * g.NextSingle());
                Aux.Weight.Data[i] = (i / 4 == i % 4 ? -1f : 0f) + (0.1f * g.NextSingle());
            }

            Main.Bias!.Data.Fill(0.05f);
            Aux.Bias!.Data.Fill(-0.05f);
        }

        public Linear Main { get; }

        public Linear Aux { get; }

        public int AuxiliaryCalls { get; private set; }

        public override Tensor Forward(Tensor input) => input.Flatten(1).Apply(Main);

        public AuxiliaryForward ForwardWithAuxiliary(Tensor input)
        {
            AuxiliaryCalls++;
            Tensor x = input.Flatten(1);
            return new AuxiliaryForward(x.Apply(Main), Training ? [new AuxiliaryOutput(x.Apply(Aux), AuxWeight)] : []);
        }
    }

    private static TensorDataset Data()
    {
        var x = new float[8 * 4];
        for (int i = 0; i < 8; i++)
        {
            x[(i * 4) + (i % 4)] = 1f;
            x[(i * 4) + ((i + 1) % 4)] = 0.25f;
        }

        return new TensorDataset(Tensor.FromArray(x, 8, 1, 2, 2), [.. Enumerable.Range(0, 8).Select(i => i % 4)]);
    }

    [Fact]
    public void Fit_AuxiliaryModel_OptimisesMainPlusWeightedAuxLoss_AccuracyFromMain()
    {
        const double Lr = 0.5;
        TensorDataset data = Data();
        var model = new TwoHeads();
        var trainer = new Trainer(model, new SGD(model.Parameters(), Lr), null, new DataLoader(data, 8), null, new Generator(1),
            new TrainerOptions { Epochs = 1, ModelName = "two-heads" });

        // The expected step, by hand on a copy: L = CE(main) + 0.4·CE(aux), θ ← θ − lr·∂L/∂θ.
        var reference = new TwoHeads();
        Tensor inputs = Tensor.FromArray([.. Enumerable.Range(0, 8).SelectMany(i => data.Get(i).Input.ToArray())], 8, 1, 2, 2);
        Tensor targets = Tensor.FromArray([.. Enumerable.Range(0, 8).Select(i => (float)(i % 4))]);
        Tensor x = inputs.Flatten(1);
        Tensor mainLoss = F.CrossEntropy(x.Apply(reference.Main), targets);
        Tensor auxLoss = F.CrossEntropy(x.Apply(reference.Aux), targets);
        Tensor total = mainLoss + (TwoHeads.AuxWeight * auxLoss);
        total.Backward();
        float[][] expected = [.. reference.Parameters().Select(p => p.ToArray().Zip(p.Grad!.ToArray(), (v, g) => (float)(v - (Lr * g))).ToArray())];

        trainer.Fit();

        Assert.Equal(1, model.AuxiliaryCalls);
        Assert.True(auxLoss.Item() > mainLoss.Item());
        Assert.Equal(total.Item(), trainer.History[0].TrainLoss, 5);
        Assert.Equal(1.0, trainer.History[0].TrainAccuracy);   // main head right, auxiliary head wrong
        float[][] actual = [.. model.Parameters().Select(p => p.ToArray())];
        for (int i = 0; i < expected.Length; i++)
        {
            for (int k = 0; k < expected[i].Length; k++)
            {
                Assert.Equal(expected[i][k], actual[i][k], 5);
            }
        }
    }

    [Fact]
    public void Evaluate_AuxiliaryModel_UsesMainOutputOnly()
    {
        var model = new TwoHeads();
        TensorDataset data = Data();
        (double loss, double accuracy) = Trainer.Evaluate(model, new DataLoader(data, 8));
        Tensor inputs = Tensor.FromArray([.. Enumerable.Range(0, 8).SelectMany(i => data.Get(i).Input.ToArray())], 8, 4);
        Tensor targets = Tensor.FromArray([.. Enumerable.Range(0, 8).Select(i => (float)(i % 4))]);
        Assert.Equal(F.CrossEntropy(inputs.Apply(model.Main), targets).Item(), loss, 5);
        Assert.Equal(1.0, accuracy);
        Assert.Equal(0, model.AuxiliaryCalls);
        Assert.True(model.Training);
    }
}
