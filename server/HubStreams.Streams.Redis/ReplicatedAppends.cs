using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// Appends acknowledged only once replicas hold them (<c>REDIS_WAIT_REPLICAS</c>): after each append the store sends
/// <c>WAIT replicas timeout</c> on a connection of its own, so that the wait never holds up reads, wake-ups or the
/// SignalR backplane on the shared connection. Redis replication is asynchronous; without this, an append acknowledged
/// just before its primary dies can be missing from the replica promoted in its place.
/// </summary>
public sealed class ReplicatedAppends
{
    /// <summary>
    /// Waits, over <paramref name="connection"/>, for the replicas <paramref name="options"/> ask for
    /// (<see cref="RedisStreamOptions.WaitReplicas"/>, at least 1), at most <see cref="RedisStreamOptions.WaitTimeout"/>.
    /// </summary>
    public ReplicatedAppends(IConnectionMultiplexer connection, RedisStreamOptions options)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.WaitReplicas, 1, nameof(options));
        Connection = connection;
        _options = options;
    }

    private readonly RedisStreamOptions _options;

    /// <summary>The connection the appends and their waits go over: none other uses it.</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>How many replicas must hold an append before it is acknowledged.</summary>
    public int Replicas => _options.WaitReplicas;

    /// <summary>How long to wait for them; past it the append is refused as <c>StoreUnavailable</c>.</summary>
    public TimeSpan Timeout => _options.WaitTimeout;
}
