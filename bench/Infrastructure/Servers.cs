using System.Globalization;
using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;

namespace HubStreams.Bench.Infrastructure;

/// <summary>Where the streams live during a run.</summary>
internal enum StoreMode
{
    Memory,
    Redis,
}

/// <summary>The three stream methods compared: HubStreams, the original design's polling, and raw SignalR.</summary>
internal enum Target
{
    HubStreams,
    Polling,
    Raw,
}

/// <summary>A redis-server the benchmark owns, on a free loopback port, with no persistence.</summary>
internal sealed class BenchRedis : IAsyncDisposable
{
    private readonly ChildProcess _process;

    private BenchRedis(ChildProcess process, int port, IConnectionMultiplexer connection)
    {
        _process = process;
        Port = port;
        Connection = connection;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <summary>An admin connection of the benchmark's own (INFO, bulk loads), not the server's.</summary>
    public IConnectionMultiplexer Connection { get; }

    public static async Task<BenchRedis> StartAsync()
    {
        var port = ChildProcess.FreePort();
        var process = ChildProcess.Start("redis-server",
            ["--port", ChildProcess.Invariant(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                var connection = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{port},allowAdmin=true,abortConnect=true");
                return new BenchRedis(process, port, connection);
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    public async Task<long> CommandsProcessedAsync()
    {
        var info = await Connection.GetServer(Address).InfoAsync("stats");
        return long.Parse(info.SelectMany(g => g).First(kv => kv.Key == "total_commands_processed").Value, CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        await _process.DisposeAsync();
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
            ["STREAM_MANAGER_TYPE"] = mode == StoreMode.Redis ? "redis" : "memory",
            ["STREAM_MAX_EVENTS"] = "1000000",
            ["LIMIT_APPENDS_PER_SECOND"] = "10000000",
            ["LIMIT_APPEND_BURST"] = "10000000",
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
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The benchmark server did not become ready within 60 s.");
            }

            await Task.Delay(100);
        }
    }

    public TimeSpan CpuTime() => _process.CpuTime();

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

    public async Task<HubConnection> ConnectAsync(Target target)
    {
        var path = target switch { Target.HubStreams => "/hubs/streams", Target.Polling => "/hubs/polling", _ => "/hubs/raw" };
        var connection = new HubConnectionBuilder()
            .WithUrl(new Uri(BaseAddress, path), o => { o.SkipNegotiation = true; o.Transports = HttpTransportType.WebSockets; })
            .Build();
        await connection.StartAsync();
        return connection;
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
