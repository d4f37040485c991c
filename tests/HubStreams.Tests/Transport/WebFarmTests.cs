using System.Net;
using System.Net.Http.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>Two server instances on one Redis: any node serves any stream, and session notifications cross nodes.</summary>
[Collection(RedisTests.Name)]
public sealed class WebFarmTests(RedisFixture redis) : IAsyncLifetime
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
