using System.Diagnostics;
using HubStreams.Bench.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// Fan-out capacity: one stream, many subscribers on one node, each on its own connection (every event goes to every
/// subscriber). The offered rate rises step by step past what the node can deliver; each step reports what was
/// delivered while it ran, so the table shows the ceiling, and whether delivery holds there (a plateau) or falls (a
/// collapse). HubStreams over the hub and over SSE, against raw SignalR.
/// </summary>
internal static class FanoutScenario
{
    public sealed record Row(string Mode, int Connections, string Target, double OfferedPerSecond, double DeliveredPerSecond, double P50Ms, double P99Ms);

    /// <summary>Offered deliveries/s (events/s times subscribers), step by step.</summary>
    private static readonly double[] Steps = [50_000, 100_000, 200_000, 400_000];

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var connections in new[] { 1000, 5000 })
        {
            // SSE readers each hold an HTTP connection of the benchmark's own client: at 1,000.
            var targets = connections <= 1000 ? new[] { Target.HubStreams, Target.Sse, Target.Raw } : [Target.HubStreams, Target.Raw];
            foreach (var target in targets)
            {
                rows.AddRange(await MeasureAsync(run, target, connections));
            }
        }

        return rows;
    }

    /// <summary>The highest deliveries/s a target reached over the steps, in one mode and at one size.</summary>
    public static double Capacity(IEnumerable<Row> rows, string mode, int connections, string target) =>
        rows.Where(r => r.Mode == mode && r.Connections == connections && r.Target == target).Select(r => r.DeliveredPerSecond).DefaultIfEmpty(0).Max();

    private static async Task<List<Row>> MeasureAsync(BenchRun run, Target target, int count)
    {
        run.Report($"fanout: {count:N0} connections on one stream, {target}: connecting");
        var subscribers = await run.OpenSubscribersAsync(target, count);
        await using var producer = await run.Server.ConnectAsync(target);
        var messageId = $"{target}-{Guid.NewGuid():N}";
        LatencyRecorder recorder = new();
        long delivered = 0;
        var warm = new bool[count];
        using var stop = new CancellationTokenSource();
        var following = subscribers.Select((subscriber, i) => subscriber.Follow("fanout", messageId, e =>
        {
            if (e.Content == "warmup")
            {
                Volatile.Write(ref warm[i], true);
                return;
            }

            Volatile.Read(ref recorder).Record(e.Content);
            Interlocked.Increment(ref delivered);
        }, stop.Token)).ToList();

        // Every subscription is live once it has seen a warm-up event.
        await BenchRun.WarmUpAsync(warm, _ => producer.SendAsync("AppendEvent", "fanout", messageId, BenchRun.Event("warmup")), oneStream: true);

        var rows = new List<Row>();
        long sentInAll = 0;
        foreach (var offered in Steps)
        {
            run.Report($"fanout: {count:N0} connections, {target}, {offered:N0} deliveries/s offered");
            Volatile.Write(ref recorder, new LatencyRecorder());
            var before = Interlocked.Read(ref delivered);
            var clock = Stopwatch.StartNew();
            var sent = await Pacer.RunAsync(offered / count, run.Window(3, 6), _ =>
                producer.SendAsync("AppendEvent", "fanout", messageId, BenchRun.Event(LatencyRecorder.Stamp())));
            var inWindow = Interlocked.Read(ref delivered) - before;
            var seconds = clock.Elapsed.TotalSeconds;
            sentInAll += sent;

            // What is still on its way drains before the next step, so that each step starts from an empty queue.
            await BenchRun.WaitForAsync(() => Interlocked.Read(ref delivered) >= sentInAll * count, TimeSpan.FromSeconds(30));
            var s = recorder.Summary();
            rows.Add(new Row(run.Mode.ToString(), count, target.ToString(), offered, inWindow / seconds, s.P50, s.P99));
        }

        await stop.CancelAsync();
        await Task.WhenAll(following);
        await BenchRun.DisposeAllAsync(subscribers);
        return rows;
    }
}
