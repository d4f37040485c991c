using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>
/// A stop request is a reader's: it stores one <c>stop</c> per stream while that stop waits for its producer, so readers
/// cannot fill a stream with stops, and it never creates a stream.
/// </summary>
public sealed class StopRequestTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task Stops_repeated_while_one_is_pending_store_nothing_and_answer_the_first_ones_offset()
    {
        var key = StreamKey.Create("stops", "repeated");
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "a" });
        await using var hub = await _server.ConnectAsync();
        using var http = _server.CreateHttpClient();

        var first = await hub.InvokeAsync<long>("StopMessage", "stops", "repeated");
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(first, await hub.InvokeAsync<long>("StopMessage", "stops", "repeated"));
            using var response = await http.PostAsync(new Uri("/api/sessions/stops/messages/repeated/stop", UriKind.Relative), null);
            Assert.Equal(first, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("offset").GetInt64());
        }

        // The producer goes on meanwhile; the stop it has not answered yet is still the one.
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "b" });
        Assert.Equal(first, await hub.InvokeAsync<long>("StopMessage", "stops", "repeated"));

        var events = (await _server.Streams.ReadAsync(key, 0)).Events;
        Assert.Single(events, e => e.Type == EventTypes.Stop);
        Assert.Equal(3, events.Count);

        // Once the producer has completed, a stop is refused as before.
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete, Done = true });
        var refused = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("StopMessage", "stops", "repeated"));
        Assert.Contains(nameof(StreamErrorCode.StreamCompleted), refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stop_for_a_message_never_written_is_refused_and_leaves_no_stream()
    {
        await using var hub = await _server.ConnectAsync();
        for (var i = 0; i < 50; i++)
        {
            var refused = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("StopMessage", "stops", $"never-{i}"));
            Assert.Contains(nameof(StreamErrorCode.StreamNotFound), refused.Message, StringComparison.Ordinal);
        }

        Assert.Equal(0, ((MemoryStreamManager)_server.Streams).StreamCount);
    }
}
