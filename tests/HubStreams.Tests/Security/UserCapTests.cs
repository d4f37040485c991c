using System.Net;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Security;

/// <summary>Per-user caps have no way around them: a token must say who it is, and hub and SSE subscriptions count together.</summary>
public sealed class UserCapTests : IAsyncLifetime
{
    private HubStreamsServer _server = null!;

    public async Task InitializeAsync() => _server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("LIMIT_SUBSCRIPTIONS_PER_USER", "2")]);

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_token_without_sub_is_refused_everywhere()
    {
        var anonymous = Tokens.Mint(user: null, ["*"], producer: true);
        using var http = _server.CreateHttpClient(anonymous);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/sessions/s/messages/m/stream", UriKind.Relative))).StatusCode);
        var error = await Assert.ThrowsAsync<HttpRequestException>(() => _server.ConnectAsync(anonymous));
        Assert.Equal(HttpStatusCode.Unauthorized, error.StatusCode);
    }

    [Fact]
    public async Task Hub_and_sse_subscriptions_of_one_user_count_against_one_cap()
    {
        var token = Tokens.Mint("frank", ["*"]);
        await using var hub = await _server.ConnectAsync(token);
        using var cancel = new CancellationTokenSource();
        var (_, hubReading) = HubStreaming.Follow(hub, "caps", "m1", cancellationToken: cancel.Token);
        using var http = _server.CreateHttpClient(token);
        using var sse = await http.GetAsync(new Uri("/api/sessions/caps/messages/m2/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        Assert.Equal(HttpStatusCode.OK, sse.StatusCode);
        await Eventually.True(() => _server.Streams.OpenWatches() == 2);

        using var thirdSse = await http.GetAsync(new Uri("/api/sessions/caps/messages/m3/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.TooManyRequests, thirdSse.StatusCode);
        Assert.Contains("LIMIT_SUBSCRIPTIONS_PER_USER", await thirdSse.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var thirdHub = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "caps", "m4", 0L))
            {
            }
        });
        Assert.Equal(StreamErrorCode.TooManySubscriptions, StreamErrors.FromMessage(thirdHub.Message));

        // Another user is not affected, and a freed place can be taken again.
        await using var other = await _server.ConnectAsync(Tokens.Mint("grace", ["*"]));
        var (_, otherReading) = HubStreaming.Follow(other, "caps", "m5");
        await Eventually.True(() => _server.Streams.OpenWatches() == 3);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hubReading);
        sse.Dispose();
        await Eventually.True(() => _server.Streams.OpenWatches() == 1);
        var (_, again) = HubStreaming.Follow(hub, "caps", "m6");
        await Eventually.True(() => _server.Streams.OpenWatches() == 2);
    }
}
