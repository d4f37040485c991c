using System.Runtime.CompilerServices;
using System.Security.Claims;
using HubStreams.Server.Security;
using HubStreams.Streams;
using HubStreams.Streams.Sessions;

namespace HubStreams.Server.Transport;

/// <summary>
/// Opens the watch of a session that the hub's <c>WatchSession</c> and <c>GET /api/sessions/{sessionId}/stream</c> hand
/// out, with what surrounds every delivery: the caller must be granted the session, within its read rate and under its
/// subscription cap; a watch starts listening before it lists the session, so no change falls between its snapshot and
/// its live part; it ends with <see cref="StreamErrorCode.ServerShuttingDown"/> when the server stops and with
/// <see cref="StreamErrorCode.AccessExpired"/> when the caller's token does.
/// </summary>
public sealed class SessionWatching(
    IStreamManager streams, ISessionChanges changes, StreamAccess access, ConnectionLimits limits, IHostApplicationLifetime lifetime, TimeProvider time)
{
    /// <summary>Opens a watch; a refusal, or a store that is away, fails here, before anything is sent.</summary>
    /// <exception cref="StreamException">The request is refused, the store is unavailable, or the server is shutting down.</exception>
    public async Task<SessionWatch> OpenAsync(string sessionId, ClaimsPrincipal user, string? clientAddress, CancellationToken cancellationToken)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        access.EnsureCanRead(user, sessionId);
        access.EnsureWithinReadRate(user, clientAddress);
        var stopping = lifetime.ApplicationStopping;
        if (stopping.IsCancellationRequested)
        {
            throw ShuttingDown(sessionId);
        }

        var owned = new List<IDisposable> { limits.OpenSubscription(access.UserId(user)) };
        try
        {
            var listener = await changes.ListenAsync(sessionId, cancellationToken);
            owned.Add(listener);
            var first = await streams.ListSessionAsync(sessionId, after: null, SessionListing.MaxPageMessages, cancellationToken);
            var ends = new List<(CancellationToken, Func<StreamException>)> { (stopping, () => ShuttingDown(sessionId)) };
            if (access.ExpiresAt(user) is { } expiry)
            {
                var expiring = StreamDelivery.ExpiryTimer(expiry, time);
                owned.Add(expiring);
                ends.Add((expiring.Token, () => new StreamException(StreamErrorCode.AccessExpired,
                    $"The access token expired: watch session {sessionId} again with a fresh token.")));
            }

            return new SessionWatch(streams, sessionId, listener, first, ends, owned);
        }
        catch
        {
            owned.ForEach(o => o.Dispose());
            throw;
        }
    }

    private static StreamException ShuttingDown(string sessionId) => new(StreamErrorCode.ServerShuttingDown,
        $"This server is shutting down: watch session {sessionId} again on another node.");
}

/// <summary>
/// One watch of a session: its snapshot, in pages (<see cref="SessionUpdateKinds.Snapshot"/>, the last with
/// <c>More</c> false), then each change as it is heard. Enumerate it once; enumerating it, or disposing it, ends the listening.
/// </summary>
public sealed class SessionWatch : IAsyncEnumerable<SessionUpdate>, IDisposable
{
    private readonly IStreamManager _streams;
    private readonly SessionListener _listener;
    private readonly SessionPage _first;
    private readonly List<(CancellationToken Signal, Func<StreamException> Error)> _ends;
    private readonly List<IDisposable> _owned;
    private int _disposed;

    internal SessionWatch(
        IStreamManager streams, string sessionId, SessionListener listener, SessionPage first,
        List<(CancellationToken, Func<StreamException>)> ends, List<IDisposable> owned)
    {
        _streams = streams;
        SessionId = sessionId;
        _listener = listener;
        _first = first;
        _ends = ends;
        _owned = owned;
    }

    /// <summary>The session watched.</summary>
    public string SessionId { get; }

    /// <inheritdoc />
    public async IAsyncEnumerator<SessionUpdate> GetAsyncEnumerator(CancellationToken cancellationToken = default)
    {
        using var watch = this;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource([cancellationToken, .. _ends.Select(e => e.Signal)]);
        await using var changes = Changes(ending.Token).GetAsyncEnumerator(ending.Token);
        var page = _first;
        while (true)
        {
            yield return new SessionUpdate(SessionUpdateKinds.Snapshot, SessionId, page.Messages, More: page.Next is not null, Message: null);
            if (page.Next is null)
            {
                break;
            }

            page = await Read(() => _streams.ListSessionAsync(SessionId, page.Next, SessionListing.MaxPageMessages, ending.Token), cancellationToken);
        }

        while (await Read(() => changes.MoveNextAsync().AsTask(), cancellationToken))
        {
            yield return changes.Current;
        }
    }

    private async IAsyncEnumerable<SessionUpdate> Changes([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var change in _listener.Changes.ReadAllAsync(cancellationToken))
        {
            yield return change;
        }
    }

    // A watch the server ends says why; one its consumer ends just ends.
    private async Task<T> Read<T>(Func<Task<T>> read, CancellationToken consumer)
    {
        try
        {
            return await read();
        }
        catch (OperationCanceledException) when (!consumer.IsCancellationRequested && _ends.FirstOrDefault(e => e.Signal.IsCancellationRequested) is { Error: { } error })
        {
            throw error();
        }
    }

    /// <summary>Stops listening and releases the watch's place in its caps.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _owned.ForEach(o => o.Dispose());
        }
    }
}
