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
/// An append that names an offset (AppendEventAt, ?atOffset=, or the deprecated "offset" inside the event) is stored
/// exactly there and once, over HTTP and the hub alike.
/// </summary>
public sealed class ConditionalAppendTests() : ConditionalAppendContract(HubProtocol.Json);

/// <summary>The same over SignalR's MessagePack protocol.</summary>
public sealed class MessagePackConditionalAppendTests() : ConditionalAppendContract(HubProtocol.MessagePack);

/// <summary>The tests of <see cref="ConditionalAppendTests"/>, with the hub in <paramref name="protocol"/>.</summary>
public abstract class ConditionalAppendContract(HubProtocol protocol) : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await HubStreamsServer.StartAsync();
        _server.Protocol = protocol;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Over_http_a_retry_is_stored_once_and_a_conflict_is_a_409_naming_the_next_offset()
    {
        using var http = _server.CreateHttpClient();
        var route = new Uri("/api/sessions/exact/messages/http/events", UriKind.Relative);

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var stored = await http.PostAsJsonAsync(route, new { id = "a", type = "answer", content = "first", offset = 0 });
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
            Assert.Equal(0, (await stored.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
        }

        using var conflict = await http.PostAsJsonAsync(route, new { id = "b", type = "answer", offset = 0 });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        var problem = await conflict.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("OffsetConflict", problem.GetProperty("code").GetString());
        Assert.Contains("next offset is 1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var withoutId = await http.PostAsJsonAsync(route, new { type = "answer", offset = 1 });
        Assert.Equal(HttpStatusCode.BadRequest, withoutId.StatusCode);

        // Without an offset, an append goes at the end as always.
        using var plain = await http.PostAsJsonAsync(route, new { type = "answer" });
        Assert.Equal(1, (await plain.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
        Assert.Equal(2, (await _server.Streams.ReadAsync(StreamKey.Create("exact", "http"), 0)).NextOffset);
    }

    [Fact]
    public async Task Over_the_hub_a_retry_is_stored_once_and_a_conflict_is_refused_with_its_code()
    {
        await using var hub = await _server.ConnectAsync();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Assert.Equal(0, await hub.InvokeAsync<long>("AppendEvent", "exact", "hub", new { id = "a", type = "answer", offset = 0 }));
        }

        var complete = new { id = "end", type = "complete", offset = 1 };
        Assert.Equal(1, await hub.InvokeAsync<long>("AppendEvent", "exact", "hub", complete));
        Assert.Equal(1, await hub.InvokeAsync<long>("AppendEvent", "exact", "hub", complete));

        var conflict = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("AppendEvent", "exact", "hub", new { id = "x", type = "answer", offset = 5 }));
        Assert.Equal(StreamErrorCode.OffsetConflict, StreamErrors.FromMessage(conflict.Message));
        Assert.Contains("next offset is 2", conflict.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await _server.Streams.ReadAsync(StreamKey.Create("exact", "hub"), 0)).NextOffset);
    }

    [Fact]
    public async Task Over_http_at_offset_stores_a_retry_once_and_refuses_a_conflict_with_the_next_offset()
    {
        using var http = _server.CreateHttpClient();
        Uri At(string offset) => new($"/api/sessions/exact/messages/at-http/events?atOffset={offset}", UriKind.Relative);

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var stored = await http.PostAsJsonAsync(At("0"), new { id = "a", type = "answer", content = "first" });
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
            Assert.Equal(0, (await stored.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
        }

        using var conflict = await http.PostAsJsonAsync(At("0"), new { id = "b", type = "answer" });
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Contains("next offset is 1", (await conflict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        // An event that names another offset of its own leaves the intent unclear; a bad atOffset is refused by name.
        using var twoOffsets = await http.PostAsJsonAsync(At("1"), new { id = "c", type = "answer", offset = 4 });
        Assert.Equal(HttpStatusCode.BadRequest, twoOffsets.StatusCode);
        Assert.Equal("InvalidEvent", (await twoOffsets.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        using var notANumber = await http.PostAsJsonAsync(At("one"), new { id = "c", type = "answer" });
        var problem = await notANumber.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("InvalidOffset", problem.GetProperty("code").GetString());
        Assert.Contains("atOffset", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var next = await http.PostAsJsonAsync(At("1"), new { id = "c", type = "answer", offset = 1 });
        Assert.Equal(1, (await next.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
        Assert.Equal(["first", null], (await _server.Streams.ReadAsync(StreamKey.Create("exact", "at-http"), 0)).Events.Select(e => e.Content));
    }

    [Fact]
    public async Task Over_the_hub_append_event_at_stores_a_retry_once_and_refuses_a_conflict_with_its_code()
    {
        await using var hub = await _server.ConnectAsync();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            Assert.Equal(0, await hub.InvokeAsync<long>("AppendEventAt", "exact", "at-hub", 0L, new StreamEvent { Id = "a", Type = EventTypes.Answer }));
        }

        var conflict = await Assert.ThrowsAsync<HubException>(() =>
            hub.InvokeAsync<long>("AppendEventAt", "exact", "at-hub", 3L, new StreamEvent { Id = "x", Type = EventTypes.Answer }));
        Assert.Equal(StreamErrorCode.OffsetConflict, StreamErrors.FromMessage(conflict.Message));
        Assert.Contains("next offset is 1", conflict.Message, StringComparison.Ordinal);

        var withoutId = await Assert.ThrowsAsync<HubException>(() =>
            hub.InvokeAsync<long>("AppendEventAt", "exact", "at-hub", 1L, new StreamEvent { Type = EventTypes.Answer }));
        Assert.Equal(StreamErrorCode.InvalidEvent, StreamErrors.FromMessage(withoutId.Message));

        Assert.Equal(1, await hub.InvokeAsync<long>("AppendEventAt", "exact", "at-hub", 1L, new StreamEvent { Id = "end", Type = EventTypes.Complete }));
        Assert.Equal(2, (await _server.Streams.ReadAsync(StreamKey.Create("exact", "at-hub"), 0)).NextOffset);
    }

    [Fact]
    public async Task The_server_writes_every_events_offset_the_first_ones_zero_included()
    {
        await _server.Streams.AppendAsync(StreamKey.Create("exact", "zero"), new StreamEvent { Type = EventTypes.Complete });
        using var http = _server.CreateHttpClient();
        var page = await http.GetFromJsonAsync<JsonElement>(new Uri("/api/sessions/exact/messages/zero/events", UriKind.Relative));
        Assert.Equal(0, page.GetProperty("events")[0].GetProperty("offset").GetInt64());

        using var sse = await http.GetAsync(new Uri("/api/sessions/exact/messages/zero/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        await foreach (var message in ServerSentEvents.ReadAsync(await sse.Content.ReadAsStreamAsync()))
        {
            Assert.Equal(0, JsonDocument.Parse(message.Data!).RootElement.GetProperty("offset").GetInt64());
        }

        await using var hub = await RawHubClient.ConnectAsync(_server.BaseAddress);
        await hub.SendAsync("""{"type":4,"invocationId":"z","target":"StreamEvents","arguments":["exact","zero",0]}""");
        var item = await hub.ReceiveAsync().WaitAsync(Eventually.SafetyTimeout);
        while (item.GetProperty("type").GetInt32() != 2)
        {
            item = await hub.ReceiveAsync().WaitAsync(Eventually.SafetyTimeout);
        }

        Assert.Equal(0, item.GetProperty("item").GetProperty("offset").GetInt64());
    }
}
