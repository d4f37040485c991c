using System.Threading.Channels;

namespace HubStreams.Streams.Sessions;

/// <summary>
/// Carries a session's changes (a message started, completed, deleted) to whoever listens to that session, on every
/// node. At most once, like the pub/sub under it: a listener that may have missed one (it connected again, it fell
/// behind) starts over from a listing, which the watch does by itself.
/// </summary>
public interface ISessionChanges
{
    /// <summary>Tells every listener of <see cref="SessionUpdate.SessionId"/>, on every node.</summary>
    /// <exception cref="StreamException">The store is unavailable (nobody heard it).</exception>
    Task PublishAsync(SessionUpdate change, CancellationToken cancellationToken = default);

    /// <summary>Starts listening to a session; every change published once this returns reaches the listener.</summary>
    /// <exception cref="StreamException">The store is unavailable.</exception>
    Task<SessionListener> ListenAsync(string sessionId, CancellationToken cancellationToken = default);
}

/// <summary>
/// One listener of a session's changes. Its <see cref="Changes"/> end with a <see cref="StreamException"/> when it fell
/// more than <see cref="MaxQueued"/> changes behind. Dispose it to stop listening.
/// </summary>
public sealed class SessionListener : IDisposable
{
    /// <summary>The most changes a listener may have waiting; past it, it is told it fell behind.</summary>
    public const int MaxQueued = 1024;

    private readonly Channel<SessionUpdate> _changes = Channel.CreateBounded<SessionUpdate>(
        new BoundedChannelOptions(MaxQueued) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly Action<SessionListener> _stop;
    private int _disposed;

    /// <summary>A listener that <paramref name="stop"/> removes from where it listens.</summary>
    public SessionListener(string sessionId, Action<SessionListener> stop)
    {
        SessionId = sessionId;
        _stop = stop;
    }

    /// <summary>The session listened to.</summary>
    public string SessionId { get; }

    /// <summary>The changes heard, in the order heard.</summary>
    public ChannelReader<SessionUpdate> Changes => _changes.Reader;

    /// <summary>Hands a change to the listener, never waiting: one that fell behind is ended instead.</summary>
    public void Deliver(SessionUpdate change)
    {
        if (!_changes.Writer.TryWrite(change))
        {
            _changes.Writer.TryComplete(new StreamException(StreamErrorCode.StoreUnavailable,
                $"This watch of session {SessionId} fell more than {MaxQueued} changes behind: watch it again for a fresh snapshot."));
        }
    }

    /// <summary>Stops listening.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _changes.Writer.TryComplete();
            _stop(this);
        }
    }
}

/// <summary>The changes of one node's sessions, for memory mode: published and heard in this process.</summary>
public sealed class LocalSessionChanges : ISessionChanges
{
    private readonly Dictionary<string, List<SessionListener>> _listeners = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task PublishAsync(SessionUpdate change, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(change);
        SessionListener[] listeners;
        lock (_listeners)
        {
            listeners = _listeners.TryGetValue(change.SessionId, out var found) ? [.. found] : [];
        }

        foreach (var listener in listeners)
        {
            listener.Deliver(change);
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<SessionListener> ListenAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var listener = new SessionListener(sessionId, Stop);
        lock (_listeners)
        {
            if (!_listeners.TryGetValue(sessionId, out var list))
            {
                _listeners[sessionId] = list = [];
            }

            list.Add(listener);
        }

        return Task.FromResult(listener);
    }

    private void Stop(SessionListener listener)
    {
        lock (_listeners)
        {
            if (_listeners.TryGetValue(listener.SessionId, out var list) && list.Remove(listener) && list.Count == 0)
            {
                _listeners.Remove(listener.SessionId);
            }
        }
    }
}
