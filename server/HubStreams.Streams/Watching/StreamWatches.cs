using System.Collections.Concurrent;

namespace HubStreams.Streams.Watching;

/// <summary>
/// The open watches of this process, grouped by stream. A store tells it of every append it learns of (directly
/// in memory mode, through a notification in Redis mode) and of every reason to read again.
/// </summary>
/// <remarks>
/// With <paramref name="recentEvents"/> above 0, each watched stream keeps that many of its newest events seen on this
/// node (<see cref="RecentEvents"/>), for a store whose reads cost a round trip.
/// </remarks>
internal sealed class StreamWatches(StreamReadFunction read, StreamMetrics metrics, int recentEvents = 0)
{
    private readonly ConcurrentDictionary<StreamKey, Group> _groups = new();
    private int _openCount;

    /// <summary>The number of watches open now: one per following reader.</summary>
    public int OpenCount => Volatile.Read(ref _openCount);

    /// <summary>Whether <paramref name="key"/> has at least one watch.</summary>
    public bool IsWatched(StreamKey key) => _groups.ContainsKey(key);

    /// <summary>The streams that have at least one watch.</summary>
    public ICollection<StreamKey> WatchedStreams => _groups.Keys;

    /// <summary>The length of <paramref name="key"/> as this node last heard it, while it is watched; else 0.</summary>
    public long KnownLength(StreamKey key)
    {
        if (!_groups.TryGetValue(key, out var group))
        {
            return 0;
        }

        lock (group)
        {
            return group.KnownLength;
        }
    }

    /// <summary>Starts a watch: from now on every append reported for <paramref name="key"/> reaches it.</summary>
    public StreamWatch Open(StreamKey key)
    {
        var watch = new StreamWatch(this, key);
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

            Interlocked.Increment(ref _openCount);
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
    /// each handed the page read ahead for its offset when <paramref name="pageAt"/> has one (asked once per offset).
    /// </summary>
    public void NotifyLength(StreamKey key, long length, Func<long, StreamPage?>? pageAt = null)
    {
        if (_groups.TryGetValue(key, out var group))
        {
            lock (group)
            {
                group.KnownLength = Math.Max(group.KnownLength, length);
            }
        }

        // One page per offset, handed to every watch waiting there: readers of one stream share one read and its events.
        Dictionary<long, StreamPage?>? pages = null;
        var shared = pageAt is null ? null : (Func<long, StreamPage?>)(offset =>
        {
            pages ??= [];
            if (!pages.TryGetValue(offset, out var page))
            {
                pages[offset] = page = pageAt(offset);
            }

            return page;
        });
        var woken = 0;
        foreach (var watch in Members(key))
        {
            woken += watch.OnLength(length, shared) ? 1 : 0;
        }

        metrics.WatchesWoken(woken);
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

        if (woken > 0)
        {
            // The stream is not what this node thought (it grew unheard, or expired): keep nothing from before.
            Forget(key);
        }

        metrics.WatchesWoken(woken);
    }

    /// <summary>
    /// Keeps the events of <paramref name="page"/> (carried by a wake-up, say) for the readers of this node that reach
    /// their offsets later.
    /// </summary>
    public void Remember(StreamKey key, StreamPage? page)
    {
        if (recentEvents > 0 && page is not null && _groups.TryGetValue(key, out var group))
        {
            lock (group)
            {
                group.Recent ??= new RecentEvents(recentEvents);
                group.Recent.Add(page);
                group.KnownLength = Math.Max(group.KnownLength, page.Length);
            }
        }
    }

    /// <summary>The page a read at <paramref name="offset"/> would get from the events this node holds of the stream, or null.</summary>
    public StreamPage? RecentPage(StreamKey key, long offset, int maxCount)
    {
        if (recentEvents == 0 || !_groups.TryGetValue(key, out var group))
        {
            return null;
        }

        lock (group)
        {
            return group.Recent?.PageAt(offset, maxCount, group.KnownLength);
        }
    }

    /// <summary>Every watch of one stream reads again, for example when it expired.</summary>
    public void WakeStream(StreamKey key)
    {
        Forget(key);
        var woken = 0;
        foreach (var watch in Members(key))
        {
            woken += watch.OnReadAgain() ? 1 : 0;
        }

        metrics.WatchesWoken(woken);
    }

    /// <summary>Every watch reads again, for example after the notification channel reconnected.</summary>
    public void WakeAll()
    {
        foreach (var key in _groups.Keys)
        {
            WakeStream(key);
        }
    }

    internal Task<StreamPage> ReadAsync(StreamKey key, long fromOffset, int maxCount, CancellationToken cancellationToken)
    {
        if (recentEvents == 0)
        {
            return read(key, fromOffset, maxCount, cancellationToken);
        }

        return RecentPage(key, fromOffset, maxCount) is { } recent
            ? Task.FromResult(recent)
            : ReadAndRememberAsync(key, fromOffset, maxCount, cancellationToken);
    }

    private async Task<StreamPage> ReadAndRememberAsync(StreamKey key, long fromOffset, int maxCount, CancellationToken cancellationToken)
    {
        var page = await read(key, fromOffset, maxCount, cancellationToken);
        Remember(key, page);
        return page;
    }

    private void Forget(StreamKey key)
    {
        if (_groups.TryGetValue(key, out var group))
        {
            lock (group)
            {
                group.Recent?.Clear();
            }
        }
    }

    private StreamWatch[] Members(StreamKey key)
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

    internal void Close(StreamWatch watch)
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

        Interlocked.Decrement(ref _openCount);
    }

    private sealed class Group
    {
        public HashSet<StreamWatch> Members { get; } = [];
        public bool Removed { get; set; }

        /// <summary>The stream's length as this node last heard it.</summary>
        public long KnownLength { get; set; }

        public RecentEvents? Recent { get; set; }
    }
}

/// <summary>How a store reads a page of a stream (its <see cref="IStreamManager.ReadAsync"/>).</summary>
internal delegate Task<StreamPage> StreamReadFunction(StreamKey key, long fromOffset, int maxCount, CancellationToken cancellationToken);
