using System.Net;
using System.Text;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>The hub's message limit fits the event limit: an event at STREAM_MAX_EVENT_BYTES passes, a larger one gets a HubException.</summary>
public sealed class EventSizeTests : IAsyncLifetime
{
    private const int Limit = StreamOptions.DefaultMaxEventBytes;
    private static readonly DateTimeOffset Stamp = DateTimeOffset.UnixEpoch;
    private HubStreamsServer _server = null!;
    private HubConnection _hub = null!;

    public async Task InitializeAsync()
    {
        _server = await HubStreamsServer.StartAsync();
        _hub = await _server.ConnectAsync();
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        await _server.DisposeAsync();
    }

    /// <summary>An answer whose stored JSON is exactly <paramref name="bytes"/> long, made of <paramref name="filler"/>.</summary>
    private static StreamEvent EventOfSize(int bytes, char filler)
    {
        var overhead = JsonSerializer.SerializeToUtf8Bytes(new { type = "answer", content = "", done = false, timestamp = Stamp }).Length;
        var fillerBytes = Encoding.UTF8.GetByteCount([filler]);
        Assert.Equal(0, (bytes - overhead) % fillerBytes);
        return new StreamEvent { Type = EventTypes.Answer, Content = new string(filler, (bytes - overhead) / fillerBytes), Timestamp = Stamp };
    }

    [Theory]
    [InlineData('x')]
    [InlineData('é')]
    public async Task An_event_at_the_limit_is_accepted_over_the_hub(char filler)
    {
        var streamEvent = EventOfSize(filler == 'x' ? Limit : Limit - 1, filler);
        Assert.Equal(0, await _hub.InvokeAsync<long>("AppendEvent", "big", $"at-limit-{(int)filler}", streamEvent));
        var stored = (await _server.Streams.ReadAsync(StreamKey.Create("big", $"at-limit-{(int)filler}"), 0)).Events.Single();
        Assert.Equal(streamEvent.Content, stored.Content);
    }

    [Fact]
    public async Task A_larger_event_gets_a_hub_exception_and_the_connection_stays_open()
    {
        var error = await Assert.ThrowsAsync<HubException>(() => _hub.InvokeAsync<long>("AppendEvent", "big", "over", EventOfSize(Limit + 1, 'x')));
        Assert.Contains("STREAM_MAX_EVENT_BYTES", error.Message, StringComparison.Ordinal);

        var fourTimes = EventOfSize(Limit * 4 - 1, 'x') with { };
        await Assert.ThrowsAsync<HubException>(() => _hub.InvokeAsync<long>("AppendEvent", "big", "over", fourTimes));

        Assert.Equal(HubConnectionState.Connected, _hub.State);
        Assert.Equal(0, await _hub.InvokeAsync<long>("AppendEvent", "big", "after", new StreamEvent { Type = EventTypes.Answer }));
    }

    [Fact]
    public async Task Over_http_an_event_at_the_limit_is_created_and_a_larger_one_is_a_400()
    {
        using var http = _server.CreateHttpClient();
        var atLimit = JsonSerializer.Serialize(EventOfSize(Limit, 'x'), JsonSerializerOptions.Web);
        using var ok = await http.PostAsync(new Uri("/api/sessions/big/messages/http-at-limit/events", UriKind.Relative),
            new StringContent(atLimit, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, ok.StatusCode);

        var over = JsonSerializer.Serialize(EventOfSize(Limit + 1, 'x'), JsonSerializerOptions.Web);
        using var refused = await http.PostAsync(new Uri("/api/sessions/big/messages/http-over/events", UriKind.Relative),
            new StringContent(over, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
    }
}
