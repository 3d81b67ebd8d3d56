using System.Globalization;
using System.Net;
using System.Text;

namespace SharpCnn.Cli.Report;

/// <summary>
/// Builds the report's HTML: one file with inline CSS, pictures as <c>data:image/png;base64</c> URIs, no script and no
/// external resource, so it opens offline and can be mailed or archived as it is.
/// </summary>
internal sealed class Page
{
    private const string Style = """
        :root { color-scheme: light; --ink: #1d2430; --muted: #5b6573; --line: #d9dee5; --accent: #2857a4; --bad: #b3261e; }
        * { box-sizing: border-box; }
        /* Pictures keep content-box sizing: with border-box the border would eat 2 px and the browser would resample. */
        body { margin: 0; background: #f6f7f9; color: var(--ink);
               font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
        main { max-width: 1080px; margin: 0 auto; padding: 24px 28px 64px; background: #fff; min-height: 100vh; }
        header h1 { margin: 0 0 4px; font-size: 1.9rem; }
        header p { margin: 0; color: var(--muted); }
        nav { display: flex; flex-wrap: wrap; gap: 4px 18px; margin: 18px 0 8px; padding: 10px 0;
              border-top: 1px solid var(--line); border-bottom: 1px solid var(--line); }
        nav a { color: var(--accent); text-decoration: none; white-space: nowrap; }
        h2 { margin: 40px 0 10px; font-size: 1.4rem; border-bottom: 2px solid var(--line); padding-bottom: 4px; }
        h3 { margin: 22px 0 8px; font-size: 1.1rem; }
        p { max-width: 72ch; }
        code { font: 0.9em ui-monospace, "DejaVu Sans Mono", monospace; background: #f0f2f5; padding: 1px 4px; border-radius: 3px; }
        .note { background: #fff6e0; border-left: 4px solid #e0a800; padding: 8px 12px; max-width: none; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 0; }
        dl.facts dt { color: var(--muted); }
        dl.facts dd { margin: 0; overflow-wrap: anywhere; }
        .figures { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
        .figures.stack { flex-direction: column; }
        .figures.gallery { gap: 10px; }
        figure { margin: 0; }
        figcaption { font-size: 0.88rem; color: var(--muted); margin-top: 4px; max-width: 720px; }
        .gallery figcaption { text-align: center; font-size: 0.8rem; }
        img { box-sizing: content-box; max-width: 100%; height: auto; border: 1px solid var(--line); }
        .pixels img { image-rendering: pixelated; }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: 0.9rem; }
        th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: right; }
        th { background: #f0f2f5; font-weight: 600; }
        .scroll { overflow-x: auto; }
        table.confusion td { min-width: 3.2em; text-align: center; }
        table.confusion th.axis { background: #fff; border: none; color: var(--muted); font-weight: normal; }
        .bad { color: var(--bad); font-weight: 600; }
        footer { margin-top: 48px; color: var(--muted); font-size: 0.85rem; }
        """;

    private static readonly CultureInfo s_inv = CultureInfo.InvariantCulture;

    private readonly StringBuilder _body = new();
    private readonly List<(string Id, string Title)> _sections = [];
    private string _title = "Training report";
    private string _subtitle = "";

    /// <summary>Sets the page title and the line under it.</summary>
    public void Header(string title, string runDir)
    {
        _title = title;
        _subtitle = $"run folder <code>{E(Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDir))))}</code> · written by <code>sharpcnn report</code>";
    }

    /// <summary>Opens a section (listed in the navigation bar).</summary>
    public void Section(string id, string title)
    {
        _sections.Add((id, title));
        _body.Append(CultureInfo.InvariantCulture, $"<section id=\"{id}\" class=\"report-section\">\n<h2>{E(title)}</h2>\n");
    }

    /// <summary>Closes the current section.</summary>
    public void EndSection() => _body.Append("</section>\n");

    /// <summary>A highlighted note (plain text).</summary>
    public void Note(string text) => _body.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{E(text)}</p>\n");

    /// <summary>A paragraph of trusted HTML (callers encode what they interpolate).</summary>
    public void Paragraph(string html) => _body.Append(CultureInfo.InvariantCulture, $"<p>{html}</p>\n");

    /// <summary>Trusted HTML as it is.</summary>
    public void Raw(string html) => _body.Append(html).Append('\n');

    /// <summary>A definition list of (term, trusted HTML value).</summary>
    public void Facts(IEnumerable<(string Term, string Html)> facts)
    {
        _body.Append("<dl class=\"facts\">\n");
        foreach ((string term, string html) in facts)
        {
            _body.Append(CultureInfo.InvariantCulture, $"<dt>{E(term)}</dt><dd>{html}</dd>\n");
        }

        _body.Append("</dl>\n");
    }

    /// <summary>PNG figures (bytes, alt text, trusted caption HTML or empty) side by side; <paramref name="kind"/> adds CSS classes.</summary>
    public void Figures(IEnumerable<(byte[] Png, string Alt, string CaptionHtml)> figures, string kind)
    {
        _body.Append(CultureInfo.InvariantCulture, $"<div class=\"figures {kind}\">\n");
        foreach ((byte[] png, string alt, string caption) in figures)
        {
            (int w, int h) = PixelImage.PngSize(png);
            _body.Append(CultureInfo.InvariantCulture, $"<figure><img src=\"data:image/png;base64,{Convert.ToBase64String(png)}\" width=\"{w}\" height=\"{h}\" alt=\"{E(alt)}\">");
            if (caption.Length > 0)
            {
                _body.Append(CultureInfo.InvariantCulture, $"<figcaption>{caption}</figcaption>");
            }

            _body.Append("</figure>\n");
        }

        _body.Append("</div>\n");
    }

    /// <summary>A plain table of text cells (encoded here) under a header row.</summary>
    public void Table(IReadOnlyList<string> header, IEnumerable<string[]> rows)
    {
        _body.Append("<div class=\"scroll\"><table>\n<tr>");
        foreach (string h in header)
        {
            _body.Append(CultureInfo.InvariantCulture, $"<th>{E(h)}</th>");
        }

        _body.Append("</tr>\n");
        foreach (string[] row in rows)
        {
            _body.Append("<tr>");
            foreach (string cell in row)
            {
                _body.Append(CultureInfo.InvariantCulture, $"<td>{E(cell)}</td>");
            }

            _body.Append("</tr>\n");
        }

        _body.Append("</table></div>\n");
    }

    /// <summary>The metrics as a table, every column of the file.</summary>
    public void MetricsTable(MetricsTable metrics)
    {
        _body.Append("<h3>Per epoch</h3>\n<div class=\"scroll\"><table class=\"metrics\">\n<tr>");
        foreach (string c in metrics.Columns)
        {
            _body.Append(CultureInfo.InvariantCulture, $"<th>{E(c.Replace('_', ' '))}</th>");
        }

        _body.Append("</tr>\n");
        for (int r = 0; r < metrics.Count; r++)
        {
            _body.Append("<tr>");
            foreach (string c in metrics.Columns)
            {
                double v = metrics.Value(r, c);
                string text = !double.IsFinite(v) ? "n/a"
                    : c == global::SharpCnn.Cli.Report.MetricsTable.EpochColumn ? v.ToString(s_inv)
                    : c.EndsWith("_accuracy", StringComparison.Ordinal) ? (v * 100).ToString("F2", s_inv) + "%"
                    : c == "seconds" ? v.ToString("F1", s_inv)
                    : v.ToString("G4", s_inv);
                _body.Append(CultureInfo.InvariantCulture, $"<td>{E(text)}</td>");
            }

            _body.Append("</tr>\n");
        }

        _body.Append("</table></div>\n");
    }

    /// <summary>
    /// The confusion matrix [true, predicted] as a heat-map table: counts in the cells, each shaded by its share of the row
    /// (blue on the diagonal, red off it), recall per row and precision per column at the margins.
    /// </summary>
    public void ConfusionTable(long[,] confusion, IReadOnlyList<string> classes)
    {
        int k = confusion.GetLength(0);
        _body.Append("<div class=\"scroll\"><table class=\"confusion\">\n");
        _body.Append(CultureInfo.InvariantCulture, $"<tr><th class=\"axis\"></th><th class=\"axis\" colspan=\"{k}\">predicted class →</th><th class=\"axis\"></th></tr>\n");
        _body.Append("<tr><th class=\"axis\">true ↓</th>");
        for (int j = 0; j < k; j++)
        {
            _body.Append(CultureInfo.InvariantCulture, $"<th>{E(classes[j])}</th>");
        }

        _body.Append("<th>recall</th></tr>\n");
        for (int i = 0; i < k; i++)
        {
            long rowTotal = 0;
            for (int j = 0; j < k; j++)
            {
                rowTotal += confusion[i, j];
            }

            _body.Append(CultureInfo.InvariantCulture, $"<tr><th>{E(classes[i])}</th>");
            for (int j = 0; j < k; j++)
            {
                long n = confusion[i, j];
                double share = rowTotal == 0 ? 0 : (double)n / rowTotal;
                // Off-diagonal shares are small, so they are shown on a square-root scale to make single mistakes visible.
                double alpha = i == j ? share : Math.Sqrt(share);
                string rgb = i == j ? "40, 87, 164" : "179, 38, 30";
                string ink = alpha > 0.55 ? "#fff" : "inherit";
                string style = n == 0 ? "" : $" style=\"background: rgba({rgb}, {alpha.ToString("F3", s_inv)}); color: {ink}\"";
                _body.Append(CultureInfo.InvariantCulture, $"<td{style} title=\"true {E(classes[i])}, predicted {E(classes[j])}: {n}\">{n}</td>");
            }

            _body.Append(CultureInfo.InvariantCulture, $"<td>{Ratio(confusion[i, i], rowTotal)}</td></tr>\n");
        }

        _body.Append("<tr><th>precision</th>");
        for (int j = 0; j < k; j++)
        {
            long colTotal = 0;
            for (int i = 0; i < k; i++)
            {
                colTotal += confusion[i, j];
            }

            _body.Append(CultureInfo.InvariantCulture, $"<td>{Ratio(confusion[j, j], colTotal)}</td>");
        }

        _body.Append("<td></td></tr>\n</table></div>\n");
    }

    /// <summary>The whole document.</summary>
    public string Finish()
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append(CultureInfo.InvariantCulture, $"<title>{E(_title)}</title>\n<style>\n{Style}</style>\n</head>\n<body>\n<main>\n")
            .Append(CultureInfo.InvariantCulture, $"<header><h1>{E(_title)}</h1><p>{_subtitle}</p></header>\n<nav>");
        foreach ((string id, string title) in _sections)
        {
            html.Append(CultureInfo.InvariantCulture, $"<a href=\"#{id}\">{E(title)}</a>");
        }

        html.Append("</nav>\n").Append(_body)
            .Append("<footer>SharpCnn training report: one self-contained file, pictures embedded as PNG.</footer>\n</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Ratio(long part, long total) => total == 0 ? "–" : ((double)part / total * 100).ToString("F1", s_inv) + "%";

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
