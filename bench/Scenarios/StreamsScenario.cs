using System.Diagnostics;
using HubStreams.Bench.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// The everyday shape: many concurrent answers, each streaming 50 events/s to one reader on its own connection, written
/// through eight producer connections. The number of streams rises step by step; a step is sustained when the node
/// delivers at least 95 % of what is offered while it runs, with a p99 under a second. HubStreams against raw SignalR.
/// </summary>
internal static class StreamsScenario
{
    public sealed record Row(string Mode, string Target, int Streams, double OfferedPerSecond, double DeliveredPerSecond, double P99Ms, bool Sustained);

    public const double EventsPerStreamPerSecond = 50;
    private const int Producers = 8;
    private static readonly int[] Steps = [250, 500, 1000, 1500, 2000, 3000];

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var target in new[] { Target.HubStreams, Target.Raw })
        {
            foreach (var streams in Steps)
            {
                run.Report($"streams: {streams:N0} streams at {EventsPerStreamPerSecond} events/s, {target}");
                var row = await MeasureAsync(run, target, streams);
                rows.Add(row);
                if (!row.Sustained)
                {
                    // One step past the first one it could not sustain shows whether delivery holds or falls; no further.
                    if (rows.Count(r => r.Target == row.Target && r.Mode == row.Mode && !r.Sustained) >= 2)
                    {
                        break;
                    }
                }
            }
        }

        return rows;
    }

    /// <summary>The most streams a target sustained, in one mode.</summary>
    public static int Capacity(IEnumerable<Row> rows, string mode, string target) =>
        rows.Where(r => r.Mode == mode && r.Target == target && r.Sustained).Select(r => r.Streams).DefaultIfEmpty(0).Max();

    private static async Task<Row> MeasureAsync(BenchRun run, Target target, int count)
    {
        var subscribers = await run.OpenSubscribersAsync(target, count);
        var producers = new List<HubConnection>();
        for (var i = 0; i < Producers; i++)
        {
            producers.Add(await run.Server.ConnectAsync(target));
        }

        var prefix = $"{target}-{Guid.NewGuid():N}";
        var recorder = new LatencyRecorder();
        long delivered = 0;
        var warm = new bool[count];
        using var stop = new CancellationTokenSource();
        var following = subscribers.Select((subscriber, i) => subscriber.Follow("streams", $"{prefix}-{i}", e =>
        {
            if (e.Content == "warmup")
            {
                Volatile.Write(ref warm[i], true);
                return;
            }

            recorder.Record(e.Content);
            Interlocked.Increment(ref delivered);
        }, stop.Token)).ToList();

        await BenchRun.WarmUpAsync(warm, i => producers[i % Producers].SendAsync("AppendEvent", "streams", $"{prefix}-{i}", BenchRun.Event("warmup")));

        var offered = count * EventsPerStreamPerSecond;
        var clock = Stopwatch.StartNew();
        var sent = await Pacer.RunAsync(offered, run.Window(4, 8), i =>
            producers[(int)(i % Producers)].SendAsync("AppendEvent", "streams", $"{prefix}-{i % count}", BenchRun.Event(LatencyRecorder.Stamp())));
        var inWindow = Interlocked.Read(ref delivered);
        var seconds = clock.Elapsed.TotalSeconds;
        await BenchRun.WaitForAsync(() => Interlocked.Read(ref delivered) >= sent, TimeSpan.FromSeconds(20));
        await stop.CancelAsync();
        await Task.WhenAll(following);
        await BenchRun.DisposeAllAsync(subscribers);
        foreach (var producer in producers)
        {
            await producer.DisposeAsync();
        }

        var s = recorder.Summary();
        var deliveredPerSecond = inWindow / seconds;
        return new Row(run.Mode.ToString(), target.ToString(), count, offered, deliveredPerSecond, s.P99,
            deliveredPerSecond >= 0.95 * offered && s.P99 <= 1000);
    }
}
