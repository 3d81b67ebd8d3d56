using ScottPlot;

namespace SharpCnn.Cli.Report;

/// <summary>One line of a chart: its legend text and points (NaN points are left out).</summary>
/// <param name="Name">Legend text.</param>
/// <param name="X">X values.</param>
/// <param name="Y">Y values, as many as <paramref name="X"/>.</param>
/// <param name="Markers">Draw a marker at every point (sparse, per-epoch series) rather than a plain line.</param>
/// <param name="Lines">Join the points with lines.</param>
internal sealed record ChartSeries(string Name, double[] X, double[] Y, bool Markers = true, bool Lines = true);

/// <summary>Line charts of the report (loss, accuracy, learning rate), drawn with ScottPlot into PNG bytes.</summary>
internal static class Charts
{
    /// <summary>Chart width in pixels.</summary>
    public const int Width = 720;

    /// <summary>Chart height in pixels.</summary>
    public const int Height = 420;

    /// <summary>
    /// A PNG line chart; null when no series has a finite point. With <paramref name="logY"/> the y axis shows
    /// log10 of the values (positive values only), labelled as powers of ten.
    /// </summary>
    public static byte[]? Line(string title, string xLabel, string yLabel, IReadOnlyList<ChartSeries> series, bool logY = false)
    {
        var plot = new Plot();
        bool any = false;
        foreach (ChartSeries s in series)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            for (int i = 0; i < s.X.Length; i++)
            {
                double y = s.Y[i];
                if (double.IsFinite(s.X[i]) && double.IsFinite(y) && (!logY || y > 0))
                {
                    xs.Add(s.X[i]);
                    ys.Add(logY ? Math.Log10(y) : y);
                }
            }

            if (xs.Count == 0)
            {
                continue;
            }

            any = true;
            var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
            scatter.LegendText = s.Name;
            scatter.LineWidth = s.Lines ? 2 : 0;
            scatter.MarkerSize = s.Markers ? 7 : 0;
        }

        if (!any)
        {
            return null;
        }

        if (logY)
        {
            var ticks = new ScottPlot.TickGenerators.NumericAutomatic
            {
                LabelFormatter = v => Math.Pow(10, v).ToString("G3", System.Globalization.CultureInfo.InvariantCulture),
            };
            plot.Axes.Left.TickGenerator = ticks;
        }

        // DejaVu Sans ships with Debian; ScottPlot falls back to its default when a font is absent.
        plot.Font.Set("DejaVu Sans");
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }
}
