using System.Globalization;

namespace SharpCnn.Cli.Report;

/// <summary>
/// The rows of a run's <c>metrics.csv</c>, read by column name so that columns added later (e.g.
/// <c>test_top5_accuracy</c>) and columns absent from older runs are both tolerated. Every cell is a number
/// (<c>NaN</c> allowed: a run without a test set writes it); only <c>epoch</c> is required.
/// </summary>
internal sealed class MetricsTable
{
    /// <summary>The one column every metrics file must have.</summary>
    public const string EpochColumn = "epoch";

    private readonly Dictionary<string, int> _index;
    private readonly double[][] _rows;

    private MetricsTable(string[] columns, double[][] rows)
    {
        Columns = columns;
        _rows = rows;
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Length; i++)
        {
            _index[columns[i]] = i;
        }
    }

    /// <summary>Column names in file order.</summary>
    public IReadOnlyList<string> Columns { get; }

    /// <summary>Number of data rows (epochs recorded; a resumed run may repeat an epoch, the later row wins in plots).</summary>
    public int Count => _rows.Length;

    /// <summary>Whether the file has column <paramref name="name"/>.</summary>
    public bool Has(string name) => _index.ContainsKey(name);

    /// <summary>The values of column <paramref name="name"/>, one per row; null when the column is absent.</summary>
    public double[]? Column(string name) => _index.TryGetValue(name, out int c) ? [.. _rows.Select(r => r[c])] : null;

    /// <summary>Row <paramref name="row"/>'s value of column <paramref name="name"/>; NaN when the column is absent.</summary>
    public double Value(int row, string name) => _index.TryGetValue(name, out int c) ? _rows[row][c] : double.NaN;

    /// <summary>Reads <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is empty, has no <c>epoch</c> column, a duplicate column, or a row
    /// with the wrong number of cells or a cell that is not a number; the message names the file, line and column.</exception>
    public static MetricsTable Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"\"{path}\" does not exist: a run folder written by 'sharpcnn train' holds metrics.csv.", path);
        }

        return Parse(File.ReadAllLines(path), path);
    }

    /// <summary>Parses the lines of a metrics file; <paramref name="source"/> names it in error messages.</summary>
    /// <exception cref="InvalidDataException">As <see cref="Load"/>.</exception>
    public static MetricsTable Parse(IReadOnlyList<string> lines, string source)
    {
        ArgumentNullException.ThrowIfNull(lines);
        int first = 0;
        while (first < lines.Count && lines[first].Trim().Length == 0)
        {
            first++;
        }

        if (first == lines.Count)
        {
            throw new InvalidDataException($"{source} is empty; expected the header line \"{Training.EpochMetrics.CsvHeader}\" and one line per epoch.");
        }

        string[] columns = [.. lines[first].Split(',').Select(c => c.Trim())];
        if (columns.Any(c => c.Length == 0))
        {
            throw new InvalidDataException($"{source} line {first + 1}: the header \"{lines[first]}\" has an empty column name; expected names such as \"{Training.EpochMetrics.CsvHeader}\".");
        }

        string? duplicate = columns.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1)?.Key;
        if (duplicate is not null)
        {
            throw new InvalidDataException($"{source} line {first + 1}: column \"{duplicate}\" appears twice in the header.");
        }

        if (!columns.Contains(EpochColumn, StringComparer.Ordinal))
        {
            throw new InvalidDataException(
                $"{source} line {first + 1}: the header \"{lines[first]}\" has no \"{EpochColumn}\" column; expected a header such as \"{Training.EpochMetrics.CsvHeader}\".");
        }

        var rows = new List<double[]>();
        for (int i = first + 1; i < lines.Count; i++)
        {
            string line = lines[i];
            if (line.Trim().Length == 0)
            {
                continue;
            }

            string[] cells = line.Split(',');
            if (cells.Length != columns.Length)
            {
                throw new InvalidDataException(
                    $"{source} line {i + 1}: expected {columns.Length} comma-separated values ({string.Join(",", columns)}) but found {cells.Length}: \"{line}\".");
            }

            var row = new double[cells.Length];
            for (int c = 0; c < cells.Length; c++)
            {
                string cell = cells[c].Trim();
                if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out row[c]))
                {
                    throw new InvalidDataException($"{source} line {i + 1}, column \"{columns[c]}\": \"{cell}\" is not a number.");
                }
            }

            rows.Add(row);
        }

        return new MetricsTable(columns, [.. rows]);
    }
}
