using System.Collections.Concurrent;
using HubStreams.Streams;

namespace HubStreams.Server.Security;

/// <summary>
/// Counts on this node: hub connections per user, subscriptions per user (hub and SSE together), concurrent
/// streams per hub connection (SignalR itself does not limit streams per connection), and sessions joined per
/// connection and per user (each is a group, and in redis mode a backplane channel). Users are known in jwt mode
/// only (the token's <c>sub</c>); without authentication the per-user caps do not apply.
/// </summary>
public sealed class ConnectionLimits(SecuritySettings settings)
{
    private readonly Counts _connectionsPerUser = new();
    private readonly Counts _subscriptionsPerUser = new();
    private readonly Counts _streamsPerConnection = new();
    private readonly Counts _sessionsPerConnection = new();
    private readonly Counts _sessionsPerUser = new();

    /// <summary>Counts a new hub connection of <paramref name="userId"/>; refuses one over the cap. Dispose the result when it closes.</summary>
    public IDisposable OpenConnection(string? userId) => userId is null
        ? Counts.None
        : _connectionsPerUser.Open(userId, settings.MaxConnectionsPerUser, () => new StreamException(StreamErrorCode.TooManyConnections,
            $"Too many connections: a user may hold {settings.MaxConnectionsPerUser} on one node (LIMIT_CONNECTIONS_PER_USER)."));

    /// <summary>Counts a new subscription (hub or SSE) of <paramref name="userId"/>; refuses one over the cap. Dispose the result when it ends.</summary>
    public IDisposable OpenSubscription(string? userId) => userId is null
        ? Counts.None
        : _subscriptionsPerUser.Open(userId, settings.MaxSubscriptionsPerUser, () => new StreamException(StreamErrorCode.TooManySubscriptions,
            $"Too many subscriptions: a user may hold {settings.MaxSubscriptionsPerUser} at once on one node, hub and SSE together (LIMIT_SUBSCRIPTIONS_PER_USER)."));

    /// <summary>Counts a new stream on hub connection <paramref name="connectionId"/>; refuses one over the cap. Dispose the result when the stream ends.</summary>
    public IDisposable OpenStream(string connectionId) =>
        _streamsPerConnection.Open(connectionId, settings.MaxSubscriptionsPerConnection, () => new StreamException(StreamErrorCode.TooManySubscriptions,
            $"Too many streams: a connection may hold {settings.MaxSubscriptionsPerConnection} at once (LIMIT_SUBSCRIPTIONS_PER_CONNECTION)."));

    /// <summary>
    /// Counts a session joined by hub connection <paramref name="connectionId"/> of <paramref name="userId"/>; refuses one
    /// over either cap. Dispose the result when the session is left or the connection closes.
    /// </summary>
    public IDisposable JoinSession(string connectionId, string? userId)
    {
        var connection = _sessionsPerConnection.Open(connectionId, settings.MaxSessionsPerConnection, () => new StreamException(StreamErrorCode.TooManySubscriptions,
            $"Too many sessions joined: a connection may join {settings.MaxSessionsPerConnection} at once (LIMIT_SESSIONS_PER_CONNECTION). Leave one first."));
        if (userId is null)
        {
            return connection;
        }

        try
        {
            var user = _sessionsPerUser.Open(userId, settings.MaxSessionsPerUser, () => new StreamException(StreamErrorCode.TooManySubscriptions,
                $"Too many sessions joined: a user may join {settings.MaxSessionsPerUser} at once on one node (LIMIT_SESSIONS_PER_USER). Leave one first."));
            return new Both(connection, user);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private sealed class Both(IDisposable first, IDisposable second) : IDisposable
    {
        public void Dispose()
        {
            first.Dispose();
            second.Dispose();
        }
    }

    /// <summary>Counts per owner with a cap; each place is a lease that gives it back once, when disposed.</summary>
    internal sealed class Counts
    {
        /// <summary>A lease that counts nothing, for an owner no cap applies to.</summary>
        public static readonly IDisposable None = new Lease(null, "");

        private readonly ConcurrentDictionary<string, int> _counts = new();

        /// <summary>Takes a place of <paramref name="owner"/>; refuses with <paramref name="refusal"/> one over <paramref name="cap"/>.</summary>
        public IDisposable Open(string owner, int cap, Func<StreamException> refusal)
        {
            var lease = new Lease(this, owner);
            if (_counts.AddOrUpdate(owner, 1, static (_, n) => n + 1) > cap)
            {
                lease.Dispose();
                throw refusal();
            }

            return lease;
        }

        private void Close(string owner)
        {
            if (_counts.AddOrUpdate(owner, 0, static (_, n) => n - 1) <= 0)
            {
                _counts.TryRemove(new KeyValuePair<string, int>(owner, 0));
            }
        }

        private sealed class Lease(Counts? counts, string owner) : IDisposable
        {
            private int _disposed;

            public void Dispose()
            {
                if (counts is not null && Interlocked.Exchange(ref _disposed, 1) == 0)
                {
                    counts.Close(owner);
                }
            }
        }
    }
}
