using System.Net;
using System.Net.Http.Json;
using HubStreams.Tests.Fixtures;
using StackExchange.Redis;

namespace HubStreams.Tests.Hosting;

/// <summary>Start-up says what the server runs on, accepts the redis:// URLs hosted services hand out, and names refused credentials.</summary>
[Collection(RedisTests.Name)]
public sealed class StartupReportTests(RedisFixture redis)
{
    [Fact]
    public async Task A_memory_node_says_its_store_and_auth_mode_in_one_line()
    {
        await using var server = await HubStreamsServer.StartAsync();
        Assert.Contains(server.Logs, line => line.Contains("HubStreams started: store memory; auth none", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_redis_url_with_a_user_and_a_database_is_accepted_and_reported_without_its_password()
    {
        var (user, password) = await CreateUserAsync();
        var endpoint = Endpoint();
        var prefix = RedisFixture.UniquePrefix();
        await using var server = await HubStreamsServer.StartAsync(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", $"redis://{user}:{password}@{endpoint}/2"), ("REDIS_PREFIX", prefix));
        using var http = server.CreateHttpClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        using var append = await http.PostAsJsonAsync(new Uri("/api/sessions/s/messages/m/events", UriKind.Relative), new { type = "answer" });
        Assert.Equal(HttpStatusCode.Created, append.StatusCode);
        Assert.Equal(1, await Database(2).ListLengthAsync($"{prefix}:s:m"));
        Assert.Contains(server.Logs, line => line.Contains(
            $"HubStreams started: store redis at {endpoint} (database 2, prefix {prefix}, standalone, TLS off); auth none", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, line => line.Contains(password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_password_is_reported_as_an_authentication_failure()
    {
        // A Redis of its own that requires a password, as a production one does.
        using var protectedRedis = await RedisServerProcess.StartAsync();
        const string password = "the-right-password-0123456789";
        await using (var admin = await ConnectionMultiplexer.ConnectAsync(protectedRedis.Address + ",allowAdmin=true"))
        {
            await admin.GetDatabase().ExecuteAsync("CONFIG", "SET", "requirepass", password);
        }

        await using var server = await HubStreamsServer.StartAsync(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", $"redis://:not-{password}@127.0.0.1:{protectedRedis.Port}"));
        using var http = server.CreateHttpClient();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        await Eventually.True(() => server.Logs.Any(line => line.Contains("refused the credentials: authentication failed", StringComparison.Ordinal)));
        Assert.DoesNotContain(server.Logs, line => line.Contains("is unreachable at start-up", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, line => line.Contains(password, StringComparison.Ordinal));
    }

    private string Endpoint() => redis.Connection.GetEndPoints()[0] switch
    {
        System.Net.IPEndPoint ip => $"{ip.Address}:{ip.Port}",
        System.Net.DnsEndPoint dns => $"{dns.Host}:{dns.Port}",
        var other => other.ToString()!,
    };

    private IDatabase Database(int db) => redis.Connection.GetDatabase(db);

    // An ACL user of the test Redis, as a hosted Redis service would give one.
    private async Task<(string User, string Password)> CreateUserAsync()
    {
        var user = $"hubstreams-{Guid.NewGuid():N}";
        var password = Guid.NewGuid().ToString("N");
        await Database(0).ExecuteAsync("ACL", "SETUSER", user, "on", $">{password}", "~*", "&*", "+@all");
        return (user, password);
    }
}
