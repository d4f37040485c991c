using System.Collections.Concurrent;

namespace HubStreams.Streams.Watching;

/// <summary>
/// The streams watched on this node: one <see cref="WatchedStream"/> per stream that has a watch, created with its first
/// watch and dropped with its last. A store reports here every append it learns of (directly in memory mode, through a
/// wake-up in Redis mode) and every reason to read again; the stream's object does the rest.
/// </summary>
/// <param name="read">How the store reads a page.</param>
/// <param name="metrics">Where woken watches are counted.</param>
/// <param name="recentEvents">How many of each watched stream's newest events to hold, for a store whose reads cost a round trip.</param>
/// <param name="firstWatch">
/// Called when a stream gets its first watch (or a new one after its subscription failed): completes once the store
/// tells this node of its appends. Null for a store that needs nothing.
/// </param>
/// <param name="lastWatchGone">Called when a stream's last watch leaves.</param>
/// <param name="runOneReaderHere">
/// Whether an append heard runs one of the readers it wakes on the thread that reports it: for a store that reports appends
/// from thread-pool threads holding no lock (Redis: a commit's answer, a wake-up), not from inside its own locks.
/// </param>
internal sealed class StreamWatches(
    StreamReadFunction read,
    StreamMetrics metrics,
    int recentEvents = 0,
    Func<StreamKey, Task>? firstWatch = null,
    Action<StreamKey>? lastWatchGone = null,
    bool runOneReaderHere = false)
{
    private readonly ConcurrentDictionary<StreamKey, WatchedStream> _streams = new();
    private int _openCount;

    /// <summary>The number of watches open now: one per following reader.</summary>
    public int OpenCount => Volatile.Read(ref _openCount);

    /// <summary>The streams that have at least one watch.</summary>
    public ICollection<StreamKey> WatchedStreams => _streams.Keys;

    /// <summary>Whether <paramref name="key"/> has at least one watch.</summary>
    public bool IsWatched(StreamKey key) => _streams.ContainsKey(key);

    /// <summary>What this node knows about <paramref name="key"/>, while it is watched.</summary>
    public WatchedStream? Find(StreamKey key) => _streams.GetValueOrDefault(key);

    /// <summary>
    /// Starts a watch: from now on every append reported for <paramref name="key"/> reaches it. Its stream's
    /// <see cref="WatchedStream.Ready"/> says when the store reports them all.
    /// </summary>
    public StreamWatch Open(StreamKey key)
    {
        while (true)
        {
            var stream = _streams.GetOrAdd(key, static (k, args) => new WatchedStream(k, args.read, args.recentEvents), (read, recentEvents));
            var watch = new StreamWatch(this, stream);
            if (stream.TryAdd(watch, firstWatch))
            {
                Interlocked.Increment(ref _openCount);
                return watch;
            }
        }
    }

    /// <summary>The stream holds <paramref name="length"/> events, the newest ones in <paramref name="carried"/> when known.</summary>
    public void Heard(StreamKey key, long length, StreamPage? carried = null)
    {
        if (_streams.TryGetValue(key, out var stream))
        {
            var heard = stream.Heard(length, carried, runOneReaderHere);
            metrics.WatchesWoken(heard.Woken);
            heard.Resume();
        }
    }

    /// <summary>A safety-net check found <paramref name="length"/> events: watches waiting at another offset read again.</summary>
    public void Reconcile(StreamKey key, long length)
    {
        if (_streams.TryGetValue(key, out var stream))
        {
            metrics.WatchesWoken(stream.ReadAgain(length));
        }
    }

    /// <summary>Every watch of one stream reads again, for example when it expired.</summary>
    public void WakeStream(StreamKey key)
    {
        if (_streams.TryGetValue(key, out var stream))
        {
            metrics.WatchesWoken(stream.ReadAgain());
        }
    }

    /// <summary>Every watch reads again, for example after the notification channel reconnected.</summary>
    public void WakeAll()
    {
        foreach (var stream in _streams.Values)
        {
            metrics.WatchesWoken(stream.ReadAgain());
        }
    }

    internal void Close(StreamWatch watch)
    {
        var stream = watch.Stream;
        var last = stream.Remove(watch, out var wasHere);
        if (!wasHere)
        {
            return;
        }

        Interlocked.Decrement(ref _openCount);
        if (last)
        {
            // Told before the stream leaves the map: a watch that comes next waits for it to leave, so the store hears
            // of this one's end before it hears of the next one's start.
            lastWatchGone?.Invoke(stream.Key);
            _streams.TryRemove(new KeyValuePair<StreamKey, WatchedStream>(stream.Key, stream));
        }
    }
}
