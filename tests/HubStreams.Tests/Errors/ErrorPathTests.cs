using System.Net;
using System.Net.Http.Json;
using System.Text;
using HubStreams.Contracts;
using HubStreams.Server.Hosting;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Errors;

/// <summary>
/// Walks every refusal a client can provoke, over HTTP and the hub: each HTTP one is problem+json whose status, title and
/// <c>code</c> come from the one error table, and each hub one is a HubException whose message starts with the same code.
/// </summary>
public sealed class ErrorPathTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;
    private HttpClient _http = null!;
    private HubConnection _hub = null!;

    public async Task InitializeAsync()
    {
        _server = await HubStreamsServer.StartAsync(
            ("STREAM_MAX_EVENTS", "3"), ("STREAM_MAX_EVENT_BYTES", "256"), ("LIMIT_SUBSCRIPTIONS_PER_CONNECTION", "1"),
            ("Logging:LogLevel:HubStreams.Server.Errors", "Debug"));
        _http = _server.CreateHttpClient();
        _hub = await _server.ConnectAsync();
        await _server.Streams.AppendAsync(StreamKey.Create("s", "done"), new StreamEvent { Type = EventTypes.Complete });
        for (var i = 0; i < 2; i++)
        {
            await _server.Streams.AppendAsync(StreamKey.Create("s", "full"), new StreamEvent { Type = EventTypes.Answer });
        }
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _hub.DisposeAsync();
        await _server.DisposeAsync();
    }

    public static TheoryData<string, string, string?, StreamErrorCode> HttpCases => new()
    {
        { "GET", "/api/sessions/a:b/messages/m/events", null, StreamErrorCode.InvalidId },
        { "GET", "/api/sessions/s/messages/done/events?fromOffset=-1", null, StreamErrorCode.InvalidOffset },
        { "GET", "/api/sessions/s/messages/done/events?fromOffset=abc", null, StreamErrorCode.InvalidOffset },
        { "GET", "/api/sessions/s/messages/done/stream?fromOffset=abc", null, StreamErrorCode.InvalidOffset },
        { "GET", "/api/sessions/s/messages/done/events?limit=0", null, StreamErrorCode.InvalidLimit },
        { "GET", "/api/sessions/s/messages/done/events?limit=abc", null, StreamErrorCode.InvalidLimit },
        { "GET", "/api/sessions/s/messages/done/events?fromOffset=5", null, StreamErrorCode.OffsetBeyondEnd },
        { "GET", "/api/sessions/s/messages/done/stream?fromOffset=5", null, StreamErrorCode.OffsetBeyondEnd },
        { "GET", "/api/sessions/s/messages/never/events?fromOffset=3", null, StreamErrorCode.StreamNotFound },
        { "GET", "/api/sessions/s/messages/never/stream?fromOffset=3", null, StreamErrorCode.StreamNotFound },
        { "POST", "/api/sessions/s/messages/m1/events", """{"content":"no type"}""", StreamErrorCode.InvalidEvent },
        { "POST", "/api/sessions/s/messages/m1/events", "{not json", StreamErrorCode.InvalidEvent },
        { "POST", "/api/sessions/s/messages/m1/events", "null", StreamErrorCode.InvalidEvent },
        { "POST", "/api/sessions/s/messages/m1/events", $$"""{"type":"answer","content":"{{new string('x', 300)}}"}""", StreamErrorCode.EventTooLarge },
        { "POST", "/api/sessions/s/messages/m1/events", $$"""{"type":"answer","content":"{{new string('x', 40_000)}}"}""", StreamErrorCode.BodyTooLarge },
        { "POST", "/api/sessions/s/messages/done/events", """{"type":"answer"}""", StreamErrorCode.StreamCompleted },
        { "POST", "/api/sessions/s/messages/done/stop", null, StreamErrorCode.StreamCompleted },
        { "POST", "/api/sessions/s/messages/never-written/stop", null, StreamErrorCode.StreamNotFound },
        { "POST", "/api/sessions/s/messages/full/events", """{"type":"answer"}""", StreamErrorCode.StreamFull },
        { "POST", "/api/demo/sessions/s/messages/full", null, StreamErrorCode.StreamExists },
        { "GET", "/api/no-such-route", null, StreamErrorCode.RouteNotFound },
        { "PUT", "/api/sessions/s/messages/m1/events", "{}", StreamErrorCode.MethodNotAllowed },
    };

    [Theory]
    [MemberData(nameof(HttpCases))]
    public async Task Every_http_refusal_is_a_problem_with_the_code_of_the_table(string method, string path, string? body, StreamErrorCode expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await _http.SendAsync(request);
        await AssertProblemAsync(response, expected);

        // The route's operation in the OpenAPI document lists the refusal under its status (a path or a method that
        // no route has has no operation).
        if (expected is not (StreamErrorCode.RouteNotFound or StreamErrorCode.MethodNotAllowed))
        {
            var json = await _http.GetStringAsync(new Uri(ApiDocument.Path, UriKind.Relative));
            var template = Transport.ApiDocumentTests.DocumentedPath(json, path);
            var documented = Transport.ApiDocumentTests.Refusals(json, template, method.ToLowerInvariant());
            Assert.True(documented.TryGetValue((int)response.StatusCode, out var codes) && codes.Contains(expected.ToString()),
                $"{method} {template} does not document {expected} under {(int)response.StatusCode}.");
        }
    }

    public static TheoryData<string, object[], StreamErrorCode> HubInvocationCases => new()
    {
        { "AppendEvent", ["a:b", "m", new StreamEvent { Type = "answer" }], StreamErrorCode.InvalidId },
        { "AppendEvent", ["s", "m1", new StreamEvent { Content = "no type" }], StreamErrorCode.InvalidEvent },
        { "AppendEvent", ["s", "m1", new StreamEvent { Type = "answer", Content = new string('x', 300) }], StreamErrorCode.EventTooLarge },
        { "AppendEvent", ["s", "done", new StreamEvent { Type = "answer" }], StreamErrorCode.StreamCompleted },
        { "AppendEvent", ["s", "full", new StreamEvent { Type = "answer" }], StreamErrorCode.StreamFull },
        { "StopMessage", ["s", "done"], StreamErrorCode.StreamCompleted },
        { "StopMessage", ["s", "never-written"], StreamErrorCode.StreamNotFound },
        { "JoinSession", ["a/b"], StreamErrorCode.InvalidId },
    };

    [Theory]
    [MemberData(nameof(HubInvocationCases))]
    public async Task Every_hub_refusal_starts_with_the_code_and_keeps_the_connection(string method, object[] arguments, StreamErrorCode expected)
    {
        var error = await Assert.ThrowsAsync<HubException>(() => _hub.InvokeCoreAsync<object>(method, arguments));
        Assert.Equal(expected, StreamErrors.FromMessage(error.Message));
        Assert.Equal(HubConnectionState.Connected, _hub.State);
    }

    public static TheoryData<string, long, StreamErrorCode> HubStreamCases => new()
    {
        { "a:b", 0, StreamErrorCode.InvalidId },
        { "done", -1, StreamErrorCode.InvalidOffset },
        { "done", 5, StreamErrorCode.OffsetBeyondEnd },
        { "never", 3, StreamErrorCode.StreamNotFound },
    };

    [Theory]
    [MemberData(nameof(HubStreamCases))]
    public async Task Every_refused_hub_stream_ends_with_the_code(string messageId, long fromOffset, StreamErrorCode expected)
    {
        var sessionId = messageId == "a:b" ? "a:b" : "s";
        var error = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in _hub.StreamAsync<StreamEvent>("StreamEvents", sessionId, messageId == "a:b" ? "m" : messageId, fromOffset))
            {
            }
        });
        Assert.Equal(expected, StreamErrors.FromMessage(error.Message));
        Assert.Equal(HubConnectionState.Connected, _hub.State);
    }

    public static TheoryData<object> OffsetsOfTheWrongType => new() { "5", 1.5, 9_223_372_036_854_775_808UL, true };

    [Theory]
    [MemberData(nameof(OffsetsOfTheWrongType))]
    public async Task A_hub_offset_of_the_wrong_type_is_refused_with_InvalidOffset_not_by_binding(object offset)
    {
        var reading = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in _hub.StreamAsync<StreamEvent>("StreamEvents", "s", "done", offset))
            {
            }
        });
        Assert.Equal(StreamErrorCode.InvalidOffset, StreamErrors.FromMessage(reading.Message));
        Assert.Contains("fromOffset must be a whole number 0 or more", reading.Message, StringComparison.Ordinal);

        var appending = await Assert.ThrowsAsync<HubException>(() =>
            _hub.InvokeAsync<long>("AppendEventAt", "s", "typed", offset, new StreamEvent { Id = "a", Type = "answer" }));
        Assert.Equal(StreamErrorCode.InvalidOffset, StreamErrors.FromMessage(appending.Message));
        Assert.Contains("offset must be a whole number 0 or more", appending.Message, StringComparison.Ordinal);
        Assert.Equal(HubConnectionState.Connected, _hub.State);
    }

    [Fact]
    public async Task A_negative_offset_is_named_as_the_client_named_it()
    {
        var hub = await Assert.ThrowsAsync<HubException>(() =>
            _hub.InvokeAsync<long>("AppendEventAt", "s", "negative", -1L, new StreamEvent { Id = "a", Type = "answer" }));
        Assert.Contains("InvalidOffset: offset must be 0 or more, not -1.", hub.Message, StringComparison.Ordinal);

        var deprecated = await Assert.ThrowsAsync<HubException>(() =>
            _hub.InvokeAsync<long>("AppendEvent", "s", "negative", new { id = "a", type = "answer", offset = -1 }));
        Assert.Contains("InvalidOffset: offset must be 0 or more, not -1.", deprecated.Message, StringComparison.Ordinal);

        using var http = await _http.PostAsJsonAsync(new Uri("/api/sessions/s/messages/negative/events?atOffset=-1", UriKind.Relative), new { id = "a", type = "answer" });
        await AssertProblemAsync(http, StreamErrorCode.InvalidOffset);
        Assert.Contains("atOffset must be 0 or more, not -1.", await http.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Last_event_id_refusals_name_the_header_and_two_of_them_are_invalid_not_a_reset()
    {
        using var beyond = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/sessions/s/messages/done/stream", UriKind.Relative));
        beyond.Headers.Add("Last-Event-ID", "99");
        using var beyondResponse = await _http.SendAsync(beyond);
        await AssertProblemAsync(beyondResponse, StreamErrorCode.OffsetBeyondEnd);
        var detail = await beyondResponse.Content.ReadAsStringAsync();
        Assert.Contains("Last-Event-ID 99", detail, StringComparison.Ordinal);
        Assert.DoesNotContain("fromOffset", detail, StringComparison.Ordinal);

        using var two = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/sessions/s/messages/done/stream", UriKind.Relative));
        two.Headers.Add("Last-Event-ID", ["0:abc", "0:abc"]);
        using var twoResponse = await _http.SendAsync(two);
        await AssertProblemAsync(twoResponse, StreamErrorCode.InvalidOffset);
        Assert.Contains("one Last-Event-ID", await twoResponse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Headers_too_large_get_a_problem_body()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/api/sessions/s/messages/done/stream", UriKind.Relative));
        request.Headers.Add("Last-Event-ID", new string('9', 40_000));
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("HeadersTooLarge", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stop_for_a_stream_that_holds_nothing_stores_nothing_on_either_transport()
    {
        using var response = await _http.PostAsync(new Uri("/api/sessions/s/messages/no-producer/stop", UriKind.Relative), null);
        await AssertProblemAsync(response, StreamErrorCode.StreamNotFound);
        await Assert.ThrowsAsync<HubException>(() => _hub.InvokeAsync<long>("StopMessage", "s", "no-producer"));
        Assert.Equal(0, (await _server.Streams.ReadAsync(StreamKey.Create("s", "no-producer"), 0)).Length);

        // A stream being written takes the stop at its end, and its producer's next event goes after it.
        var key = StreamKey.Create("s", "written");
        await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "hello" });
        Assert.Equal(1, await _hub.InvokeAsync<long>("StopMessage", "s", "written"));
        Assert.Equal(2, await _server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete }));
        Assert.Equal([EventTypes.Answer, EventTypes.Stop, EventTypes.Complete], (await _server.Streams.ReadAsync(key, 0)).Events.Select(e => e.Type));
    }

    [Fact]
    public async Task Refusals_are_the_clients_business_and_log_no_error()
    {
        await Assert.ThrowsAsync<HubException>(() => _hub.InvokeAsync<long>("AppendEvent", "s", "done", new StreamEvent { Type = "answer" }));
        await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in _hub.StreamAsync<StreamEvent>("StreamEvents", "s", "never", 3L))
            {
            }
        });

        Assert.Contains(_server.Logs, line => line.StartsWith("Debug HubStreams.Server.Errors.HubErrorFilter: Hub call StreamEvents refused: StreamNotFound", StringComparison.Ordinal));
        Assert.DoesNotContain(_server.Logs, line => line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_stream_over_the_connection_cap_is_refused_with_its_code()
    {
        using var cancel = new CancellationTokenSource();
        var (_, first) = HubStreaming.Follow(_hub, "s", "waiting", cancellationToken: cancel.Token);
        await Eventually.True(() => _server.Streams.OpenWatches() == 1);

        var error = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in _hub.StreamAsync<StreamEvent>("StreamEvents", "s", "second", 0L))
            {
            }
        });
        Assert.Equal(StreamErrorCode.TooManySubscriptions, StreamErrors.FromMessage(error.Message));
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
    }

    [Fact]
    public async Task Appends_over_the_rate_limit_are_refused_with_their_code_on_both_transports()
    {
        await using var server = await HubStreamsServer.StartAsync(("LIMIT_APPENDS_PER_SECOND", "1"), ("LIMIT_APPEND_BURST", "1"));
        using var http = server.CreateHttpClient();
        await using var hub = await server.ConnectAsync();
        using var first = await http.PostAsJsonAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative), new { type = "answer" });
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);

        using var second = await http.PostAsJsonAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative), new { type = "answer" });
        await AssertProblemAsync(second, StreamErrorCode.RateLimited);
        var error = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("AppendEvent", "s", "m", new StreamEvent { Type = "answer" }));
        Assert.Equal(StreamErrorCode.RateLimited, StreamErrors.FromMessage(error.Message));
    }

    [Fact]
    public async Task With_tokens_required_each_refusal_carries_its_code()
    {
        await using var server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("LIMIT_CONNECTIONS_PER_USER", "1")]);
        using (var anonymous = server.CreateHttpClient())
        {
            using var response = await anonymous.GetAsync(new Uri("/api/sessions/a/messages/m/events", UriKind.Relative));
            await AssertProblemAsync(response, StreamErrorCode.AuthenticationRequired);
        }

        var token = Tokens.Mint("alice", ["a"]);
        using (var alice = server.CreateHttpClient(token))
        {
            using var response = await alice.GetAsync(new Uri("/api/sessions/b/messages/m/events", UriKind.Relative));
            await AssertProblemAsync(response, StreamErrorCode.AccessDenied);
            using var append = await alice.PostAsJsonAsync(new Uri("/api/sessions/a/messages/m/events", UriKind.Relative), new { type = "answer" });
            await AssertProblemAsync(append, StreamErrorCode.AccessDenied);
        }

        await using var hub = await server.ConnectAsync(token);
        var denied = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync("JoinSession", "b"));
        Assert.Equal(StreamErrorCode.AccessDenied, StreamErrors.FromMessage(denied.Message));

        // A second connection of the same user is over the cap: the server closes it with the code.
        var second = server.CreateHubConnection(token);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        second.Closed += e => { closed.TrySetResult(e); return Task.CompletedTask; };
        var refused = await Record.ExceptionAsync(() => second.StartAsync());
        var reason = refused ?? await closed.Task.WaitAsync(Eventually.SafetyTimeout);
        Assert.Equal(StreamErrorCode.TooManyConnections, StreamErrors.FromMessage(reason?.Message));
        await second.DisposeAsync();
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, StreamErrorCode expected)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<Problem>();
        Assert.NotNull(problem);
        Assert.Equal(expected.ToString(), problem.Code);
        Assert.Equal(StreamErrors.Describe(expected).HttpStatus, (int)response.StatusCode);
        Assert.Equal(StreamErrors.Describe(expected).HttpStatus, problem.Status);

        // As the API page says: the code is the title, the detail says what happened, and the type names the status.
        Assert.Equal(expected.ToString(), problem.Title);
        Assert.False(string.IsNullOrWhiteSpace(problem.Detail), $"{expected}: no detail.");
        Assert.False(string.IsNullOrWhiteSpace(problem.Type), $"{expected}: no type.");
        if (response.StatusCode == HttpStatusCode.TooManyRequests)
        {
            Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        }
    }

    private sealed record Problem(string? Type, string? Title, int Status, string? Detail, string? Code);
}
