using System.Net;
using System.Net.Http.Json;
using System.Text;
using HubStreams.Client;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>Every bad input comes back as a clear error on both transports, changes nothing, and keeps the hub connection open.</summary>
public sealed class ErrorTests() : ErrorContract(HubProtocol.Json);

/// <summary>The same over SignalR's MessagePack protocol.</summary>
public sealed class MessagePackErrorTests() : ErrorContract(HubProtocol.MessagePack);

/// <summary>The tests of <see cref="ErrorTests"/>, with the hub in <paramref name="protocol"/>.</summary>
public abstract class ErrorContract(HubProtocol protocol) : IAsyncLifetime
{
    private HubStreamsServer _server = null!;
    private HubConnection _hub = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await HubStreamsServer.StartAsync(("STREAM_MAX_EVENTS", "5"));
        _server.Protocol = protocol;
        _hub = await _server.ConnectAsync();
        _http = _server.CreateHttpClient();

        // A completed stream, and a full one, to be refused.
        await _server.Streams.AppendAsync(StreamKey.Create("s", "done"), new StreamEvent { Type = EventTypes.Complete });
        for (var i = 0; i < 4; i++)
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

    public static TheoryData<string, string, long, int, string> BadReads => new()
    {
        { "a:b", "m", 0, 400, "sessionId" },
        { "s", "m%20x", 0, 400, "messageId" },
        { "s", "done", -1, 400, "fromOffset must be 0 or more" },
        { "s", "done", 5, 400, "beyond the end" },
        { "s", "never-existed", 3, 404, "expired or never existed" },
    };

    [Theory]
    [MemberData(nameof(BadReads))]
    public async Task A_bad_read_is_refused_by_the_hub_and_over_http_with_the_same_message(
        string sessionId, string messageId, long fromOffset, int status, string expected)
    {
        var hubError = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in _hub.StreamAsync<StreamEvent>("StreamEvents", Uri.UnescapeDataString(sessionId), Uri.UnescapeDataString(messageId), fromOffset))
            {
            }
        });
        Assert.Contains(expected, hubError.Message, StringComparison.Ordinal);

        foreach (var route in new[] { "events", "stream" })
        {
            using var response = await _http.GetAsync(new Uri($"/api/sessions/{sessionId}/messages/{messageId}/{route}?fromOffset={fromOffset}", UriKind.Relative));
            Assert.Equal((HttpStatusCode)status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<Problem>();
            Assert.Contains(expected, problem!.Detail, StringComparison.Ordinal);
            Assert.EndsWith(problem.Detail, hubError.Message, StringComparison.Ordinal);
        }

        await AssertHubStillWorks();
    }

    public static TheoryData<string, string, string, int, string> BadAppends => new()
    {
        { "s", "m1", """{"content":"no type"}""", 400, "'type' is required" },
        { "s", "m1", """{"type":""}""", 400, "'type' is required" },
        { "s", "m1", """{"type":"answer","data":[1]}""", 400, "'data' must be a JSON object" },
        { "s:x", "m1", """{"type":"answer"}""", 400, "sessionId" },
        { "s", "done", """{"type":"answer"}""", 409, "completed" },
        { "s", "full", """{"type":"answer"}""", 409, "full" },
    };

    [Theory]
    [MemberData(nameof(BadAppends))]
    public async Task A_bad_append_is_refused_by_the_hub_and_over_http_and_changes_nothing(
        string sessionId, string messageId, string eventJson, int status, string expected)
    {
        var streamEvent = System.Text.Json.JsonSerializer.Deserialize<StreamEvent>(eventJson, System.Text.Json.JsonSerializerOptions.Web);
        var hubError = await Assert.ThrowsAsync<HubException>(() => _hub.InvokeAsync<long>("AppendEvent", sessionId, messageId, streamEvent));
        Assert.Contains(expected, hubError.Message, StringComparison.Ordinal);

        using var content = new StringContent(eventJson, Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri($"/api/sessions/{sessionId}/messages/{messageId}/events", UriKind.Relative), content);
        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(expected, (await response.Content.ReadFromJsonAsync<Problem>())!.Detail, StringComparison.Ordinal);

        if (StreamKey.IsValidId(sessionId))
        {
            var expectedLength = messageId switch { "done" => 1, "full" => 4, _ => 0 };
            Assert.Equal(expectedLength, (await _server.Streams.ReadAsync(StreamKey.Create(sessionId, messageId), 0)).NextOffset);
        }

        await AssertHubStillWorks();
    }

    [Fact]
    public async Task Stop_is_refused_once_the_stream_is_completed()
    {
        var hubError = await Assert.ThrowsAsync<HubException>(() => _hub.InvokeAsync<long>("StopMessage", "s", "done"));
        Assert.Contains("completed", hubError.Message, StringComparison.Ordinal);
        using var response = await _http.PostAsync(new Uri("/api/sessions/s/messages/done/stop", UriKind.Relative), null);
        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        await AssertHubStillWorks();
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_a_400_problem()
    {
        using var content = new StringContent("{not json", Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri("/api/sessions/s/messages/m9/events", UriKind.Relative), content);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task An_invalid_last_event_id_is_a_400_problem()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions/s/messages/done/stream");
        request.Headers.Add("Last-Event-ID", "abc");
        using var response = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("Last-Event-ID", (await response.Content.ReadFromJsonAsync<Problem>())!.Detail, StringComparison.Ordinal);
    }

    private async Task AssertHubStillWorks()
    {
        Assert.Equal(HubConnectionState.Connected, _hub.State);
        var key = $"ok-{Guid.NewGuid():N}";
        Assert.Equal(0, await _hub.InvokeAsync<long>("AppendEvent", "s", key, new StreamEvent { Type = EventTypes.Answer }));
    }

    private sealed record Problem(string Title, int Status, string Detail, string? Code);
}
