using System.Collections.Concurrent;

namespace HubStreams.Streams.Waiting;

/// <summary>
/// The watches of this process, grouped by stream. A store tells it of every append it learns of (directly
/// in memory mode, through a notification in Redis mode) and of every reason to read again.
/// </summary>
internal sealed class StreamWatchers
{
    private readonly ConcurrentDictionary<StreamKey, Group> _groups = new();
    private int _liveCount;

    /// <summary>The number of watches open now: one per following reader.</summary>
    public int LiveCount => Volatile.Read(ref _liveCount);

    /// <summary>The streams that have at least one watch.</summary>
    public ICollection<StreamKey> WatchedStreams => _groups.Keys;

    /// <summary>Starts a watch: from now on every append reported for <paramref name="key"/> reaches it.</summary>
    public Watch Register(StreamKey key)
    {
        var watch = new Watch(this, key);
        while (true)
        {
            var group = _groups.GetOrAdd(key, static _ => new Group());
            lock (group)
            {
                if (group.Removed)
                {
                    continue;
                }

                group.Members.Add(watch);
            }

            Interlocked.Increment(ref _liveCount);
            return watch;
        }
    }

    /// <summary>The distinct offsets below <paramref name="length"/> at which watches of <paramref name="key"/> wait, and how many wait.</summary>
    public (List<long> Offsets, int Waiting) WaitingBelow(StreamKey key, long length)
    {
        var offsets = new List<long>();
        var waiting = 0;
        foreach (var watch in Members(key))
        {
            if (watch.WaitingOffset is { } offset && offset < length)
            {
                waiting++;
                if (!offsets.Contains(offset))
                {
                    offsets.Add(offset);
                }
            }
        }

        return (offsets, waiting);
    }

    /// <summary>
    /// The stream holds <paramref name="length"/> events: every watch learns it, and those waiting below it wake,
    /// with a page read ahead for their offset when <paramref name="pageAt"/> has one.
    /// </summary>
    public void NotifyLength(StreamKey key, long length, Func<long, StreamPage?>? pageAt = null)
    {
        var woken = 0;
        foreach (var watch in Members(key))
        {
            woken += watch.OnLength(length, pageAt) ? 1 : 0;
        }

        Count(woken);
    }

    /// <summary>
    /// A safety-net check found <paramref name="length"/> events: watches waiting at another offset (the stream
    /// grew, or expired and shrank) read again.
    /// </summary>
    public void Reconcile(StreamKey key, long length)
    {
        var woken = 0;
        foreach (var watch in Members(key))
        {
            if (watch.WaitingOffset is { } offset && offset != length)
            {
                woken += watch.OnReadAgain() ? 1 : 0;
            }
        }

        Count(woken);
    }

    /// <summary>Every watch of one stream reads again, for example when it expired.</summary>
    public void WakeStream(StreamKey key)
    {
        var woken = 0;
        foreach (var watch in Members(key))
        {
            woken += watch.OnReadAgain() ? 1 : 0;
        }

        Count(woken);
    }

    /// <summary>Every watch reads again, for example after the notification channel reconnected.</summary>
    public void WakeAll()
    {
        foreach (var key in _groups.Keys)
        {
            WakeStream(key);
        }
    }

    private static void Count(int woken)
    {
        if (woken > 0)
        {
            StreamMetrics.WakeUps.Add(woken);
        }
    }

    private Watch[] Members(StreamKey key)
    {
        if (!_groups.TryGetValue(key, out var group))
        {
            return [];
        }

        lock (group)
        {
            return [.. group.Members];
        }
    }

    private void Remove(Watch watch)
    {
        if (!_groups.TryGetValue(watch.Key, out var group))
        {
            return;
        }

        lock (group)
        {
            if (!group.Members.Remove(watch))
            {
                return;
            }

            if (group.Members.Count == 0)
            {
                group.Removed = true;
                _groups.TryRemove(new KeyValuePair<StreamKey, Group>(watch.Key, group));
            }
        }

        Interlocked.Decrement(ref _liveCount);
    }

    private sealed class Group
    {
        public HashSet<Watch> Members { get; } = [];
        public bool Removed { get; set; }
    }

    /// <summary>
    /// One reader's watch. It keeps the longest length reported since it began, and a request to read again
    /// that came while its reader was busy, so nothing reported between two waits is lost.
    /// </summary>
    public sealed class Watch(StreamWatchers owner, StreamKey key) : IStreamWatch
    {
        private readonly Lock _lock = new();
        private long _reportedLength = -1;
        private bool _readAgain;
        private long _waitingOffset = -1;
        private TaskCompletionSource<StreamPage?>? _signal;

        public StreamKey Key { get; } = key;

        /// <summary>The offset this watch waits for, or null while its reader is busy.</summary>
        public long? WaitingOffset
        {
            get
            {
                lock (_lock)
                {
                    return _signal is null ? null : _waitingOffset;
                }
            }
        }

        public async ValueTask<StreamPage?> WaitAsync(long offset, CancellationToken cancellationToken)
        {
            TaskCompletionSource<StreamPage?> signal;
            lock (_lock)
            {
                if (_readAgain || _reportedLength > offset)
                {
                    _readAgain = false;
                    return null;
                }

                _waitingOffset = offset;
                signal = _signal = new TaskCompletionSource<StreamPage?>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            try
            {
                return await signal.Task.WaitAsync(cancellationToken);
            }
            finally
            {
                lock (_lock)
                {
                    if (ReferenceEquals(_signal, signal))
                    {
                        _signal = null;
                    }
                }
            }
        }

        public void Dispose() => owner.Remove(this);

        internal bool OnLength(long length, Func<long, StreamPage?>? pageAt)
        {
            TaskCompletionSource<StreamPage?>? signal = null;
            long offset;
            lock (_lock)
            {
                _reportedLength = Math.Max(_reportedLength, length);
                offset = _waitingOffset;
                if (_signal is not null && _waitingOffset < length)
                {
                    (signal, _signal) = (_signal, null);
                }
            }

            return signal?.TrySetResult(pageAt?.Invoke(offset)) ?? false;
        }

        internal bool OnReadAgain()
        {
            TaskCompletionSource<StreamPage?>? signal;
            lock (_lock)
            {
                (signal, _signal) = (_signal, null);
                _readAgain = signal is null;
            }

            return signal?.TrySetResult(null) ?? false;
        }
    }
}
