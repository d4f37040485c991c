using System.Diagnostics;
using HubStreams.Bench.Infrastructure;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// 1,000 idle subscribers, each on a stream that receives nothing: Redis commands/s (INFO stats) and server
/// CPU, HubStreams against the original design's 100 ms polling.
/// </summary>
internal static class IdleScenario
{
    public sealed record Row(string Mode, string Target, int Subscribers, double Seconds, double? RedisCommandsPerSecond,
        double? RedisCommandsPerSubscriberPerSecond, double ServerCpuPercent);

    public const int Subscribers = 1000;

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var rows = new List<Row>();
        foreach (var target in new[] { Target.HubStreams, Target.Polling })
        {
            run.Report($"idle: {Subscribers} subscribers, {target}");
            var connections = await run.ConnectManyAsync(target, Subscribers);
            using var stop = new CancellationTokenSource();
            var run_ = Guid.NewGuid().ToString("N")[..8];
            var following = connections.Select((c, i) => BenchRun.Follow(c, "idle", $"{run_}-{i}", _ => { }, stop.Token)).ToList();
            await Task.Delay(TimeSpan.FromSeconds(3));

            var commandsBefore = run.Redis is { } r1 ? await r1.CommandsProcessedAsync() : 0;
            var cpuBefore = run.Server.CpuTime();
            var clock = Stopwatch.StartNew();
            await Task.Delay(run.Window(30, 30)); // One safety-net interval: exactly one pass falls in it.
            var commandsAfter = run.Redis is { } r2 ? await r2.CommandsProcessedAsync() : 0;
            var seconds = clock.Elapsed.TotalSeconds;
            var cpu = (run.Server.CpuTime() - cpuBefore).TotalSeconds / seconds * 100;

            // The first INFO is counted in the second reading.
            double? perSecond = run.Redis is null ? null : (commandsAfter - commandsBefore - 1) / seconds;
            rows.Add(new Row(run.Mode.ToString(), target.ToString(), Subscribers, seconds, perSecond, perSecond / Subscribers, cpu));

            await stop.CancelAsync();
            await Task.WhenAll(following);
            await BenchRun.DisposeAllAsync(connections);
        }

        return rows;
    }
}
