using SharpCnn.Data;
using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;
using SharpCnn.Training;
using SharpCnn.Vision.Models;

namespace SharpCnn.Vision.Tests.Models;

/// <summary>
/// Zoo models trained by the <see cref="Trainer"/> (a pooled <see cref="TensorScope"/> per step, recycled gradients,
/// pooled batches) end bit-identical to the same steps in a plain loop without scopes.
/// </summary>
public class ScopedZooTrainingTests
{
    [Theory]
    [InlineData("lenet5")]        // conv, ReLU, max-pool, linear
    [InlineData("lenet5-paper")]  // tanh, trainable subsampling, connection table (IndexSelect, Cat), RBF
    [InlineData("resnet20")]      // batch norm, residual adds, option-A shortcuts (strided pool, zero blocks, Cat)
    public void Trainer_EqualsPlainLoopBitForBit(string name)
    {
        ModelZooEntry entry = ModelZoo.Find(name);
        var g = new Generator(4);
        int n = 12;
        var data = new TensorDataset(Tensor.Randn(g, n, entry.Input.C, entry.Input.H, entry.Input.W), [.. Enumerable.Range(0, n).Select(i => i % 10)]);
        var loader = new DataLoader(data, 4, shuffle: true, seed: 6);

        Module reference = ModelZoo.Create(name);
        Module model = ModelZoo.Create(name);
        model.LoadStateDict(reference.StateDict());
        var referenceOpt = new SGD(reference.Parameters(), lr: 0.02, momentum: 0.9, weightDecay: 1e-4);
        var opt = new SGD(model.Parameters(), lr: 0.02, momentum: 0.9, weightDecay: 1e-4);

        foreach (Batch batch in loader.GetEpoch(0))
        {
            referenceOpt.ZeroGrad();
            F.CrossEntropy(reference.Call(batch.Inputs), batch.Targets).Backward();
            referenceOpt.Step();
        }

        var trainer = new Trainer(model, opt, null, loader, null, new Generator(1), new TrainerOptions { ModelName = name });
        Assert.Equal(TrainingOutcome.Completed, trainer.Fit());

        var expected = reference.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        foreach ((string key, Parameter p) in reference.NamedParameters())
        {
            expected[key + ".grad"] = p.Grad!.ToArray();
        }

        var actual = model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.ToArray());
        foreach ((string key, Parameter p) in model.NamedParameters())
        {
            actual[key + ".grad"] = p.Grad!.ToArray();
        }

        Assert.Equal(expected.Keys, actual.Keys);
        foreach ((string key, float[] e) in expected)
        {
            Assert.True(e.Select(BitConverter.SingleToInt32Bits).SequenceEqual(actual[key].Select(BitConverter.SingleToInt32Bits)), $"{name}: {key} differs");
        }
    }
}
