using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using HubStreams.Bench.Infrastructure;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Streams.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// Appends per second through IStreamManager with 1, 8 and 64 concurrent producers and 200-byte events, plain and
/// conditional (each at its offset, with its id: exactly-once appends), against redis-benchmark RPUSH at the same
/// concurrency and size, not pipelined and pipelined (16); in Redis mode, with the mean number of appends per script
/// call (the group commit's batch size), and the CPU Redis spent per append and per redis-benchmark RPUSH (INFO cpu):
/// on a machine where the client and Redis share the cores, that is what shows what Redis alone could sustain.
/// </summary>
internal static class ThroughputScenario
{
    public sealed record Row(
        string Mode, int Producers, double AppendsPerSecond, double? RedisBenchmarkRpush, double? RedisBenchmarkRpushPipelined, double? Ratio,
        double ConditionalAppendsPerSecond, double? AppendsPerCall, double? RedisCpuUsPerAppend, double? RedisCpuUsPerRpush)
    {
        /// <summary>Conditional appends/s over plain appends/s: what exactly-once costs.</summary>
        public double ConditionalRatio => AppendsPerSecond > 0 ? ConditionalAppendsPerSecond / AppendsPerSecond : 0;
    }

    // 200 bytes of stored JSON: {"type":"answer","content":"xxx…","done":false,"timestamp":"…"}.
    private static readonly string Content = new('x', 200 - 83);

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        // Streams expire 10 s after their last append: a full run appends tens of millions of events, which the memory
        // store would otherwise hold (and Redis too) until the benchmark ends.
        var options = new StreamOptions { MaxEvents = 1_000_000, Ttl = TimeSpan.FromSeconds(10) };
        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new StreamMetrics(services.GetRequiredService<IMeterFactory>());
        var redisMetrics = new RedisMetrics(metrics);
        ConnectionMultiplexer? connection = null;
        IStreamManager manager;
        if (run.Redis is { } redis)
        {
            connection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
            manager = new RedisStreamManager(connection, options, new RedisStreamOptions { Prefix = $"bench:tp:{Guid.NewGuid():N}" },
                metrics, NullLogger<RedisStreamManager>.Instance, redisMetrics: redisMetrics);
        }
        else
        {
            manager = new MemoryStreamManager(options, metrics);
        }

        // The memory store runs a million appends a second and more: each measured window gets a store of its own, so
        // that the last window's events (held until their TTL) do not fill this one's memory budget.
        IStreamManager FreshIfInMemory()
        {
            if (manager is MemoryStreamManager used)
            {
                used.Dispose();
                manager = new MemoryStreamManager(options, metrics);
            }

            return manager;
        }

        var rows = new List<Row>();
        try
        {
            foreach (var producers in new[] { 1, 8, 64 })
            {
                run.Report($"throughput: {producers} producers through IStreamManager");
                var (calls, committed) = (redisMetrics.AppendCalls, redisMetrics.AppendsCommitted);
                var cpu = run.Redis is { } r0 ? await r0.CpuSecondsAsync() : 0;
                var perSecond = await AppendAsFastAsPossibleAsync(FreshIfInMemory(), producers, run.Window(2, 10), conditional: false);
                double? appendsPerCall = redisMetrics.AppendCalls > calls ? (redisMetrics.AppendsCommitted - committed) / (double)(redisMetrics.AppendCalls - calls) : null;
                double? cpuPerAppend = run.Redis is { } r1 ? (await r1.CpuSecondsAsync() - cpu) * 1e6 / (redisMetrics.AppendsCommitted - committed) : null;
                run.Report($"throughput: {producers} producers, conditional appends");
                var conditional = await AppendAsFastAsPossibleAsync(FreshIfInMemory(), producers, run.Window(2, 10), conditional: true);
                double? plain = null, pipelined = null, cpuPerRpush = null;
                if (run.Redis is { } r)
                {
                    run.Report($"throughput: redis-benchmark rpush -c {producers}");
                    var cpuBefore = await r.CpuSecondsAsync();
                    (plain, var requests) = await RedisBenchmarkAsync(r, producers, pipeline: 1, run.Quick);
                    cpuPerRpush = (await r.CpuSecondsAsync() - cpuBefore) * 1e6 / requests;
                    (pipelined, _) = await RedisBenchmarkAsync(r, producers, pipeline: 16, run.Quick);
                }

                rows.Add(new Row(run.Mode.ToString(), producers, perSecond, plain, pipelined, plain is > 0 ? perSecond / plain : null, conditional, appendsPerCall, cpuPerAppend, cpuPerRpush));
            }
        }
        finally
        {
            switch (manager)
            {
                case IAsyncDisposable disposable: await disposable.DisposeAsync(); break;
                case IDisposable disposable: disposable.Dispose(); break;
            }

            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }

        return rows;
    }

    private static async Task<double> AppendAsFastAsPossibleAsync(IStreamManager manager, int producers, TimeSpan duration, bool conditional)
    {
        long total = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var streamEvent = new StreamEvent { Type = EventTypes.Answer, Content = Content, Timestamp = DateTimeOffset.UnixEpoch };
            var key = StreamKey.Create("throughput", $"p{p}-{Guid.NewGuid():N}");
            long mine = 0;
            while (clock.Elapsed < duration)
            {
                if (mine > 0 && mine % 500_000 == 0)
                {
                    key = StreamKey.Create("throughput", $"p{p}-{Guid.NewGuid():N}");
                }

                var offset = mine % 500_000;
                if (conditional)
                {
                    await manager.AppendAtAsync(key, streamEvent with { Id = $"e{offset}" }, offset);
                }
                else
                {
                    await manager.AppendAsync(key, streamEvent);
                }

                mine++;
            }

            Interlocked.Add(ref total, mine);
        })));
        return total / clock.Elapsed.TotalSeconds;
    }

    // Requests per second, and how many requests it sent.
    private static async Task<(double PerSecond, int Requests)> RedisBenchmarkAsync(BenchRedis redis, int clients, int pipeline, bool quick)
    {
        var requests = (clients, pipeline, quick) switch
        {
            (1, 1, true) => 30_000,
            (_, 1, true) => 150_000,
            (_, _, true) => 500_000,
            (1, 1, false) => 150_000,
            (_, 1, false) => 600_000,
            _ => 2_000_000,
        };
        var start = new ProcessStartInfo("redis-benchmark") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // On a cluster, redis-benchmark --cluster spreads its keys over the slots of every primary.
        foreach (var argument in new[]
                 {
                     "-h", "127.0.0.1", "-p", ChildProcess.Invariant(redis.Port), "-t", "rpush", "-c", ChildProcess.Invariant(clients),
                     "-n", ChildProcess.Invariant(requests), "-d", "200", "-P", ChildProcess.Invariant(pipeline), "--csv",
                 }.Concat(redis.IsCluster ? ["--cluster", "-r", "100000"] : []))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        var line = output.Split('\n').First(l => l.StartsWith("\"RPUSH\"", StringComparison.Ordinal));
        return (double.Parse(line.Split(',')[1].Trim('"'), CultureInfo.InvariantCulture), requests);
    }
}
