using System.Net.Http.Headers;
using System.Text.Json;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>Resuming on the memory store.</summary>
public sealed class ResumeTests : ResumeContract
{
    protected override Task<HubStreamsServer> StartServerAsync() => HubStreamsServer.StartAsync();
}

/// <summary>The resume contract over SignalR's MessagePack protocol, in memory mode.</summary>
public sealed class MessagePackResumeTests : ResumeContract
{
    protected override async Task<HubStreamsServer> StartServerAsync()
    {
        var server = await HubStreamsServer.StartAsync();
        server.Protocol = HubProtocol.MessagePack;
        return server;
    }
}

/// <summary>Resuming on one Redis server.</summary>
[Collection(RedisTests.Name)]
public sealed class RedisResumeTests(RedisFixture redis) : ResumeContract
{
    protected override Task<HubStreamsServer> StartServerAsync() => HubStreamsServer.StartRedisAsync(redis, RedisFixture.UniquePrefix());
}

/// <summary>Resuming on a three-primary Redis Cluster.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterResumeTests(RedisClusterFixture cluster) : ResumeContract
{
    protected override Task<HubStreamsServer> StartServerAsync() => HubStreamsServer.StartRedisAsync(cluster, RedisFixture.UniquePrefix());
}

/// <summary>
/// A reader drops its connection mid-stream and resumes on a new one while the producer keeps appending, over the hub
/// and over SSE, on every store.
/// </summary>
public abstract class ResumeContract : IAsyncLifetime
{
    private static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(60);
    private const int EventCount = 200;
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await StartServerAsync();

    protected abstract Task<HubStreamsServer> StartServerAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_hub_reader_resumes_at_its_next_offset_on_a_new_connection_with_no_gap_and_no_duplicate()
    {
        var key = StreamKey.Create("resume-hub", "m1");
        await using var producerConnection = await _server.ConnectAsync();
        var resumed = new TaskCompletionSource();
        var producer = ProduceAsync(producerConnection, key, resumed.Task);

        var received = new List<StreamEvent>();
        await using (var first = await _server.ConnectAsync())
        {
            await foreach (var e in first.StreamAsync<StreamEvent>("StreamEvents", key.SessionId, key.MessageId, 0L))
            {
                received.Add(e);
                if (e.Offset == 49)
                {
                    break;
                }
            }
        }

        Assert.False(producer.IsCompleted, "The producer should still be appending when the reader resumes.");
        await using (var second = await _server.ConnectAsync())
        {
            await foreach (var e in second.StreamAsync<StreamEvent>("StreamEvents", key.SessionId, key.MessageId, received[^1].Offset + 1)
                               .WithCancellation(new CancellationTokenSource(SafetyTimeout).Token))
            {
                received.Add(e);
                resumed.TrySetResult();
            }
        }

        await producer.WaitAsync(SafetyTimeout);
        Assert.Equal(Enumerable.Range(0, EventCount + 1).Select(i => (long)i), received.Select(e => e.Offset));
        Assert.Equal(Enumerable.Range(0, EventCount).Select(i => $"chunk {i} "), received.SkipLast(1).Select(e => e.Content));
        Assert.Equal(EventTypes.Complete, received[^1].Type);
    }

    [Fact]
    public async Task An_sse_reader_resumes_with_last_event_id_with_no_gap_and_no_duplicate()
    {
        var key = StreamKey.Create("resume-sse", "m1");
        await using var producerConnection = await _server.ConnectAsync();
        var resumed = new TaskCompletionSource();
        var producer = ProduceAsync(producerConnection, key, resumed.Task);
        using var http = _server.CreateHttpClient();
        var path = $"/api/sessions/{key.SessionId}/messages/{key.MessageId}/stream";

        var received = new List<SseMessage>();
        using (var response = await http.GetAsync(new Uri(path, UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("no", response.Headers.GetValues("X-Accel-Buffering").Single());
            using var firstTimeout = new CancellationTokenSource(SafetyTimeout);
            await foreach (var message in ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync(), firstTimeout.Token))
            {
                received.Add(message);

                // An SSE id is "{offset}:{streamId}".
                if (message.Id?.Split(':')[0] == "49")
                {
                    break;
                }
            }
        }

        Assert.False(producer.IsCompleted, "The producer should still be appending when the reader resumes.");
        using (var request = new HttpRequestMessage(HttpMethod.Get, path))
        {
            request.Headers.Add("Last-Event-ID", received[^1].Id);
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            resumed.SetResult();
            using var timeout = new CancellationTokenSource(SafetyTimeout);
            await foreach (var message in ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync(), timeout.Token))
            {
                received.Add(message);
            }
        }

        await producer.WaitAsync(SafetyTimeout);
        var events = received.Where(m => m.Comment is null).ToList();
        Assert.Equal(Enumerable.Range(0, EventCount + 1).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), events.Select(m => m.Id!.Split(':')[0]));
        foreach (var message in events)
        {
            var e = JsonSerializer.Deserialize<StreamEvent>(message.Data!, JsonSerializerOptions.Web)!;
            Assert.Equal(message.Id, $"{e.Offset}:{e.StreamId}");
            Assert.Equal(message.Event, e.Type);
        }

        Assert.Equal("complete", events[^1].Event);
    }

    [Fact]
    public async Task Hub_and_sse_deliver_the_same_events()
    {
        var key = StreamKey.Create("same-events", "m1");
        await using var connection = await _server.ConnectAsync();
        await ProduceAsync(connection, key, Task.CompletedTask).WaitAsync(SafetyTimeout);

        var viaHub = new List<string>();
        await foreach (var e in connection.StreamAsync<StreamEvent>("StreamEvents", key.SessionId, key.MessageId, 10L))
        {
            viaHub.Add(JsonSerializer.Serialize(e, JsonSerializerOptions.Web));
        }

        using var http = _server.CreateHttpClient();
        await using var body = await http.GetStreamAsync(new Uri($"/api/sessions/{key.SessionId}/messages/{key.MessageId}/stream?fromOffset=10", UriKind.Relative));
        var viaSse = new List<string>();
        await foreach (var message in ServerSentEvents.ReadAsync(body))
        {
            viaSse.Add(JsonSerializer.Serialize(JsonSerializer.Deserialize<StreamEvent>(message.Data!, JsonSerializerOptions.Web), JsonSerializerOptions.Web));
        }

        Assert.Equal(EventCount + 1 - 10, viaHub.Count);
        Assert.Equal(viaHub, viaSse);
    }

    /// <summary>
    /// Appends <see cref="EventCount"/> answer chunks at a steady pace, then complete; halfway it waits for
    /// <paramref name="resumed"/>, so that the reader resumes while the producer still has events to append.
    /// </summary>
    private static Task ProduceAsync(HubConnection connection, StreamKey key, Task resumed) => Task.Run(async () =>
    {
        for (var i = 0; i < EventCount; i++)
        {
            if (i == EventCount / 2)
            {
                await resumed.WaitAsync(SafetyTimeout);
            }

            var offset = await connection.InvokeAsync<long>("AppendEvent", key.SessionId, key.MessageId,
                new StreamEvent { Type = EventTypes.Answer, Content = $"chunk {i} " });
            Assert.Equal(i, offset);
            await Task.Delay(2);
        }

        await connection.InvokeAsync<long>("AppendEvent", key.SessionId, key.MessageId, new StreamEvent { Type = EventTypes.Complete, Done = true });
    });
}
