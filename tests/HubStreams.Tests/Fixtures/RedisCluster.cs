using System.Globalization;
using StackExchange.Redis;

namespace HubStreams.Tests.Fixtures;

/// <summary>
/// A real Redis Cluster on loopback: <c>redis-server --cluster-enabled yes</c> processes joined with
/// <c>redis-cli --cluster create</c>, optionally with replicas, ready when every node reports <c>cluster_state:ok</c>
/// and every replica is in sync with its primary.
/// </summary>
public sealed class RedisCluster : IAsyncDisposable
{
    private RedisCluster(IReadOnlyList<RedisServerProcess> nodes) => Nodes = nodes;

    /// <summary>Every node, primaries first as <c>redis-cli --cluster create</c> assigned them.</summary>
    public IReadOnlyList<RedisServerProcess> Nodes { get; }

    /// <summary>The seed list: every node, as <c>REDIS_ADDR</c> takes it.</summary>
    public string Address => string.Join(",", Nodes.Select(n => $"127.0.0.1:{n.Port}")) + ",abortConnect=false";

    /// <summary>Starts <paramref name="primaries"/> primaries with <paramref name="replicas"/> replicas each.</summary>
    /// <param name="nodeTimeout">cluster-node-timeout: how long a silent primary takes to be declared failed.</param>
    public static async Task<RedisCluster> StartAsync(int primaries = 3, int replicas = 0, TimeSpan? nodeTimeout = null)
    {
        var timeout = (long)(nodeTimeout ?? TimeSpan.FromSeconds(5)).TotalMilliseconds;
        var nodes = new List<RedisServerProcess>();
        var cluster = new RedisCluster(nodes);
        try
        {
            for (var i = 0; i < primaries * (1 + replicas); i++)
            {
                nodes.Add(await RedisServerProcess.StartAsync(false,
                    "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                    "--cluster-node-timeout", timeout.ToString(CultureInfo.InvariantCulture),
                    "--cluster-port", RedisServerProcess.FreePort().ToString(CultureInfo.InvariantCulture)));
            }

            var create = await Shell.RunAsync(
                $"redis-cli --cluster create {string.Join(" ", nodes.Select(n => $"127.0.0.1:{n.Port}"))} " +
                $"--cluster-replicas {replicas} --cluster-yes", timeout: TimeSpan.FromMinutes(1));
            if (create.ExitCode != 0)
            {
                throw new InvalidOperationException($"redis-cli --cluster create failed: {create}");
            }

            await cluster.WaitUntilHealthyAsync(primaries, replicas);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The node that serves <paramref name="key"/>'s slot as primary now.</summary>
    public async Task<RedisServerProcess> PrimaryOfAsync(RedisKey key)
    {
        var slot = await CommandAsync(Nodes[0], $"cluster keyslot {key}");
        var owner = (await NodesAsync(Nodes[0])).Single(fields => fields[2].Contains("master", StringComparison.Ordinal) && !fields[2].Contains("fail", StringComparison.Ordinal)
                && fields.Skip(8).Any(range => InRange(range, int.Parse(slot, CultureInfo.InvariantCulture))));
        var port = int.Parse(owner[1].Split('@')[0].Split(':')[1], CultureInfo.InvariantCulture);
        return Nodes.Single(n => n.Port == port);
    }

    /// <summary>The node that replicates <paramref name="primary"/>, as another node lists it (so the primary may be dead).</summary>
    public async Task<RedisServerProcess> ReplicaOfAsync(RedisServerProcess primary)
    {
        var nodes = await NodesAsync(Nodes.First(n => n != primary));
        var primaryId = nodes.Single(fields => IsNode(fields, primary))[0];
        var replica = nodes.Single(fields => fields[3] == primaryId);
        return Nodes.Single(n => IsNode(replica, n));
    }

    /// <summary>Whether <paramref name="node"/>, as <paramref name="asked"/> lists it now, is a primary.</summary>
    public static async Task<bool> IsPrimaryAsync(RedisServerProcess asked, RedisServerProcess node) =>
        (await NodesAsync(asked)).Single(fields => IsNode(fields, node))[2].Split(',').Contains("master");

    /// <summary>CLUSTER NODES as <paramref name="asked"/> answers it: for each node, its id, address, flags, primary id, ….</summary>
    private static async Task<string[][]> NodesAsync(RedisServerProcess asked) =>
        [.. (await CommandAsync(asked, "cluster nodes")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => line.Split(' '))];

    private static bool IsNode(string[] fields, RedisServerProcess node) =>
        fields[1].StartsWith($"127.0.0.1:{node.Port}@", StringComparison.Ordinal);

    /// <summary>Runs a redis-cli command on one node and returns its raw output.</summary>
    public static async Task<string> CommandAsync(RedisServerProcess node, string command)
    {
        var result = await Shell.RunAsync($"redis-cli -p {node.Port} {command}", timeout: TimeSpan.FromSeconds(30));
        return result.ExitCode == 0 ? result.Output.Trim() : throw new InvalidOperationException($"redis-cli {command}: {result}");
    }

    public ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            node.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private static bool InRange(string range, int slot)
    {
        if (range.StartsWith('['))
        {
            return false; // a slot being migrated or imported
        }

        var bounds = range.Split('-');
        var low = int.Parse(bounds[0], CultureInfo.InvariantCulture);
        var high = bounds.Length > 1 ? int.Parse(bounds[1], CultureInfo.InvariantCulture) : low;
        return slot >= low && slot <= high;
    }

    private async Task WaitUntilHealthyAsync(int primaries, int replicas)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var healthy = true;
            foreach (var node in Nodes)
            {
                var info = await CommandAsync(node, "cluster info");
                var replication = await CommandAsync(node, "info replication");
                healthy &= info.Contains("cluster_state:ok", StringComparison.Ordinal)
                    && info.Contains($"cluster_known_nodes:{Nodes.Count}", StringComparison.Ordinal)
                    && info.Contains($"cluster_size:{primaries}", StringComparison.Ordinal)
                    && (replication.Contains("role:master", StringComparison.Ordinal)
                        ? replication.Contains($"connected_slaves:{replicas}", StringComparison.Ordinal)
                        : replication.Contains("master_link_status:up", StringComparison.Ordinal));
            }

            if (healthy)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("The Redis Cluster did not become healthy within 60 s.");
            }

            await Task.Delay(100);
        }
    }
}

/// <summary>
/// The Redis Cluster the cluster tests share: three primaries, no replicas. From <c>REDIS_CLUSTER_TEST_ADDR</c> (a
/// seed list) when set, else started from <c>redis-server</c>. When neither works the tests fail with the reason:
/// cluster tests never skip.
/// </summary>
public sealed class RedisClusterFixture : IRedisTestStore, IAsyncLifetime
{
    private RedisCluster? _cluster;

    public string Address { get; private set; } = "";

    public string Source { get; private set; } = "";

    public IConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("REDIS_CLUSTER_TEST_ADDR");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            (Address, Source) = (fromEnvironment, "REDIS_CLUSTER_TEST_ADDR");
        }
        else
        {
            try
            {
                _cluster = await RedisCluster.StartAsync();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException(
                    "No Redis Cluster for the tests: REDIS_CLUSTER_TEST_ADDR is not set and a cluster could not be started from " +
                    $"redis-server and redis-cli ({e.Message}). Install redis-server (apt-get install -y redis-server).", e);
            }

            (Address, Source) = (_cluster.Address, "redis-server cluster");
        }

        Connection = await ConnectionMultiplexer.ConnectAsync(Address);
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisClusterTests : ICollectionFixture<RedisClusterFixture>
{
    public const string Name = "redis-cluster";
}
