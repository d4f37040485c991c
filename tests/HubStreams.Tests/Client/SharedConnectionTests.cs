using System.Collections.Concurrent;
using System.Net.Http.Json;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using HubStreams.Tests.Operations;

namespace HubStreams.Tests.Client;

/// <summary>
/// A <see cref="HubStreamsClient"/> runs all its reads on one hub connection per node address, as the server counts
/// them, and moves them all to the other node, again on one connection, when its node is SIGKILLed.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class SharedConnectionTests(RedisFixture redis)
{
    private const int Streams = 200;
    private const int Events = 60;
    private const int KillAfter = 30;

    [Fact]
    public async Task Two_hundred_reads_share_one_connection_per_node_and_survive_a_node_sigkill_with_every_event_once()
    {
        (string, string)[] settings =
        [
            ("LIMIT_SUBSCRIPTIONS_PER_CONNECTION", "256"), ("LIMIT_APPENDS_PER_SECOND", "100000"), ("LIMIT_APPEND_BURST", "100000"),
        ];
        var prefix = RedisFixture.UniquePrefix();
        await using var nodeB = await ServerProcess.StartRedisNodeAsync(redis, prefix, settings);
        await using var nodeA = await ServerProcess.StartRedisNodeAsync(redis, prefix, settings);
        var options = new HubStreamsClientOptions { StreamsPerConnection = 256, MaxRetryDelay = TimeSpan.FromMilliseconds(250) };
        options.HubUrls.Add(nodeA.HubUrl);
        options.HubUrls.Add(nodeB.HubUrl);
        await using var client = new HubStreamsClient(options);
        using var safety = new CancellationTokenSource(Eventually.SafetyTimeout * 3);

        var session = $"shared-{Guid.NewGuid():N}";
        var received = Enumerable.Range(0, Streams).Select(_ => new ConcurrentQueue<long>()).ToArray();
        var readers = Enumerable.Range(0, Streams).Select(s => Task.Run(async () =>
        {
            var reader = client.ReadStreamAsync(session, $"m{s}", cancellationToken: safety.Token);
            await foreach (var e in reader)
            {
                received[s].Enqueue(e.Offset);
            }

            return reader;
        })).ToArray();

        using var http = new HttpClient { BaseAddress = nodeB.BaseAddress };
        async Task ProduceAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                var body = i == Events - 1 ? (object)new { type = "complete" } : new { type = "answer", content = $"{i} " };
                await Task.WhenAll(Enumerable.Range(0, Streams).Select(async s =>
                    (await http.PostAsJsonAsync($"/api/sessions/{session}/messages/m{s}/events", body, safety.Token)).EnsureSuccessStatusCode()));
            }
        }

        // The first events, read on node A over the client's one connection there (the node's scrape may lag a moment).
        await ProduceAsync(0, KillAfter);
        await Eventually.True(() => received.All(r => r.Count == KillAfter));
        await Eventually.True(async () => await HubConnectionsAsync(nodeA) == 1);
        Assert.Equal(1, client.OpenConnections);

        nodeA.Kill();
        await ProduceAsync(KillAfter, Events);
        var done = await Task.WhenAll(readers).WaitAsync(safety.Token);

        foreach (var (offsets, reader) in received.Zip(done))
        {
            Assert.Equal(Enumerable.Range(0, Events).Select(i => (long)i), offsets);
            Assert.Equal(0, reader.SkippedDuplicates);
            Assert.Equal(nodeB.HubUrl, reader.CurrentHubUrl);
        }

        // Every stream moved to node B on one connection, which the client keeps for its next reads.
        await Eventually.True(async () => await HubConnectionsAsync(nodeB) == 1);
        Assert.Equal(1, client.OpenConnections);
    }

    [Fact]
    public async Task When_the_token_expires_every_stream_moves_to_one_new_connection_with_one_fresh_token()
    {
        // Two connections at most for the user: one client reading five streams stays within it.
        await using var server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("LIMIT_CONNECTIONS_PER_USER", "2")]);
        var tokensAsked = 0;
        var options = new HubStreamsClientOptions
        {
            AccessTokenProvider = _ =>
            {
                Interlocked.Increment(ref tokensAsked);
                return Task.FromResult<string?>(Tokens.Mint("relay", ["*"], lifetime: TimeSpan.FromSeconds(3)));
            },
            MaxRetryDelay = TimeSpan.FromMilliseconds(250),
        };
        options.HubUrls.Add(new Uri(server.BaseAddress, "/hubs/streams"));
        await using var client = new HubStreamsClient(options);
        using var safety = new CancellationTokenSource(Eventually.SafetyTimeout);
        const int streams = 5;
        var readers = Enumerable.Range(0, streams).Select(s => Task.Run(async () =>
        {
            var offsets = new List<long>();
            await foreach (var e in client.ReadStreamAsync("relayed", $"m{s}", cancellationToken: safety.Token))
            {
                offsets.Add(e.Offset);
            }

            return offsets;
        })).ToArray();

        // Seven seconds of events: the tokens of three connections in a row expire while the streams are live.
        var running = System.Diagnostics.Stopwatch.StartNew();
        const int events = 70;
        for (var i = 0; i < events; i++)
        {
            foreach (var s in Enumerable.Range(0, streams))
            {
                await server.Streams.AppendAsync(StreamKey.Create("relayed", $"m{s}"),
                    new StreamEvent { Type = i == events - 1 ? EventTypes.Complete : EventTypes.Answer, Content = $"{i}" });
            }

            await Task.Delay(100);
        }

        foreach (var offsets in await Task.WhenAll(readers).WaitAsync(safety.Token))
        {
            Assert.Equal(Enumerable.Range(0, events).Select(i => (long)i), offsets);
        }

        // A subscription ends a second before its token's expiry: one connection lasts about two seconds. SignalR asks
        // for a token twice per connection (to negotiate, then to connect its transport). One connection at a time for
        // all five streams asks twice per two seconds; one per stream would ask five times as often.
        var connections = (int)Math.Ceiling(running.Elapsed.TotalSeconds / 2) + 1;
        Assert.InRange(tokensAsked, 4, 2 * connections);
        Assert.Equal(1, client.OpenConnections);
    }

    private static async Task<double> HubConnectionsAsync(ServerProcess node)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        return MetricsAndHealthTests.Value(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)), "hubstreams_hub_connections");
    }
}
