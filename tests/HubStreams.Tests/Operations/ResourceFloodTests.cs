using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace HubStreams.Tests.Operations;

/// <summary>
/// One ordinary client floods a real server process whose heap is limited as a container's is
/// (<c>DOTNET_GCHeapHardLimit</c>): negotiations, refused appends and page reads on a memory node, session joins and
/// stops on a redis node. After each flood the node is alive, its memory is back within a margin of where it started,
/// neither it nor Redis keeps anything the flood left, and another client reads and writes as before.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class ResourceFloodTests(RedisFixture redis, ITestOutputHelper output)
{
    private const string HeapLimit = "0x10000000"; // 256 MiB
    private const long MemoryMarginBytes = 96L * 1024 * 1024;
    private static readonly TimeSpan FloodTime = TimeSpan.FromSeconds(4);
    private const int Flooders = 16;

    private static readonly string Flooder = Tokens.Mint("flooder", ["*"]);
    private static readonly string FloodingProducer = Tokens.Mint("flooding-producer", ["*"], producer: true);

    [Fact]
    public async Task A_memory_node_outlives_floods_of_negotiations_refused_appends_and_page_reads()
    {
        await using var node = await StartAsync();
        using var producer = Client(node, FloodingProducer);
        for (var i = 0; i < 200; i++)
        {
            using var stored = await producer.PostAsJsonAsync(Events("read", "long"), new { type = "answer", content = new string('x', 900) });
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        }

        await WorksForAnotherClientAsync(node);
        var start = ResidentBytes(node);
        var streams = await GaugeAsync(node, "hubstreams_memory_streams");

        using var flooder = Client(node, Flooder);
        var negotiations = await FloodAsync(_ => flooder.PostAsync(new Uri("/hubs/streams/negotiate?negotiateVersion=1", UriKind.Relative), null));
        output.WriteLine($"negotiate: {negotiations}");
        Assert.True(negotiations.Count(HttpStatusCode.TooManyRequests) > negotiations.Count(HttpStatusCode.OK), negotiations.ToString());
        await SettledAsync(node, start);

        var refusedAppends = await FloodAsync(i => producer.PostAsJsonAsync(Events("refused", $"m{i}", "?atOffset=5"), new { id = "x", type = "answer" }));
        output.WriteLine($"refused appends: {refusedAppends}");
        Assert.Equal(refusedAppends.Total, refusedAppends.Count(HttpStatusCode.Conflict) + refusedAppends.Count(HttpStatusCode.TooManyRequests));
        Assert.True(refusedAppends.Count(HttpStatusCode.Conflict) > 1000, refusedAppends.ToString());
        Assert.Equal(streams, await GaugeAsync(node, "hubstreams_memory_streams"));
        await SettledAsync(node, start);

        var reads = await FloodAsync(_ => flooder.GetAsync(Events("read", "long")));
        output.WriteLine($"page reads: {reads}");
        Assert.True(reads.Count(HttpStatusCode.TooManyRequests) > reads.Count(HttpStatusCode.OK), reads.ToString());
        await SettledAsync(node, start);
    }

    [Fact]
    public async Task A_redis_node_outlives_floods_of_session_joins_stops_and_refused_appends_and_redis_keeps_nothing_they_left()
    {
        var prefix = RedisFixture.UniquePrefix();
        await using var node = await StartAsync(("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix));
        using var producer = Client(node, FloodingProducer);
        using (var stored = await producer.PostAsJsonAsync(Events("stops", "m"), new { type = "answer", content = "being written" }))
        {
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        }

        await WorksForAnotherClientAsync(node);
        var start = ResidentBytes(node);
        var channelsBefore = await ChannelsAsync(prefix);
        var keysBefore = await KeysAsync(prefix);

        await using (var joiner = await ConnectAsync(node, Flooder))
        {
            var joins = await FloodAsync(async i =>
            {
                try
                {
                    await joiner.InvokeAsync("JoinSession", $"flood-{i}");
                    return HttpStatusCode.OK;
                }
                catch (HubException e) when (StreamErrors.FromMessage(e.Message) is { } code)
                {
                    return (HttpStatusCode)StreamErrors.Describe(code).HttpStatus;
                }
            });
            output.WriteLine($"joins: {joins}");
            Assert.Equal(32, joins.Count(HttpStatusCode.OK));
            Assert.InRange(await ChannelsAsync(prefix) - channelsBefore, 32, 40);
        }

        await Eventually.True(async () => await ChannelsAsync(prefix) <= channelsBefore);
        await SettledAsync(node, start);

        using var reader = Client(node, Flooder);
        var stops = await FloodAsync(i => reader.PostAsync(new Uri(i % 2 == 0 ? "/api/sessions/stops/messages/m/stop" : $"/api/sessions/stops/messages/never-{i}/stop", UriKind.Relative), null));
        output.WriteLine($"stops: {stops}");
        var page = await reader.GetFromJsonAsync<JsonElement>(Events("stops", "m"));
        Assert.Equal(["answer", "stop"], page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        Assert.Equal(keysBefore, await KeysAsync(prefix));
        await SettledAsync(node, start);

        var refusedAppends = await FloodAsync(i => producer.PostAsJsonAsync(Events("refused", $"m{i}", "?atOffset=5"), new { id = "x", type = "answer" }));
        output.WriteLine($"refused appends: {refusedAppends}");
        Assert.Equal(refusedAppends.Total, refusedAppends.Count(HttpStatusCode.Conflict));
        Assert.Equal(keysBefore, await KeysAsync(prefix));
        await SettledAsync(node, start);
        await WorksForAnotherClientAsync(node);
    }

    private static Task<ServerProcess> StartAsync(params (string Name, string Value)[] more) => ServerProcess.StartAsync(
    [
        .. Tokens.Settings, ("DOTNET_GCHeapHardLimit", HeapLimit), ("LIMIT_APPENDS_PER_SECOND", "1000000"), ("LIMIT_APPEND_BURST", "1000000"), .. more,
    ]);

    private static HttpClient Client(ServerProcess node, string token)
    {
        var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Flooders }) { BaseAddress = node.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<HubConnection> ConnectAsync(ServerProcess node, string token)
    {
        var connection = new HubConnectionBuilder().WithUrl(node.HubUrl, o => o.AccessTokenProvider = () => Task.FromResult<string?>(token)).Build();
        await connection.StartAsync();
        return connection;
    }

    private static Uri Events(string sessionId, string messageId, string query = "") =>
        new($"/api/sessions/{sessionId}/messages/{messageId}/events{query}", UriKind.Relative);

    // Another user, on the same node: reads, appends and follows a stream as if nothing had happened.
    private static async Task WorksForAnotherClientAsync(ServerProcess node)
    {
        var messageId = $"normal-{Guid.NewGuid():N}";
        await using var hub = await ConnectAsync(node, Tokens.Mint("normal", ["*"], producer: true));
        Assert.Equal(0, await hub.InvokeAsync<long>("AppendEvent", "normal", messageId, new StreamEvent { Type = EventTypes.Answer, Content = "hello" }));
        Assert.Equal(1, await hub.InvokeAsync<long>("AppendEvent", "normal", messageId, new StreamEvent { Type = EventTypes.Complete, Done = true }));
        var read = new List<StreamEvent>();
        await foreach (var e in hub.StreamAsync<StreamEvent>("StreamEvents", "normal", messageId, 0L))
        {
            read.Add(e);
        }

        Assert.Equal(["answer", "complete"], read.Select(e => e.Type));
        Assert.False(node.HasExited);
    }

    // Every flooder sends as fast as it is answered, for the flood's time; each request gets a number of its own.
    private static async Task<Statuses> FloodAsync(Func<int, Task<HttpResponseMessage>> send) => await FloodAsync(async i =>
    {
        using var response = await send(i);
        return response.StatusCode;
    });

    private static async Task<Statuses> FloodAsync(Func<int, Task<HttpStatusCode>> send)
    {
        var statuses = new Statuses();
        var next = 0;
        using var over = new CancellationTokenSource(FloodTime);
        await Task.WhenAll(Enumerable.Range(0, Flooders).Select(_ => Task.Run(async () =>
        {
            while (!over.IsCancellationRequested)
            {
                statuses.Add(await send(Interlocked.Increment(ref next)));
            }
        })));
        return statuses;
    }

    // The node lives, and its memory comes back to within the margin of where it started (the GC may take a moment).
    private async Task SettledAsync(ServerProcess node, long startBytes)
    {
        Assert.False(node.HasExited, $"The node died: {string.Join('\n', node.Output.TakeLast(20))}");
        await Eventually.True(() => ResidentBytes(node) <= startBytes + MemoryMarginBytes);
        output.WriteLine($"resident: {startBytes / 1048576} MiB at the start, {ResidentBytes(node) / 1048576} MiB after");
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }

    private static long ResidentBytes(ServerProcess node)
    {
        var line = File.ReadLines($"/proc/{node.Pid}/status").First(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return long.Parse(line[6..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private static async Task<double> GaugeAsync(ServerProcess node, string name)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var line = text.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal) || l.StartsWith(name + "{", StringComparison.Ordinal));
        return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private async Task<int> ChannelsAsync(string prefix) =>
        ((RedisResult[])(await redis.Connection.GetDatabase().ExecuteAsync("PUBSUB", "CHANNELS", $"{prefix}:*"))!).Length;

    private async Task<int> KeysAsync(string prefix)
    {
        var count = 0;
        foreach (var server in redis.Connection.GetServers())
        {
            await foreach (var key in server.KeysAsync(pattern: $"{prefix}:*"))
            {
                if (!key.ToString().EndsWith(":readiness", StringComparison.Ordinal))
                {
                    count++;
                }
            }
        }

        return count;
    }

    private sealed class Statuses
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<HttpStatusCode, int> _counts = new();

        public int Total => _counts.Values.Sum();

        public void Add(HttpStatusCode status) => _counts.AddOrUpdate(status, 1, static (_, n) => n + 1);

        public int Count(HttpStatusCode status) => _counts.GetValueOrDefault(status);

        public override string ToString() => string.Join(", ", _counts.OrderBy(c => c.Key).Select(c => $"{(int)c.Key}: {c.Value}"));
    }
}
