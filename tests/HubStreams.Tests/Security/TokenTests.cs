using System.Net;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Security;

/// <summary>What a token is worth: never written to a log, not accepted past its expiry, and the wildcard grant.</summary>
public sealed class TokenTests
{
    [Fact]
    public async Task An_access_token_in_the_query_string_appears_in_no_log_line_at_any_level()
    {
        await using var server = await HubStreamsServer.StartAsync([.. Tokens.Settings, ("Logging:LogLevel:Default", "Trace"), ("Logging:LogLevel:Microsoft.AspNetCore", "Trace")]);
        var token = Tokens.Mint("henry", ["*"]);
        using var http = server.CreateHttpClient();
        using (await http.PostAsync(new Uri($"/hubs/streams/negotiate?negotiateVersion=1&access_token={token}", UriKind.Relative), null))
        {
        }

        using (await http.GetAsync(new Uri($"/api/sessions/s/messages/m/events?access_token={token}", UriKind.Relative)))
        {
        }

        await using (var hub = await RawHubClient.ConnectAsync(server.BaseAddress, token))
        {
            await hub.InvokeAsync("JoinSession", """["s"]""");
        }

        var logs = server.Logs.ToArray();
        Assert.Contains(logs, line => line.Contains("access_token=***", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, line => line.Contains(token, StringComparison.Ordinal));
        Assert.DoesNotContain(logs, line => line.Contains(token.Split('.')[2], StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_ten_seconds_past_its_expiry_is_refused()
    {
        await using var server = await HubStreamsServer.StartAsync(Tokens.Settings);
        using var http = server.CreateHttpClient(Tokens.Mint("ivy", ["*"], lifetime: TimeSpan.FromSeconds(-10)));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative))).StatusCode);
    }

    public static TheoryData<string, string?, string> Refusals => new()
    {
        { "no token", null, "No bearer token was sent" },
        { "wrong issuer", Tokens.Mint("kim", ["*"], issuer: "https://login.example.com/"), "issuer ('iss': 'https://login.example.com/') is not the one this server accepts (AUTH_JWT_ISSUER)" },
        { "wrong audience", Tokens.Mint("kim", ["*"], audience: "another-api"), "audience ('aud') is not the one this server accepts (AUTH_JWT_AUDIENCE)" },
        { "wrong key", Tokens.Mint("kim", ["*"], key: new string('k', 64)), "signature does not verify" },
        { "expired", Tokens.Mint("kim", ["*"], lifetime: TimeSpan.FromMinutes(-5)), "The token expired at" },
        { "no subject", Tokens.Mint(null, ["*"]), "no 'sub' claim" },
        { "not a JWT", "not-a-token", "not a well-formed JWT" },
    };

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task A_refused_token_is_answered_with_why_in_the_problem_and_the_log_but_never_repeated(string what, string? token, string reason)
    {
        await using var server = await HubStreamsServer.StartAsync(Tokens.Settings);
        using var http = server.CreateHttpClient(token);
        using var response = await http.GetAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var problem = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("AuthenticationRequired", problem.GetProperty("title").GetString());
        var detail = problem.GetProperty("detail").GetString() ?? "";
        Assert.True(detail.Contains(reason, StringComparison.Ordinal), $"{what}: the detail is '{detail}'.");

        await Eventually.True(() => server.Logs.Any(line => line.StartsWith("Information HubStreams.Server.Security.TokenRefusal: Bearer token refused on GET /api/sessions/s/messages/m/events", StringComparison.Ordinal)));
        Assert.Contains(server.Logs, line => line.Contains(reason, StringComparison.Ordinal));
        if (token is not null)
        {
            Assert.DoesNotContain(server.Logs, line => line.Contains(token, StringComparison.Ordinal));
            Assert.DoesNotContain(token, problem.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_console_samples_test_token_is_accepted_by_a_server_with_the_same_settings()
    {
        await using var server = await HubStreamsServer.StartAsync(Tokens.Settings);
        await server.Streams.AppendAsync(StreamKey.Create("session-1", "m1"), new StreamEvent { Type = EventTypes.Answer });
        (string, string)[] environment = [("AUTH_JWT_KEY", Tokens.Key), ("AUTH_JWT_ISSUER", Tokens.Issuer), ("AUTH_JWT_AUDIENCE", Tokens.Audience)];
        var minted = await Shell.RunAsync($"dotnet '{Repository.ClientSampleDll}' token --sub alice --sessions session-1 --producer", environment: environment);
        Assert.True(minted.ExitCode == 0, minted.ToString());
        var token = minted.Output.Trim();

        using (var http = server.CreateHttpClient(token))
        {
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/api/sessions/session-1/messages/m1/events", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.GetAsync(new Uri("/api/sessions/other/messages/m1/events", UriKind.Relative))).StatusCode);
            using var appended = await http.PostAsync(new Uri("/api/sessions/session-1/messages/m1/events", UriKind.Relative),
                new StringContent("""{"type":"answer"}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Created, appended.StatusCode);
        }

        // A token minted for another issuer is refused, and the 401 says so.
        var other = await Shell.RunAsync($"dotnet '{Repository.ClientSampleDll}' token --sub alice --sessions '*' --issuer https://auth.example.com", environment: environment);
        using (var http = server.CreateHttpClient(other.Output.Trim()))
        {
            using var refused = await http.GetAsync(new Uri("/api/sessions/session-1/messages/m1/events", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Contains("'iss': 'https://auth.example.com'", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var missing = await Shell.RunAsync($"dotnet '{Repository.ClientSampleDll}' token --sessions '*'", environment: environment);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--sub is required", missing.Errors, StringComparison.Ordinal);
    }

    [Fact]
    public void The_docs_name_one_issuer_for_the_examples()
    {
        string Read(string file) => File.ReadAllText(Path.Combine(Repository.Root, file));
        string[] files = ["docs/security.md", "docs/deployment.md", ".env.example"];
        var issuers = files
            .SelectMany(file => System.Text.RegularExpressions.Regex.Matches(Read(file), @"https://(?:auth|login)\.example\.com/?").Select(m => m.Value))
            .Distinct()
            .ToList();
        Assert.Equal(["https://login.example.com/"], issuers);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("session-a", "*")]
    public async Task The_wildcard_grants_every_session_as_a_string_or_in_the_array(params string[] sessions)
    {
        await using var server = await HubStreamsServer.StartAsync(Tokens.Settings);
        await server.Streams.AppendAsync(StreamKey.Create("anything", "m"), new StreamEvent { Type = EventTypes.Answer });
        using var http = server.CreateHttpClient(Tokens.Mint("jack", sessions));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/api/sessions/anything/messages/m/events", UriKind.Relative))).StatusCode);
    }
}
