using System.Net;
using System.Net.Http.Json;
using System.Text;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Security;

/// <summary>With AUTH_MODE=jwt: a token reads only the sessions it is granted, appends only with the producer role, over every transport.</summary>
public sealed class AuthorizationTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("LIMIT_SUBSCRIPTIONS_PER_CONNECTION", "2"), ("LIMIT_CONNECTIONS_PER_USER", "2")]);
        await _server.Streams.AppendAsync(StreamKey.Create("session-b", "m1"), new StreamEvent { Type = EventTypes.Answer, Content = "secret of B" });
        await _server.Streams.AppendAsync(StreamKey.Create("session-a", "m1"), new StreamEvent { Type = EventTypes.Answer, Content = "for A" });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    [InlineData("/metrics")]
    [InlineData("/")]
    [InlineData("/lib/hubstreams-client/index.js")]
    public async Task Health_metrics_and_the_page_stay_anonymous(string path)
    {
        using var http = _server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri(path, UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Without_a_token_every_stream_operation_is_refused()
    {
        using var http = _server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/sessions/session-a/messages/m1/events", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/sessions/session-a/messages/m1/stream", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsJsonAsync(new Uri("/api/sessions/session-a/messages/m1/events", UriKind.Relative), new { type = "answer" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync(new Uri("/api/demo/sessions/session-a/messages/m9", UriKind.Relative), null)).StatusCode);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => _server.ConnectAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task A_token_with_a_bad_signature_or_past_its_expiry_is_refused()
    {
        foreach (var token in new[]
                 {
                     Tokens.Mint("mallory", ["*"], producer: true, key: "another-key-that-is-also-long-enough-0123456789"),
                     Tokens.Mint("alice", ["session-a"], lifetime: TimeSpan.FromMinutes(-5)),
                 })
        {
            using var http = _server.CreateHttpClient(token);
            Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/sessions/session-a/messages/m1/events", UriKind.Relative))).StatusCode);
        }
    }

    [Fact]
    public async Task A_token_for_session_a_cannot_read_join_stop_or_append_to_session_b_over_any_transport()
    {
        var token = Tokens.Mint("alice", ["session-a"], producer: true);
        await using var hub = await _server.ConnectAsync(token);
        using var http = _server.CreateHttpClient(token);

        // Granted: session A.
        var mine = await hub.StreamAsync<StreamEvent>("StreamEvents", "session-a", "m1", 0L).FirstAsync();
        Assert.Equal("for A", mine.Content);
        await hub.InvokeAsync("JoinSession", "session-a");

        // Refused, the same way whether the stream exists (m1) or not (m404): nothing says which.
        foreach (var message in new[] { "m1", "m404" })
        {
            var read = await Assert.ThrowsAsync<HubException>(async () =>
                await hub.StreamAsync<StreamEvent>("StreamEvents", "session-b", message, 0L).FirstAsync());
            Assert.Contains("AccessDenied: The token does not grant session session-b.", read.Message, StringComparison.Ordinal);

            foreach (var path in new[] { "events", "stream" })
            {
                using var response = await http.GetAsync(new Uri($"/api/sessions/session-b/messages/{message}/{path}?fromOffset=1", UriKind.Relative));
                Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
                Assert.DoesNotContain("secret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }

            using var append = await http.PostAsJsonAsync(new Uri($"/api/sessions/session-b/messages/{message}/events", UriKind.Relative), new { type = "answer" });
            Assert.Equal(HttpStatusCode.Forbidden, append.StatusCode);
            using var stop = await http.PostAsync(new Uri($"/api/sessions/session-b/messages/{message}/stop", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.Forbidden, stop.StatusCode);
            await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("AppendEvent", "session-b", message, new StreamEvent { Type = EventTypes.Answer }));
            await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("StopMessage", "session-b", message));
        }

        var join = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("JoinSession", "session-b"));
        Assert.Contains("AccessDenied", join.Message, StringComparison.Ordinal);

        // Nothing was written to session B.
        Assert.Equal(1, (await _server.Streams.ReadAsync(StreamKey.Create("session-b", "m1"), 0)).NextOffset);
        Assert.Empty((await _server.Streams.ReadAsync(StreamKey.Create("session-b", "m404"), 0)).Events);
        Assert.Equal(HubConnectionState.Connected, hub.State);
    }

    [Fact]
    public async Task Appending_needs_the_producer_role()
    {
        var reader = Tokens.Mint("bob", ["session-a"]);
        using (var http = _server.CreateHttpClient(reader))
        {
            using var refused = await http.PostAsJsonAsync(new Uri("/api/sessions/session-a/messages/m2/events", UriKind.Relative), new { type = "answer" });
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Contains("'producer' role", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            // Heartbeats are a producer's too.
            using var heartbeat = await http.PostAsync(new Uri("/api/sessions/session-a/messages/m1/heartbeat", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.Forbidden, heartbeat.StatusCode);

            // A reader may still ask the producer to stop.
            using var stop = await http.PostAsync(new Uri("/api/sessions/session-a/messages/m1/stop", UriKind.Relative), null);
            Assert.Equal(HttpStatusCode.Created, stop.StatusCode);
        }

        using var producer = _server.CreateHttpClient(Tokens.Mint("agent", ["*"], producer: true));
        using var created = await producer.PostAsJsonAsync(new Uri("/api/sessions/session-a/messages/m2/events", UriKind.Relative), new { type = "answer" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    [Fact]
    public async Task The_query_string_token_is_accepted_on_the_hub_path_only()
    {
        var token = Tokens.Mint("carol", ["session-a"]);
        using var http = _server.CreateHttpClient();
        using var negotiate = await http.PostAsync(new Uri($"/hubs/streams/negotiate?negotiateVersion=1&access_token={token}", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.OK, negotiate.StatusCode);
        using var api = await http.GetAsync(new Uri($"/api/sessions/session-a/messages/m1/events?access_token={token}", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
    }

    [Fact]
    public async Task A_subscription_ends_when_its_token_expires()
    {
        var token = Tokens.Mint("dave", ["session-a"], lifetime: TimeSpan.FromSeconds(3));
        using var http = _server.CreateHttpClient(token);
        using var response = await http.GetAsync(new Uri("/api/sessions/session-a/messages/idle/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        var messages = new List<SseMessage>();
        using var timeout = new CancellationTokenSource(Eventually.SafetyTimeout);
        await foreach (var message in ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync(), timeout.Token))
        {
            messages.Add(message);
        }

        var end = Assert.Single(messages, m => m.Event == "error");
        Assert.Contains("AccessExpired", end.Data, StringComparison.Ordinal);

        // Over the hub, the connection itself closes at expiry.
        await using var hub = await _server.ConnectAsync(Tokens.Mint("dave", ["session-a"], lifetime: TimeSpan.FromSeconds(3)));
        var streaming = Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "session-a", "idle", 0L))
            {
            }
        });
        await streaming.WaitAsync(Eventually.SafetyTimeout);
    }

    [Fact]
    public async Task Streams_per_connection_and_connections_per_user_are_capped_with_clear_errors()
    {
        var token = Tokens.Mint("erin", ["*"]);
        await using var hub = await _server.ConnectAsync(token);
        using var cancel = new CancellationTokenSource();
        var open = Enumerable.Range(0, 2).Select(i => Task.Run(async () =>
        {
            await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "caps", $"m{i}", 0L, cancel.Token))
            {
            }
        })).ToArray();
        await Eventually.True(() => _server.Streams.OpenWatches() == 2);

        var third = await Assert.ThrowsAsync<HubException>(async () => await hub.StreamAsync<StreamEvent>("StreamEvents", "caps", "m3", 0L).FirstAsync());
        Assert.Contains("TooManySubscriptions", third.Message, StringComparison.Ordinal);
        Assert.Contains("LIMIT_SUBSCRIPTIONS_PER_CONNECTION", third.Message, StringComparison.Ordinal);
        await cancel.CancelAsync();
        await Task.WhenAll(open.Select(t => t.ContinueWith(static _ => { }, TaskScheduler.Default)));

        await using var second = await _server.ConnectAsync(token);
        var refused = _server.CreateHubConnection(token);
        var closed = new TaskCompletionSource<Exception?>();
        refused.Closed += error => { closed.TrySetResult(error); return Task.CompletedTask; };
        try
        {
            await refused.StartAsync();
        }
        catch (Exception e) when (e is HubException or InvalidOperationException or IOException)
        {
            closed.TrySetResult(e);
        }

        var reason = await closed.Task.WaitAsync(Eventually.SafetyTimeout);
        Assert.Contains("LIMIT_CONNECTIONS_PER_USER", reason?.Message, StringComparison.Ordinal);
        await refused.DisposeAsync();
    }

    [Fact]
    public async Task Appends_over_the_rate_limit_are_refused_with_429()
    {
        await using var server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("LIMIT_APPENDS_PER_SECOND", "1"), ("LIMIT_APPEND_BURST", "3")]);
        using var http = server.CreateHttpClient(Tokens.Mint("fast", ["*"], producer: true));
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            using var response = await http.PostAsJsonAsync(new Uri("/api/sessions/rate/messages/m1/events", UriKind.Relative), new { type = "answer" });
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Contains("LIMIT_APPENDS_PER_SECOND", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }

        Assert.Equal(3, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.Equal(3, (await server.Streams.ReadAsync(StreamKey.Create("rate", "m1"), 0)).NextOffset);
    }

    [Fact]
    public async Task A_request_body_over_the_event_limit_is_refused_with_413()
    {
        await using var server = await HubStreamsServer.StartAsync(("STREAM_MAX_EVENT_BYTES", "1024"));
        using var http = server.CreateHttpClient();
        var huge = new string('x', 1024 * 6 + 17 * 1024);
        using var response = await http.PostAsync(new Uri("/api/sessions/big/messages/m1/events", UriKind.Relative),
            new StringContent($$"""{"type":"answer","content":"{{huge}}"}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("STREAM_MAX_EVENT_BYTES", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
