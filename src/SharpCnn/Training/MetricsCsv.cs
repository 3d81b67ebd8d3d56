using System.Globalization;
using SharpCnn.Serialization;

namespace SharpCnn.Training;

/// <summary>
/// <c>metrics.csv</c>: one header line (<see cref="EpochMetrics.CsvHeader"/>) and one row per epoch. The file is
/// rewritten whole and atomically on every change, so it is never torn. A file written with an older header (fewer
/// columns) is carried over by column name, missing values left empty.
/// </summary>
internal static class MetricsCsv
{
    /// <summary>Drops rows of epochs after <paramref name="epoch"/> (rows a crashed or abandoned continuation wrote); no file, no change.</summary>
    public static void KeepThrough(string path, int epoch)
    {
        if (!File.Exists(path))
        {
            return;
        }

        List<string> rows = ReadRows(path);
        List<string> kept = [.. rows.Where(r => EpochOf(r, path) <= epoch)];
        if (kept.Count != rows.Count || !File.ReadLines(path).FirstOrDefault("").Equals(EpochMetrics.CsvHeader, StringComparison.Ordinal))
        {
            Write(path, kept);
        }
    }

    /// <summary>Adds the row of <paramref name="metrics"/> (replacing a row of the same epoch, if any).</summary>
    public static void Append(string path, EpochMetrics metrics)
    {
        List<string> rows = File.Exists(path) ? ReadRows(path) : [];
        rows.RemoveAll(r => EpochOf(r, path) >= metrics.Epoch);
        rows.Add(metrics.ToCsv());
        Write(path, rows);
    }

    /// <summary>The data rows, converted to the current header's columns.</summary>
    private static List<string> ReadRows(string path)
    {
        string[] lines = [.. File.ReadAllLines(path).Where(l => l.Length > 0)];
        if (lines.Length == 0)
        {
            return [];
        }

        string[] header = lines[0].Split(',');
        int epochColumn = Array.IndexOf(header, "epoch");
        if (epochColumn < 0)
        {
            throw new InvalidDataException($"\"{path}\" is not a metrics file: its header \"{lines[0]}\" has no \"epoch\" column.");
        }

        if (lines[0] == EpochMetrics.CsvHeader)
        {
            return [.. lines.Skip(1)];
        }

        string[] columns = EpochMetrics.CsvHeader.Split(',');
        int[] from = [.. columns.Select(c => Array.IndexOf(header, c))];
        return [.. lines.Skip(1).Select(line =>
        {
            string[] values = line.Split(',');
            return string.Join(",", from.Select(i => i >= 0 && i < values.Length ? values[i] : ""));
        })];
    }

    private static int EpochOf(string row, string path)
    {
        string first = row.Split(',')[0];
        return int.TryParse(first, NumberStyles.Integer, CultureInfo.InvariantCulture, out int e)
            ? e
            : throw new InvalidDataException($"\"{path}\" has a row whose epoch is \"{first}\", not an integer.");
    }

    private static void Write(string path, List<string> rows) =>
        AtomicFile.Write(path, stream =>
        {
            using var writer = new StreamWriter(stream, leaveOpen: true);
            writer.NewLine = "\n";
            writer.WriteLine(EpochMetrics.CsvHeader);
            foreach (string row in rows)
            {
                writer.WriteLine(row);
            }
        });
}
