using System.Net;
using System.Net.Http.Json;
using HubStreams.Server.Hosting;
using HubStreams.Tests.Fixtures;
using Microsoft.Extensions.Configuration;

namespace HubStreams.Tests.Security;

/// <summary>REDIS_PASSWORD and the JWT key appear in no log line and no error message, whatever goes wrong.</summary>
public sealed class SecretsTests
{
    private const string RedisPassword = "redis-pa55word-never-to-be-seen";

    [Fact]
    public async Task Neither_secret_is_logged_or_returned_when_tokens_fail_and_redis_is_unreachable()
    {
        await using var server = await HubStreamsServer.StartAsync(
        [
            .. Tokens.Settings, ("STREAM_MANAGER_TYPE", "redis"),
            ("REDIS_ADDR", $"127.0.0.3:{RedisServerProcess.FreePort()}"), ("REDIS_PASSWORD", RedisPassword),
        ]);

        var bodies = new List<string>();
        foreach (var token in new[]
                 {
                     Tokens.Mint("m", ["*"], producer: true, key: "wrong-key-wrong-key-wrong-key-wrong-key-0123"),
                     Tokens.Mint("m", ["*"], producer: true, lifetime: TimeSpan.FromMinutes(-10)),
                     "not.a.token",
                     Tokens.Mint("m", ["*"], producer: true),
                 })
        {
            using var http = server.CreateHttpClient(token);
            using var append = await http.PostAsJsonAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative), new { type = "answer" });
            bodies.Add(await append.Content.ReadAsStringAsync());
            using var read = await http.GetAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative));
            bodies.Add(await read.Content.ReadAsStringAsync());
        }

        using (var ready = await server.CreateHttpClient().GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            bodies.Add(await ready.Content.ReadAsStringAsync());
        }

        var logs = string.Join('\n', server.Logs);
        Assert.Contains("unreachable", logs, StringComparison.Ordinal);
        Assert.Contains(bodies, body => body.Contains("StoreUnavailable", StringComparison.Ordinal));
        foreach (var secret in new[] { RedisPassword, Tokens.Key })
        {
            Assert.DoesNotContain(secret, logs, StringComparison.Ordinal);
            Assert.All(bodies, body => Assert.DoesNotContain(secret, body, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_short_jwt_key_is_refused_without_being_shown()
    {
        const string shortKey = "too-short-key";
        var error = Assert.Throws<HubStreamsConfigurationException>(() => HubStreamsSettings.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new("AUTH_MODE", "jwt"), new("AUTH_JWT_KEY", shortKey), new("AUTH_JWT_ISSUER", "i"), new("AUTH_JWT_AUDIENCE", "a")])
            .Build()));
        Assert.Contains("AUTH_JWT_KEY", error.Message, StringComparison.Ordinal);
        Assert.Contains("at least 32 bytes", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(shortKey, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "AUTH_MODE", "jwt" }, "AUTH_JWT_KEY (an HS256 secret) or AUTH_JWT_AUTHORITY")]
    [InlineData(new[] { "AUTH_MODE", "sometimes" }, "AUTH_MODE (HubStreams:AuthMode) = 'sometimes'")]
    [InlineData(new[] { "LIMIT_APPENDS_PER_SECOND", "0" }, "LIMIT_APPENDS_PER_SECOND")]
    public void Security_settings_are_validated_with_the_setting_named(string[] setting, string expected)
    {
        var error = Assert.Throws<HubStreamsConfigurationException>(() => HubStreamsSettings.Read(new ConfigurationBuilder()
            .AddInMemoryCollection([new(setting[0], setting[1])]).Build()));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Production_refuses_to_start_unless_auth_mode_is_set()
    {
        await using var open = ServerProcess.Launch(("ASPNETCORE_ENVIRONMENT", "Production"));
        await open.WaitForExitAsync().WaitAsync(Eventually.SafetyTimeout);
        Assert.NotEqual(0, open.ExitCode);
        Assert.Contains(open.Output, line => line.StartsWith("Invalid configuration: AUTH_MODE", StringComparison.Ordinal));

        await using var explicitlyOpen = await ServerProcess.StartAsync(("ASPNETCORE_ENVIRONMENT", "Production"), ("AUTH_MODE", "none"));
        Assert.False(explicitlyOpen.HasExited);
    }
}
