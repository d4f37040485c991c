using System.Globalization;
using StackExchange.Redis;

namespace HubStreams.Bench.Infrastructure;

/// <summary>
/// Redis the benchmark owns, on free loopback ports, with no persistence: one redis-server, or a cluster of three
/// primaries joined with redis-cli.
/// </summary>
internal sealed class BenchRedis : IAsyncDisposable
{
    private readonly IReadOnlyList<ChildProcess> _processes;
    private readonly IReadOnlyList<int> _ports;

    private BenchRedis(IReadOnlyList<ChildProcess> processes, IReadOnlyList<int> ports, IConnectionMultiplexer connection)
    {
        _processes = processes;
        _ports = ports;
        Connection = connection;
    }

    /// <summary>The first node's port (redis-benchmark's entry point).</summary>
    public int Port => _ports[0];

    public bool IsCluster => _ports.Count > 1;

    /// <summary>Every node, as REDIS_ADDR takes it.</summary>
    public string Address => string.Join(",", _ports.Select(p => $"127.0.0.1:{p}"));

    /// <summary>An admin connection of the benchmark's own (INFO, bulk loads), not the server's.</summary>
    public IConnectionMultiplexer Connection { get; }

    public static Task<BenchRedis> StartAsync() => StartAsync(nodes: 1);

    public static Task<BenchRedis> StartClusterAsync() => StartAsync(nodes: 3);

    private static async Task<BenchRedis> StartAsync(int nodes)
    {
        var ports = Enumerable.Range(0, nodes).Select(_ => ChildProcess.FreePort()).ToArray();
        var processes = new List<ChildProcess>();
        foreach (var port in ports)
        {
            // A folder of its own, so that no file a server writes (a replica's copy of the data, say) is loaded by the next.
            var folder = Directory.CreateTempSubdirectory("hubstreams-bench-redis-").FullName;
            string[] arguments = ["--port", ChildProcess.Invariant(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", folder];
            if (nodes > 1)
            {
                arguments = [.. arguments, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-port", ChildProcess.Invariant(ChildProcess.FreePort())];
            }

            processes.Add(ChildProcess.Start("redis-server", arguments));
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        var seeds = string.Join(",", ports.Select(p => $"127.0.0.1:{p}"));
        if (nodes > 1)
        {
            await WaitForPingAsync(ports, deadline);
            await RedisCliAsync(ports[0], ["--cluster", "create", .. ports.Select(p => $"127.0.0.1:{p}"), "--cluster-replicas", "0", "--cluster-yes"]);
            await WaitForClusterAsync(ports, deadline);
        }

        while (true)
        {
            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync($"{seeds},allowAdmin=true,abortConnect=true");
                return new BenchRedis(processes, ports, connection);
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    private static async Task WaitForPingAsync(int[] ports, DateTime deadline)
    {
        foreach (var port in ports)
        {
            while (!(await RedisCliAsync(port, "ping")).Contains("PONG", StringComparison.Ordinal))
            {
                await Task.Delay(DateTime.UtcNow < deadline ? 100 : throw new TimeoutException($"redis-server on {port} did not start."));
            }
        }
    }

    private static async Task WaitForClusterAsync(int[] ports, DateTime deadline)
    {
        foreach (var port in ports)
        {
            while (!(await RedisCliAsync(port, "cluster", "info")).Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                await Task.Delay(DateTime.UtcNow < deadline ? 100 : throw new TimeoutException("The Redis Cluster did not form."));
            }
        }
    }

    private static async Task<string> RedisCliAsync(int port, params string[] command)
    {
        var start = new System.Diagnostics.ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-p", ChildProcess.Invariant(port) }.Concat(command))
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    /// <summary>Commands processed so far, over every node.</summary>
    public async Task<long> CommandsProcessedAsync()
    {
        long total = 0;
        foreach (var port in _ports)
        {
            var info = await Connection.GetServer($"127.0.0.1:{port}").InfoAsync("stats");
            total += long.Parse(info.SelectMany(g => g).First(kv => kv.Key == "total_commands_processed").Value, CultureInfo.InvariantCulture);
        }

        return total;
    }

    /// <summary>How many times <paramref name="command"/> ran so far, over every node, scripts' calls of it included.</summary>
    public async Task<long> CallsOfAsync(string command)
    {
        long total = 0;
        foreach (var port in _ports)
        {
            var stats = (await Connection.GetServer($"127.0.0.1:{port}").InfoAsync("commandstats")).SelectMany(g => g);
            if (stats.FirstOrDefault(kv => kv.Key == $"cmdstat_{command}").Value is { } value)
            {
                // calls=12,usec=…
                total += long.Parse(value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture);
            }
        }

        return total;
    }

    /// <summary>CPU seconds (user and system) Redis has used so far, over every node.</summary>
    public async Task<double> CpuSecondsAsync()
    {
        double total = 0;
        foreach (var port in _ports)
        {
            var info = (await Connection.GetServer($"127.0.0.1:{port}").InfoAsync("cpu")).SelectMany(g => g).ToList();
            total += info.Where(kv => kv.Key is "used_cpu_user" or "used_cpu_sys").Sum(kv => double.Parse(kv.Value, CultureInfo.InvariantCulture));
        }

        return total;
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }
    }
}
