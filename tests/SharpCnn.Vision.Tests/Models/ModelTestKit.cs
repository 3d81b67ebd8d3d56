using SharpCnn.Functional;
using SharpCnn.Nn;
using SharpCnn.Optim;

namespace SharpCnn.Vision.Tests.Models;

/// <summary>Small steps the model tests share.</summary>
internal static class ModelTestKit
{
    /// <summary>Switches <paramref name="model"/> to eval mode and runs <paramref name="input"/> through it without autograd.</summary>
    public static Tensor EvalForward(Module model, Tensor input)
    {
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            return model.Call(input);
        }
    }

    /// <summary>Runs <paramref name="steps"/> optimiser steps on one batch with cross-entropy; returns the first and last loss.</summary>
    public static (float First, float Last) Fit(Module model, Tensor x, Tensor y, Optimizer optimizer, int steps)
    {
        float first = float.NaN;
        float last = float.NaN;
        for (int step = 0; step < steps; step++)
        {
            optimizer.ZeroGrad();
            Tensor loss = F.CrossEntropy(model.Call(x), y);
            last = loss.Item();
            first = step == 0 ? last : first;
            loss.Backward();
            optimizer.Step();
        }

        return (first, last);
    }
}
