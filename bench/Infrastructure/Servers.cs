using System.Globalization;
using Microsoft.AspNetCore.Http.Connections;
using HubStreams.Protocols.MessagePack;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;

namespace HubStreams.Bench.Infrastructure;

/// <summary>Where the streams live during a run.</summary>
internal enum StoreMode
{
    Memory,
    Redis,

    /// <summary>A Redis Cluster of three primaries on loopback (<c>--cluster</c>).</summary>
    RedisCluster,
}

/// <summary>
/// The stream methods compared: HubStreams over its hub, HubStreams over Server-Sent Events (the original design's
/// transport; produced through the hub), the original design's polling, and raw SignalR.
/// </summary>
internal enum Target
{
    HubStreams,
    Sse,
    Polling,
    Raw,
}

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

/// <summary>The server under test: this executable in host mode, in its own process.</summary>
internal sealed class BenchServer : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private BenchServer(ChildProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static async Task<BenchServer> StartAsync(StoreMode mode, BenchRedis? redis)
    {
        var port = ChildProcess.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["AUTH_MODE"] = "none",
            ["STREAM_MANAGER_TYPE"] = mode == StoreMode.Memory ? "memory" : "redis",
            ["STREAM_MAX_EVENTS"] = "1000000",
            ["LIMIT_APPENDS_PER_SECOND"] = "10000000",
            ["LIMIT_APPEND_BURST"] = "10000000",
            ["LIMIT_READS_PER_SECOND"] = "10000000",
            ["LIMIT_READ_BURST"] = "10000000",
            ["LIMIT_SUBSCRIPTIONS_PER_CONNECTION"] = "1000",
        };
        if (redis is not null)
        {
            environment["REDIS_ADDR"] = redis.Address;
        }

        var process = ChildProcess.Start("dotnet", [Path.Combine(AppContext.BaseDirectory, "HubStreams.Bench.dll"), BenchHost.Argument], environment);
        var server = new BenchServer(process, new Uri($"http://127.0.0.1:{port}"));
        using var http = new HttpClient();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                if ((await http.GetAsync(new Uri(server.BaseAddress, "/readyz"))).IsSuccessStatusCode)
                {
                    return server;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException(
                    $"The benchmark server {(process.HasExited ? "exited" : "did not become ready within 60 s")}. Its last output:\n{process.LastOutput}");
            }

            await Task.Delay(100);
        }
    }

    public TimeSpan CpuTime() => _process.CpuTime();

    /// <summary>The server's process id (its CPU is read from /proc; the peer comparison kills it).</summary>
    public int Pid => _process.Pid;

    /// <summary>The server's runtime counters now (bench-only endpoint).</summary>
    public Task<RuntimeCounters> RuntimeAsync() => ReadCountersAsync(HttpMethod.Get, "/bench/runtime");

    /// <summary>Forces two full, compacting collections in the server, then reads its counters: the live heap is what is in use.</summary>
    public Task<RuntimeCounters> CollectAsync() => ReadCountersAsync(HttpMethod.Post, "/bench/collect");

    private async Task<RuntimeCounters> ReadCountersAsync(HttpMethod method, string path)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress };
        using var response = await http.SendAsync(new HttpRequestMessage(method, path));
        response.EnsureSuccessStatusCode();
        return (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<RuntimeCounters>(response.Content))!;
    }

    /// <summary>Resident memory of the server process, from /proc.</summary>
    public long ResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Pid}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    public async Task<HubConnection> ConnectAsync(Target target, bool messagePack = false)
    {
        var path = target switch { Target.HubStreams or Target.Sse => "/hubs/streams", Target.Polling => "/hubs/polling", _ => "/hubs/raw" };
        var builder = new HubConnectionBuilder()
            .WithUrl(new Uri(BaseAddress, path), o => { o.SkipNegotiation = true; o.Transports = HttpTransportType.WebSockets; });
        if (messagePack)
        {
            builder.AddHubStreamsMessagePackProtocol();
        }

        var connection = builder.Build();
        await connection.StartAsync();
        return connection;
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
