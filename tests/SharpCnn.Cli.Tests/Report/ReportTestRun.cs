using System.Globalization;
using System.Text.RegularExpressions;
using SharpCnn.Nn;
using SharpCnn.Serialization;
using SharpCnn.Training;
using SharpCnn.Vision.Models;

namespace SharpCnn.Cli.Tests.Report;

/// <summary>Run folders for the report tests: trained through the CLI on synthetic MNIST, or written directly.</summary>
internal static partial class ReportTestRun
{
    public static (int Code, string Out, string Err) Cli(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Trains <paramref name="model"/> for two epochs on the synthetic data in <paramref name="data"/>.</summary>
    public static void Train(string data, string runDir, string model = "lenet5", params string[] extra)
    {
        (int code, string output, string error) = Cli(["train", "--data-dir", data, "--out", runDir, "--threads", "2", "--seed", "5",
            "--epochs", "2", "--model", model, "--progress", "plain", .. extra]);
        Assert.True(code == 0, output + error);
    }

    /// <summary>
    /// A run folder without training: an untrained model's checkpoint (metadata as the trainer writes it) and a
    /// metrics.csv with the given rows.
    /// </summary>
    public static void WriteUntrained(string runDir, string model, int inChannels = 1, string? metricsCsv = null)
    {
        Directory.CreateDirectory(runDir);
        Module m = ModelZoo.Create(model, 10, inChannels);
        var info = new CheckpointInfo
        {
            ModelName = model,
            Epoch = 1,
            GlobalStep = 4,
            Seed = 7,
            HyperParameters = $$"""{"model":"{{model}}","data":"mnist","epochs":"1","batch-size":"64","scheduler":"none","lr":"0.1","seed":"7"}""",
        };
        Checkpoint.Save(Path.Combine(runDir, "best.safetensors"), info, m);
        Checkpoint.Save(Path.Combine(runDir, "last.safetensors"), info, m);
        File.WriteAllText(Path.Combine(runDir, "metrics.csv"), metricsCsv ??
            EpochMetrics.CsvHeader + "\n" + new EpochMetrics(1, 2.3, 0.1, 2.3, 0.1, 0.1, 1.5).ToCsv() + "\n");
    }

    [GeneratedRegex("<img [^>]*>")]
    private static partial Regex ImgTag();

    [GeneratedRegex("<section id=\"([a-z]+)\" class=\"report-section\">")]
    private static partial Regex SectionTag();

    [GeneratedRegex("src=\"data:image/png;base64,([A-Za-z0-9+/=]+)\" width=\"(\\d+)\" height=\"(\\d+)\"")]
    private static partial Regex ImgSource();

    /// <summary>The section ids in page order.</summary>
    public static string[] Sections(string html) => [.. SectionTag().Matches(html).Select(m => m.Groups[1].Value)];

    /// <summary>The HTML of section <paramref name="id"/>.</summary>
    public static string Section(string html, string id)
    {
        int start = html.IndexOf($"<section id=\"{id}\"", StringComparison.Ordinal);
        Assert.True(start >= 0, $"no section {id}");
        int end = html.IndexOf("</section>", start, StringComparison.Ordinal);
        return html[start..end];
    }

    /// <summary>Every img of <paramref name="html"/>: its decoded PNG size and its declared width and height.</summary>
    public static List<((int W, int H) Png, int Width, int Height)> Images(string html)
    {
        var result = new List<((int, int), int, int)>();
        foreach (Match tag in ImgTag().Matches(html))
        {
            Match src = ImgSource().Match(tag.Value);
            Assert.True(src.Success, "every img is an embedded PNG with width and height: " + tag.Value[..Math.Min(120, tag.Value.Length)]);
            byte[] png = Convert.FromBase64String(src.Groups[1].Value);
            result.Add((SharpCnn.Cli.Report.PixelImage.PngSize(png),
                int.Parse(src.Groups[2].Value, CultureInfo.InvariantCulture), int.Parse(src.Groups[3].Value, CultureInfo.InvariantCulture)));
        }

        return result;
    }
}
