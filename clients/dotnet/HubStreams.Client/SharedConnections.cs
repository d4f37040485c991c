using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Client;

/// <summary>
/// The hub connections a <see cref="HubStreamsClient"/> shares among every reader, writer, session watch and call of the
/// application: one per hub address, and another only when each open one already carries
/// <see cref="HubStreamsClientOptions.StreamsPerConnection"/> streams (the server's <c>LIMIT_SUBSCRIPTIONS_PER_CONNECTION</c>).
/// A connection is started once, however many ask for it at the same moment. One that closes, or fails to start, is
/// left to its users and never handed out again: each of them resumes on the next connection, which the first to ask
/// starts, so a drop costs one reconnect, not one per stream. One whose token expired is retired the same way
/// (<see cref="Retire"/>): a new connection, with a fresh token, takes new work, while the streams still on the old one
/// end by themselves. An idle connection stays open until the client is disposed.
/// </summary>
internal sealed class SharedConnections(Func<Uri, HubConnection> create, int streamsPerConnection) : IAsyncDisposable
{
    private readonly Dictionary<Uri, List<Shared>> _open = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    /// <summary>How many connections are open or starting, over every address.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _open.Values.Sum(list => list.Count);
            }
        }
    }

    /// <summary>
    /// A started connection to <paramref name="url"/>, shared; <paramref name="holdsStream"/> counts the lease against
    /// the connection's streams. Dispose the lease when done with it (the connection stays for the next one).
    /// </summary>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    /// <exception cref="Exception">The connection could not be started (the caller decides whether to retry).</exception>
    public async Task<Lease> AcquireAsync(Uri url, bool holdsStream, CancellationToken cancellationToken)
    {
        Shared shared;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_open.TryGetValue(url, out var list))
            {
                _open[url] = list = [];
            }

            shared = list.FirstOrDefault(s => s.Usable && (!holdsStream || s.Streams < streamsPerConnection)) ?? Add(list, url);
            shared.Users++;
            if (holdsStream)
            {
                shared.Streams++;
            }
        }

        var lease = new Lease(this, shared, holdsStream);
        try
        {
            await shared.Started.Value.WaitAsync(cancellationToken);
            return lease;
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }
    }

    private Shared Add(List<Shared> list, Uri url)
    {
        var shared = new Shared(create(url), url);
        shared.Connection.Closed += error =>
        {
            shared.ClosedWith = error;
            Forget(shared);
            return Task.CompletedTask;
        };

        // Started once, by the first to wait for it, whoever cancels: the others waiting for it still want it.
        shared.Started = new Lazy<Task>(() => StartAsync(shared));
        list.Add(shared);
        return shared;
    }

    private async Task StartAsync(Shared shared)
    {
        try
        {
            await shared.Connection.StartAsync(CancellationToken.None);
        }
        catch
        {
            Forget(shared);
            throw;
        }
    }

    /// <summary>No new work goes to <paramref name="connection"/> (its token expired): the next lease gets a new one.</summary>
    public void Retire(HubConnection connection)
    {
        lock (_lock)
        {
            if (_open.Values.SelectMany(list => list).FirstOrDefault(s => s.Connection == connection) is { } shared)
            {
                Forget(shared);
            }
        }
    }

    // Out of the pool, for good; disposed once its last user lets go.
    private void Forget(Shared shared)
    {
        bool unused;
        lock (_lock)
        {
            if (_open.TryGetValue(shared.Url, out var list))
            {
                list.Remove(shared);
            }

            shared.Forgotten = true;
            unused = shared.Users == 0;
        }

        if (unused)
        {
            _ = shared.Connection.DisposeAsync().AsTask();
        }
    }

    private async ValueTask ReleaseAsync(Shared shared, bool heldStream)
    {
        bool dispose;
        lock (_lock)
        {
            shared.Users--;
            if (heldStream)
            {
                shared.Streams--;
            }

            dispose = shared.Forgotten && shared.Users == 0;
        }

        if (dispose)
        {
            await shared.Connection.DisposeAsync();
        }
    }

    /// <summary>Closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        List<Shared> all;
        lock (_lock)
        {
            _disposed = true;
            all = [.. _open.Values.SelectMany(list => list)];
            _open.Clear();
        }

        foreach (var shared in all)
        {
            await shared.Connection.DisposeAsync();
        }
    }

    internal sealed class Shared(HubConnection connection, Uri url)
    {
        public HubConnection Connection { get; } = connection;

        public Uri Url { get; } = url;

        public Lazy<Task> Started { get; set; } = new(Task.CompletedTask);

        public Exception? ClosedWith { get; set; }

        /// <summary>False for a connection that was up and is closing: its close is about to take it out of the pool.</summary>
        public bool Usable => !(Started.IsValueCreated && Started.Value.IsCompletedSuccessfully && Connection.State == HubConnectionState.Disconnected);

        public int Users { get; set; }

        public int Streams { get; set; }

        public bool Forgotten { get; set; }
    }

    /// <summary>One user's hold on a shared connection.</summary>
    public sealed class Lease : IAsyncDisposable
    {
        private readonly SharedConnections _owner;
        private readonly Shared _shared;
        private readonly bool _holdsStream;
        private int _released;

        internal Lease(SharedConnections owner, Shared shared, bool holdsStream)
        {
            _owner = owner;
            _shared = shared;
            _holdsStream = holdsStream;
        }

        /// <summary>The connection, started.</summary>
        public HubConnection Connection => _shared.Connection;

        /// <summary>Why the connection closed, once it did (the server's reason may carry its code).</summary>
        public Exception? ClosedWith => _shared.ClosedWith;

        /// <summary>Lets go of the connection; the last user of a closed or retired one disposes it.</summary>
        public ValueTask DisposeAsync() =>
            Interlocked.Exchange(ref _released, 1) == 0 ? _owner.ReleaseAsync(_shared, _holdsStream) : ValueTask.CompletedTask;
    }
}
