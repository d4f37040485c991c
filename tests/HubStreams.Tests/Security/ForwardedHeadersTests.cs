using System.Net;
using System.Net.Http.Json;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Security;

/// <summary>Behind a balancer, per-client limits see the real client when the balancer is trusted, and nobody can claim another address otherwise.</summary>
public sealed class ForwardedHeadersTests
{
    private static readonly (string, string)[] OneAppendPerClient = [("LIMIT_APPENDS_PER_SECOND", "1"), ("LIMIT_APPEND_BURST", "1")];

    [Fact]
    public async Task Behind_a_trusted_proxy_each_forwarded_client_has_its_own_rate_limit()
    {
        await using var server = await HubStreamsServer.StartAsync([.. OneAppendPerClient, ("TRUSTED_PROXIES", "127.0.0.1")]);
        using var http = server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Created, await AppendAsync(http, "192.0.2.1"));
        Assert.Equal(HttpStatusCode.Created, await AppendAsync(http, "192.0.2.2"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await AppendAsync(http, "192.0.2.1"));
    }

    [Fact]
    public async Task Without_trusted_proxies_a_forwarded_header_changes_nothing()
    {
        await using var server = await HubStreamsServer.StartAsync(OneAppendPerClient);
        using var http = server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Created, await AppendAsync(http, "192.0.2.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await AppendAsync(http, "192.0.2.2"));
    }

    [Fact]
    public async Task A_proxy_that_is_not_trusted_is_not_believed()
    {
        await using var server = await HubStreamsServer.StartAsync([.. OneAppendPerClient, ("TRUSTED_PROXIES", "10.0.0.0/8")]);
        using var http = server.CreateHttpClient();
        Assert.Equal(HttpStatusCode.Created, await AppendAsync(http, "192.0.2.1"));
        Assert.Equal(HttpStatusCode.TooManyRequests, await AppendAsync(http, "192.0.2.2"));
    }

    private static async Task<HttpStatusCode> AppendAsync(HttpClient http, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/api/sessions/s/messages/{Guid.NewGuid():N}/events", UriKind.Relative))
        {
            Content = JsonContent.Create(new { type = "answer" }),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
