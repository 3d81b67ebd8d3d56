using System.Diagnostics;
using System.Text.RegularExpressions;
using SharpCnn.Cli.Report;

namespace SharpCnn.Cli.Tests.Report;

/// <summary>
/// A fact that needs Debian's <c>chromium</c> (scripts/install-test-deps.sh installs it). Without it the test is skipped
/// locally, with the reason; under CI (variable <c>CI</c> set) it runs and fails with a clear message instead.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public ChromiumFactAttribute()
    {
        if (HeadlessChromium.Find() is null && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI")))
        {
            Skip = "chromium is not installed; run scripts/install-test-deps.sh (under CI this test fails instead).";
        }
    }
}

/// <summary>Runs headless chromium on a local file and returns the DOM after the load event.</summary>
internal static class HeadlessChromium
{
    public static string? Find() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Where(d => d.Length > 0)
            .Select(d => Path.Combine(d, "chromium"))
            .FirstOrDefault(File.Exists);

    public static string DumpDom(string htmlFile)
    {
        string chromium = Find() ?? throw new InvalidOperationException(
            "chromium is not on PATH but the report browser test needs it: run scripts/install-test-deps.sh (apt-get install chromium).");
        string profile = Directory.CreateTempSubdirectory("sharpcnn-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(chromium)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string arg in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", $"--user-data-dir={profile}",
                "--window-size=1280,2000", "--virtual-time-budget=5000", "--dump-dom", new Uri(htmlFile).AbsoluteUri])
            {
                start.ArgumentList.Add(arg);
            }

            using Process process = Process.Start(start)!;
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"chromium did not finish rendering {htmlFile} within 90 s; stderr: {stderr.Result}");
            }

            Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {stderr.Result}");
            return stdout.Result;
        }
        finally
        {
            Directory.Delete(profile, recursive: true);
        }
    }
}

/// <summary>Opens report.html in a real browser and checks that every picture decodes.</summary>
[Collection("cli-training")]
public sealed partial class ReportBrowserTests(TrainedRunFixture run) : IClassFixture<TrainedRunFixture>, IDisposable
{
    // Runs at the load event, after every data: image has been fetched, and writes its verdict into the DOM.
    private const string Probe = """
        <script>
        window.addEventListener('load', () => {
          const images = Array.from(document.images);
          const broken = images.filter(i => !(i.complete && i.naturalWidth > 0 && i.naturalHeight > 0));
          const sized = images.filter(i => i.naturalWidth === i.width && i.naturalHeight === i.height);
          const out = document.createElement('pre');
          out.id = 'render-check';
          out.textContent = 'RENDER images=' + images.length + ' broken=' + broken.length + ' sized=' + sized.length +
            ' sections=' + document.querySelectorAll('section.report-section').length +
            ' broken-alts=[' + broken.map(i => i.alt).join('|') + ']';
          document.body.appendChild(out);
        });
        </script>
        """;

    private readonly string _scratch = Directory.CreateTempSubdirectory("sharpcnn-report-browser-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [GeneratedRegex(@"RENDER images=(\d+) broken=(\d+) sized=(\d+) sections=(\d+) broken-alts=\[([^\]]*)\]")]
    private static partial Regex Verdict();

    private (int Images, int Broken, int Sized, int Sections, string BrokenAlts) Render(string html, string name)
    {
        string file = Path.Combine(_scratch, name);
        File.WriteAllText(file, html.Replace("</body>", Probe + "</body>", StringComparison.Ordinal));
        string dom = HeadlessChromium.DumpDom(file);
        Match m = Verdict().Match(dom);
        Assert.True(m.Success, "the probe's verdict is missing from chromium's DOM dump: " + dom[..Math.Min(500, dom.Length)]);
        return (int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture),
            int.Parse(m.Groups[4].Value, System.Globalization.CultureInfo.InvariantCulture),
            m.Groups[5].Value);
    }

    [ChromiumFact]
    public void Report_InChromium_EveryImageRenders()
    {
        Assert.True(HeadlessChromium.Find() is not null,
            "CI is set but chromium is not installed: .ci/run calls scripts/install-test-deps.sh, which installs it with apt-get.");
        string output = Path.Combine(_scratch, "report.html");
        string path = RunReport.Write(run.Run, new ReportOptions { DataDir = run.Data, Out = output });
        string html = File.ReadAllText(path);
        int expected = ReportTestRun.Images(html).Count;
        Assert.True(expected >= 7, $"expected at least 7 images (3 charts, filters, input, 2 stages), found {expected}");

        var verdict = Render(html, "checked.html");
        Assert.Equal((expected, 0, expected, RunReport.SectionIds.Length, ""), verdict);
    }

    [ChromiumFact]
    public void Probe_BrokenImage_IsDetected()
    {
        Assert.True(HeadlessChromium.Find() is not null, "CI is set but chromium is not installed (scripts/install-test-deps.sh).");
        // The negative control: one image whose data is not a PNG must be reported broken, or the check proves nothing.
        string html = "<!DOCTYPE html><html><body><section class=\"report-section\">" +
            "<img alt=\"bad\" src=\"data:image/png;base64,AAAAAAAA\"><img alt=\"good\" src=\"data:image/png;base64," +
            Convert.ToBase64String(ImageGrid.Render([[0.5f]], 1, 1, 1, 1, TileColour.Gray).ToPng()) + "\"></section></body></html>";
        Assert.Equal((2, 1, 1, 1, "bad"), Render(html, "broken.html"));
    }
}
