namespace SharpCnn.Cli.Report;

/// <summary>What <see cref="RunReport.Write"/> reports on and where it writes. Every property has a default.</summary>
internal sealed record ReportOptions
{
    /// <summary>
    /// The checkpoint whose model is inspected: <c>"best"</c> (default: <c>best.safetensors</c>, else <c>last.safetensors</c>),
    /// <c>"last"</c>, or a file path. A named file that does not exist is an error; when neither default file exists the
    /// report has the curves only, with a note.
    /// </summary>
    public string Checkpoint { get; init; } = "best";

    /// <summary>Where the test data is; default <c>data/NAME</c> for the dataset recorded in the checkpoint.</summary>
    public string? DataDir { get; init; }

    /// <summary>Evaluate only the first N test images (all when null).</summary>
    public int? Limit { get; init; }

    /// <summary>The HTML file; default <c>report.html</c> in the run folder.</summary>
    public string? Out { get; init; }

    /// <summary>The most confident mistakes shown in the gallery (default 32).</summary>
    public int MaxMistakes { get; init; } = 32;

    /// <summary>Channels shown per feature-map stage (default 16).</summary>
    public int MaxChannels { get; init; } = 16;

    /// <summary>Receives one line per step and note (e.g. "evaluating best.safetensors on 10,000 test images"); null is silent.</summary>
    public Action<string>? Log { get; init; }
}
