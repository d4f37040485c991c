using HubStreams.Bench.Infrastructure;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// Server memory per idle subscribed connection: 1,000 connections each following a stream of its own, which received
/// one event (the sign that the subscription is live) and nothing since. Each reading comes after two forced full, compacting collections in the server, so it counts what is live,
/// not garbage a collection has not reached yet. HubStreams over its hub against raw SignalR.
/// </summary>
internal static class MemoryScenario
{
    public sealed record Row(string Mode, string Target, int Connections, double HeapKiBPerConnection, double ResidentKiBPerConnection);

    private const int Connections = 1000;

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var target in new[] { Target.HubStreams, Target.Raw })
        {
            run.Report($"memory: {Connections:N0} idle subscribed connections, {target}");
            var before = await run.Server.CollectAsync();
            var residentBefore = run.Server.ResidentBytes();
            var subscribers = await run.OpenSubscribersAsync(target, Connections);
            var prefix = $"{target}-{Guid.NewGuid():N}";
            var warm = new bool[Connections];
            using var stop = new CancellationTokenSource();
            var following = subscribers.Select((s, i) => s.Follow("memory", $"{prefix}-{i}", _ => Volatile.Write(ref warm[i], true), stop.Token)).ToList();

            // Subscribed once each has received one event (raw SignalR drops what comes before); then idle.
            await using (var producer = await run.Server.ConnectAsync(target))
            {
                await BenchRun.WarmUpAsync(warm, i => producer.SendAsync("AppendEvent", "memory", $"{prefix}-{i}", BenchRun.Event("warmup")));
            }

            var after = await run.Server.CollectAsync();
            var residentAfter = run.Server.ResidentBytes();
            rows.Add(new Row(run.Mode.ToString(), target.ToString(), Connections, (after.HeapBytes - before.HeapBytes) / 1024.0 / Connections,
                (residentAfter - residentBefore) / 1024.0 / Connections));

            await stop.CancelAsync();
            await Task.WhenAll(following);
            await BenchRun.DisposeAllAsync(subscribers);
        }

        return rows;
    }
}
