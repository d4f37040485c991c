using System.Diagnostics;
using System.Diagnostics.Metrics;
using HubStreams.Bench.Infrastructure;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// What REDIS_WAIT_REPLICAS=1 costs: a primary with one replica on loopback, appends of 200-byte events through
/// IStreamManager acknowledged once the primary has them, and once the replica has them too (WAIT on a connection of
/// its own): one producer's append latency, and appends/s with 1, 8 and 64 producers.
/// </summary>
internal static class DurableAppendScenario
{
    public sealed record Row(string Acknowledged, double P50Us, double P99Us, double OneProducerPerSecond, double EightProducersPerSecond,
        double SixtyFourProducersPerSecond);

    private static readonly string Content = new('x', 200 - 83);

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        if (run.Mode != StoreMode.Redis || run.Redis is not { } redis)
        {
            return [];
        }

        run.Report("durable appends: starting a replica");
        var replicaPort = ChildProcess.FreePort();
        await using var replica = ChildProcess.Start("redis-server",
            ["--port", ChildProcess.Invariant(replicaPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--dir", Directory.CreateTempSubdirectory("hubstreams-bench-replica-").FullName,
                "--replicaof", "127.0.0.1", ChildProcess.Invariant(redis.Port)]);
        await using var replicaConnection = await ConnectAsync($"127.0.0.1:{replicaPort},abortConnect=false");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await InSyncAsync(replicaConnection.GetServer($"127.0.0.1:{replicaPort}")))
        {
            await Task.Delay(DateTime.UtcNow < deadline ? 100 : throw new TimeoutException("The replica did not sync."));
        }

        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var rows = new List<Row>();
        foreach (var replicas in new[] { 0, 1 })
        {
            await using var connection = await ConnectAsync(redis.Address);
            await using var appendConnection = await ConnectAsync(redis.Address);
            var redisOptions = new RedisStreamOptions { Prefix = $"bench:durable:{Guid.NewGuid():N}", WaitReplicas = replicas, WaitTimeout = TimeSpan.FromSeconds(1) };
            await using var manager = new RedisStreamManager(connection, new StreamOptions { MaxEvents = 1_000_000 }, redisOptions,
                new StreamMetrics(services.GetRequiredService<IMeterFactory>()), NullLogger<RedisStreamManager>.Instance,
                replicatedAppends: replicas > 0 ? new ReplicatedAppends(appendConnection, redisOptions) : null);
            var label = replicas == 0 ? "by the primary" : "by the primary and 1 replica";
            run.Report($"durable appends: one producer's latency, acknowledged {label}");
            var latencies = await LatenciesAsync(manager, run.Quick ? 5_000 : 20_000);
            var perSecond = new List<double>();
            foreach (var producers in new[] { 1, 8, 64 })
            {
                run.Report($"durable appends: {producers} producers, acknowledged {label}");
                perSecond.Add(await AppendsPerSecondAsync(manager, producers, run.Window(2, 10)));
            }

            rows.Add(new Row(label, latencies[latencies.Length / 2], latencies[(int)(latencies.Length * 0.99)], perSecond[0], perSecond[1], perSecond[2]));
        }

        return rows;
    }

    private static async Task<bool> InSyncAsync(IServer replica)
    {
        try
        {
            return (await replica.InfoRawAsync("replication"))?.Contains("master_link_status:up", StringComparison.Ordinal) == true;
        }
        catch (RedisConnectionException)
        {
            return false; // not listening yet
        }
    }

    private static Task<ConnectionMultiplexer> ConnectAsync(string address) => ConnectionMultiplexer.ConnectAsync($"{address},allowAdmin=true");

    private static async Task<double[]> LatenciesAsync(RedisStreamManager manager, int count)
    {
        var key = StreamKey.Create("durable", $"latency-{Guid.NewGuid():N}");
        var streamEvent = new StreamEvent { Type = EventTypes.Answer, Content = Content };
        var latencies = new double[count];
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            await manager.AppendAsync(key, streamEvent);
            latencies[i] = clock.Elapsed.TotalMicroseconds;
        }

        Array.Sort(latencies);
        return latencies;
    }

    private static async Task<double> AppendsPerSecondAsync(RedisStreamManager manager, int producers, TimeSpan duration)
    {
        long total = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var key = StreamKey.Create("durable", $"p{p}-{Guid.NewGuid():N}");
            var streamEvent = new StreamEvent { Type = EventTypes.Answer, Content = Content };
            long mine = 0;
            while (clock.Elapsed < duration && mine < 900_000)
            {
                await manager.AppendAsync(key, streamEvent);
                mine++;
            }

            Interlocked.Add(ref total, mine);
        })));
        return total / clock.Elapsed.TotalSeconds;
    }
}
