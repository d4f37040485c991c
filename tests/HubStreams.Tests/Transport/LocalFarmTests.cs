using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using HubStreams.Client;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Xunit.Abstractions;

namespace HubStreams.Tests.Transport;

/// <summary>scripts/farm.sh up: one Redis.</summary>
public sealed class LocalFarmTests(ITestOutputHelper output) : LocalFarmContract(output, cluster: false);

/// <summary>scripts/farm.sh up --cluster: a Redis Cluster of three primaries.</summary>
public sealed class ClusterLocalFarmTests(ITestOutputHelper output) : LocalFarmContract(output, cluster: true);

/// <summary>
/// scripts/farm.sh: Redis (one server, or a cluster), two nodes and nginx on loopback. A client that negotiates goes
/// through the balancer; its node is killed; the balancer sends it to the other node, where it resumes.
/// </summary>
public abstract partial class LocalFarmContract(ITestOutputHelper output, bool cluster) : IAsyncLifetime
{
    private readonly string _farmDirectory = Directory.CreateTempSubdirectory("hubstreams-farm-").FullName;
    private readonly int _balancerPort = RedisServerProcess.FreePort();
    private readonly int[] _nodePorts = [RedisServerProcess.FreePort(), RedisServerProcess.FreePort()];
    private readonly int[] _clusterPorts = [.. Enumerable.Range(0, 3).Select(_ => RedisServerProcess.FreePort())];
    private readonly int[] _clusterBusPorts = [.. Enumerable.Range(0, 3).Select(_ => RedisServerProcess.FreePort())];

    public async Task InitializeAsync()
    {
        var (exitCode, text) = await FarmAsync(cluster ? ["up", "--cluster"] : ["up"]);
        output.WriteLine(text);
        Assert.True(exitCode == 0, $"farm.sh up failed: {text}");
        Assert.EndsWith($"http://127.0.0.1:{_balancerPort}", text.Trim(), StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        var (_, text) = await FarmAsync(["down"]);
        output.WriteLine(text);
        Directory.Delete(_farmDirectory, recursive: true);
    }

    [Fact]
    public async Task The_balancer_does_not_serve_metrics_while_each_node_does()
    {
        using var http = new HttpClient();
        using var throughBalancer = await http.GetAsync(new Uri($"http://127.0.0.1:{_balancerPort}/metrics"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, throughBalancer.StatusCode);
        using var fromNode = await http.GetAsync(new Uri($"http://127.0.0.1:{_nodePorts[0]}/metrics"));
        Assert.Equal(System.Net.HttpStatusCode.OK, fromNode.StatusCode);
    }

    [Fact]
    public async Task A_negotiating_client_resumes_through_the_balancer_when_its_node_dies()
    {
        var balancer = new Uri($"http://127.0.0.1:{_balancerPort}");
        var key = StreamKey.Create("farm", $"m{Environment.TickCount}");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var killed = new Stopwatch();
        var resumed = false;
        TimeSpan? switchTime = null;
        var reader = Readers.Read([new Uri(balancer, "/hubs/streams")], key.SessionId, key.MessageId,
            onStatus: status => resumed |= status.State == ReaderState.Resumed);
        var offsets = new List<long>();
        var reached300 = new TaskCompletionSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in reader.WithCancellation(timeout.Token))
            {
                if (resumed && switchTime is null)
                {
                    switchTime = killed.Elapsed;
                }

                offsets.Add(e.Offset);
                if (e.Offset == 300)
                {
                    reached300.SetResult();
                }
            }
        });

        // The client negotiated and connected through the balancer (the stream does not exist yet: it waits).
        await Eventually.True(() => AccessLog().Any(line => line.Contains(NegotiateRequest, StringComparison.Ordinal)));
        var served = ServingNodePort();
        var other = _nodePorts.Single(port => port != served);
        var producer = NodeFailoverContract.ProduceAsync(new Uri($"http://127.0.0.1:{other}"), key, timeout.Token);

        await reached300.Task.WaitAsync(timeout.Token);
        output.WriteLine($"failover: balancer: the client's node :{served} is killed at offset 300; the producer writes through :{other}");
        killed.Start();
        using (var node = Process.GetProcessById(NodePid(served)))
        {
            node.Kill();
        }

        await reading.WaitAsync(timeout.Token);
        await producer;
        var (gaps, duplicates) = NodeFailoverContract.Count(offsets);
        output.WriteLine($"failover: balancer: {offsets.Count} events, {gaps} gaps, {duplicates + reader.SkippedDuplicates} duplicates, " +
            $"first event through the other node {switchTime?.TotalMilliseconds:F0} ms after the kill");
        Assert.Equal(Enumerable.Range(0, 1001).Select(i => (long)i), offsets);
        Assert.Equal(0, reader.SkippedDuplicates);

        // The resumed connection negotiated again through the balancer, which sent it to the surviving node.
        Assert.Equal(other, ServingNodePort());
    }

    [Fact]
    public async Task Status_reports_the_ports_up_used_without_the_settings_up_was_given()
    {
        var (exitCode, text) = await FarmAsync(["status"], onlyTheFarmsFolder: true);
        Assert.True(exitCode == 0, text);
        Assert.Contains($"balancer URL: http://127.0.0.1:{_balancerPort}", text, StringComparison.Ordinal);
        Assert.Contains($"node ports: {_nodePorts[0]} {_nodePorts[1]}", text, StringComparison.Ordinal);
        Assert.DoesNotContain(":8080", text, StringComparison.Ordinal);
        Assert.Equal(cluster ? 3 : 1, Regex.Count(text, @"^redis[-\d]*: running", RegexOptions.Multiline));
    }

    private string[] AccessLog()
    {
        var path = Path.Combine(_farmDirectory, "nginx", "logs", "access.log");
        return File.Exists(path) ? File.ReadAllLines(path) : [];
    }

    private const string NegotiateRequest = "POST /hubs/streams/negotiate";

    /// <summary>
    /// The node of the latest negotiation through the balancer, from nginx's access log (a WebSocket is logged
    /// only when it closes; with sticky routing it goes where its negotiation went).
    /// </summary>
    private int ServingNodePort()
    {
        var negotiation = AccessLog().Last(line => line.Contains(NegotiateRequest, StringComparison.Ordinal));
        // "upstream=127.0.0.1:A, 127.0.0.1:B" when nginx tried a dead node first: the last one answered.
        var upstreams = negotiation[negotiation.IndexOf("upstream=", StringComparison.Ordinal)..];
        return int.Parse(UpstreamPort().Matches(upstreams)[^1].Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private int NodePid(int port)
    {
        var index = Array.IndexOf(_nodePorts, port) + 1;
        return int.Parse(File.ReadAllText(Path.Combine(_farmDirectory, $"node{index}.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"127\.0\.0\.1:(\d+)")]
    private static partial Regex UpstreamPort();

    private Task<(int ExitCode, string Output)> FarmAsync(string[] arguments, bool onlyTheFarmsFolder = false) =>
        FarmScript.RunAsync(arguments, onlyTheFarmsFolder
            ? [("FARM_DIR", _farmDirectory)]
            : [
                ("FARM_DIR", _farmDirectory),
                ("FARM_PORT", _balancerPort.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("FARM_NODE_PORTS", string.Join(' ', _nodePorts)),
                ("FARM_REDIS_PORT", RedisServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("FARM_CLUSTER_PORTS", string.Join(' ', _clusterPorts)),
                ("FARM_CLUSTER_BUS_PORTS", string.Join(' ', _clusterBusPorts)),
                ("FARM_APPENDONLY", "no"),
                ("FARM_SERVER_DLL", Path.Combine(AppContext.BaseDirectory, "HubStreams.Server.dll")),
            ]);
}

/// <summary>scripts/farm.sh run as a person would, with only the settings given (the environment's FARM_* removed).</summary>
internal static class FarmScript
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string[] arguments, (string Name, string Value)[] settings)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(Repository.Root, "scripts", "farm.sh"));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var name in start.Environment.Keys.Where(name => name.StartsWith("FARM_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        return (process.ExitCode, (await stdout) + (await stderr));
    }
}

/// <summary>scripts/farm.sh on a machine where a port it would use is taken.</summary>
public sealed class FarmPortTests
{
    [Theory]
    [InlineData("FARM_PORT")]
    [InlineData("FARM_NODE_PORTS")]
    [InlineData("FARM_REDIS_PORT")]
    public async Task Up_refuses_a_port_in_use_naming_the_setting_that_moves_it_and_starts_nothing(string setting)
    {
        var folder = Directory.CreateTempSubdirectory("hubstreams-farm-ports-").FullName;
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var free = () => RedisServerProcess.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
            var ports = new Dictionary<string, string>
            {
                ["FARM_PORT"] = free(), ["FARM_NODE_PORTS"] = $"{free()} {free()}", ["FARM_REDIS_PORT"] = free(),
            };
            ports[setting] = setting == "FARM_NODE_PORTS" ? $"{free()} {port}" : port;
            var (exitCode, text) = await FarmScript.RunAsync(["up"],
                [("FARM_DIR", folder), ("FARM_SERVER_DLL", Path.Combine(AppContext.BaseDirectory, "HubStreams.Server.dll")), .. ports.Select(p => (p.Key, p.Value))]);

            Assert.Equal(1, exitCode);
            Assert.Contains($"farm: port {port} ({setting}) is in use on this machine: set {setting}", text, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(folder, "*.pid"));
        }
        finally
        {
            taken.Stop();
            Directory.Delete(folder, recursive: true);
        }
    }
}
