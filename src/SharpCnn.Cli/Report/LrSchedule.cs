using System.Globalization;
using System.Text.Json.Nodes;
using SharpCnn.Nn;
using SharpCnn.Optim;

namespace SharpCnn.Cli.Report;

/// <summary>
/// The learning rate at every optimizer step of a run, replayed from its recorded hyper-parameters. metrics.csv keeps
/// only the rate at the end of each epoch; the per-batch schedules (onecycle, cosine) change within an epoch, so the
/// report replays the schedule on a one-parameter optimizer and draws the full curve, but only when the replay
/// reproduces every recorded end-of-epoch rate (otherwise, e.g. after a resume with more epochs, it is not shown).
/// </summary>
internal static class LrSchedule
{
    /// <summary>Relative tolerance between a replayed and a recorded rate (metrics.csv writes 9 significant digits).</summary>
    public const double Tolerance = 1e-6;

    /// <summary>
    /// The replayed rate per step: element s is the rate used for optimizer step s + 1 (x = fractional epoch (s+1)/batches);
    /// null when the hyper-parameters lack what the replay needs, name an unknown scheduler, or the replay disagrees with
    /// <paramref name="recordedEpochEndLr"/> (index e−1 is the rate after epoch e).
    /// </summary>
    public static double[]? Replay(string hyperParametersJson, int batchesPerEpoch, IReadOnlyList<(int Epoch, double Lr)> recordedEpochEndLr)
    {
        if (batchesPerEpoch <= 0 || recordedEpochEndLr.Count == 0)
        {
            return null;
        }

        JsonObject? hp;
        try
        {
            hp = JsonNode.Parse(hyperParametersJson) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }

        string? scheduler = Text(hp, "scheduler");
        string? lrText = Text(hp, "lr");
        string? epochsText = Text(hp, "epochs");
        if (scheduler is null || lrText is null || epochsText is null
            || !double.TryParse(lrText, NumberStyles.Float, CultureInfo.InvariantCulture, out double lr)
            || !int.TryParse(epochsText, NumberStyles.Integer, CultureInfo.InvariantCulture, out int epochs) || epochs <= 0)
        {
            return null;
        }

        int totalSteps = checked(epochs * batchesPerEpoch);
        var optimizer = new SGD([new Parameter(Tensor.Zeros(1))], lr, momentum: 0.9);
        LRScheduler? schedule = scheduler switch
        {
            "onecycle" => new OneCycleLR(optimizer, lr, totalSteps),
            "cosine" => new CosineAnnealingLR(optimizer, totalSteps),
            "step" => new StepLR(optimizer, 1, 0.7),
            "none" => null,
            _ => null,
        };
        if (schedule is null && scheduler != "none")
        {
            return null;
        }

        // Rate of step s (0-based) is the optimizer's rate before the step; per-batch schedulers then step once,
        // per-epoch ones at each epoch's end (as Trainer does).
        bool perEpoch = scheduler == "step";
        var rates = new double[totalSteps];
        var epochEnd = new double[epochs];
        for (int s = 0; s < totalSteps; s++)
        {
            rates[s] = optimizer.Lr;
            if (!perEpoch)
            {
                schedule?.Step();
            }

            if ((s + 1) % batchesPerEpoch == 0)
            {
                if (perEpoch)
                {
                    schedule?.Step();
                }

                epochEnd[((s + 1) / batchesPerEpoch) - 1] = optimizer.Lr;
            }
        }

        foreach ((int epoch, double recorded) in recordedEpochEndLr)
        {
            if (epoch < 1 || epoch > epochs || !double.IsFinite(recorded))
            {
                return null;
            }

            double replayed = epochEnd[epoch - 1];
            if (Math.Abs(replayed - recorded) > Tolerance * Math.Max(Math.Abs(recorded), 1e-12))
            {
                return null;
            }
        }

        return rates;
    }

    private static string? Text(JsonObject? o, string key) =>
        o?[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
