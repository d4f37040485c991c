using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Operations;

/// <summary>
/// REDIS_WAIT_REPLICAS: an append is acknowledged only once that many replicas hold it, and refused as
/// StoreUnavailable when they do not confirm it in REDIS_WAIT_TIMEOUT.
/// </summary>
public sealed class ReplicatedAppendTests
{
    [Fact]
    public async Task With_a_replica_in_sync_appends_are_acknowledged_and_without_one_they_are_refused_as_store_unavailable()
    {
        using var primary = await RedisServerProcess.StartAsync();
        var prefix = RedisFixture.UniquePrefix();
        await using var node = await HubStreamsServer.StartAsync(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", primary.Address), ("REDIS_PREFIX", prefix),
            ("REDIS_WAIT_REPLICAS", "1"), ("REDIS_WAIT_TIMEOUT", "00:00:02"));
        using var http = node.CreateHttpClient();
        var route = new Uri("/api/sessions/replicated/messages/m1/events", UriKind.Relative);

        // No replica: the primary stores the event, but nothing confirms it.
        using var refused = await http.PostAsJsonAsync(route, new { id = "e0", type = "answer", content = "a", offset = 0 });
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("StoreUnavailable", problem.GetProperty("code").GetString());
        Assert.Contains("0 of the 1 replica(s)", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        // A replica joins and syncs: the retry with the same offset and id is acknowledged, and stored once.
        using var replica = await RedisServerProcess.StartAsync(false, "--replicaof", "127.0.0.1", primary.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Eventually.True(async () => (await Shell.RunAsync($"redis-cli -p {replica.Port} info replication")).Output.Contains("master_link_status:up", StringComparison.Ordinal));
        using var retried = await http.PostAsJsonAsync(route, new { id = "e0", type = "answer", content = "a", offset = 0 });
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        using var next = await http.PostAsJsonAsync(route, new { id = "e1", type = "answer", content = "b", offset = 1 });
        Assert.Equal(HttpStatusCode.Created, next.StatusCode);
        // Acknowledged means the replica has it: both events, each once.
        Assert.Equal("2", (await Shell.RunAsync($"redis-cli -p {replica.Port} llen {prefix}:replicated:m1")).Output.Trim());
    }
}
