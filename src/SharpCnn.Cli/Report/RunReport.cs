using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using SharpCnn.Data;
using SharpCnn.Nn;
using SharpCnn.Serialization;
using SharpCnn.Vision.Datasets;
using SharpCnn.Vision.Models;
using SharpCnn.Vision.Transforms;

namespace SharpCnn.Cli.Report;

/// <summary>
/// Writes <c>report.html</c> for a run folder of <c>sharpcnn train</c>: one self-contained file (pictures embedded as
/// base64 PNG, inline CSS, no script) with the run summary, loss/accuracy curves, the learning-rate schedule, the
/// confusion matrix, the first layer's filters, per-stage feature maps of one test image and the most confident mistakes.
/// </summary>
/// <remarks>
/// The model sections come from evaluating a checkpoint on the test set; a run folder without <c>best.safetensors</c>
/// and <c>last.safetensors</c> still gets the curves, with a note saying why the rest is missing. The same inputs give a
/// byte-identical file (nothing time-dependent is written).
/// </remarks>
internal static class RunReport
{
    /// <summary>The HTML section ids, in page order (the model sections only with a checkpoint).</summary>
    public static readonly string[] SectionIds = ["summary", "curves", "lr", "confusion", "filters", "features", "mistakes"];

    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    /// <summary>
    /// Writes the report of run folder <paramref name="runDir"/> (atomically) and returns its path. Call it at the end of
    /// training as <c>RunReport.Write(runDir, new ReportOptions { DataDir = dataDir })</c>.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The run folder does not exist.</exception>
    /// <exception cref="FileNotFoundException">metrics.csv, the test data, or a checkpoint file named explicitly is missing.</exception>
    /// <exception cref="InvalidDataException">metrics.csv or the checkpoint is malformed, or the checkpoint does not fit its model.</exception>
    public static string Write(string runDir, ReportOptions options)
    {
        ArgumentException.ThrowIfNullOrEmpty(runDir);
        ArgumentNullException.ThrowIfNull(options);
        if (!Directory.Exists(runDir))
        {
            throw new DirectoryNotFoundException(File.Exists(runDir)
                ? $"\"{runDir}\" is a file; expected a run folder written by 'sharpcnn train' (holding metrics.csv and the checkpoints)."
                : $"run folder \"{runDir}\" does not exist.");
        }

        Action<string> log = options.Log ?? (_ => { });
        MetricsTable metrics = MetricsTable.Load(Path.Combine(runDir, "metrics.csv"));
        var page = new Page();
        string? checkpointPath = ResolveCheckpoint(runDir, options.Checkpoint, page);
        CheckpointData? checkpoint = checkpointPath is null ? null : Checkpoint.Read(checkpointPath);
        Inspection? inspection = null;
        if (checkpoint is not null)
        {
            inspection = Inspect(checkpoint, checkpointPath!, options, log);
        }

        string title = checkpoint is null ? "Training report" : $"Training report: {checkpoint.Info.ModelName}";
        page.Header(title, runDir);
        Summary(page, runDir, metrics, checkpoint, checkpointPath, inspection);
        Curves(page, metrics);
        LearningRate(page, metrics, checkpoint, runDir);
        if (inspection is not null)
        {
            Confusion(page, inspection);
            Filters(page, inspection);
            Features(page, inspection);
            Mistakes(page, inspection);
        }

        string output = options.Out ?? Path.Combine(runDir, "report.html");
        string? dir = Path.GetDirectoryName(Path.GetFullPath(output));
        if (dir is not null)
        {
            Directory.CreateDirectory(dir);
        }

        byte[] html = Encoding.UTF8.GetBytes(page.Finish());
        AtomicFile.Write(output, s => s.Write(html));
        log($"report: {output} ({html.Length / 1024.0:F0} KiB)");
        return output;
    }

    /// <summary>The checkpoint file to inspect, or null (with a note on the page) when the default files are both absent.</summary>
    private static string? ResolveCheckpoint(string runDir, string choice, Page page)
    {
        string best = Path.Combine(runDir, "best.safetensors");
        string last = Path.Combine(runDir, "last.safetensors");
        switch (choice)
        {
            case "best":
                if (File.Exists(best))
                {
                    return best;
                }

                if (File.Exists(last))
                {
                    page.Note("best.safetensors is missing; the model sections use last.safetensors.");
                    return last;
                }

                page.Note("The run folder holds no checkpoint (best.safetensors or last.safetensors), so this report has the " +
                    "curves only: no confusion matrix, filters, feature maps or misclassified images.");
                return null;
            case "last":
                return File.Exists(last) ? last : throw new FileNotFoundException($"checkpoint \"{last}\" does not exist (--checkpoint last).", last);
            default:
                return File.Exists(choice) ? choice : throw new FileNotFoundException($"checkpoint \"{choice}\" does not exist.", choice);
        }
    }

    /// <summary>Everything the model sections show.</summary>
    private sealed record Inspection(
        string ModelName,
        long Parameters,
        string DataName,
        string DataDir,
        IReadOnlyList<string> Classes,
        int TestCount,
        TestEvaluation Evaluation,
        Normalize? Normalization,
        (string Path, Tensor Weight)? FirstConv,
        (int Index, int Label, int Predicted, double Confidence, float[] Image, int[] Shape) Sample,
        IReadOnlyList<FeatureStage> Stages,
        IReadOnlyList<(Mistake Mistake, float[] Image, int[] Shape)> Mistakes,
        int MaxChannels);

    private static Inspection Inspect(CheckpointData checkpoint, string path, ReportOptions options, Action<string> log)
    {
        string modelName = checkpoint.Info.ModelName;
        string dataName = Commands.RecordedData(checkpoint.Info);
        string dataDir = options.DataDir ?? DatasetCatalog.DefaultDirectory(dataName);
        int padding = Commands.DataPadding(dataName, modelName);
        IClassDataset test;
        try
        {
            test = Commands.OpenTestSplit(dataName, dataDir, padding, modelName);
        }
        catch (FileNotFoundException e)
        {
            throw new FileNotFoundException($"the {dataName} test set was not found in \"{dataDir}\" ({e.Message}); pass --data-dir DIR.", e);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"checkpoint \"{path}\" records data \"{dataName}\", which this version cannot open: {e.Message}", e);
        }

        IDataset evaluated = options.Limit is int limit ? new PrefixDataset(test, limit) : test;
        if (evaluated.Count == 0)
        {
            throw new InvalidDataException($"the {dataName} test set in \"{dataDir}\" has no images to evaluate.");
        }

        int[] sampleShape = evaluated is IRowDataset rows ? [.. rows.SampleShape] : evaluated.Get(0).Input.Shape;
        int classes = test.Classes.Count;
        Module model;
        try
        {
            model = ModelZoo.Create(modelName, classes, inChannels: sampleShape[0]);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"checkpoint \"{path}\" names model \"{modelName}\", which cannot be built: {e.Message}", e);
        }

        model.LoadStateDict(checkpoint.Model);
        log($"evaluating {Path.GetFileName(path)} ({modelName}) on {evaluated.Count:N0} {dataName} test images from {dataDir}");
        TestEvaluation evaluation;
        try
        {
            evaluation = ModelInspection.Evaluate(model, evaluated, classes, options.MaxMistakes);
        }
        catch (ArgumentException e)
        {
            // A layer refused the input: the data in DIR is not what the model was trained on.
            throw new InvalidDataException(
                $"model {modelName} cannot take the {string.Join('x', sampleShape)} test images in \"{dataDir}\": {e.Message}", e);
        }

        // Feature maps and the first filters come from one forward pass of test image 0.
        (Tensor sampleInput, int sampleLabel) = evaluated.Get(0);
        Tensor batchOfOne = sampleInput.Reshape([1, .. sampleInput.Shape]);
        (string, Tensor)? firstConv = ModelInspection.FirstConv(model, batchOfOne);
        IReadOnlyList<FeatureStage> stages = ModelInspection.CaptureStages(model, batchOfOne);
        Tensor sampleLogits;
        model.Eval();
        using (Autograd.Autograd.NoGrad())
        {
            sampleLogits = model.Call(batchOfOne);
        }

        (int samplePredicted, double sampleConfidence) = ModelInspection.ArgMaxSoftmax(sampleLogits.Data);
        List<(Mistake, float[], int[])> mistakes = [.. evaluation.Mistakes.Select(m =>
        {
            Tensor image = evaluated.Get(m.Index).Input;
            return (m, image.ToArray(), image.Shape);
        })];
        return new Inspection(modelName, model.ParameterCount(), dataName, dataDir, test.Classes, evaluated.Count, evaluation,
            DisplayNormalization(dataName), firstConv, (0, sampleLabel, samplePredicted, sampleConfidence, sampleInput.ToArray(), sampleInput.Shape),
            stages, mistakes, options.MaxChannels);
    }

    private static void Summary(Page page, string runDir, MetricsTable metrics, CheckpointData? checkpoint, string? checkpointPath, Inspection? inspection)
    {
        page.Section("summary", "Run summary");
        var facts = new List<(string, string)>();
        if (checkpoint is not null)
        {
            string model = checkpoint.Info.ModelName;
            string description = ModelZoo.Entries.FirstOrDefault(e => string.Equals(e.Name, model, StringComparison.OrdinalIgnoreCase))?.Description ?? "";
            facts.Add(("Model", description.Length > 0 ? $"<strong>{E(model)}</strong> — {E(description)}" : $"<strong>{E(model)}</strong>"));
        }

        if (inspection is not null)
        {
            facts.Add(("Parameters", inspection.Parameters.ToString("N0", s_inv)));
            facts.Add(("Data", $"{E(inspection.DataName)} ({inspection.Classes.Count} classes; test set read from <code>{E(inspection.DataDir)}</code>)"));
        }

        facts.Add(("Run folder", $"<code>{E(Path.GetFullPath(runDir))}</code>"));
        facts.Add(("Epochs recorded", metrics.Count.ToString(s_inv)));
        double[]? testAcc = metrics.Column("test_accuracy");
        double[]? epochs = metrics.Column(MetricsTable.EpochColumn);
        if (testAcc is not null && testAcc.Any(double.IsFinite))
        {
            int best = Enumerable.Range(0, testAcc.Length).Where(i => double.IsFinite(testAcc[i])).MaxBy(i => testAcc[i]);
            facts.Add(("Best test accuracy", $"<strong>{Pct(testAcc[best])}</strong> (epoch {epochs![best].ToString(s_inv)})"));
            facts.Add(("Final test accuracy", $"{Pct(testAcc[^1])} (epoch {epochs[^1].ToString(s_inv)})"));
        }

        double[]? trainAcc = metrics.Column("train_accuracy");
        if (trainAcc is not null && trainAcc.Length > 0)
        {
            facts.Add(("Final training accuracy", Pct(trainAcc[^1])));
        }

        double[]? seconds = metrics.Column("seconds");
        if (seconds is not null && seconds.Length > 0)
        {
            double total = seconds.Where(double.IsFinite).Sum();
            facts.Add(("Training time", $"{Duration(total)} ({(total / Math.Max(seconds.Length, 1)).ToString("F1", s_inv)} s per epoch)"));
        }

        if (checkpoint is not null)
        {
            CheckpointInfo info = checkpoint.Info;
            facts.Add(("Checkpoint inspected", $"<code>{E(Path.GetFileName(checkpointPath!))}</code>: epoch {info.Epoch}, step {info.GlobalStep:N0}" +
                (double.IsFinite(info.BestAccuracy) ? $", best accuracy {Pct(info.BestAccuracy)}" : "")));
            facts.Add(("Seed", info.Seed.ToString(s_inv)));
            if (info.DataSha256.Length > 0)
            {
                facts.Add(("Training data SHA-256", $"<code>{E(info.DataSha256)}</code>"));
            }
        }

        if (inspection is not null)
        {
            facts.Add(("Report evaluation", $"{Pct(inspection.Evaluation.Accuracy)} of {inspection.TestCount:N0} test images " +
                $"({inspection.Evaluation.MistakeCount:N0} wrong) with this checkpoint"));
        }

        page.Facts(facts);
        JsonObject? hp = checkpoint is null ? null : ParseObject(checkpoint.Info.HyperParameters);
        if (hp is not null && hp.Count > 0)
        {
            page.Raw("<h3>Hyper-parameters</h3>");
            page.Facts([.. hp.Select(kv => (kv.Key, $"<code>{E(kv.Value?.ToString() ?? "null")}</code>"))]);
        }

        page.EndSection();
    }

    private static void Curves(Page page, MetricsTable metrics)
    {
        page.Section("curves", "Loss and accuracy");
        double[] x = metrics.Column(MetricsTable.EpochColumn)!;
        string[] lossColumns = [.. metrics.Columns.Where(c => c.EndsWith("_loss", StringComparison.Ordinal))];
        string[] accColumns = [.. metrics.Columns.Where(c => c.EndsWith("_accuracy", StringComparison.Ordinal))];
        byte[]? loss = Charts.Line("Loss per epoch", "epoch", "mean cross-entropy (log scale)",
            [.. lossColumns.Select(c => new ChartSeries(Label(c), x, metrics.Column(c)!))], logY: true);
        byte[]? accuracy = Charts.Line("Accuracy per epoch", "epoch", "accuracy (%)",
            [.. accColumns.Select(c => new ChartSeries(Label(c), x, [.. metrics.Column(c)!.Select(v => v * 100)]))]);
        if (loss is null && accuracy is null)
        {
            page.Note("metrics.csv has no finite loss or accuracy values to plot.");
        }

        page.Paragraph("Training values are running means over the epoch (the weights change while they are measured); test values " +
            "are measured once at the end of the epoch. A test loss that rises while the training loss keeps falling is the sign of over-fitting.");
        page.Figures([.. new[] { (loss, "Loss curves"), (accuracy, "Accuracy curves") }.Where(f => f.Item1 is not null).Select(f => (f.Item1!, f.Item2, ""))], "chart");
        page.MetricsTable(metrics);
        page.EndSection();
    }

    private static void LearningRate(Page page, MetricsTable metrics, CheckpointData? checkpoint, string runDir)
    {
        page.Section("lr", "Learning-rate schedule");
        double[]? lr = metrics.Column("lr");
        if (lr is null || !lr.Any(double.IsFinite))
        {
            page.Note(lr is null ? "metrics.csv has no lr column." : "metrics.csv records no learning rate yet.");
            page.EndSection();
            return;
        }

        double[] epochs = metrics.Column(MetricsTable.EpochColumn)!;
        var series = new List<ChartSeries>();
        double[]? replay = null;
        if (checkpoint is not null)
        {
            // The per-step schedule, replayed from the hyper-parameters of last.safetensors (whose step count is final).
            string last = Path.Combine(runDir, "last.safetensors");
            CheckpointInfo info = File.Exists(last) ? Checkpoint.Read(last).Info : checkpoint.Info;
            int batches = info.Epoch > 0 && info.BatchInEpoch == 0 && info.GlobalStep % info.Epoch == 0 ? (int)(info.GlobalStep / info.Epoch) : 0;
            replay = LrSchedule.Replay(info.HyperParameters, batches,
                [.. Enumerable.Range(0, lr.Length).Select(i => ((int)epochs[i], lr[i]))]);
            if (replay is not null)
            {
                series.Add(new ChartSeries("every step (replayed)", [.. Enumerable.Range(1, replay.Length).Select(s => (double)s / batches)], replay, Markers: false));
            }
        }

        series.Add(new ChartSeries("end of epoch (metrics.csv)", epochs, lr, Lines: replay is null));
        page.Paragraph(replay is not null
            ? "The line is the rate of every optimizer step, replayed from the recorded scheduler settings; it reproduces every " +
              "end-of-epoch rate in metrics.csv, drawn as dots. The x axis counts epochs (fractions are batches within an epoch)."
            : "The rate at the end of each epoch, as recorded in metrics.csv (the run has no finer record).");
        page.Figures([(Charts.Line("Learning rate", "epoch", "learning rate", series)!, "Learning-rate schedule", "")], "chart");
        page.EndSection();
    }

    /// <summary>Above this many classes the matrix is drawn as a picture without counts (a table would be unreadable).</summary>
    public const int MaxTableClasses = 40;

    private static void Confusion(Page page, Inspection r)
    {
        page.Section("confusion", "Confusion matrix");
        long[,] confusion = r.Evaluation.Confusion;
        int k = confusion.GetLength(0);
        if (k <= MaxTableClasses)
        {
            page.Paragraph($"Rows are the true classes, columns the predicted ones, counted over {r.TestCount:N0} test images; each cell's " +
                "shade is its share of the row (blue on the diagonal: correct; red off it: mistakes). The last column is each class's " +
                "recall, the last row each prediction's precision.");
            page.ConfusionTable(confusion, r.Classes);
        }
        else
        {
            int cell = Math.Max(1, 640 / k);
            page.Paragraph($"{k} classes are too many for a table of counts: one square per (true row, predicted column) pair over " +
                $"{r.TestCount:N0} test images, shaded by its share of the row (blue on the diagonal, red off it), classes in label order.");
            page.Figures([(ConfusionImage(confusion, cell).ToPng(), $"confusion matrix of {k} classes", "")], "pixels");
        }

        var pairs = new List<(int True, int Predicted, long Count)>();
        for (int i = 0; i < k; i++)
        {
            for (int j = 0; j < k; j++)
            {
                if (i != j && confusion[i, j] > 0)
                {
                    pairs.Add((i, j, confusion[i, j]));
                }
            }
        }

        if (pairs.Count > 0)
        {
            page.Raw("<h3>Most frequent confusions</h3>");
            page.Table(["true class", "predicted as", "images", "share of the true class"],
                [.. pairs.OrderByDescending(p => p.Count).ThenBy(p => p.True).ThenBy(p => p.Predicted).Take(10).Select(p =>
                {
                    long row = 0;
                    for (int j = 0; j < k; j++)
                    {
                        row += confusion[p.True, j];
                    }

                    return (string[])[r.Classes[p.True], r.Classes[p.Predicted], p.Count.ToString("N0", s_inv), Pct((double)p.Count / row)];
                })]);
        }

        page.EndSection();
    }

    /// <summary>The confusion matrix as a picture of <paramref name="cell"/>-pixel squares, shaded as the table's cells.</summary>
    internal static PixelImage ConfusionImage(long[,] confusion, int cell)
    {
        int k = confusion.GetLength(0);
        var image = new PixelImage(k * cell, k * cell, (255, 255, 255));
        for (int i = 0; i < k; i++)
        {
            long row = 0;
            for (int j = 0; j < k; j++)
            {
                row += confusion[i, j];
            }

            for (int j = 0; j < k; j++)
            {
                double share = row == 0 ? 0 : (double)confusion[i, j] / row;
                double alpha = i == j ? share : Math.Sqrt(share);
                (byte r, byte g, byte b) = i == j ? ((byte)40, (byte)87, (byte)164) : ((byte)179, (byte)38, (byte)30);
                static byte Blend(byte c, double a) => (byte)Math.Round(255 + ((c - 255) * a));
                image.FillRect(j * cell, i * cell, cell, cell, (Blend(r, alpha), Blend(g, alpha), Blend(b, alpha)));
            }
        }

        return image;
    }

    private static void Filters(Page page, Inspection r)
    {
        page.Section("filters", "First-layer filters");
        if (r.FirstConv is not (string path, Tensor weight))
        {
            page.Note($"{r.ModelName} has no convolution, so there are no filters to show.");
            page.EndSection();
            return;
        }

        int[] s = weight.Shape; // (out, in, kH, kW)
        (int outC, int inC, int kh, int kw) = (s[0], s[1], s[2], s[3]);
        bool rgb = inC == 3;
        ReadOnlySpan<float> w = weight.Data;
        var tiles = new List<float[]>();
        for (int o = 0; o < outC; o++)
        {
            ReadOnlySpan<float> filter = w.Slice(o * inC * kh * kw, inC * kh * kw);
            if (rgb || inC == 1)
            {
                tiles.Add(ImageGrid.MinMax(filter));
            }
            else
            {
                var mean = new float[kh * kw];
                for (int i = 0; i < mean.Length; i++)
                {
                    for (int c = 0; c < inC; c++)
                    {
                        mean[i] += filter[(c * kh * kw) + i] / inC;
                    }
                }

                tiles.Add(ImageGrid.MinMax(mean));
            }
        }

        int scale = ImageGrid.ScaleFor(Math.Max(kh, kw), 64);
        PixelImage image = ImageGrid.Render(tiles, kh, kw, Math.Min(outC, 16), scale, rgb ? TileColour.Rgb : TileColour.Gray);
        page.Paragraph($"The {outC} learned {kh}×{kw} kernels of <code>{E(path)}</code> (weight {outC}×{inC}×{kh}×{kw}), each scaled " +
            "from its own minimum (black) to maximum (white)" + (rgb ? ", the three input channels shown as red, green and blue" :
            inC == 1 ? "" : $", averaged over its {inC} input channels") + ". First-layer filters of a trained network look like " +
            "edge, stroke and blob detectors.");
        page.Figures([(image.ToPng(), $"{outC} filters of {path}", "")], "pixels");
        page.EndSection();
    }

    private static void Features(Page page, Inspection r)
    {
        page.Section("features", "Feature maps");
        var sample = r.Sample;
        page.Paragraph($"What each convolutional stage computes for test image #{sample.Index} (true class {E(r.Classes[sample.Label])}, " +
            $"predicted {E(r.Classes[sample.Predicted])} with {Pct(sample.Confidence)}). Each map is scaled from its own minimum " +
            "(dark blue) to maximum (yellow). Early stages respond to strokes and edges at their place in the image; deeper " +
            "stages are coarser and respond to combinations of them.");
        int sh = sample.Shape[^2];
        int sw = sample.Shape[^1];
        int sc = sample.Shape.Length == 3 ? sample.Shape[0] : 1;
        byte[] input = DisplayImage(sample.Image, sc, sh, sw, r.Normalization, 112).ToPng();
        var figures = new List<(byte[], string, string)> { (input, $"input image #{sample.Index}", $"input — {sc}×{sh}×{sw}") };
        if (r.Stages.Count == 0)
        {
            page.Figures(figures, "pixels");
            page.Note($"{r.ModelName} has no convolutional stage with spatial maps larger than 1×1.");
            page.EndSection();
            return;
        }

        foreach (FeatureStage stage in r.Stages)
        {
            int shown = Math.Min(stage.Channels, r.MaxChannels);
            int plane = stage.Height * stage.Width;
            List<float[]> tiles = [.. Enumerable.Range(0, shown).Select(c => ImageGrid.MinMax(stage.Maps.AsSpan(c * plane, plane)))];
            int scale = ImageGrid.ScaleFor(Math.Max(stage.Height, stage.Width), 56);
            PixelImage grid = ImageGrid.Render(tiles, stage.Height, stage.Width, 8, scale, TileColour.Viridis);
            string caption = $"<code>{E(stage.Path)}</code> {E(stage.Description)} — {stage.Channels}×{stage.Height}×{stage.Width}" +
                (shown < stage.Channels ? $" (first {shown} of {stage.Channels} channels)" : "");
            figures.Add((grid.ToPng(), $"feature maps of {stage.Path}", caption));
        }

        page.Figures(figures, "pixels stack");
        page.EndSection();
    }

    private static void Mistakes(Page page, Inspection r)
    {
        page.Section("mistakes", "Misclassified test images");
        if (r.Mistakes.Count == 0)
        {
            page.Paragraph($"None: all {r.TestCount:N0} test images evaluated were classified correctly.");
            page.EndSection();
            return;
        }

        page.Paragraph($"The {r.Mistakes.Count} most confident of the {r.Evaluation.MistakeCount:N0} mistakes, most confident first: " +
            "the true class, the prediction and the probability the model gave it, and the image's index in the test set.");
        List<(byte[], string, string)> tiles = [.. r.Mistakes.Select(m =>
        {
            int c = m.Shape.Length == 3 ? m.Shape[0] : 1;
            byte[] png = DisplayImage(m.Image, c, m.Shape[^2], m.Shape[^1], r.Normalization, 84).ToPng();
            string truth = E(r.Classes[m.Mistake.Label]);
            string predicted = E(r.Classes[m.Mistake.Predicted]);
            return (png, $"test image {m.Mistake.Index}: true {truth}, predicted {predicted}",
                $"true <strong>{truth}</strong> → <span class=\"bad\">{predicted}</span><br>{Pct(m.Mistake.Confidence)} · #{m.Mistake.Index}");
        })];
        page.Figures(tiles, "pixels gallery");
        page.EndSection();
    }

    /// <summary>
    /// The normalisation the named dataset's reader applies, undone to display its images; null (each image then scaled
    /// by its own minimum and maximum) for a dataset not listed here.
    /// </summary>
    internal static Normalize? DisplayNormalization(string dataName)
    {
        try
        {
            return DatasetCatalog.Normalization(dataName);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    /// <summary>A test image un-normalised for display (min/max scaled when the normalisation is unknown), enlarged to about <paramref name="target"/> pixels.</summary>
    internal static PixelImage DisplayImage(float[] image, int channels, int h, int w, Normalize? normalization, int target)
    {
        float[] shown = ImageGrid.Denormalize(image, channels, normalization?.Mean, normalization?.Std);
        TileColour colour = channels == 3 ? TileColour.Rgb : TileColour.Gray;
        if (channels is not (1 or 3))
        {
            shown = shown[..(h * w)];
        }

        return ImageGrid.Render([shown], h, w, 1, ImageGrid.ScaleFor(Math.Max(h, w), target), colour);
    }

    private static JsonObject? ParseObject(string json)
    {
        try
        {
            return JsonNode.Parse(json) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string Label(string column) => column.Replace('_', ' ');

    private static string Pct(double fraction) => double.IsFinite(fraction) ? (fraction * 100).ToString("F2", s_inv) + "%" : "n/a";

    private static string Duration(double seconds) => seconds < 120
        ? seconds.ToString("F1", s_inv) + " s"
        : TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss", s_inv);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
