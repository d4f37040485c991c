using System.Diagnostics;
using System.Globalization;
using HdrHistogram;

namespace HubStreams.Bench.Infrastructure;

/// <summary>Latency percentiles, in milliseconds.</summary>
internal sealed record LatencySummary(long Count, double P50, double P90, double P99, double Max);

/// <summary>Append-to-receipt latency, recorded in microseconds from a Stopwatch stamp the producer put in the event.</summary>
internal sealed class LatencyRecorder
{
    private readonly LongConcurrentHistogram _histogram = new(1, 120_000_000, 3);

    public static string Stamp() => Stopwatch.GetTimestamp().ToString(CultureInfo.InvariantCulture);

    /// <summary>The Stopwatch timestamp in <paramref name="stamp"/>, or 0.</summary>
    public static long StampOf(string? stamp) => long.TryParse(stamp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var sent) ? sent : 0;

    public void Record(string? stamp)
    {
        if (long.TryParse(stamp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var sent))
        {
            var micros = Math.Max(1, Stopwatch.GetElapsedTime(sent).Ticks / 10);
            _histogram.RecordValue(Math.Min(micros, 120_000_000));
        }
    }

    public LatencySummary Summary() => _histogram.TotalCount == 0
        ? new LatencySummary(0, 0, 0, 0, 0)
        : new LatencySummary(_histogram.TotalCount, Ms(50), Ms(90), Ms(99), _histogram.GetMaxValue() / 1000.0);

    private double Ms(double percentile) => _histogram.GetValueAtPercentile(percentile) / 1000.0;
}

/// <summary>Sends at a steady rate, in 5 ms slices, for a duration.</summary>
internal static class Pacer
{
    public static async Task<long> RunAsync(double perSecond, TimeSpan duration, Func<long, Task> send, CancellationToken cancellationToken = default)
    {
        var clock = Stopwatch.StartNew();
        long sent = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(5));
        while (clock.Elapsed < duration && await timer.WaitForNextTickAsync(cancellationToken))
        {
            var due = (long)(clock.Elapsed.TotalSeconds * perSecond);
            while (sent < due)
            {
                await send(sent++);
            }
        }

        return sent;
    }
}
