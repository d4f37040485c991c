using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Hosting;

/// <summary>The server's start on a Redis Cluster: what it says it runs on, and the one setting a cluster cannot take.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class ClusterStartupTests(RedisClusterFixture cluster)
{
    [Fact]
    public async Task On_a_cluster_the_start_up_lines_say_cluster_and_sharded_wake_ups()
    {
        await using var server = await ServerProcess.StartAsync(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", cluster.Address), ("REDIS_PREFIX", RedisFixture.UniquePrefix()));
        await Eventually.True(() => server.Output.Any(l => l.Contains("wake-ups per stream by", StringComparison.Ordinal)));

        var log = string.Join('\n', server.Output);
        Assert.Contains("cluster, TLS off", log, StringComparison.Ordinal);
        Assert.Contains("wake-ups per stream by sharded pub/sub (SPUBLISH)", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_other_than_0_on_a_cluster_stops_the_start_with_one_line()
    {
        await using var server = ServerProcess.Launch(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", cluster.Address), ("REDIS_DB", "1"), ("REDIS_PREFIX", RedisFixture.UniquePrefix()));
        await server.WaitForExitAsync().WaitAsync(Eventually.SafetyTimeout);

        Assert.Equal(2, server.ExitCode);
        Assert.Contains(server.Output, line => line.Contains("is a cluster, which has database 0 only, but REDIS_DB is 1", StringComparison.Ordinal));
    }
}
