using System.Globalization;
using System.Text;

namespace SharpCnn.Training;

/// <summary>
/// Counts of (actual class, predicted class) pairs over a set of predictions, with per-class precision, recall and
/// F1. Rows are actual classes, columns predicted ones (scikit-learn's and torchmetrics' layout).
/// </summary>
/// <remarks>
/// A ratio whose denominator is zero (precision of a class never predicted, recall of a class absent from the data)
/// is 0, as scikit-learn's <c>zero_division=0</c>; <see cref="Support"/> and <see cref="Predicted"/> tell the cases apart.
/// </remarks>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;

    /// <summary>An empty matrix over <paramref name="classes"/> classes.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="classes"/> is less than 1.</exception>
    public ConfusionMatrix(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(classes, 1);
        Classes = classes;
        _counts = new long[classes * classes];
    }

    /// <summary>Number of classes (the matrix is Classes × Classes).</summary>
    public int Classes { get; }

    /// <summary>How many samples of class <paramref name="actual"/> were predicted as <paramref name="predicted"/>.</summary>
    public long this[int actual, int predicted]
    {
        get
        {
            CheckClass(actual, nameof(actual));
            CheckClass(predicted, nameof(predicted));
            return _counts[(actual * Classes) + predicted];
        }
    }

    /// <summary>All samples counted.</summary>
    public long Total => _counts.Sum();

    /// <summary>Samples on the diagonal (predicted = actual).</summary>
    public long Correct
    {
        get
        {
            long sum = 0;
            for (int c = 0; c < Classes; c++)
            {
                sum += _counts[(c * Classes) + c];
            }

            return sum;
        }
    }

    /// <summary>Correct / Total (NaN when empty).</summary>
    public double Accuracy => Total == 0 ? double.NaN : (double)Correct / Total;

    /// <summary>Counts one prediction.</summary>
    public void Add(int actual, int predicted)
    {
        CheckClass(actual, nameof(actual));
        CheckClass(predicted, nameof(predicted));
        _counts[(actual * Classes) + predicted]++;
    }

    /// <summary>Counts the arg-max of each row of <paramref name="logits"/> (N, Classes) against <paramref name="targets"/> (N); ties go to the lower index, as <c>torch.argmax</c>.</summary>
    /// <exception cref="ArgumentException">The logits do not have Classes columns, or the counts differ.</exception>
    public void Add(Tensor logits, Tensor targets)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(targets);
        int n = targets.Numel;
        if (logits.Numel != n * Classes)
        {
            throw new ArgumentException(
                $"ConfusionMatrix over {Classes} classes expected logits (N, {Classes}) for {n} targets, but got shape [{string.Join(", ", logits.Shape)}].", nameof(logits));
        }

        ReadOnlySpan<float> l = logits.Data;
        ReadOnlySpan<float> t = targets.Data;
        for (int i = 0; i < n; i++)
        {
            ReadOnlySpan<float> row = l.Slice(i * Classes, Classes);
            int best = 0;
            for (int j = 1; j < row.Length; j++)
            {
                if (row[j] > row[best])
                {
                    best = j;
                }
            }

            Add((int)t[i], best);
        }
    }

    /// <summary>Samples whose actual class is <paramref name="c"/> (the row sum).</summary>
    public long Support(int c)
    {
        CheckClass(c, nameof(c));
        long sum = 0;
        for (int p = 0; p < Classes; p++)
        {
            sum += _counts[(c * Classes) + p];
        }

        return sum;
    }

    /// <summary>Samples predicted as class <paramref name="c"/> (the column sum).</summary>
    public long Predicted(int c)
    {
        CheckClass(c, nameof(c));
        long sum = 0;
        for (int a = 0; a < Classes; a++)
        {
            sum += _counts[(a * Classes) + c];
        }

        return sum;
    }

    /// <summary>True positives / predicted positives of class <paramref name="c"/> (0 when it was never predicted).</summary>
    public double Precision(int c)
    {
        long predicted = Predicted(c);
        return predicted == 0 ? 0 : (double)this[c, c] / predicted;
    }

    /// <summary>True positives / actual positives of class <paramref name="c"/> (0 when it never occurs).</summary>
    public double Recall(int c)
    {
        long support = Support(c);
        return support == 0 ? 0 : (double)this[c, c] / support;
    }

    /// <summary>Harmonic mean of precision and recall of class <paramref name="c"/> (0 when both are 0).</summary>
    public double F1(int c)
    {
        double p = Precision(c), r = Recall(c);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    /// <summary>The unweighted mean of <see cref="F1"/> over all classes (scikit-learn's <c>average="macro"</c>).</summary>
    public double MacroF1 => Enumerable.Range(0, Classes).Average(F1);

    /// <summary>The class names to print: <paramref name="classNames"/> when given (one per class), else "0".."K-1".</summary>
    /// <exception cref="ArgumentException">The number of names is not <see cref="Classes"/>.</exception>
    public IReadOnlyList<string> Names(IReadOnlyList<string>? classNames)
    {
        if (classNames is null)
        {
            return [.. Enumerable.Range(0, Classes).Select(i => i.ToString(CultureInfo.InvariantCulture))];
        }

        if (classNames.Count != Classes)
        {
            throw new ArgumentException($"The confusion matrix has {Classes} classes but {classNames.Count} class names were given.", nameof(classNames));
        }

        return classNames;
    }

    /// <summary>
    /// The matrix as an aligned text table: one row per actual class, one column per predicted class, headed by the
    /// class names (default "0".."K-1").
    /// </summary>
    public string ToTable(IReadOnlyList<string>? classNames = null)
    {
        IReadOnlyList<string> names = Names(classNames);
        const string Corner = "actual \\ predicted";
        int first = Math.Max(Corner.Length, names.Max(n => n.Length));
        var widths = new int[Classes];
        for (int p = 0; p < Classes; p++)
        {
            widths[p] = Math.Max(names[p].Length, Enumerable.Range(0, Classes).Max(a => Format(this[a, p]).Length));
        }

        var sb = new StringBuilder();
        sb.Append(Corner.PadRight(first));
        for (int p = 0; p < Classes; p++)
        {
            sb.Append("  ").Append(names[p].PadLeft(widths[p]));
        }

        sb.Append('\n');
        for (int a = 0; a < Classes; a++)
        {
            sb.Append(names[a].PadRight(first));
            for (int p = 0; p < Classes; p++)
            {
                sb.Append("  ").Append(Format(this[a, p]).PadLeft(widths[p]));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    /// <summary>
    /// Per-class precision, recall, F1 and support as an aligned text table (as scikit-learn's
    /// <c>classification_report</c>), ending with the accuracy and the macro averages.
    /// </summary>
    public string ToClassReport(IReadOnlyList<string>? classNames = null)
    {
        IReadOnlyList<string> names = Names(classNames);
        int first = Math.Max("macro avg".Length, names.Max(n => n.Length));
        var sb = new StringBuilder();
        sb.Append("class".PadRight(first)).Append("  precision     recall         f1    support\n");
        for (int c = 0; c < Classes; c++)
        {
            Row(names[c], Precision(c), Recall(c), F1(c), Support(c));
        }

        double macroP = Enumerable.Range(0, Classes).Average(Precision);
        double macroR = Enumerable.Range(0, Classes).Average(Recall);
        sb.Append("accuracy".PadRight(first)).Append(string.Create(CultureInfo.InvariantCulture, $"  {"",9}  {"",9}  {Accuracy,9:F4}  {Total,9}\n"));
        Row("macro avg", macroP, macroR, MacroF1, Total);
        return sb.ToString();

        void Row(string name, double p, double r, double f, long n) =>
            sb.Append(name.PadRight(first)).Append(string.Create(CultureInfo.InvariantCulture, $"  {p,9:F4}  {r,9:F4}  {f,9:F4}  {n,9}\n"));
    }

    /// <summary>
    /// The matrix as CSV: a header <c>actual\predicted,NAME…</c>, then one row per actual class starting with its name.
    /// Names holding a comma, quote or line break are quoted (RFC 4180).
    /// </summary>
    public string ToCsv(IReadOnlyList<string>? classNames = null)
    {
        IReadOnlyList<string> names = Names(classNames);
        var sb = new StringBuilder();
        sb.Append("actual\\predicted");
        foreach (string n in names)
        {
            sb.Append(',').Append(Quote(n));
        }

        sb.Append('\n');
        for (int a = 0; a < Classes; a++)
        {
            sb.Append(Quote(names[a]));
            for (int p = 0; p < Classes; p++)
            {
                sb.Append(',').Append(this[a, p].ToString(CultureInfo.InvariantCulture));
            }

            sb.Append('\n');
        }

        return sb.ToString();
    }

    private static string Format(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    private void CheckClass(int c, string name)
    {
        if ((uint)c >= (uint)Classes)
        {
            throw new ArgumentOutOfRangeException(name, $"Class index {c} is outside [0, {Classes}) of this confusion matrix.");
        }
    }
}
