using HubStreams.Bench.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>One producer, one subscriber: append-to-receipt latency at 200 and 2,000 events/s, against polling and raw SignalR.</summary>
internal static class LatencyScenario
{
    public sealed record Row(string Mode, string Target, int Rate, long Sent, long Received, double P50Ms, double P90Ms, double P99Ms, double MaxMs);

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var rate in new[] { 200, 2000 })
        {
            foreach (var target in new[] { Target.HubStreams, Target.Polling, Target.Raw })
            {
                run.Report($"latency: {target} at {rate} events/s");
                rows.Add(await MeasureAsync(run, target, rate));
            }
        }

        return rows;
    }

    private static async Task<Row> MeasureAsync(BenchRun run, Target target, int rate)
    {
        await using var producer = await run.Server.ConnectAsync(target);
        await using var subscriber = await run.Server.ConnectAsync(target);
        var messageId = $"{target}-{rate}-{Guid.NewGuid():N}";
        var recorder = new LatencyRecorder();
        long received = 0, warmedUp = 0;
        using var stop = new CancellationTokenSource();
        var following = BenchRun.Follow(subscriber, "latency", messageId, e =>
        {
            if (e.Content == "warmup")
            {
                Interlocked.Exchange(ref warmedUp, 1);
                return;
            }

            recorder.Record(e.Content);
            Interlocked.Increment(ref received);
        }, stop.Token);

        // The subscription is live once a warm-up event arrives (raw SignalR drops what comes before).
        while (Interlocked.Read(ref warmedUp) == 0)
        {
            await producer.InvokeAsync<long>("AppendEvent", "latency", messageId, BenchRun.Event("warmup"));
            await BenchRun.WaitForAsync(() => Interlocked.Read(ref warmedUp) == 1, TimeSpan.FromMilliseconds(300));
        }

        var sent = await Pacer.RunAsync(rate, run.Window(5, 15), _ =>
            producer.SendAsync("AppendEvent", "latency", messageId, BenchRun.Event(LatencyRecorder.Stamp())));
        await BenchRun.WaitForAsync(() => Interlocked.Read(ref received) >= sent, TimeSpan.FromSeconds(15));
        await stop.CancelAsync();
        await following;

        var s = recorder.Summary();
        return new Row(run.Mode.ToString(), target.ToString(), rate, sent, Interlocked.Read(ref received), s.P50, s.P90, s.P99, s.Max);
    }
}
