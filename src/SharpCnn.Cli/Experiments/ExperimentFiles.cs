using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ScottPlot;
using SharpCnn.Serialization;

namespace SharpCnn.Cli.Experiments;

/// <summary>Writes an experiment's numbers (CSV, JSON) and plots (PNG) into its run folder, each file atomically.</summary>
internal static class ExperimentFiles
{
    public const int PlotWidth = 800;
    public const int PlotHeight = 500;

    /// <summary>Writes a CSV file: the header line, then one line per row (invariant culture, "\n" line ends).</summary>
    public static void WriteCsv(string path, string header, IEnumerable<IEnumerable<object>> rows)
    {
        var text = new StringBuilder();
        text.Append(header).Append('\n');
        foreach (IEnumerable<object> row in rows)
        {
            text.AppendJoin(',', row.Select(Cell)).Append('\n');
        }

        WriteText(path, text.ToString());
    }

    /// <summary>Writes <paramref name="value"/> (string-keyed dictionaries, sequences, numbers, strings, booleans, null) as indented JSON.</summary>
    public static void WriteJson(string path, object value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            WriteValue(writer, value);
        }

        buffer.WriteByte((byte)'\n');
        byte[] bytes = buffer.ToArray();
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    private static void WriteValue(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case int i:
                writer.WriteNumberValue(i);
                break;
            case long l:
                writer.WriteNumberValue(l);
                break;
            case ulong u:
                writer.WriteNumberValue(u);
                break;
            case double d when double.IsFinite(d):
                writer.WriteNumberValue(d);
                break;
            case double:
                writer.WriteNullValue();   // JSON has no NaN or infinity
                break;
            case IEnumerable<KeyValuePair<string, object?>> map:
                writer.WriteStartObject();
                foreach ((string key, object? item) in map)
                {
                    writer.WritePropertyName(key);
                    WriteValue(writer, item);
                }

                writer.WriteEndObject();
                break;
            case System.Collections.IEnumerable items:
                writer.WriteStartArray();
                foreach (object? item in items)
                {
                    WriteValue(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                throw new ArgumentException($"WriteJson cannot write a {value.GetType().Name}.", nameof(value));
        }
    }

    /// <summary>A line plot: one line with markers per series; whole-number x values get one tick each.</summary>
    public static void WriteLinePlot(string path, string title, string xLabel, string yLabel,
        IReadOnlyList<(string Label, double[] X, double[] Y)> series, (double Min, double Max)? yRange = null, Alignment legend = Alignment.LowerLeft)
    {
        var plot = new Plot();
        foreach ((string label, double[] x, double[] y) in series)
        {
            ScottPlot.Plottables.Scatter line = plot.Add.Scatter(x, y);
            line.LegendText = label;
            line.LineWidth = 2;
            line.MarkerSize = 7;
        }

        plot.Title(title);
        plot.XLabel(xLabel);
        plot.YLabel(yLabel);
        plot.ShowLegend(legend);
        double[] xs = [.. series.SelectMany(s => s.X).Distinct().Order()];
        if (xs.Length is > 0 and <= 40 && xs.All(x => x == Math.Floor(x)))
        {
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                xs, [.. xs.Select(x => x.ToString(CultureInfo.InvariantCulture))]);
        }

        if (yRange is (double min, double max))
        {
            plot.Axes.SetLimitsY(min, max);
        }

        Save(plot, path);
    }

    /// <summary>Grouped bars: one group per entry of <paramref name="groups"/>, one coloured bar per series, value labels on top.</summary>
    public static void WriteGroupedBars(string path, string title, string yLabel, IReadOnlyList<string> groups,
        IReadOnlyList<string> seriesNames, double[][] values, (double Min, double Max) yRange)
    {
        var plot = new Plot();
        Color[] colors = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen, Colors.Crimson];
        double width = 0.8 / seriesNames.Count;
        var bars = new List<Bar>();
        for (int g = 0; g < groups.Count; g++)
        {
            for (int s = 0; s < seriesNames.Count; s++)
            {
                bars.Add(new Bar
                {
                    Position = g + ((s - ((seriesNames.Count - 1) / 2.0)) * width),
                    Value = values[g][s],
                    ValueBase = yRange.Min,
                    Size = width * 0.95,
                    FillColor = colors[s % colors.Length],
                    Label = values[g][s].ToString("F2", CultureInfo.InvariantCulture),
                });
            }
        }

        ScottPlot.Plottables.BarPlot barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 14;
        for (int s = 0; s < seriesNames.Count; s++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = seriesNames[s], FillColor = colors[s % colors.Length] });
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, groups.Count).Select(g => (double)g)], [.. groups]);
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperRight);
        plot.Axes.SetLimits(-0.6, groups.Count - 0.4, yRange.Min, yRange.Max);
        Save(plot, path);
    }

    private static void Save(Plot plot, string path)
    {
        byte[] png = plot.GetImageBytes(PlotWidth, PlotHeight, ImageFormat.Png);
        AtomicFile.Write(path, stream => stream.Write(png));
    }

    private static void WriteText(string path, string text)
    {
        byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
        AtomicFile.Write(path, stream => stream.Write(bytes));
    }

    private static string Cell(object value) => value switch
    {
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(value.ToString() ?? ""),
    };

    // RFC 4180: a field with a comma, quote or line break is quoted, quotes doubled.
    private static string Quote(string s) => s.AsSpan().IndexOfAny(",\"\n\r") < 0 ? s : $"\"{s.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";
}
