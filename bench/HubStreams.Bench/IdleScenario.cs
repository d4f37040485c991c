using System.Diagnostics;
using HubStreams.Streams;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;

namespace HubStreams.Bench;

/// <summary>
/// Idle cost in redis mode: N subscribers wait on streams that receive nothing. Counts the Redis commands
/// the server issues (INFO stats, total_commands_processed) and its CPU, per subscriber per second.
/// The original design polled every 100 ms: 10 commands per subscriber per second.
/// </summary>
internal static class IdleScenario
{
    private const double PollingCommandsPerSubscriberPerSecond = 10;

    public static async Task RunAsync(int subscribers, TimeSpan window)
    {
        var redisPort = ChildProcess.FreePort();
        await using var redisServer = ChildProcess.Start("redis-server",
            ["--port", ChildProcess.Invariant(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        var redisAddress = $"127.0.0.1:{redisPort}";
        await using var redis = await ConnectionMultiplexer.ConnectAsync(redisAddress + ",allowAdmin=true");
        var server = redis.GetServer(redisAddress);
        await WaitForAsync(async () => { try { await server.PingAsync(); return true; } catch (RedisConnectionException) { return false; } });

        var httpPort = ChildProcess.FreePort();
        var baseUrl = $"http://127.0.0.1:{httpPort}";
        await using var node = ChildProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "HubStreams.Server.dll")],
            new Dictionary<string, string>
            {
                ["ASPNETCORE_URLS"] = baseUrl,
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["AUTH_MODE"] = "none",
                ["STREAM_MANAGER_TYPE"] = "redis",
                ["REDIS_ADDR"] = redisAddress,
                ["Logging__LogLevel__Default"] = "Warning",
            });
        using var http = new HttpClient();
        await WaitForAsync(async () =>
        {
            try { return (await http.GetAsync(new Uri(baseUrl + "/healthz"))).IsSuccessStatusCode; }
            catch (HttpRequestException) { return false; }
        });

        foreach (var shared in new[] { false, true })
        {
            await MeasureAsync(server, node, baseUrl, subscribers, window, shared);
        }
    }

    private static async Task MeasureAsync(IServer redis, ChildProcess node, string baseUrl, int subscribers, TimeSpan window, bool shared)
    {
        var label = shared ? "one shared stream" : "a stream each";
        Console.WriteLine($"idle: opening {subscribers} subscribers ({label})...");
        var connections = new List<HubConnection>();
        var run = Guid.NewGuid().ToString("N")[..8];
        using var stop = new CancellationTokenSource();
        var reads = new List<Task>();
        for (var i = 0; i < subscribers; i++)
        {
            var connection = new HubConnectionBuilder()
                .WithUrl(baseUrl + "/hubs/streams", o => { o.SkipNegotiation = true; o.Transports = HttpTransportType.WebSockets; })
                .Build();
            await connection.StartAsync();
            connections.Add(connection);
            var messageId = shared ? $"idle-{run}" : $"idle-{run}-{i}";
            reads.Add(Task.Run(async () =>
            {
                try
                {
                    await foreach (var _ in connection.StreamAsync<StreamEvent>("StreamEvents", "bench", messageId, 0L, stop.Token))
                    {
                    }
                }
                catch (OperationCanceledException)
                {
                    // Stopped at the end of the measurement.
                }
            }));
        }

        // Let every subscription reach its wait, then measure a quiet window.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var before = await CommandsProcessedAsync(redis);
        var cpuBefore = node.CpuTime();
        var clock = Stopwatch.StartNew();
        await Task.Delay(window);
        var after = await CommandsProcessedAsync(redis);
        var cpuAfter = node.CpuTime();
        var seconds = clock.Elapsed.TotalSeconds;

        // The first INFO is counted in the second reading.
        var commands = after - before - 1;
        var perSubscriberPerSecond = commands / (double)subscribers / seconds;
        var cpuPercent = (cpuAfter - cpuBefore).TotalSeconds / seconds * 100;
        Console.WriteLine(
            $"idle ({label}): {subscribers} subscribers, {seconds:F1} s: {commands} Redis commands = " +
            $"{commands / seconds:F2}/s in all, {perSubscriberPerSecond:F5} per subscriber per second " +
            $"({perSubscriberPerSecond / PollingCommandsPerSubscriberPerSecond:P3} of 100 ms polling's 10); server CPU {cpuPercent:F2} %");

        await stop.CancelAsync();
        await Task.WhenAll(reads);
        foreach (var connection in connections)
        {
            await connection.DisposeAsync();
        }
    }

    private static async Task<long> CommandsProcessedAsync(IServer redis)
    {
        var info = await redis.InfoAsync("stats");
        var value = info.SelectMany(g => g).First(kv => kv.Key == "total_commands_processed").Value;
        return long.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("A benchmark process did not come up within 60 s.");
            }

            await Task.Delay(100);
        }
    }
}
