using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Security;

/// <summary>JSON that parses but cannot be an event (lone surrogates, duplicate keys) and ids made only of dots: refused with a code, nothing stored.</summary>
public sealed class HostileJsonTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public static TheoryData<string> Bodies => new()
    {
        """{"type":"answer","data":{"\ud800":1}}""",
        """{"type":"answer","data":{"k":"\udfff"}}""",
        """{"type":"answer","content":"\udfff"}""",
        """{"type":"answer","type":"complete"}""",
        """{"type":"answer","data":{"a":1,"a":2}}""",
    };

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Over_http_the_event_is_refused_as_invalid_and_nothing_is_stored(string body)
    {
        var messageId = $"m-{Guid.NewGuid():N}";
        using var http = _server.CreateHttpClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri($"/api/sessions/s/messages/{messageId}/events", UriKind.Relative), content);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("InvalidEvent", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        Assert.Empty((await _server.Streams.ReadAsync(StreamKey.Create("s", messageId), 0)).Events);
        Assert.DoesNotContain(_server.Logs, line => line.StartsWith("Error", StringComparison.Ordinal) || line.StartsWith("Critical", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Over_the_hub_the_event_is_refused_with_its_code_and_nothing_is_stored(string body)
    {
        var messageId = $"m-{Guid.NewGuid():N}";
        await using var hub = await RawHubClient.ConnectAsync(_server.BaseAddress);

        // Sent as written: a client library would refuse to produce most of these.
        var completion = await hub.InvokeAsync("AppendEvent", $$"""["s","{{messageId}}",{{body}}]""");
        Assert.True(StreamErrors.FromMessage(completion.GetProperty("error").GetString()) == StreamErrorCode.InvalidEvent, completion.ToString());
        var stillServed = await hub.InvokeAsync("AppendEvent", """["s","after",{"type":"answer"}]""");
        Assert.True(stillServed.TryGetProperty("result", out _), stillServed.ToString());
        Assert.Empty((await _server.Streams.ReadAsync(StreamKey.Create("s", messageId), 0)).Events);
    }

    [Theory]
    [InlineData(".", "m")]
    [InlineData("s", "..")]
    [InlineData("...", "m")]
    public async Task Ids_made_only_of_dots_are_refused_by_the_hub(string sessionId, string messageId)
    {
        await using var hub = await _server.ConnectAsync();
        var error = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("AppendEvent", sessionId, messageId, new StreamEvent { Type = "answer" }));
        Assert.Equal(StreamErrorCode.InvalidId, StreamErrors.FromMessage(error.Message));
    }

    [Fact]
    public async Task An_id_made_only_of_dots_is_refused_over_http()
    {
        using var http = _server.CreateHttpClient();
        using var response = await http.GetAsync(new Uri("/api/sessions/.../messages/m/events", UriKind.Relative));
        Assert.Equal(400, (int)response.StatusCode);
        Assert.Equal("InvalidId", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
    }
}
