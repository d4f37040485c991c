using HubStreams.Bench.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// What one delivered event costs the server, from its own runtime counters over a steady window: CPU, bytes
/// allocated, thread-pool work items (hops) and lock contentions, HubStreams against raw SignalR at the same load.
/// Two shapes: one subscriber at 2,000 events/s, and 1,000 connections on one stream at 50 events/s.
/// </summary>
internal static class CostScenario
{
    public sealed record Row(string Mode, string Shape, string Target, long Delivered, double CpuUsPerEvent, double BytesPerEvent,
        double WorkItemsPerEvent, double LockContentionsPerEvent);

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var (shape, connections, rate) in new[] { ("1 subscriber, 2,000 ev/s", 1, 2000), ("1,000 connections, one stream, 50 ev/s", 1000, 50) })
        {
            foreach (var target in new[] { Target.HubStreams, Target.Raw })
            {
                run.Report($"cost: {shape}, {target}");
                rows.Add(await MeasureAsync(run, target, shape, connections, rate));
            }
        }

        return rows;
    }

    /// <summary>One shape's cost: <paramref name="count"/> subscribers of one stream at <paramref name="rate"/>, in JSON or MessagePack.</summary>
    internal static async Task<Row> MeasureAsync(BenchRun run, Target target, string shape, int count, double rate, bool messagePack = false)
    {
        var subscribers = await run.ConnectManyAsync(target, count, messagePack);
        await using var producer = await run.Server.ConnectAsync(target);
        var messageId = $"cost-{target}-{Guid.NewGuid():N}";
        long delivered = 0;
        var warm = new bool[count];
        using var stop = new CancellationTokenSource();
        var following = subscribers.Select((connection, i) => BenchRun.Follow(connection, "cost", messageId, e =>
        {
            if (e.Content == "warmup")
            {
                Volatile.Write(ref warm[i], true);
                return;
            }

            Interlocked.Increment(ref delivered);
        }, stop.Token)).ToList();
        await BenchRun.WarmUpAsync(warm, _ => producer.SendAsync("AppendEvent", "cost", messageId, BenchRun.Event("warmup")), oneStream: true);

        // A second of load first, so that the window measures the steady state, not the first calls' JIT.
        await Pacer.RunAsync(rate, TimeSpan.FromSeconds(1), _ => producer.SendAsync("AppendEvent", "cost", messageId, BenchRun.Event("x")));
        await BenchRun.WaitForAsync(() => Interlocked.Read(ref delivered) > 0, TimeSpan.FromSeconds(10));
        var before = await run.Server.RuntimeAsync();
        var deliveredBefore = Interlocked.Read(ref delivered);
        var sent = await Pacer.RunAsync(rate, run.Window(5, 10), _ => producer.SendAsync("AppendEvent", "cost", messageId, BenchRun.Event("x")));
        await BenchRun.WaitForAsync(() => Interlocked.Read(ref delivered) - deliveredBefore >= sent * count, TimeSpan.FromSeconds(30));
        var spent = (await run.Server.RuntimeAsync()).Minus(before);
        var events = Math.Max(1, Interlocked.Read(ref delivered) - deliveredBefore);

        await stop.CancelAsync();
        await Task.WhenAll(following);
        await BenchRun.DisposeAllAsync(subscribers);
        return new Row(run.Mode.ToString(), shape, target.ToString(), events, spent.CpuMs * 1000 / events, spent.AllocatedBytes / (double)events,
            spent.WorkItems / (double)events, spent.LockContentions / (double)events);
    }
}
