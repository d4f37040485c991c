using System.Collections.Concurrent;
using HubStreams.Streams.Sessions;
using HubStreams.Streams.Watching;

namespace HubStreams.Streams.Memory;

/// <summary>
/// Streams held in this process's memory: the single-node default. Each stream has its own lock, so
/// appends to different streams never contend. A stream expires <see cref="StreamOptions.Ttl"/> after its
/// last append, and a sweeper then drops it so its memory is released. Each session's index (which messages it holds, in
/// the order their streams began) changes with its streams, under their locks; a deleted stream keeps only a mark, until
/// it would have expired.
/// </summary>
public sealed class MemoryStreamManager : IStreamManager, IDisposable
{
    private readonly ConcurrentDictionary<StreamKey, StoredStream> _streams = new();
    private readonly ConcurrentDictionary<string, SessionIndex> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<StreamKey, StoredStream> _leased = new();
    private readonly ITimer? _leaseChecks;
    private long _nextOrder;
    private readonly StreamWatches _watches;
    private readonly StreamOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private readonly long _memoryLimit;
    private long _bytesHeld;

    /// <summary>Creates the manager and starts its expiry sweeper.</summary>
    /// <exception cref="ArgumentException">An option breaks its rule (<see cref="StreamOptions.Problems"/>).</exception>
    public MemoryStreamManager(StreamOptions options, StreamMetrics metrics, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        _options = options;
        _memoryLimit = options.EffectiveMemoryLimit;
        metrics.Meter.CreateObservableGauge("hubstreams.memory.streams", () => _streams.Count, "{stream}",
            "Streams the memory store holds now, expired ones not yet swept included.");
        metrics.Meter.CreateObservableGauge("hubstreams.memory.held", () => HeldBytes, "By",
            "What the memory store's events take, as it counts them against STREAM_MEMORY_LIMIT.");
        _watches = new StreamWatches(ReadAsync, metrics);
        _time = timeProvider ?? TimeProvider.System;
        var interval = TimeSpan.FromTicks(Math.Clamp(options.Ttl.Ticks / 4, TimeSpan.FromMilliseconds(100).Ticks, TimeSpan.FromSeconds(30).Ticks));
        _sweeper = _time.CreateTimer(static state => ((MemoryStreamManager)state!).RemoveExpired(), this, interval, interval);
        if (options.LeasesProducers)
        {
            var every = StreamRules.CheckInterval(options.ProducerTimeout);
            _leaseChecks = _time.CreateTimer(static state => ((MemoryStreamManager)state!).EndLapsedLeases(), this, every, every);
        }
    }

    /// <inheritdoc />
    public event Action<StreamKey>? ProducerLost;

    /// <summary>The number of streams held in memory right now, expired ones not yet swept included.</summary>
    public int StreamCount => _streams.Count;

    /// <summary>What the events held take in memory, as estimated per event by <see cref="BytesHeld"/>.</summary>
    public long HeldBytes => Interlocked.Read(ref _bytesHeld);

    /// <summary>
    /// What one held event takes, estimated from its stored JSON: the event's strings (two bytes a character), its
    /// <c>data</c> as parsed JSON, and the object, list and offset overhead around them.
    /// </summary>
    public static long BytesHeld(int jsonBytes) => (2L * jsonBytes) + 200;

    /// <summary>The number of open watches: one per reader following a stream.</summary>
    internal int OpenWatchCount => _watches.OpenCount;

    /// <inheritdoc />
    public Task<long> AppendAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default) =>
        AsTask(() => Append(key, streamEvent, atOffset: null).Offset);

    /// <inheritdoc />
    public Task<ConditionalAppend> AppendAtAsync(StreamKey key, StreamEvent streamEvent, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        StreamRules.EnsureConditionalAppendable(streamEvent, offset);
        return AsTask(() => Append(key, streamEvent, offset));
    }

    // A refusal in the task, as from a store that answers later, not thrown at the call.
    private static Task<T> AsTask<T>(Func<T> append)
    {
        try
        {
            return Task.FromResult(append());
        }
        catch (StreamException e)
        {
            return Task.FromException<T>(e);
        }
    }

    private ConditionalAppend Append(StreamKey key, StreamEvent streamEvent, long? atOffset)
    {
        var (prepared, json) = StoredEventJson.Prepare(streamEvent, _options, _time);
        while (true)
        {
            var stream = _streams.GetOrAdd(key, static _ => new StoredStream());
            var expiredStreamRemoved = false;
            var lost = false;
            try
            {
                long length;
                lock (stream)
                {
                    if (stream.Removed)
                    {
                        continue;
                    }

                    var expired = false;
                    try
                    {
                        var now = _time.GetUtcNow();
                        if (stream.IsExpired(now))
                        {
                            // Expired but not swept yet: it is gone for readers, so the append starts a new stream.
                            Empty(key, stream);
                            stream.Deleted = false;
                            expired = true;
                        }
                        else if (stream.Deleted)
                        {
                            throw StreamRules.Deleted(key);
                        }
                        else if (Lapsed(stream, now))
                        {
                            // A producer that comes back after its deadline finds its stream ended.
                            lost = EndLost(key, stream, now);
                        }

                        var offset = stream.Events.Count;
                        if (atOffset is { } at && at != offset)
                        {
                            // A retry of an append that landed, or another writer's event in the way.
                            return at < offset && stream.Events[(int)at].Id == prepared.Id
                                ? new ConditionalAppend(at, AlreadyStored: true)
                                : throw StreamRules.OffsetConflict(key, at, offset);
                        }

                        EnsureAppendable(key, stream.Events, prepared);
                        EnsureBudget(prepared, json.Length);
                        if (offset == 0)
                        {
                            stream.Identity = StoredEventJson.Identity(json);
                            Index(key);
                        }

                        stream.Events.Add(prepared with { Offset = offset, StreamId = stream.Identity });
                        stream.Sizes.Add(json.Length);
                        Hold(stream, BytesHeld(json.Length));
                        stream.ExpiresAt = now + _options.Ttl;
                        Lease(key, stream, prepared.IsComplete ? null : now);
                        length = stream.Events.Count;
                    }
                    finally
                    {
                        // A refused append leaves nothing behind: neither the entry made for it nor an expired stream.
                        if (stream.Events.Count == 0 && !stream.Deleted)
                        {
                            Remove(key, stream);
                            expiredStreamRemoved = expired;
                        }
                    }
                }

                // The readers that wait wake, and each reads the new events from memory.
                _watches.Heard(key, length);
                return new ConditionalAppend(length - 1, AlreadyStored: false);
            }
            finally
            {
                if (expiredStreamRemoved)
                {
                    // Its readers learn that it is gone, as they would from the sweeper.
                    _watches.WakeStream(key);
                }

                if (lost)
                {
                    Lost(key);
                }
            }
        }
    }

    // Under the stream's lock.
    private void Remove(StreamKey key, StoredStream stream)
    {
        stream.Removed = true;
        Lease(key, stream, null);
        _streams.TryRemove(new KeyValuePair<StreamKey, StoredStream>(key, stream));
        Hold(stream, -stream.BytesHeld);
        Unindex(key);
    }

    // Under the stream's lock: its events go, with their place in the budget and in their session.
    private void Empty(StreamKey key, StoredStream stream)
    {
        Lease(key, stream, null);
        stream.Events.Clear();
        stream.Sizes.Clear();
        Hold(stream, -stream.BytesHeld);
        Unindex(key);
    }

    // Under the stream's lock: the stream holds its first event.
    private void Index(StreamKey key)
    {
        while (true)
        {
            var index = _sessions.GetOrAdd(key.SessionId, static _ => new SessionIndex());
            lock (index)
            {
                // One emptied and dropped meanwhile is not the session's any more.
                if (!index.Removed)
                {
                    index.Messages[key.MessageId] = Interlocked.Increment(ref _nextOrder);
                    return;
                }
            }
        }
    }

    // Under the stream's lock: the stream holds nothing any more.
    private void Unindex(StreamKey key)
    {
        if (!_sessions.TryGetValue(key.SessionId, out var index))
        {
            return;
        }

        lock (index)
        {
            if (index.Messages.Remove(key.MessageId) && index.Messages.Count == 0)
            {
                index.Removed = true;
                _sessions.TryRemove(new KeyValuePair<string, SessionIndex>(key.SessionId, index));
            }
        }
    }

    // Under the stream's lock.
    private void Hold(StoredStream stream, long bytes)
    {
        stream.BytesHeld += bytes;
        Interlocked.Add(ref _bytesHeld, bytes);
    }

    // Under the stream's lock: the producer was heard at 'now' (its deadline moves on), or the stream has no lease any more (null).
    private void Lease(StreamKey key, StoredStream stream, DateTimeOffset? now)
    {
        if (now is { } heard && _options.LeasesProducers)
        {
            stream.ProducerDeadline = heard + _options.ProducerTimeout;
            _leased.TryAdd(key, stream);
        }
        else if (stream.ProducerDeadline is not null)
        {
            stream.ProducerDeadline = null;
            _leased.TryRemove(new KeyValuePair<StreamKey, StoredStream>(key, stream));
        }
    }

    // Under the stream's lock: its producer's deadline has passed with no 'complete'.
    private static bool Lapsed(StoredStream stream, DateTimeOffset now) => stream.ProducerDeadline <= now;

    // Under the stream's lock, for a lapsed lease: the stream ends for good, with what says why. Returns true.
    private bool EndLost(StreamKey key, StoredStream stream, DateTimeOffset now)
    {
        foreach (var lostEvent in ProducerLeases.LostEvents(_options.ProducerTimeout, now))
        {
            if (!lostEvent.IsComplete && stream.Events.Count >= _options.MaxEvents - 1)
            {
                continue;
            }

            var (prepared, json) = StoredEventJson.Prepare(lostEvent, _options, _time);
            stream.Events.Add(prepared with { Offset = stream.Events.Count, StreamId = stream.Identity });
            stream.Sizes.Add(json.Length);
            Hold(stream, BytesHeld(json.Length));
        }

        stream.ExpiresAt = now + _options.Ttl;
        Lease(key, stream, null);
        return true;
    }

    // Outside the stream's lock, after EndLost: its readers wake, and whoever announces endings hears of it.
    private void Lost(StreamKey key)
    {
        if (_streams.TryGetValue(key, out var stream))
        {
            long length;
            lock (stream)
            {
                length = stream.Events.Count;
            }

            _watches.Heard(key, length);
        }

        ProducerLost?.Invoke(key);
    }

    private void EndLapsedLeases()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, stream) in _leased)
        {
            var lost = false;
            lock (stream)
            {
                if (!stream.Removed && !stream.IsExpired(now) && Lapsed(stream, now))
                {
                    lost = EndLost(key, stream, now);
                }
            }

            if (lost)
            {
                Lost(key);
            }
        }
    }

    /// <inheritdoc />
    public Task<ProducerLease> HeartbeatAsync(StreamKey key, CancellationToken cancellationToken = default)
    {
        var lost = false;
        try
        {
            if (_streams.TryGetValue(key, out var stream))
            {
                lock (stream)
                {
                    var now = _time.GetUtcNow();
                    if (!stream.Removed && !stream.IsExpired(now))
                    {
                        if (stream.Deleted)
                        {
                            throw StreamRules.Deleted(key);
                        }

                        if (Lapsed(stream, now))
                        {
                            lost = EndLost(key, stream, now);
                        }

                        if (stream.Events.Count > 0)
                        {
                            EnsureAppendable(key, stream.Events, new StreamEvent { Type = EventTypes.Complete });
                            stream.ExpiresAt = now + _options.Ttl;
                            Lease(key, stream, now);
                            return Task.FromResult(new ProducerLease(stream.Events.Count, stream.ProducerDeadline));
                        }
                    }
                }
            }

            return Task.FromResult(new ProducerLease(0, null));
        }
        catch (StreamException e)
        {
            return Task.FromException<ProducerLease>(e);
        }
        finally
        {
            if (lost)
            {
                Lost(key);
            }
        }
    }

    // The budget is the node's: a complete always fits, so that every stream can be ended.
    private void EnsureBudget(StreamEvent next, int jsonBytes)
    {
        var held = Interlocked.Read(ref _bytesHeld);
        if (!next.IsComplete && held + BytesHeld(jsonBytes) > _memoryLimit)
        {
            throw new StreamException(StreamErrorCode.StoreFull,
                $"This node's streams hold {held} bytes of events, and its budget (STREAM_MEMORY_LIMIT) is {_memoryLimit}: nothing was stored. " +
                "Room comes back as streams expire; 'complete' is still accepted.");
        }
    }

    /// <inheritdoc />
    public Task<StreamPage> ReadAsync(StreamKey key, long fromOffset, int maxCount = int.MaxValue, CancellationToken cancellationToken = default)
    {
        StreamRules.ValidateOffset(fromOffset);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        if (_streams.TryGetValue(key, out var stream))
        {
            lock (stream)
            {
                if (!stream.Removed && !stream.IsExpired(_time.GetUtcNow()))
                {
                    if (stream.Deleted)
                    {
                        return Task.FromException<StreamPage>(StreamRules.Deleted(key));
                    }

                    var length = stream.Events.Count;
                    StreamRules.EnsureReadable(key, fromOffset, length);
                    var count = PageCount(stream.Sizes, (int)fromOffset, Math.Min(maxCount, _options.MaxPageEvents));
                    var events = stream.Events.GetRange((int)fromOffset, count);
                    var completed = length > 0 && stream.Events[^1].IsComplete;
                    return Task.FromResult(new StreamPage(events, fromOffset + count, completed)
                    {
                        ReachedEnd = fromOffset + count == length,
                        Length = length,
                        StreamId = length > 0 ? stream.Identity : null,
                    });
                }
            }
        }

        // Missing, expired or swept: an empty stream.
        StreamRules.EnsureReadable(key, fromOffset, length: 0);
        return Task.FromResult(new StreamPage([], 0, false) { ReachedEnd = true });
    }

    /// <inheritdoc />
    public Task<SessionPage> ListSessionAsync(string sessionId, string? after, int maxCount, CancellationToken cancellationToken = default)
    {
        var count = SessionListing.Validate(sessionId, maxCount);
        var cursor = SessionListing.ParseCursor(after);
        KeyValuePair<string, long>[] entries = [];
        if (_sessions.TryGetValue(sessionId, out var index))
        {
            lock (index)
            {
                entries = [.. index.Messages];
            }
        }

        Array.Sort(entries, static (a, b) => a.Value != b.Value ? a.Value.CompareTo(b.Value) : string.CompareOrdinal(a.Key, b.Key));
        var messages = new List<SessionMessage>(Math.Min(count, entries.Length));
        string? next = null;
        var lastOrder = 0L;
        foreach (var (messageId, order) in entries)
        {
            if (!SessionListing.IsAfter(order, messageId, cursor))
            {
                continue;
            }

            if (messages.Count == count)
            {
                next = SessionListing.Cursor(lastOrder, messages[^1].MessageId);
                break;
            }

            if (Describe(StreamKey.Create(sessionId, messageId)) is { } message)
            {
                messages.Add(message);
                lastOrder = order;
            }
        }

        return Task.FromResult(new SessionPage(messages, next));
    }

    /// <inheritdoc />
    public Task<SessionMessage?> DescribeAsync(StreamKey key, CancellationToken cancellationToken = default) => Task.FromResult(Describe(key));

    private SessionMessage? Describe(StreamKey key)
    {
        if (!_streams.TryGetValue(key, out var stream))
        {
            return null;
        }

        var lost = false;
        try
        {
            lock (stream)
            {
                var now = _time.GetUtcNow();
                if (stream.Removed || stream.Deleted || stream.Events.Count == 0 || stream.IsExpired(now))
                {
                    return null;
                }

                // A listing says what is so: a lapsed lease ends its stream before it is described.
                if (Lapsed(stream, now))
                {
                    lost = EndLost(key, stream, now);
                }

                return SessionListing.Describe(key.MessageId, stream.Events.Count, stream.Events[^1].IsComplete, stream.Identity, stream.Events[0], stream.Events[^1]);
            }
        }
        finally
        {
            if (lost)
            {
                Lost(key);
            }
        }
    }

    /// <inheritdoc />
    public Task<bool> DeleteAsync(StreamKey key, CancellationToken cancellationToken = default)
    {
        var deleted = false;
        if (_streams.TryGetValue(key, out var stream))
        {
            lock (stream)
            {
                if (!stream.Removed && !stream.IsExpired(_time.GetUtcNow()) && (stream.Deleted || stream.Events.Count > 0))
                {
                    // Only the mark stays, until the stream would have expired.
                    Empty(key, stream);
                    stream.Deleted = true;
                    deleted = true;
                }
            }
        }

        if (deleted)
        {
            _watches.WakeStream(key);
        }

        return Task.FromResult(deleted);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StreamKey.ValidateId(sessionId, "sessionId");
        string[] messageIds = [];
        if (_sessions.TryGetValue(sessionId, out var index))
        {
            lock (index)
            {
                messageIds = [.. index.Messages.Keys];
            }
        }

        var deleted = new List<string>(messageIds.Length);
        foreach (var messageId in messageIds)
        {
            if (await DeleteAsync(StreamKey.Create(sessionId, messageId), cancellationToken))
            {
                deleted.Add(messageId);
            }
        }

        return deleted;
    }

    /// <inheritdoc />
    public Task<IStreamWatch> WatchAsync(StreamKey key, CancellationToken cancellationToken = default) =>
        Task.FromResult<IStreamWatch>(_watches.Open(key));

    /// <summary>Stops the expiry sweeper and the lease checks.</summary>
    public void Dispose()
    {
        _sweeper.Dispose();
        _leaseChecks?.Dispose();
    }

    private void EnsureAppendable(StreamKey key, List<StreamEvent> events, StreamEvent next)
    {
        if (events.Count > 0 && events[^1].IsComplete)
        {
            throw StreamRules.Completed(key);
        }

        StreamRules.EnsureRoom(key, events.Count, next, _options);
    }

    // How many events from 'from' fit in one page: at most maxCount, at most MaxPageBytes of JSON, at least one.
    private int PageCount(List<int> sizes, int from, int maxCount)
    {
        var count = 0;
        var bytes = 0L;
        while (from + count < sizes.Count && count < maxCount)
        {
            bytes += sizes[from + count];
            if (count > 0 && bytes > _options.MaxPageBytes)
            {
                break;
            }

            count++;
        }

        return count;
    }

    private void RemoveExpired()
    {
        var now = _time.GetUtcNow();
        foreach (var (key, stream) in _streams)
        {
            lock (stream)
            {
                if (!stream.IsExpired(now))
                {
                    continue;
                }

                Remove(key, stream);
            }

            // Readers past offset 0 learn on their next read that the stream is gone.
            _watches.WakeStream(key);
        }
    }

    private sealed class StoredStream
    {
        public List<StreamEvent> Events { get; } = [];
        public List<int> Sizes { get; } = [];
        public string? Identity { get; set; }
        public DateTimeOffset ExpiresAt { get; set; } = DateTimeOffset.MaxValue;
        public DateTimeOffset? ProducerDeadline { get; set; }
        public bool Removed { get; set; }
        public bool Deleted { get; set; }
        public long BytesHeld { get; set; }
        public bool IsExpired(DateTimeOffset now) => now >= ExpiresAt;
    }

    // Which messages a session holds, each with the order its stream began in. Locked by itself, after a stream's lock.
    private sealed class SessionIndex
    {
        public Dictionary<string, long> Messages { get; } = new(StringComparer.Ordinal);
        public bool Removed { get; set; }
    }
}
