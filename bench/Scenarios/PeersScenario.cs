using System.Diagnostics;
using System.Text.Json;
using HubStreams.Bench.Infrastructure;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// HubStreams beside the systems a chat product would pick instead, in the same run, under the same load from the same
/// driver (<c>bench/peers/driver.mjs</c>, Node): Vercel's <c>resumable-stream</c>, Socket.IO 4.8 with connection state
/// recovery on the Redis Streams adapter, and the Durable Streams reference server. Each peer runs from its published
/// package (pinned in <c>bench/peers/package.json</c>, installed by the bench with <c>npm ci</c>), set up as its docs
/// show. A system with nodes runs two on one Redis of its own: the producer writes through the first, every reader
/// reads through the second. Server CPU is every server process's (from /proc) and Redis's (INFO), per 1,000 events
/// delivered in the window. What a system cannot do by design is "n/a" with the reason.
/// </summary>
internal static class PeersScenario
{
    /// <summary>One load: streams at 50 events/s, a reader each, over a window.</summary>
    public sealed record Load(int Streams, double OfferedPerSecond, double DeliveredPerSecond, double P50Ms, double P99Ms,
        long Gaps, long Duplicates, double? ServerCpuSecondsPer1000, double DriverCpuShare, bool Sustained);

    public sealed record Resume(int Trials, long Gaps, long Duplicates, int Incomplete, double FirstEventMedianMs, double? FirstEventMaxMs, int EscapedErrors);

    public sealed record Kill(int Written, int DeliveredBeforeKill, int Recovered, int Duplicates);

    public sealed record Late(int Chunks, int TextChars, long Bytes, double FirstMs, double? MedianMs);

    /// <summary>A system's rows; a null figure has its reason beside it.</summary>
    public sealed record Row(string System, string Setup, Load Latency, List<Load> Steps,
        Resume? Resume, Kill? Kill, string? KillNotApplicable, Late? LateJoiner, string? LateJoinerNotApplicable)
    {
        public int Sustained => Steps.Where(s => s.Sustained).Select(s => s.Streams).DefaultIfEmpty(0).Max();
    }

    private static readonly int[] Steps = [100, 250, 500, 1000, 1500];

    private sealed record PeerSystem(string Name, string Driver, string Setup, int Nodes, bool UsesRedis);

    private static readonly PeerSystem[] Systems =
    [
        new("HubStreams (Redis)", "hubstreams", "two nodes on one Redis; the .NET server, the JavaScript client package", 2, true),
        new("HubStreams (memory)", "hubstreams", "one node, streams in memory", 1, false),
        new("resumable-stream", "resumable-stream", "resumable-stream 2.2.13 on node-redis 6.4, two Node http servers: POST starts an answer (createNewResumableStream), GET resumes it (resumeExistingStream, skip = characters received)", 2, true),
        new("Socket.IO", "socketio", "socket.io 4.8.4 with connectionStateRecovery (2 min) on @socket.io/redis-streams-adapter 0.3.1, two nodes; a stream is a room, the client socket.io-client 4.8.4", 2, true),
        new("Durable Streams", "durable-streams", "@durable-streams/server 0.3.7 (one node, in memory, compression on), the client @durable-streams/client 0.2.7: IdempotentProducer, stream() over SSE", 1, false),
    ];

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        var folder = await InstallAsync(run);
        var rows = new List<Row>();
        foreach (var system in Systems)
        {
            rows.Add(await MeasureAsync(run, folder, system));
        }

        return rows;
    }

    // The peers' packages, as package-lock.json pins them.
    private static async Task<string> InstallAsync(BenchRun run)
    {
        var folder = Path.Combine(BenchRun.BenchDirectory, "peers");
        if (!Directory.Exists(Path.Combine(folder, "node_modules")))
        {
            run.Report("peers: npm ci (the peers' packages)");
            var (code, output) = await RunAsync("npm", ["ci", "--install-links", "--no-audit", "--no-fund"], folder, TimeSpan.FromMinutes(10));
            if (code != 0)
            {
                throw new InvalidOperationException($"npm ci in {folder} failed:\n{output}");
            }
        }

        return folder;
    }

    private static async Task<Row> MeasureAsync(BenchRun run, string folder, PeerSystem system)
    {
        async Task<T> Driver<T>(string workload, object settings) where T : class
        {
            var (code, output) = await RunAsync("node", ["driver.mjs", system.Driver, workload, JsonSerializer.Serialize(settings, Json)], folder, TimeSpan.FromMinutes(5));
            var line = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault(l => l.StartsWith('{'));
            return code == 0 && line is not null
                ? JsonSerializer.Deserialize<T>(line, Json)!
                : throw new InvalidOperationException($"The driver's {workload} on {system.Name} failed ({code}):\n{output}");
        }

        var seconds = run.Quick ? 4 : 8;
        await using var nodes = await PeerNodes.StartAsync(system, folder);
        object Settings(object? extra = null) => new { nodes = nodes.Urls, pids = nodes.Pids, redisPort = nodes.RedisPort, seconds, streams = extra };

        run.Report($"peers: {system.Name}, warming up");
        await Driver<Load>("latency", Settings());
        run.Report($"peers: {system.Name}, 5 streams at 50 events/s");
        var latency = await Driver<Load>("latency", Settings());
        var steps = new List<Load>();
        foreach (var streams in Steps)
        {
            run.Report($"peers: {system.Name}, {streams:N0} streams at 50 events/s");
            var step = await Driver<Load>("streams", Settings(streams));
            steps.Add(step);
            if (steps.Count(s => !s.Sustained) >= 2)
            {
                break;
            }
        }

        run.Report($"peers: {system.Name}, resume after a drop");
        var resume = await Driver<Resume>("resume", Settings());
        run.Report($"peers: {system.Name}, a late joiner");
        var lateResult = await Driver<LateResult>("latejoiner", Settings());
        var late = lateResult.Bytes is { } bytes && lateResult.Correct
            ? new Late(lateResult.Chunks, lateResult.TextChars, bytes, lateResult.FirstMs, lateResult.MedianMs)
            : null;
        var lateReason = late is not null ? null
            : lateResult.Reason ?? (lateResult.Status is { } status ? $"a finished stream is refused ({status})" : "the text read back differs");

        Kill? kill = null;
        string? killReason = "one node: nothing else can serve the stream";
        if (system.Nodes > 1)
        {
            run.Report($"peers: {system.Name}, the producer's node SIGKILLed");
            kill = await Driver<Kill>("kill", Settings());
            killReason = null;
        }

        return new Row(system.Name, system.Setup, latency, steps, resume, kill, killReason, late, lateReason);
    }

    private sealed record LateResult(int Chunks, int TextChars, long? Bytes, bool Correct, double FirstMs, double? MedianMs, int? Status, string? Reason);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] arguments, string folder, TimeSpan limit)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return (-1, $"timed out after {limit}\n{await error}");
        }

        return (process.ExitCode, await output + await error);
    }

    /// <summary>A system's nodes for one measurement, and the Redis of its own they share.</summary>
    private sealed class PeerNodes : IAsyncDisposable
    {
        private readonly List<IAsyncDisposable> _owned = [];

        public List<string> Urls { get; } = [];

        public List<int> Pids { get; } = [];

        public int? RedisPort { get; private set; }

        public static async Task<PeerNodes> StartAsync(PeerSystem system, string folder)
        {
            var nodes = new PeerNodes();
            try
            {
                BenchRedis? redis = null;
                if (system.UsesRedis)
                {
                    redis = await BenchRedis.StartAsync();
                    nodes._owned.Add(redis);
                    nodes.RedisPort = redis.Port;
                }

                for (var i = 0; i < system.Nodes; i++)
                {
                    if (system.Driver == "hubstreams")
                    {
                        var server = await BenchServer.StartAsync(redis is null ? StoreMode.Memory : StoreMode.Redis, redis);
                        nodes._owned.Add(server);
                        nodes.Urls.Add(server.BaseAddress.ToString().TrimEnd('/'));
                        nodes.Pids.Add(server.Pid);
                        continue;
                    }

                    var port = ChildProcess.FreePort();
                    var environment = new Dictionary<string, string> { ["PORT"] = ChildProcess.Invariant(port) };
                    if (redis is not null)
                    {
                        environment["REDIS_URL"] = $"redis://127.0.0.1:{redis.Port}";
                    }

                    var process = ChildProcess.Start("node", [Path.Combine(folder, "servers", $"{system.Driver}.mjs")], environment);
                    nodes._owned.Add(process);
                    await WaitForPortAsync(port, process);
                    nodes.Urls.Add($"http://127.0.0.1:{port}");
                    nodes.Pids.Add(process.Pid);
                }

                return nodes;
            }
            catch
            {
                await nodes.DisposeAsync();
                throw;
            }
        }

        private static async Task WaitForPortAsync(int port, ChildProcess process)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    using var client = new System.Net.Sockets.TcpClient();
                    await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
                    return;
                }
                catch (System.Net.Sockets.SocketException) when (!process.HasExited && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    throw new InvalidOperationException($"A peer's node did not listen on {port}. Its last output:\n{process.LastOutput}");
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            // The servers first, then their Redis.
            for (var i = _owned.Count - 1; i >= 0; i--)
            {
                await _owned[i].DisposeAsync();
            }
        }
    }
}
