using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;

namespace HubStreams.Tests.Transport;

/// <summary>The farm on one Redis server.</summary>
[Collection(RedisTests.Name)]
public sealed class WebFarmTests(RedisFixture redis) : WebFarmContract(redis);

/// <summary>The farm on a three-primary Redis Cluster: the streams, the wake-ups and the SignalR backplane on the cluster.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterWebFarmTests(RedisClusterFixture cluster) : WebFarmContract(cluster);

/// <summary>
/// Two server instances on one Redis: any node serves any stream, session notifications cross nodes, and a node hears
/// wake-ups only for the streams its readers follow.
/// </summary>
public abstract class WebFarmContract(IRedisTestStore redis) : IAsyncLifetime
{
    private static readonly TimeSpan SafetyTimeout = Eventually.SafetyTimeout;
    private HubStreamsServer _nodeA = null!;
    private HubStreamsServer _nodeB = null!;

    public async Task InitializeAsync()
    {
        var prefix = RedisFixture.UniquePrefix();
        _nodeA = await HubStreamsServer.StartRedisAsync(redis, prefix, ("DEMO_CHUNK_INTERVAL", "00:00:00.005"));
        _nodeB = await HubStreamsServer.StartRedisAsync(redis, prefix, ("DEMO_CHUNK_INTERVAL", "00:00:00.005"));
    }

    public async Task DisposeAsync()
    {
        await _nodeA.DisposeAsync();
        await _nodeB.DisposeAsync();
    }

    [Fact]
    public async Task Events_appended_on_node_a_stream_live_from_node_b()
    {
        using var httpA = _nodeA.CreateHttpClient();
        await using var hubB = await _nodeB.ConnectAsync();
        var (received, reading) = HubStreaming.Follow(hubB, "farm", "m1");
        await Eventually.True(() => _nodeB.Streams.OpenWatches() == 1);

        for (var i = 0; i < 5; i++)
        {
            using var response = await httpA.PostAsJsonAsync(new Uri("/api/sessions/farm/messages/m1/events", UriKind.Relative),
                new { type = "answer", content = $"chunk {i}" });
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var e = await received.NextAsync();
            Assert.Equal((i, $"chunk {i}"), ((int)e.Offset, e.Content));
        }

        (await httpA.PostAsJsonAsync(new Uri("/api/sessions/farm/messages/m1/events", UriKind.Relative), new { type = "complete" })).Dispose();
        await reading.WaitAsync(SafetyTimeout);
        Assert.Equal(0, _nodeB.Streams.OpenWatches());
    }

    [Fact]
    public async Task A_node_with_no_watcher_of_a_stream_receives_no_wake_up_while_1000_events_are_appended_to_it()
    {
        // Node B follows one stream; node A's producer writes 1,000 events to another, then one to B's.
        await using var hubB = await _nodeB.ConnectAsync();
        var (received, reading) = HubStreaming.Follow(hubB, "routing", "followed");
        await Eventually.True(() => _nodeB.Streams.OpenWatches() == 1);
        using var receivedByB = new MetricCollector<long>(
            _nodeB.Services.GetRequiredService<IMeterFactory>(), StreamMetrics.MeterName, "hubstreams.wakeups.received");
        using var receivedByA = new MetricCollector<long>(
            _nodeA.Services.GetRequiredService<IMeterFactory>(), StreamMetrics.MeterName, "hubstreams.wakeups.received");

        await using var producerA = await _nodeA.ConnectAsync();
        for (var i = 0; i < 1000; i++)
        {
            await producerA.InvokeAsync<long>("AppendEvent", "routing", "unwatched", new StreamEvent { Type = EventTypes.Answer, Content = $"{i}" });
        }

        await producerA.InvokeAsync<long>("AppendEvent", "routing", "followed", new StreamEvent { Type = EventTypes.Complete });
        Assert.Equal(EventTypes.Complete, (await received.NextAsync()).Type);
        await reading.WaitAsync(SafetyTimeout);

        receivedByB.RecordObservableInstruments();
        receivedByA.RecordObservableInstruments();
        Assert.Equal(1, receivedByB.LastMeasurement?.Value);
        Assert.Equal(0, receivedByA.LastMeasurement?.Value);
    }

    [Fact]
    public async Task Message_started_and_completed_raised_on_node_a_reach_a_client_joined_on_node_b()
    {
        await using var listenerB = await _nodeB.ConnectAsync();
        var heard = HubStreaming.ListenToSessions(listenerB);
        await listenerB.InvokeAsync("JoinSession", "farm-session");

        await using var producerA = await _nodeA.ConnectAsync();
        await producerA.InvokeAsync<long>("AppendEvent", "farm-session", "m7", new StreamEvent { Type = EventTypes.Answer });
        await producerA.InvokeAsync<long>("AppendEvent", "farm-session", "m7", new StreamEvent { Type = EventTypes.Complete });

        Assert.Equal("started farm-session/m7", await heard.ReadAsync().AsTask().WaitAsync(SafetyTimeout));
        Assert.Equal("completed farm-session/m7", await heard.ReadAsync().AsTask().WaitAsync(SafetyTimeout));
    }

    [Fact]
    public async Task A_stop_sent_to_node_b_stops_a_demo_running_on_node_a()
    {
        using var httpA = _nodeA.CreateHttpClient();
        (await httpA.PostAsync(new Uri("/api/demo/sessions/farm/messages/demo", UriKind.Relative), null)).Dispose();

        await using var hubB = await _nodeB.ConnectAsync();
        var events = new List<StreamEvent>();
        await foreach (var e in hubB.StreamAsync<StreamEvent>("StreamEvents", "farm", "demo", 0L).WithCancellation(new CancellationTokenSource(SafetyTimeout).Token))
        {
            events.Add(e);
            if (e.Offset == 15)
            {
                await hubB.InvokeAsync<long>("StopMessage", "farm", "demo");
            }
        }

        Assert.Single(events, e => e.Type == EventTypes.Stop);
        Assert.Equal("stopped", events[^1].Data!.Value.GetProperty("reason").GetString());
        Assert.True(events.Count(e => e.Type == EventTypes.Answer) < Server.Demo.DemoScript.AnswerChunks.Count);
    }
}
