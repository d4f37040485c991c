using System.Net.Http.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace HubStreams.Tests.Transport;

/// <summary>Live subscriptions: wake-ups, release on cancel or disconnect, session notifications, heartbeats, the demo.</summary>
public sealed partial class SubscriptionTests : IAsyncLifetime
{
    private static readonly TimeSpan SafetyTimeout = Eventually.SafetyTimeout;
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync(
        ("SSE_HEARTBEAT_INTERVAL", "1"), ("DEMO_CHUNK_INTERVAL", "00:00:00.005"));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_subscriber_waiting_for_a_stream_that_does_not_exist_yet_gets_its_events_as_they_come()
    {
        await using var hub = await _server.ConnectAsync();
        var (received, reading) = HubStreaming.Follow(hub, "live", "m1");
        await Eventually.True(() => _server.Streams.OpenWatches() == 1);

        for (var i = 0; i < 3; i++)
        {
            await _server.Streams.AppendAsync(StreamKey.Create("live", "m1"), new StreamEvent { Type = EventTypes.Answer, Content = $"{i}" });
            Assert.Equal(i, (await received.NextAsync()).Offset);
        }

        await _server.Streams.AppendAsync(StreamKey.Create("live", "m1"), new StreamEvent { Type = EventTypes.Complete });
        await reading.WaitAsync(SafetyTimeout);
    }

    [Fact]
    public async Task Cancelling_a_hub_stream_releases_its_reader()
    {
        await using var hub = await _server.ConnectAsync();
        using var cancel = new CancellationTokenSource();
        var reading = Task.Run(async () =>
        {
            await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "cancel", "m1", 0L, cancel.Token))
            {
            }
        });
        await Eventually.True(() => _server.Streams.OpenWatches() == 1);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading.WaitAsync(SafetyTimeout));
        await Eventually.True(() => _server.Streams.OpenWatches() == 0);
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task Disconnecting_releases_every_reader_of_the_connection()
    {
        var hub = await _server.ConnectAsync();
        var readers = Enumerable.Range(0, 3).Select(i => Task.Run(async () =>
        {
            await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "disconnect", $"m{i}", 0L))
            {
            }
        })).ToArray();
        await Eventually.True(() => _server.Streams.OpenWatches() == 3);

        await hub.DisposeAsync();
        await Eventually.True(() => _server.Streams.OpenWatches() == 0);
    }

    [Fact]
    public async Task A_reader_whose_connection_drops_mid_stream_is_logged_as_gone_not_as_a_failure()
    {
        // An application that hosts the hub keeps its own logging settings: SignalR's dispatcher logs at its default level.
        await using var server = await HubStreamsServer.StartAsync(
            ("Logging:LogLevel:Microsoft.AspNetCore.SignalR.Internal.DefaultHubDispatcher", "Debug"), ("Logging:LogLevel:HubStreams.Server.Errors", "Debug"));
        await server.Streams.AppendAsync(StreamKey.Create("dropped", "m1"), new StreamEvent { Type = EventTypes.Answer, Content = "a" });
        var hub = await RawHubClient.ConnectAsync(server.BaseAddress);
        await hub.SendAsync("""{"type":4,"invocationId":"1","target":"FollowStream","arguments":[{"sessionId":"dropped","messageId":"m1"}]}""");
        while ((await hub.ReceiveAsync().WaitAsync(SafetyTimeout)).GetProperty("type").GetInt32() != 2)
        {
        }

        // The client's socket goes away while the stream waits for its next event.
        await hub.DisposeAsync();
        await Eventually.True(() => server.Logs.Any(line =>
            line.StartsWith("Debug HubStreams.Server.Errors.HubErrorFilter: Hub call FollowStream ended: its connection closed", StringComparison.Ordinal)
            || line.Contains("Failed while sending stream items", StringComparison.Ordinal)));
        Assert.DoesNotContain(server.Logs, line => line.StartsWith("Error", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_sse_client_that_goes_away_releases_its_reader_and_an_idle_one_gets_heartbeats()
    {
        using var http = _server.CreateHttpClient();
        var response = await http.GetAsync(new Uri("/api/sessions/sse-idle/messages/m1/stream", UriKind.Relative),
            HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        var messages = ServerSentEvents.ReadAsync(body).GetAsyncEnumerator();

        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(SafetyTimeout));
        Assert.Equal("heartbeat", messages.Current.Comment);
        Assert.Equal(1, _server.Streams.OpenWatches());

        // The client goes away: its connection closes mid-response.
        await messages.DisposeAsync();
        response.Dispose();
        await Eventually.True(() => _server.Streams.OpenWatches() == 0);
    }

    [Fact]
    public async Task Heartbeats_come_only_while_the_sse_response_is_idle()
    {
        var key = StreamKey.Create("sse-busy", "m1");
        using var http = _server.CreateHttpClient();
        using var response = await http.GetAsync(new Uri("/api/sessions/sse-busy/messages/m1/stream", UriKind.Relative),
            HttpCompletionOption.ResponseHeadersRead);
        await using var messages = ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync()).GetAsyncEnumerator();

        // Busy: an event every 200 ms for 3 s, with a 1 s heartbeat interval.
        var received = new List<SseMessage>();
        for (var i = 0; i < 15; i++)
        {
            await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = $"{i}" });
            Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(SafetyTimeout));
            received.Add(messages.Current);
            await Task.Delay(200);
        }

        Assert.All(received, m => Assert.Null(m.Comment));

        // Idle: the next message is a heartbeat.
        Assert.True(await messages.MoveNextAsync().AsTask().WaitAsync(SafetyTimeout));
        Assert.Equal("heartbeat", messages.Current.Comment);
    }

    [Fact]
    public async Task A_joined_session_hears_message_started_and_completed()
    {
        await using var listener = await _server.ConnectAsync();
        var heard = HubStreaming.ListenToSessions(listener);
        await listener.InvokeAsync("JoinSession", "joined");

        await using var producer = await _server.ConnectAsync();
        await producer.InvokeAsync<long>("AppendEvent", "other", "m1", new StreamEvent { Type = EventTypes.Answer });
        await producer.InvokeAsync<long>("AppendEvent", "joined", "m1", new StreamEvent { Type = EventTypes.Answer });
        await producer.InvokeAsync<long>("AppendEvent", "joined", "m1", new StreamEvent { Type = EventTypes.Answer });
        await producer.InvokeAsync<long>("AppendEvent", "joined", "m1", new StreamEvent { Type = EventTypes.Complete });

        Assert.Equal("started joined/m1", await heard.ReadAsync().AsTask().WaitAsync(SafetyTimeout));
        Assert.Equal("completed joined/m1", await heard.ReadAsync().AsTask().WaitAsync(SafetyTimeout));

        await listener.InvokeAsync("LeaveSession", "joined");
        await producer.InvokeAsync<long>("AppendEvent", "joined", "m2", new StreamEvent { Type = EventTypes.Complete });
        await producer.InvokeAsync<long>("AppendEvent", "probe", "m1", new StreamEvent { Type = EventTypes.Answer });
        Assert.False(heard.TryRead(out var unexpected), $"Heard {unexpected} after leaving.");
    }

    [Fact]
    public async Task The_demo_answers_in_full_and_the_transcript_is_its_answer_chunks()
    {
        using var http = _server.CreateHttpClient();
        using var started = await http.PostAsync(new Uri("/api/demo/sessions/demo/messages/full", UriKind.Relative), null);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, started.StatusCode);

        await using var hub = await _server.ConnectAsync();
        var events = new List<StreamEvent>();
        await foreach (var e in hub.StreamAsync<StreamEvent>("StreamEvents", "demo", "full", 0L).WithCancellation(new CancellationTokenSource(SafetyTimeout).Token))
        {
            events.Add(e);
        }

        Assert.Equal(EventTypes.AgentQuery, events[0].Type);
        Assert.Contains(events, e => e.Type == EventTypes.Thinking);
        Assert.Contains(events, e => e.Type == EventTypes.References);
        var answers = events.Where(e => e.Type == EventTypes.Answer).ToList();
        Assert.InRange(answers.Count, 180, 260);
        Assert.Equal(Server.Demo.DemoScript.Answer, string.Concat(answers.Select(e => e.Content)));
        Assert.Equal("finished", events[^1].Data!.Value.GetProperty("reason").GetString());

        using var again = await http.PostAsync(new Uri("/api/demo/sessions/demo/messages/full", UriKind.Relative), null);
        Assert.Equal(System.Net.HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Stop_makes_the_demo_stop_emitting_and_complete()
    {
        using var http = _server.CreateHttpClient();
        (await http.PostAsync(new Uri("/api/demo/sessions/demo/messages/stopped", UriKind.Relative), null)).Dispose();

        await using var hub = await _server.ConnectAsync();
        var events = new List<StreamEvent>();
        await foreach (var e in hub.StreamAsync<StreamEvent>("StreamEvents", "demo", "stopped", 0L).WithCancellation(new CancellationTokenSource(SafetyTimeout).Token))
        {
            events.Add(e);
            if (e.Type == EventTypes.Answer && e.Offset == 20)
            {
                var stopOffset = await hub.InvokeAsync<long>("StopMessage", "demo", "stopped");
                Assert.True(stopOffset > 20);
            }
        }

        var stop = Assert.Single(events, e => e.Type == EventTypes.Stop);
        Assert.True(stop.Done);
        Assert.Equal("user_requested", stop.Data!.Value.GetProperty("reason").GetString());
        Assert.Equal("stopped", events[^1].Data!.Value.GetProperty("reason").GetString());
        Assert.True(events.Count(e => e.Type == EventTypes.Answer) < Server.Demo.DemoScript.AnswerChunks.Count);

        // The HTTP read agrees, and says the stream is completed.
        var page = await http.GetFromJsonAsync<PageBody>(new Uri("/api/sessions/demo/messages/stopped/events?fromOffset=0", UriKind.Relative));
        Assert.True(page!.Completed);
        Assert.Equal(events.Count, page.NextOffset);
    }

    private sealed record PageBody(List<StreamEvent> Events, long NextOffset, bool Completed);

    [Fact]
    public async Task A_hub_reader_that_signalr_aborts_for_not_reading_stops_being_read_for()
    {
        const int total = 20_000;
        await using var server = await HubStreamsServer.StartAsync(services => services.Configure<HubOptions>(o =>
        {
            o.ClientTimeoutInterval = TimeSpan.FromSeconds(2);
            o.KeepAliveInterval = TimeSpan.FromSeconds(1);
        }));
        var key = StreamKey.Create("stalled", "hub");
        var content = new string('z', 2_000);
        for (var i = 0; i < total; i++)
        {
            await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = content });
        }

        // Asks for the stream, then reads nothing and sends nothing: SignalR aborts it after its client timeout.
        await using var stalled = await RawHubClient.ConnectAsync(server.BaseAddress);
        await stalled.SendAsync("""{"type":4,"invocationId":"1","target":"StreamEvents","arguments":["stalled","hub",0]}""");

        await Eventually.True(() => server.Streams.OpenWatches() == 0);
        var ended = await SubscriptionEnded(server, "stalled/hub");
        var delivered = long.Parse(DeliveredCount().Match(ended).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        // Before, the loop went on reading and "delivered" all of them to the dead connection; now it stops within a page.
        Assert.True(delivered < total, ended);
    }

    [Fact]
    public async Task An_sse_reader_that_stops_reading_is_cut_off_after_the_write_timeout()
    {
        await using var server = await HubStreamsServer.StartAsync(("SSE_WRITE_TIMEOUT", "1"));
        var key = StreamKey.Create("stalled", "sse");
        var content = new string('z', 2_000);
        for (var i = 0; i < 20_000; i++)
        {
            await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = content });
        }

        using var http = server.CreateHttpClient();
        using var response = await http.GetAsync(new Uri("/api/sessions/stalled/messages/sse/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);

        // The client holds the response open and reads nothing.
        await Eventually.True(() => server.Streams.OpenWatches() == 0);
        Assert.Contains("client_gone", await SubscriptionEnded(server, "stalled/sse"), StringComparison.Ordinal);
    }

    private static async Task<string> SubscriptionEnded(HubStreamsServer server, string stream)
    {
        var line = "";
        await Eventually.True(() =>
        {
            line = server.Logs.FirstOrDefault(l => l.Contains($"Subscription ended: ", StringComparison.Ordinal) && l.Contains(stream, StringComparison.Ordinal)) ?? "";
            return line.Length > 0;
        });
        return line;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\((\d+) events\)")]
    private static partial System.Text.RegularExpressions.Regex DeliveredCount();
}
