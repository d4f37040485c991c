using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using StackExchange.Redis;

namespace HubStreams.Tests.Errors;

/// <summary>
/// A Redis that answers but refuses writes (out of memory with a policy that evicts nothing, or unable to save) is a
/// store that is unavailable: appends are refused with StoreUnavailable and its cause, it is logged once while it
/// lasts, readiness fails, and nothing acknowledged is lost. Each test has a Redis of its own, as it changes its config.
/// </summary>
public sealed class RedisRefusesWritesTests
{
    private static readonly Uri Events = new("/api/sessions/full/messages/m/events", UriKind.Relative);

    [Fact]
    public Task Out_of_memory_is_store_unavailable_with_its_cause_until_redis_has_room_again() => RefusedAndRecoveredAsync(
        refuse: admin => admin.ExecuteAsync("CONFIG", "SET", "maxmemory", "1"),
        recover: admin => admin.ExecuteAsync("CONFIG", "SET", "maxmemory", "0"),
        cause: "out of memory");

    [Fact]
    public Task A_redis_that_cannot_save_is_store_unavailable_with_its_cause_until_it_can() => RefusedAndRecoveredAsync(
        refuse: async admin =>
        {
            // A snapshot that cannot be written, with save points set: Redis then refuses writes (MISCONF).
            await admin.ExecuteAsync("CONFIG", "SET", "save", "3600 1");
            await admin.ExecuteAsync("CONFIG", "SET", "dir", "/proc");
            await admin.ExecuteAsync("BGSAVE");
            await Eventually.True(async () => ((string)(await admin.ExecuteAsync("INFO", "persistence"))!).Contains("rdb_last_bgsave_status:err", StringComparison.Ordinal));
            return RedisResult.Create(RedisValue.EmptyString);
        },
        recover: admin => admin.ExecuteAsync("CONFIG", "SET", "stop-writes-on-bgsave-error", "no"),
        cause: "cannot save its data to disk (MISCONF)");

    private static async Task RefusedAndRecoveredAsync(Func<IDatabase, Task<RedisResult>> refuse, Func<IDatabase, Task<RedisResult>> recover, string cause)
    {
        using var redis = await RedisServerProcess.StartAsync(false, "--maxmemory-policy", "noeviction", "--enable-protected-configs", "yes");
        await using var server = await HubStreamsServer.StartAsync(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", RedisFixture.UniquePrefix()));
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Address + ",allowAdmin=true");
        using var http = server.CreateHttpClient();
        await using var hub = await server.ConnectAsync();

        for (var i = 0; i < 49; i++)
        {
            using var stored = await http.PostAsJsonAsync(Events, new { type = "answer", content = $"{i}" });
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        }

        await refuse(admin.GetDatabase());

        for (var i = 0; i < 10; i++)
        {
            using var refused = await http.PostAsJsonAsync(Events, new { type = "answer", content = "refused" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(nameof(StreamErrorCode.StoreUnavailable), problem.GetProperty("code").GetString());
            Assert.Contains(cause, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

            var overHub = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync<long>("AppendEvent", "full", "m", new { type = "answer" }));
            Assert.Contains(nameof(StreamErrorCode.StoreUnavailable), overHub.Message, StringComparison.Ordinal);
            Assert.Contains(cause, overHub.Message, StringComparison.Ordinal);
        }

        using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        // One line from the store for the whole episode (the readiness check reports on its own).
        Assert.Single(server.Logs, line => line.Contains("RedisStreamManager: Redis refuses writes", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Logs, line => line.Contains("   at ", StringComparison.Ordinal));

        await recover(admin.GetDatabase());
        using (var stored = await http.PostAsJsonAsync(Events, new { type = "answer", content = "49" }))
        {
            Assert.Equal(HttpStatusCode.Created, stored.StatusCode);
        }

        using (var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        Assert.Contains(server.Logs, line => line.Contains("Redis accepts writes again", StringComparison.Ordinal));
        var page = await http.GetFromJsonAsync<JsonElement>(Events);
        var contents = page.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("content").GetString()).ToList();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"{i}"), contents);
    }
}
