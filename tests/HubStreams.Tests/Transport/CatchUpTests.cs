using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>
/// Compacted catch-up over every transport (the hub's <c>FollowStream</c>, SSE, the page read), the snapshot read, and the
/// producer's heartbeat over the hub and HTTP, on a real node.
/// </summary>
public sealed class CatchUpTests() : CatchUpContract(HubProtocol.Json);

/// <summary>The same over SignalR's MessagePack protocol.</summary>
public sealed class MessagePackCatchUpTests() : CatchUpContract(HubProtocol.MessagePack);

/// <summary>The tests of <see cref="CatchUpTests"/>, with the hub in <paramref name="protocol"/>.</summary>
public abstract class CatchUpContract(HubProtocol protocol) : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await HubStreamsServer.StartAsync(("STREAM_MAX_PAGE_EVENTS", "100"));
        _server.Protocol = protocol;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private static Uri Api(string path) => new(path, UriKind.Relative);

    private async Task<StreamKey> WriteAnswerAsync(int chunks, bool complete)
    {
        var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.AgentQuery, Content = "q" });
        for (var i = 0; i < chunks; i++)
        {
            await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = $"{i},", Id = $"c{i}" });
        }

        if (complete)
        {
            await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
        }

        return key;
    }

    [Fact]
    public async Task FollowStream_with_compact_merges_the_catch_up_and_without_it_replays_every_event()
    {
        var key = await WriteAnswerAsync(250, complete: true);
        await using var hub = await _server.ConnectAsync();

        var compacted = await hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = key.SessionId, messageId = key.MessageId, compact = true }).ToListAsync();
        Assert.Equal([(null, 0L), (1L, 250L), (null, 251L)], compacted.Select(e => ((long?)e.FirstOffset, e.Offset)));
        Assert.Equal(string.Concat(Enumerable.Range(0, 250).Select(i => $"{i},")), compacted[1].Content);

        var full = await hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = key.SessionId, messageId = key.MessageId, fromOffset = 200 }).ToListAsync();
        Assert.Equal(Enumerable.Range(200, 52).Select(i => (long)i), full.Select(e => e.Offset));
        Assert.All(full, e => Assert.Null(e.FirstOffset));

        // Resuming by stream id, compacted, from the middle.
        var resumed = await hub.StreamAsync<StreamEvent>("FollowStream",
            new { sessionId = key.SessionId, messageId = key.MessageId, fromOffset = 101, streamId = compacted[0].StreamId, compact = true }).ToListAsync();
        Assert.Equal([(101L, 250L), (null, 251L)], resumed.Select(e => ((long?)e.FirstOffset, e.Offset)));
    }

    [Fact]
    public async Task FollowStream_refuses_a_bad_request_with_a_code()
    {
        var key = await WriteAnswerAsync(3, complete: true);
        await using var hub = await _server.ConnectAsync();

        var badOffset = await Assert.ThrowsAsync<HubException>(() =>
            hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = key.SessionId, messageId = key.MessageId, fromOffset = "5" }).ToListAsync().AsTask());
        Assert.Equal(StreamErrorCode.InvalidOffset, StreamErrors.FromMessage(badOffset.Message));

        var badId = await Assert.ThrowsAsync<HubException>(() =>
            hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = "a:b", messageId = "m" }).ToListAsync().AsTask());
        Assert.Equal(StreamErrorCode.InvalidId, StreamErrors.FromMessage(badId.Message));

        var reset = await Assert.ThrowsAsync<HubException>(() =>
            hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = key.SessionId, messageId = key.MessageId, fromOffset = 1, streamId = "0123456789abcdef" }).ToListAsync().AsTask());
        Assert.Equal(StreamErrorCode.StreamReset, StreamErrors.FromMessage(reset.Message));
    }

    [Fact]
    public async Task Sse_with_compact_merges_the_catch_up_and_a_bad_flag_is_refused()
    {
        var key = await WriteAnswerAsync(250, complete: true);
        using var http = _server.CreateHttpClient();
        using var response = await http.GetAsync(Api($"/api/sessions/{key.SessionId}/messages/m1/stream?compact=true"), HttpCompletionOption.ResponseHeadersRead);
        var ids = new List<string?>();
        var events = new List<StreamEvent>();
        await foreach (var message in ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync()))
        {
            if (message is { Id: not null, Data: { } data })
            {
                ids.Add(message.Id);
                events.Add(JsonSerializer.Deserialize<StreamEvent>(data, JsonSerializerOptions.Web)!);
            }
        }

        Assert.Equal([(null, 0L), (1L, 250L), (null, 251L)], events.Select(e => ((long?)e.FirstOffset, e.Offset)));
        Assert.StartsWith("250:", ids[1], StringComparison.Ordinal); // Last-Event-ID resumes after the merged event

        using var bad = await http.GetAsync(Api($"/api/sessions/{key.SessionId}/messages/m1/stream?compact=yes"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("InvalidRequest", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_accepts_gzip_gets_the_catch_up_compressed_and_the_live_events_after_it_at_once()
    {
        var key = await WriteAnswerAsync(250, complete: false);
        using var http = _server.CreateHttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, Api($"/api/sessions/{key.SessionId}/messages/m1/stream?compact=true"));
        request.Headers.AcceptEncoding.ParseAdd("gzip");
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("gzip", Assert.Single(response.Content.Headers.ContentEncoding));

        // The event after the catch-up is appended only once the catch-up has been read: it can only come if each
        // event's flush ends a compressed block, rather than waiting in the compressor for more.
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await using var body = new System.IO.Compression.GZipStream(await response.Content.ReadAsStreamAsync(timeout.Token), System.IO.Compression.CompressionMode.Decompress);
        var events = new List<StreamEvent>();
        await foreach (var message in ServerSentEvents.ReadAsync(body, timeout.Token))
        {
            if (message.Data is not { } data)
            {
                continue;
            }

            events.Add(JsonSerializer.Deserialize<StreamEvent>(data, JsonSerializerOptions.Web)!);
            if (events[^1].Offset == 250)
            {
                await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
            }
        }

        Assert.Equal([(null, 0L), (1L, 250L), (null, 251L)], events.Select(e => ((long?)e.FirstOffset, e.Offset)));

        using var pageRequest = new HttpRequestMessage(HttpMethod.Get, Api($"/api/sessions/{key.SessionId}/messages/m1/events?compact=true"));
        pageRequest.Headers.AcceptEncoding.ParseAdd("gzip");
        using var page = await http.SendAsync(pageRequest);
        Assert.Equal("gzip", Assert.Single(page.Content.Headers.ContentEncoding));
    }

    [Fact]
    public async Task A_compacted_page_read_merges_what_one_page_takes_and_says_where_to_read_on()
    {
        var key = await WriteAnswerAsync(250, complete: true);
        using var http = _server.CreateHttpClient();
        var page = (await http.GetFromJsonAsync<JsonElement>(Api($"/api/sessions/{key.SessionId}/messages/m1/events?compact=true")))!;
        var events = page.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(2, events.Count); // the page cap: 100 stored events, the query and 99 chunks merged
        Assert.Equal((1, 99), (events[1].GetProperty("firstOffset").GetInt32(), events[1].GetProperty("offset").GetInt32()));
        Assert.Equal(100, page.GetProperty("nextOffset").GetInt32());
        Assert.False(page.GetProperty("completed").GetBoolean());
    }

    [Fact]
    public async Task A_snapshot_gives_the_answer_so_far_compacted_and_the_offset_to_follow_from()
    {
        var key = await WriteAnswerAsync(250, complete: false);
        using var http = _server.CreateHttpClient();
        var snapshot = await http.GetFromJsonAsync<JsonElement>(Api($"/api/sessions/{key.SessionId}/messages/m1/snapshot"));
        var events = snapshot.GetProperty("events").EnumerateArray().ToList();
        Assert.Equal(2, events.Count); // across three pages of 100, merged as one
        Assert.Equal((1, 250), (events[1].GetProperty("firstOffset").GetInt32(), events[1].GetProperty("offset").GetInt32()));
        Assert.Equal(string.Concat(Enumerable.Range(0, 250).Select(i => $"{i},")), events[1].GetProperty("content").GetString());
        Assert.Equal((251, false, true), (snapshot.GetProperty("nextOffset").GetInt32(), snapshot.GetProperty("completed").GetBoolean(),
            snapshot.GetProperty("reachedEnd").GetBoolean()));
        Assert.Equal((await _server.Streams.ReadAsync(key, 0)).StreamId, snapshot.GetProperty("streamId").GetString());

        // Following on from nextOffset gets what comes next, nothing before.
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
        await using var hub = await _server.ConnectAsync();
        var rest = await hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = key.SessionId, messageId = key.MessageId, fromOffset = 251 }).ToListAsync();
        Assert.Equal([251L], rest.Select(e => e.Offset));

        using var missing = await http.GetAsync(Api($"/api/sessions/{key.SessionId}/messages/never/snapshot"));
        var empty = await missing.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((0, 0), (empty.GetProperty("events").GetArrayLength(), empty.GetProperty("nextOffset").GetInt32()));
    }

    [Fact]
    public async Task A_heartbeat_over_the_hub_and_http_says_the_lease_and_is_refused_once_the_stream_ended()
    {
        var key = await WriteAnswerAsync(1, complete: false);
        await using var hub = await _server.ConnectAsync();
        var lease = await hub.InvokeAsync<ProducerLease>("Heartbeat", key.SessionId, key.MessageId);
        Assert.Equal(2, lease.NextOffset);
        Assert.InRange(lease.ExpiresAt!.Value, DateTimeOffset.UtcNow + StreamOptions.DefaultProducerTimeout - TimeSpan.FromMinutes(1),
            DateTimeOffset.UtcNow + StreamOptions.DefaultProducerTimeout);

        using var http = _server.CreateHttpClient();
        using var ok = await http.PostAsync(Api($"/api/sessions/{key.SessionId}/messages/m1/heartbeat"), null);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(2, (await ok.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("nextOffset").GetInt32());

        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
        using var ended = await http.PostAsync(Api($"/api/sessions/{key.SessionId}/messages/m1/heartbeat"), null);
        Assert.Equal(HttpStatusCode.Conflict, ended.StatusCode);
        Assert.Contains("StreamCompleted", await ended.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var refused = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<ProducerLease>("Heartbeat", key.SessionId, key.MessageId));
        Assert.Equal(StreamErrorCode.StreamCompleted, StreamErrors.FromMessage(refused.Message));
    }
}
