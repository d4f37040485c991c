using System.Net;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Hosting;

/// <summary>The real server executable, started as an operator would start it.</summary>
public sealed class StartupTests
{
    [Theory]
    [InlineData("STREAM_MANAGER_TYPE", "bogus")]
    [InlineData("REDIS_DB", "abc")]
    [InlineData("REDIS_ADDR", "localhost:abc")]
    [InlineData("REDIS_ADDR", "127.0.0.1:6504,password=SECRET,foo=bar")]
    public async Task Bad_configuration_stops_start_up_with_a_one_line_message_naming_the_setting(string variable, string value)
    {
        await using var server = ServerProcess.Launch((variable, value));
        await server.WaitForExitAsync().WaitAsync(Eventually.SafetyTimeout);

        Assert.NotEqual(0, server.ExitCode);
        var message = string.Join('\n', server.Output.Where(line => line.Length > 0)).Trim();
        Assert.Equal(2, server.ExitCode);
        Assert.StartsWith("Invalid configuration: " + variable, message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', message);
        Assert.DoesNotContain("SECRET", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_server_starts_in_memory_mode_by_default_and_answers_healthz()
    {
        await using var server = await ServerProcess.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseAddress };
        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task An_unreachable_redis_is_reported_with_its_address_and_never_the_password_wherever_the_password_is_given() =>
        // Each way of giving the password in a server of its own, all at once: each waits out Redis's connect timeout.
        await Task.WhenAll(PasswordPlaces.Select(UnreachableRedisIsReportedAsync));

    private static readonly string[] PasswordPlaces = ["setting", "address", "url"];

    private static async Task UnreachableRedisIsReportedAsync(string passwordIn)
    {
        // Nothing listens on 127.0.0.3 (every test server binds 127.0.0.1), so this Redis is unreachable for sure.
        var redisPort = RedisServerProcess.FreePort();
        const string password = "hunter2-do-not-log";
        (string, string)[] settings = passwordIn switch
        {
            "setting" => [("REDIS_ADDR", $"127.0.0.3:{redisPort}"), ("REDIS_PASSWORD", password)],
            "address" => [("REDIS_ADDR", $"127.0.0.3:{redisPort},password={password}")],
            _ => [("REDIS_ADDR", $"redis://app:{password}@127.0.0.3:{redisPort}/0")],
        };
        await using var server = await ServerProcess.StartAsync([("STREAM_MANAGER_TYPE", "redis"), .. settings]);
        using var http = new HttpClient { BaseAddress = server.BaseAddress };

        using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.True(ready.StatusCode == HttpStatusCode.ServiceUnavailable, $"password in the {passwordIn}: /readyz answered {ready.StatusCode}");
        }

        using var append = await http.PostAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative),
            new StringContent("""{"type":"answer"}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.True(append.StatusCode == HttpStatusCode.ServiceUnavailable, $"password in the {passwordIn}: the append answered {append.StatusCode}");
        Assert.DoesNotContain(password, await append.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var log = string.Join('\n', server.Output);
        Assert.Contains($"Redis at 127.0.0.3:{redisPort} is unreachable at start-up", log, StringComparison.Ordinal);
        Assert.DoesNotContain(password, log, StringComparison.Ordinal);
    }
}
