using System.Diagnostics;
using HubStreams.Bench.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// Many WebSocket subscribers on one node, each on its own connection: one shared stream (every event goes to
/// every subscriber) or a stream each. Delivered events/s, p99 latency and server memory per connection,
/// HubStreams against raw SignalR.
/// </summary>
internal static class FanoutScenario
{
    public sealed record Row(string Mode, int Connections, string Layout, string Target, long Delivered, double DeliveredPerSecond,
        double P50Ms, double P99Ms, double MemoryPerConnectionKiB);

    // Offered load: a shared stream gets 100,000 deliveries/s in all; streams of their own get 2,000 appends/s in all.
    private const double SharedDeliveriesPerSecond = 100_000;
    private const double OwnStreamsAppendsPerSecond = 2_000;

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var connections in run.Quick ? new[] { 1000 } : [1000, 5000])
        {
            foreach (var shared in new[] { true, false })
            {
                foreach (var target in new[] { Target.HubStreams, Target.Raw })
                {
                    run.Report($"fanout: {connections} connections, {(shared ? "one shared stream" : "a stream each")}, {target}");
                    rows.Add(await MeasureAsync(run, target, connections, shared));
                }
            }
        }

        return rows;
    }

    private static async Task<Row> MeasureAsync(BenchRun run, Target target, int count, bool shared)
    {
        var before = run.Server.ResidentBytes();
        var subscribers = await run.ConnectManyAsync(target, count);
        await using var producer = await run.Server.ConnectAsync(target);
        var prefix = $"{target}-{Guid.NewGuid():N}";
        string StreamOf(int i) => shared ? prefix : $"{prefix}-{i}";

        var recorder = new LatencyRecorder();
        long delivered = 0, lastDelivery = 0;
        var warm = new bool[count];
        var clock = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var following = subscribers.Select((connection, i) => BenchRun.Follow(connection, "fanout", StreamOf(i), e =>
        {
            if (e.Content == "warmup")
            {
                Volatile.Write(ref warm[i], true);
                return;
            }

            recorder.Record(e.Content);
            Interlocked.Increment(ref delivered);
            Interlocked.Exchange(ref lastDelivery, clock.ElapsedTicks);
        }, stop.Token)).ToList();

        // Every subscription is live once it has seen a warm-up event.
        while (warm.Any(w => !Volatile.Read(ref w)))
        {
            var cold = shared ? [0] : Enumerable.Range(0, count).Where(i => !Volatile.Read(ref warm[i])).ToArray();
            foreach (var i in cold)
            {
                await producer.SendAsync("AppendEvent", "fanout", StreamOf(i), BenchRun.Event("warmup"));
            }

            await BenchRun.WaitForAsync(() => warm.All(w => w), TimeSpan.FromMilliseconds(500));
        }

        var memoryPerConnection = (run.Server.ResidentBytes() - before) / (double)count / 1024;
        var rate = shared ? SharedDeliveriesPerSecond / count : OwnStreamsAppendsPerSecond;
        var started = clock.ElapsedTicks;
        var sent = await Pacer.RunAsync(rate, run.Window(3, 10), i =>
            producer.SendAsync("AppendEvent", "fanout", StreamOf((int)(i % count)), BenchRun.Event(LatencyRecorder.Stamp())));
        var expected = shared ? sent * count : sent;
        await BenchRun.WaitForAsync(() => Interlocked.Read(ref delivered) >= expected, TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await Task.WhenAll(following);

        var seconds = TimeSpan.FromTicks((long)((Interlocked.Read(ref lastDelivery) - started) * (TimeSpan.TicksPerSecond / (double)Stopwatch.Frequency))).TotalSeconds;
        var s = recorder.Summary();
        await BenchRun.DisposeAllAsync(subscribers);
        return new Row(run.Mode.ToString(), count, shared ? "shared" : "own", target.ToString(), delivered,
            seconds > 0 ? delivered / seconds : 0, s.P50, s.P99, memoryPerConnection);
    }
}
