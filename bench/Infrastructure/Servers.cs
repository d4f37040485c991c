using System.Globalization;
using Microsoft.AspNetCore.Http.Connections;
using HubStreams.Protocols.MessagePack;
using Microsoft.AspNetCore.SignalR.Client;

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
