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
        double minLog = double.PositiveInfinity;
        double maxLog = double.NegativeInfinity;
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
            if (logY)
            {
                minLog = Math.Min(minLog, ys.Min());
                maxLog = Math.Max(maxLog, ys.Max());
            }

            var scatter = plot.Add.Scatter(xs.ToArray(), ys.ToArray());
            scatter.LegendText = s.Name;
            scatter.LineWidth = s.Lines ? 2 : 0;
            scatter.MarkerSize = s.Markers ? 7 : 0;
        }

        if (!any)
        {
            return null;
        }

        // Epochs are whole numbers: no ticks at 1.1, 1.2, … (the per-step LR line still draws between them).
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        if (logY)
        {
            (double[] positions, string[] labels) = LogTicks(minLog, maxLog);
            plot.Axes.Left.SetTicks(positions, labels);
        }

        // DejaVu Sans ships with Debian; ScottPlot falls back to its default when a font is absent.
        plot.Font.Set("DejaVu Sans");
        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        // Below the plot, where it cannot hide a curve.
        plot.ShowLegend(Edge.Bottom);
        return plot.GetImageBytes(Width, Height, ImageFormat.Png);
    }

    /// <summary>
    /// Ticks for a log10 axis spanning [<paramref name="minLog"/>, <paramref name="maxLog"/>]: 1, 2 and 5 times powers
    /// of ten (every digit 1–9 when that gives fewer than three), labelled with their values.
    /// </summary>
    internal static (double[] Positions, string[] Labels) LogTicks(double minLog, double maxLog)
    {
        double low = Math.Floor(minLog);
        double high = Math.Ceiling(maxLog);
        List<double> Candidates(int[] mantissas)
        {
            var values = new List<double>();
            for (double k = low; k <= high; k++)
            {
                foreach (int m in mantissas)
                {
                    double v = Math.Log10(m) + k;
                    if (v >= minLog - 1e-9 && v <= maxLog + 1e-9)
                    {
                        values.Add(v);
                    }
                }
            }

            return values;
        }

        List<double> ticks = Candidates([1, 2, 5]);
        if (ticks.Count < 3)
        {
            ticks = Candidates([1, 2, 3, 4, 5, 6, 7, 8, 9]);
        }

        if (ticks.Count < 2)
        {
            // A range narrower than one digit step: the two ends.
            ticks = minLog == maxLog ? [minLog] : [minLog, maxLog];
        }

        return ([.. ticks], [.. ticks.Select(t => Math.Pow(10, t).ToString("G3", System.Globalization.CultureInfo.InvariantCulture))]);
    }
}
