namespace HubStreams.Streams.Watching;

/// <summary>
/// What this node knows about one stream while at least one of its readers watches it, under one lock: the watches
/// (one per following reader), the length last heard, the newest events seen (carried by wake-ups, or read), the reads
/// of it in flight, and whether the store is ready to tell it of appends (its wake-up subscription, in Redis mode).
/// A reader's next page comes from here: from the events held when they cover its offset, else from a read shared by
/// every reader at the same offset, else from a read of its own.
/// </summary>
/// <remarks>
/// Created with the stream's first watch and dropped with its last (<see cref="StreamWatches"/>); a stream watched
/// again later gets a new one. Events never change at an offset, so what is held stays true until the stream is found
/// to be another one or gone (<see cref="ReadAgain"/>), when everything held is forgotten.
/// </remarks>
internal sealed class WatchedStream
{
    private readonly Lock _lock = new();
    private readonly HashSet<StreamWatch> _watches = [];
    private readonly StreamReadFunction _read;
    private readonly RecentEvents? _recent;
    private readonly Dictionary<long, (int MaxCount, Task<StreamPage> Page)> _reading = [];
    private volatile SharedPage? _lastPage;
    private long _version;
    private long _knownLength;
    private int _generation;
    private bool _removed;
    private Task _ready = Task.CompletedTask;

    /// <param name="key">The stream.</param>
    /// <param name="read">How the store reads a page of it.</param>
    /// <param name="recentEvents">How many of its newest events to hold; 0 for a store whose reads cost nothing.</param>
    public WatchedStream(StreamKey key, StreamReadFunction read, int recentEvents)
    {
        Key = key;
        _read = read;
        _recent = recentEvents > 0 ? new RecentEvents(recentEvents) : null;
    }

    public StreamKey Key { get; }

    /// <summary>Completes once the store tells this node of every append to the stream (its subscription is confirmed).</summary>
    public Task Ready
    {
        get
        {
            lock (_lock)
            {
                return _ready;
            }
        }
    }

    /// <summary>The stream's length as this node last heard it.</summary>
    public long KnownLength
    {
        get
        {
            lock (_lock)
            {
                return _knownLength;
            }
        }
    }

    /// <summary>
    /// Whether the events held reach <paramref name="length"/> in the stream <paramref name="streamId"/>: a notice of
    /// that length has nothing new for this node (every watch below it was woken when the events came).
    /// </summary>
    public bool Holds(long length, string? streamId)
    {
        lock (_lock)
        {
            return _knownLength >= length && _recent is not null && _recent.Reaches(length, streamId);
        }
    }

    /// <summary>
    /// Adds <paramref name="watch"/>; false when this object was just dropped (its last watch left): take the new one.
    /// <paramref name="subscribe"/> is asked for readiness when none is under way or the last one failed.
    /// </summary>
    public bool TryAdd(StreamWatch watch, Func<StreamKey, Task>? subscribe)
    {
        lock (_lock)
        {
            if (_removed)
            {
                return false;
            }

            if (subscribe is not null && (_watches.Count == 0 || _ready.IsFaulted || _ready.IsCanceled))
            {
                _ready = subscribe(Key);
            }

            _watches.Add(watch);
            return true;
        }
    }

    /// <summary>
    /// Removes <paramref name="watch"/> (<paramref name="wasHere"/> says whether it was one of this stream's); true when
    /// it was the last one, and this object is dropped.
    /// </summary>
    public bool Remove(StreamWatch watch, out bool wasHere)
    {
        lock (_lock)
        {
            wasHere = _watches.Remove(watch);
            if (wasHere && _watches.Count == 0)
            {
                _removed = true;
                return true;
            }

            return false;
        }
    }

    /// <summary>
    /// The stream holds <paramref name="length"/> events (an append was heard), the newest of them in
    /// <paramref name="carried"/> when the notice carried them: they are held, and the watches waiting below that length wake.
    /// </summary>
    /// <param name="length">The stream's length heard.</param>
    /// <param name="carried">The newest events, when the notice carried them.</param>
    /// <param name="runOneReaderHere">
    /// Whether one woken reader runs on the calling thread (after the others are queued to the thread pool): the caller is
    /// a thread-pool thread that holds no lock, and in the commonest shape, a reader per stream, that saves a hop per event.
    /// </param>
    /// <returns>How many watches woke, and the one whose reader is to run on the calling thread, if any.</returns>
    public HeardAppend Heard(long length, StreamPage? carried, bool runOneReaderHere = false)
    {
        StreamWatch[] watches;
        lock (_lock)
        {
            _knownLength = Math.Max(_knownLength, length);
            _version++;
            if (carried is not null)
            {
                Hold(carried);
            }

            watches = [.. _watches];
        }

        var woken = 0;
        for (var i = runOneReaderHere ? 1 : 0; i < watches.Length; i++)
        {
            woken += watches[i].OnLength(length) ? 1 : 0;
        }

        if (runOneReaderHere && watches.Length > 0 && watches[0].TryEndWait(length))
        {
            return new HeardAppend(woken + 1, watches[0]);
        }

        return new HeardAppend(woken, null);
    }

    /// <summary>
    /// The stream may not be what this node thought (it expired, a notice may have been lost): with
    /// <paramref name="foundLength"/>, the watches waiting at another offset read again; without, every watch does. When
    /// any does, nothing held is kept.
    /// </summary>
    /// <returns>How many watches woke.</returns>
    public int ReadAgain(long? foundLength = null)
    {
        StreamWatch[] watches;
        lock (_lock)
        {
            watches = [.. _watches];
        }

        var woken = 0;
        foreach (var watch in watches)
        {
            if (foundLength is not { } length || watch.WaitingOffset is { } offset && offset != length)
            {
                woken += watch.OnReadAgain() ? 1 : 0;
            }
        }

        if (foundLength is null || woken > 0)
        {
            lock (_lock)
            {
                _recent?.Clear();
                _reading.Clear();
                _generation++;
                _version++;
            }
        }

        return woken;
    }

    /// <summary>The distinct offsets at which watches wait now, with how many wait at each.</summary>
    public IReadOnlyDictionary<long, int> Waiting()
    {
        StreamWatch[] watches;
        lock (_lock)
        {
            watches = [.. _watches];
        }

        var waiting = new SortedDictionary<long, int>();
        foreach (var offset in watches.Select(w => w.WaitingOffset).OfType<long>())
        {
            waiting[offset] = waiting.GetValueOrDefault(offset) + 1;
        }

        return waiting;
    }

    /// <summary>
    /// A reader's page at <paramref name="fromOffset"/>: the page another reader got there since the last append heard
    /// (the readers one append wakes share one page), else from the events held, else from the read of that page already
    /// in flight for another reader, else from a read of the store (whose page is then held for the others).
    /// </summary>
    public Task<StreamPage> ReadAsync(long fromOffset, int maxCount, CancellationToken cancellationToken)
    {
        // Without the lock: the readers one append wakes come together, and all but the first take the first one's page.
        if (PageShared(fromOffset, maxCount) is { } shared)
        {
            return shared;
        }

        if (_recent is null)
        {
            return ReadSharedAsync(fromOffset, maxCount, cancellationToken);
        }

        Task<StreamPage> read;
        int generation;
        lock (_lock)
        {
            if (_recent.PageAt(fromOffset, maxCount, _knownLength) is { } held)
            {
                return Share(fromOffset, maxCount, Task.FromResult(held));
            }

            if (_reading.TryGetValue(fromOffset, out var inFlight) && inFlight.MaxCount == maxCount)
            {
                return inFlight.Page.WaitAsync(cancellationToken);
            }

            // Shared by every reader that comes for this page meanwhile, so no one reader's cancellation ends it.
            generation = _generation;
            read = _read(Key, fromOffset, maxCount, CancellationToken.None);
            _reading[fromOffset] = (maxCount, read);
        }

        return HoldWhenReadAsync(fromOffset, read, generation).WaitAsync(cancellationToken);
    }

    // A store whose reads answer at once (memory): the first reader at an offset reads, the others it woke take its page.
    private Task<StreamPage> ReadSharedAsync(long fromOffset, int maxCount, CancellationToken cancellationToken)
    {
        var version = Volatile.Read(ref _version);
        var read = _read(Key, fromOffset, maxCount, cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            lock (_lock)
            {
                if (version == _version)
                {
                    _lastPage = new SharedPage(fromOffset, maxCount, version, read);
                }
            }
        }

        return read;
    }

    // The page a reader got at this offset since anything changed, which another may take as it is.
    private Task<StreamPage>? PageShared(long fromOffset, int maxCount) =>
        _lastPage is { } last && last.Offset == fromOffset && last.MaxCount == maxCount && last.Version == Volatile.Read(ref _version) ? last.Page : null;

    // Under the lock.
    private Task<StreamPage> Share(long fromOffset, int maxCount, Task<StreamPage> page)
    {
        _lastPage = new SharedPage(fromOffset, maxCount, _version, page);
        return page;
    }

    private async Task<StreamPage> HoldWhenReadAsync(long fromOffset, Task<StreamPage> read, int generation)
    {
        try
        {
            var page = await read;
            lock (_lock)
            {
                // A page read before the stream was found changed is not held: it may be the old stream's.
                if (generation == _generation)
                {
                    _knownLength = Math.Max(_knownLength, page.Length);
                    Hold(page);
                }
            }

            return page;
        }
        finally
        {
            lock (_lock)
            {
                if (_reading.TryGetValue(fromOffset, out var inFlight) && ReferenceEquals(inFlight.Page, read))
                {
                    _reading.Remove(fromOffset);
                }
            }
        }
    }

    // Under the lock.
    private void Hold(StreamPage page)
    {
        if (_recent is not null)
        {
            _version++;
            _recent.Add(page);
            _knownLength = Math.Max(_knownLength, page.Length);
        }
    }
}

/// <summary>What an append heard did: how many watches it woke, and the one whose reader the caller runs itself.</summary>
internal readonly record struct HeardAppend(int Woken, StreamWatch? RunsHere)
{
    /// <summary>Runs the reader left to the caller, if any: after the wake-ups are counted, so whoever it tells sees them.</summary>
    public void Resume() => RunsHere?.ResumeHere();
}

/// <summary>A page one reader got, for the others at the same offset until the stream changes.</summary>
internal sealed record SharedPage(long Offset, int MaxCount, long Version, Task<StreamPage> Page);

/// <summary>How a store reads a page of a stream (its <see cref="IStreamManager.ReadAsync"/>).</summary>
internal delegate Task<StreamPage> StreamReadFunction(StreamKey key, long fromOffset, int maxCount, CancellationToken cancellationToken);
