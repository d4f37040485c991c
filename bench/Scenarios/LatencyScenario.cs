using HubStreams.Bench.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// Append-to-receipt latency at 200 and 2,000 events/s per stream: HubStreams over its hub and over SSE, the original
/// design's polling, and raw SignalR, on one Kestrel. At 200 events/s five streams run side by side, so that a full run
/// has at least 10,000 samples per row; each row also gives its percentiles over three equal windows, so that noise
/// shows.
/// </summary>
internal static class LatencyScenario
{
    public sealed record Row(string Mode, string Target, int Rate, int Streams, long Sent, long Received, double P50Ms, double P90Ms, double P99Ms,
        double MaxMs, double[] WindowP50Ms, double[] WindowP99Ms);

    public const int Windows = 3;

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        // Every path is run once first, unmeasured, so that no row pays for the JIT's first tiers.
        foreach (var target in new[] { Target.HubStreams, Target.Sse, Target.Raw })
        {
            run.Report($"latency: warming up {target}");
            await MeasureAsync(run, target, 2000, streams: 1, TimeSpan.FromSeconds(2));
        }

        var rows = new List<Row>();
        foreach (var rate in new[] { 200, 2000 })
        {
            foreach (var target in new[] { Target.HubStreams, Target.Sse, Target.Polling, Target.Raw })
            {
                run.Report($"latency: {target} at {rate} events/s");
                rows.Add(await MeasureAsync(run, target, rate, streams: rate <= 200 ? 5 : 1));
            }
        }

        return rows;
    }

    private static async Task<Row> MeasureAsync(BenchRun run, Target target, int rate, int streams, TimeSpan? duration = null)
    {
        await using var producer = await run.Server.ConnectAsync(target);
        var subscribers = await run.OpenSubscribersAsync(target, streams);
        var messageIds = Enumerable.Range(0, streams).Select(i => $"{target}-{rate}-{i}-{Guid.NewGuid():N}").ToArray();
        var window = duration ?? run.Window(6, 10);
        var windows = Enumerable.Range(0, Windows).Select(_ => new LatencyRecorder()).ToArray();
        var all = new LatencyRecorder();
        long received = 0, started = 0;
        var warm = new bool[streams];
        using var stop = new CancellationTokenSource();
        var following = subscribers.Select((subscriber, i) => subscriber.Follow("latency", messageIds[i], e =>
        {
            if (e.Content == "warmup")
            {
                Volatile.Write(ref warm[i], true);
                return;
            }

            // Each sample counts in the window its event was sent in.
            var sentAt = LatencyRecorder.StampOf(e.Content);
            var index = (int)Math.Clamp((sentAt - Interlocked.Read(ref started)) * Windows / (double)(window.TotalSeconds * System.Diagnostics.Stopwatch.Frequency), 0, Windows - 1);
            windows[index].Record(e.Content);
            all.Record(e.Content);
            Interlocked.Increment(ref received);
        }, stop.Token)).ToList();

        // The subscriptions are live once a warm-up event arrives (raw SignalR drops what comes before).
        await BenchRun.WarmUpAsync(warm, i => producer.InvokeAsync<long>("AppendEvent", "latency", messageIds[i], BenchRun.Event("warmup")));

        // A second at the rate first, not measured: the first row of a run would otherwise pay for the JIT.
        await Pacer.RunAsync(rate * streams, TimeSpan.FromSeconds(1), i =>
            producer.SendAsync("AppendEvent", "latency", messageIds[i % streams], BenchRun.Event("warmup")));
        Interlocked.Exchange(ref started, System.Diagnostics.Stopwatch.GetTimestamp());
        var sent = await Pacer.RunAsync(rate * streams, window, i =>
            producer.SendAsync("AppendEvent", "latency", messageIds[i % streams], BenchRun.Event(LatencyRecorder.Stamp())));
        await BenchRun.WaitForAsync(() => Interlocked.Read(ref received) >= sent, TimeSpan.FromSeconds(15));
        await stop.CancelAsync();
        await Task.WhenAll(following);
        await BenchRun.DisposeAllAsync(subscribers);

        var s = all.Summary();
        var w = windows.Select(r => r.Summary()).ToArray();
        return new Row(run.Mode.ToString(), target.ToString(), rate, streams, sent, Interlocked.Read(ref received), s.P50, s.P90, s.P99, s.Max,
            [.. w.Select(x => x.P50)], [.. w.Select(x => x.P99)]);
    }
}
