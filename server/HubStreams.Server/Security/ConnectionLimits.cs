using System.Collections.Concurrent;
using HubStreams.Streams;

namespace HubStreams.Server.Security;

/// <summary>
/// Counts on this node: hub connections per user, and concurrent streams per connection (SignalR itself
/// does not limit streams per connection).
/// </summary>
public sealed class ConnectionLimits(SecuritySettings settings)
{
    private readonly ConcurrentDictionary<string, int> _connectionsPerUser = new();
    private readonly ConcurrentDictionary<string, int> _streamsPerConnection = new();

    /// <summary>Counts a new connection of <paramref name="userId"/>; refuses one over the cap.</summary>
    public void AddConnection(string? userId)
    {
        if (userId is null)
        {
            return;
        }

        var count = _connectionsPerUser.AddOrUpdate(userId, 1, static (_, n) => n + 1);
        if (count > settings.MaxConnectionsPerUser)
        {
            RemoveConnection(userId);
            throw new StreamException(StreamErrorCode.TooManyConnections,
                $"Too many connections: a user may hold {settings.MaxConnectionsPerUser} on one node (LIMIT_CONNECTIONS_PER_USER).");
        }
    }

    /// <summary>Forgets a connection of <paramref name="userId"/>.</summary>
    public void RemoveConnection(string? userId)
    {
        if (userId is not null && _connectionsPerUser.AddOrUpdate(userId, 0, static (_, n) => n - 1) <= 0)
        {
            _connectionsPerUser.TryRemove(new KeyValuePair<string, int>(userId, 0));
        }
    }

    /// <summary>Counts a new stream on <paramref name="connectionId"/>; refuses one over the cap. Dispose the result when the stream ends.</summary>
    public IDisposable OpenStream(string connectionId)
    {
        var count = _streamsPerConnection.AddOrUpdate(connectionId, 1, static (_, n) => n + 1);
        var lease = new StreamLease(this, connectionId);
        if (count > settings.MaxSubscriptionsPerConnection)
        {
            lease.Dispose();
            throw new StreamException(StreamErrorCode.TooManySubscriptions,
                $"Too many streams: a connection may hold {settings.MaxSubscriptionsPerConnection} at once (LIMIT_SUBSCRIPTIONS_PER_CONNECTION).");
        }

        return lease;
    }

    private void CloseStream(string connectionId)
    {
        if (_streamsPerConnection.AddOrUpdate(connectionId, 0, static (_, n) => n - 1) <= 0)
        {
            _streamsPerConnection.TryRemove(new KeyValuePair<string, int>(connectionId, 0));
        }
    }

    private sealed class StreamLease(ConnectionLimits owner, string connectionId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.CloseStream(connectionId);
            }
        }
    }
}
