using System.Diagnostics;
using System.Globalization;

namespace SharpCnn.Benchmarks.Suite;

/// <summary>
/// CPU time of this process and of the whole machine, from Linux's <c>/proc/self/stat</c> and <c>/proc/stat</c>
/// (clock ticks of 10 ms): the difference of two samples says how many cores this process used over the interval and
/// how many other processes (and the hypervisor, as steal time) took meanwhile. On a 2-core machine a 2-thread run
/// measured while another process held a core is not a 2-thread measurement: the row says so, and the runner times it
/// again (<see cref="BenchSuite"/>). Not Linux: every figure is NaN.
/// </summary>
public readonly record struct CpuSample(long Timestamp, long BusyTicks, long StealTicks, long OwnTicks)
{
    /// <summary>Linux's USER_HZ, the unit of both files (100 on every architecture .NET runs on).</summary>
    private const double TicksPerSecond = 100;

    public bool IsValid => BusyTicks >= 0;

    public static CpuSample Take()
    {
        long now = Stopwatch.GetTimestamp();
        try
        {
            // "cpu  user nice system idle iowait irq softirq steal guest guest_nice" (guest time is inside user).
            string[] cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            long Field(int i) => cpu.Length > i ? long.Parse(cpu[i], CultureInfo.InvariantCulture) : 0;
            long busy = Field(1) + Field(2) + Field(3) + Field(6) + Field(7);
            long steal = Field(8);

            // The fields after the command name (which may hold spaces): utime and stime are the 14th and 15th.
            string stat = File.ReadAllText("/proc/self/stat");
            string[] rest = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long own = long.Parse(rest[11], CultureInfo.InvariantCulture) + long.Parse(rest[12], CultureInfo.InvariantCulture);
            return new CpuSample(now, busy, steal, own);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException or InvalidOperationException)
        {
            return new CpuSample(now, -1, -1, -1);
        }
    }

    /// <summary>Cores used from <paramref name="start"/> to this sample: by this process, by everything else, and stolen by the hypervisor.</summary>
    public CpuShare Since(CpuSample start)
    {
        double seconds = Stopwatch.GetElapsedTime(start.Timestamp, Timestamp).TotalSeconds;
        if (!IsValid || !start.IsValid || seconds <= 0)
        {
            return new CpuShare(double.NaN, double.NaN, double.NaN);
        }

        double own = (OwnTicks - start.OwnTicks) / TicksPerSecond / seconds;
        double busy = (BusyTicks - start.BusyTicks) / TicksPerSecond / seconds;
        double steal = (StealTicks - start.StealTicks) / TicksPerSecond / seconds;
        return new CpuShare(own, Math.Max(0, busy - own), steal);
    }

    /// <summary>
    /// Waits until other processes use less than <paramref name="cores"/> cores over a 200 ms window, or until
    /// <paramref name="maxSeconds"/> have passed; returns what they used in the last window (NaN off Linux, at once).
    /// </summary>
    public static double WaitForQuiet(double cores, double maxSeconds)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(maxSeconds * Stopwatch.Frequency);
        while (true)
        {
            CpuSample a = Take();
            if (!a.IsValid)
            {
                return double.NaN;
            }

            Thread.Sleep(200);
            double others = Take().Since(a).OtherCores;
            if (others < cores || Stopwatch.GetTimestamp() > deadline)
            {
                return others;
            }
        }
    }
}

/// <summary>Average cores over an interval: this process, other processes, and hypervisor steal.</summary>
public readonly record struct CpuShare(double OwnCores, double OtherCores, double StealCores);
