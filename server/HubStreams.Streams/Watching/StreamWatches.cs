using System.Collections.Concurrent;

namespace HubStreams.Streams.Watching;

/// <summary>
/// The open watches of this process, grouped by stream. A store tells it of every append it learns of (directly
/// in memory mode, through a notification in Redis mode) and of every reason to read again.
/// </summary>
internal sealed class StreamWatches(StreamReadFunction read, StreamMetrics metrics)
{
    private readonly ConcurrentDictionary<StreamKey, Group> _groups = new();
    private int _openCount;

    /// <summary>The number of watches open now: one per following reader.</summary>
    public int OpenCount => Volatile.Read(ref _openCount);

    /// <summary>The streams that have at least one watch.</summary>
    public ICollection<StreamKey> WatchedStreams => _groups.Keys;

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

        metrics.WatchesWoken(woken);
    }

    /// <summary>Every watch of one stream reads again, for example when it expired.</summary>
    public void WakeStream(StreamKey key)
    {
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

    internal Task<StreamPage> ReadAsync(StreamKey key, long fromOffset, int maxCount, CancellationToken cancellationToken) =>
        read(key, fromOffset, maxCount, cancellationToken);

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
    }
}

/// <summary>How a store reads a page of a stream (its <see cref="IStreamManager.ReadAsync"/>).</summary>
internal delegate Task<StreamPage> StreamReadFunction(StreamKey key, long fromOffset, int maxCount, CancellationToken cancellationToken);
