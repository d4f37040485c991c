using HubStreams.Streams.Watching;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// Streams in Redis, in the original design's layout: one List per stream at
/// <c>{prefix}:{sessionId}:{messageId}</c>, each element an event's JSON, the offset its index.
/// Every append is one Lua script (checks, <c>RPUSH</c>, <c>PEXPIRE</c>, a publish on the stream's own channel); waiting
/// readers are woken by that publish (<see cref="RedisWakeUps"/>). This class keeps appends, reads and watches; how
/// appends are committed to Redis together is in <c>RedisStreamManager.Commits.cs</c>.
/// Any number of processes can share one Redis: each reads the lists itself.
/// </summary>
public sealed partial class RedisStreamManager : IStreamManager, IAsyncDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly StreamOptions _options;
    private readonly RedisStreamOptions _redisOptions;
    private readonly TimeProvider _time;
    private readonly RedisFailures _failures;
    private readonly RedisWakeUps _wakeUps;
    private readonly RedisSessionIndex _sessions;
    private readonly ReplicatedAppends? _replicated;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, AppendGroupCommit> _commitGroups = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<StreamKey, StreamNames> _names = new();
    private bool? _clustered;

    /// <summary>
    /// Creates the manager over the process's shared connection and starts its safety net. With
    /// <paramref name="replicatedAppends"/>, appends go over its connection and are acknowledged once replicas hold them.
    /// The Redis instruments go to <paramref name="redisMetrics"/>, or to ones of its own on <paramref name="metrics"/>' meter.
    /// </summary>
    /// <exception cref="ArgumentException">An option breaks its rule (<see cref="StreamOptions.Problems"/>, <see cref="RedisStreamOptions.Problems"/>).</exception>
    public RedisStreamManager(
        IConnectionMultiplexer redis,
        StreamOptions options,
        RedisStreamOptions redisOptions,
        StreamMetrics metrics,
        ILogger<RedisStreamManager> logger,
        TimeProvider? timeProvider = null,
        ReplicatedAppends? replicatedAppends = null,
        RedisMetrics? redisMetrics = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(redisOptions);
        options.EnsureValid();
        redisOptions.EnsureValid();
        _redis = redis;
        _replicated = replicatedAppends;
        _options = options;
        _redisOptions = redisOptions;
        _time = timeProvider ?? TimeProvider.System;
        Metrics = redisMetrics ?? new RedisMetrics(metrics);
        _failures = new RedisFailures(Metrics, logger);
        _wakeUps = new RedisWakeUps(redis, options, redisOptions, ReadAsync, metrics, Metrics, _failures, logger, _time, EndIfLostAsync);
        _sessions = new RedisSessionIndex(redis, options, redisOptions, _failures, _time);
    }

    /// <inheritdoc />
    public event Action<StreamKey>? ProducerLost;

    /// <summary>The Redis store's counters: wake-ups, safety net, subscriptions, script calls, reads, failures.</summary>
    public RedisMetrics Metrics { get; }

    /// <summary>The streams this node's readers watch, and what it knows of each.</summary>
    internal StreamWatches Watches => _wakeUps.Watches;

    /// <summary>How many expiry checks of watched streams were answered so far.</summary>
    internal long ExpiryAnswers => _wakeUps.ExpiryAnswers;

    /// <summary>
    /// How wake-ups are published and subscribed on this Redis, found on first use (the server asks at start-up): sharded
    /// (<c>SPUBLISH</c>) where the server has it and takes it, else classic <c>PUBLISH</c>.
    /// </summary>
    /// <exception cref="StreamException">No Redis server answers (<see cref="StreamErrorCode.StoreUnavailable"/>).</exception>
    public ValueTask<WakeUpPublishing> DetectWakeUpPublishingAsync() => _wakeUps.DetectPublishingAsync();

    /// <summary>Stops the wake-ups, their safety nets and every subscription.</summary>
    public ValueTask DisposeAsync() => _wakeUps.DisposeAsync();

    private IDatabase Database => _redis.GetDatabase();

    /// <inheritdoc />
    public async Task<long> AppendAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default)
    {
        var reply = await SendAsync(key, streamEvent, atOffset: null);
        if (reply.Value < 0)
        {
            throw await RefusalAsync(key, reply, atOffset: null);
        }

        return reply.Value;
    }

    /// <inheritdoc />
    public Task<ConditionalAppend> AppendAtAsync(StreamKey key, StreamEvent streamEvent, long offset, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        StreamRules.EnsureConditionalAppendable(streamEvent, offset);
        return AppendAtCoreAsync(key, streamEvent, offset);
    }

    private async Task<ConditionalAppend> AppendAtCoreAsync(StreamKey key, StreamEvent streamEvent, long atOffset)
    {
        var reply = await SendAsync(key, streamEvent, atOffset);
        if (reply.Value < 0)
        {
            throw await RefusalAsync(key, reply, atOffset);
        }

        return new ConditionalAppend(reply.Value, reply.AlreadyStored);
    }

    // Queued with no await before (a stream's first appends on this node wait for its session's index together): appends
    // made together are committed in the order they were made.
    private Task<AppendReply> SendAsync(StreamKey key, StreamEvent streamEvent, long? atOffset)
    {
        var (prepared, json) = StoredEventJson.Prepare(streamEvent, _options, _time);
        var names = NamesOf(key);
        return _sessions.AfterRecorded(new PendingAppend(key, names, prepared, json, atOffset), CommitGroupOf(names.List).Enqueuing);
    }

    // What a refused append is told, by the script's answer.
    private async Task<StreamException> RefusalAsync(StreamKey key, AppendReply reply, long? atOffset) => reply.Value switch
    {
        AppendReply.Completed => StreamRules.Completed(key),
        AppendReply.Full => StreamRules.Full(key, _options.MaxEvents),
        AppendReply.Deleted => StreamRules.Deleted(key),
        AppendReply.Lapsed => await EndLapsedAsync(key),
        _ => StreamRules.OffsetConflict(key, atOffset ?? 0, reply.ConflictLength),
    };

    // A producer that comes back after its deadline: its stream is ended (by this call, or one that came first), and the
    // producer is told so with the completed-stream code.
    private async Task<StreamException> EndLapsedAsync(StreamKey key)
    {
        await EndIfLostAsync(key);
        return StreamRules.Completed(key);
    }

    /// <inheritdoc />
    public async Task<ProducerLease> HeartbeatAsync(StreamKey key, CancellationToken cancellationToken = default)
    {
        var timeout = _options.LeasesProducers ? (long)_options.ProducerTimeout.TotalMilliseconds : 0;
        var reply = (long[])(await _failures.RunWrite(key, () => Database.ScriptEvaluateAsync(RedisScripts.Heartbeat,
            [_redisOptions.StreamKeyFor(key), _redisOptions.DeletedKeyFor(key), _redisOptions.LeaseKeyFor(key)],
            [timeout, (long)_options.Ttl.TotalMilliseconds])))!;
        return reply[0] switch
        {
            > 0 => new ProducerLease(reply[0], timeout > 0 ? _time.GetUtcNow() + _options.ProducerTimeout : null),
            0 => new ProducerLease(0, null),
            AppendReply.Completed => throw StreamRules.Completed(key),
            AppendReply.Deleted => throw StreamRules.Deleted(key),
            _ => throw await EndLapsedAsync(key),
        };
    }

    // end_lost.lua: ends the stream when its lease lapsed, whichever node asks first; only that node tells ProducerLost.
    private async Task<LeaseCheck> EndIfLostAsync(StreamKey key)
    {
        var lostEvents = ProducerLeases.LostEvents(_options.ProducerTimeout, _time.GetUtcNow());
        var reply = (long[])(await _failures.RunWrite(key, () => Database.ScriptEvaluateAsync(RedisScripts.EndLost,
            [_redisOptions.StreamKeyFor(key), _redisOptions.LeaseKeyFor(key)],
            [(long)_options.Ttl.TotalMilliseconds, _options.MaxEvents, MaxCarriedBytes, _wakeUps.PublishedChannel(key),
             $"{key.SessionId}:{key.MessageId}:", StoredEventJson.Prepare(lostEvents[0], _options, _time).Json,
             StoredEventJson.Prepare(lostEvents[1], _options, _time).Json])))!;
        switch (reply[0])
        {
            case 1:
                ProducerLost?.Invoke(key);
                return LeaseCheck.Ended;
            case 0:
                return new LeaseCheck(LeaseCheckKind.Pending, TimeSpan.FromMilliseconds(reply[1]));
            default:
                return LeaseCheck.None;
        }
    }

    /// <inheritdoc />
    public async Task<StreamPage> ReadAsync(StreamKey key, long fromOffset, int maxCount = int.MaxValue, CancellationToken cancellationToken = default)
    {
        StreamRules.ValidateOffset(fromOffset);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        Metrics.ReadSent();
        var result = await _failures.Run(key, () => Database.ScriptEvaluateAsync(
            RedisScripts.Read,
            [_redisOptions.StreamKeyFor(key), _redisOptions.DeletedKeyFor(key)],
            [fromOffset, Math.Min(maxCount, _options.MaxPageEvents), _options.MaxPageBytes]));

        var parts = (RedisResult[])result!;
        var length = (long)parts[0];
        if (length < 0)
        {
            throw StreamRules.Deleted(key);
        }

        StreamRules.EnsureReadable(key, fromOffset, length);
        if (length > 0)
        {
            _sessions.Seen(key);
        }

        var elements = (RedisResult[])parts[1]!;
        var streamId = (string?)parts[3] is { Length: > 0 } identity ? identity : null;
        var events = new StreamEvent[elements.Length];
        for (var i = 0; i < elements.Length; i++)
        {
            events[i] = StoredEventJson.Decode((byte[])elements[i]!, fromOffset + i, streamId);
        }

        return new StreamPage(events, fromOffset + events.Length, (long)parts[2] == 1)
        {
            ReachedEnd = fromOffset + events.Length == length,
            Length = length,
            StreamId = streamId,
        };
    }

    /// <inheritdoc />
    public Task<SessionPage> ListSessionAsync(string sessionId, string? after, int maxCount, CancellationToken cancellationToken = default) =>
        _sessions.ListAsync(sessionId, after, maxCount, ReadTailAsync);

    /// <inheritdoc />
    public async Task<SessionMessage?> DescribeAsync(StreamKey key, CancellationToken cancellationToken = default) =>
        (await ReadTailAsync(key)).Message;

    // A listing says what is so: a stream whose lease lapsed is ended first, then read again.
    private async Task<TailRead> ReadTailAsync(StreamKey key)
    {
        var (tail, lapsed) = await ReadTailOnceAsync(key);
        if (!lapsed)
        {
            return tail;
        }

        await EndIfLostAsync(key);
        return (await ReadTailOnceAsync(key)).Tail;
    }

    private async Task<(TailRead Tail, bool Lapsed)> ReadTailOnceAsync(StreamKey key)
    {
        Metrics.ReadSent();
        var parts = (RedisResult[])(await _failures.Run(key, () => Database.ScriptEvaluateAsync(
            RedisScripts.Tail, [_redisOptions.StreamKeyFor(key), _redisOptions.DeletedKeyFor(key), _redisOptions.LeaseKeyFor(key)])))!;
        var length = (long)parts[0];
        if (length <= 0)
        {
            return (new TailRead(null, Deleted: length < 0), false);
        }

        _sessions.Seen(key);
        var streamId = (string?)parts[4];
        var first = StoredEventJson.Decode((byte[])parts[1]!, 0, streamId);
        var last = length == 1 ? first : StoredEventJson.Decode((byte[])parts[2]!, length - 1, streamId);
        return (new TailRead(Sessions.SessionListing.Describe(key.MessageId, length, (long)parts[3] == 1, streamId, first, last), Deleted: false),
            (long)parts[5] == 1);
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(StreamKey key, CancellationToken cancellationToken = default)
    {
        var deleted = await DeleteStreamAsync(key);
        if (deleted)
        {
            await _sessions.RemoveAsync(key.SessionId, [key.MessageId]);
        }

        return deleted;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<string>> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        StreamKey.ValidateId(sessionId, "sessionId");
        var messageIds = await _sessions.MessageIdsAsync(sessionId);
        var deleted = new List<string>(messageIds.Length);

        // A few dozen scripts in flight at a time: a session of thousands of messages neither floods Redis nor waits on each.
        foreach (var chunk in messageIds.Chunk(DeleteConcurrency))
        {
            var results = await Task.WhenAll(chunk.Select(id => DeleteStreamAsync(StreamKey.Create(sessionId, id))));
            deleted.AddRange(chunk.Where((_, i) => results[i]));
        }

        await _sessions.RemoveAsync(sessionId, messageIds);
        return deleted;
    }

    /// <summary>How many streams of a session are deleted at once.</summary>
    internal const int DeleteConcurrency = 64;

    // The stream's list goes and its mark stays in one script, which also wakes its readers on every node.
    private async Task<bool> DeleteStreamAsync(StreamKey key)
    {
        _sessions.Forget(key);
        var result = await _failures.RunWrite(key, () => Database.ScriptEvaluateAsync(RedisScripts.Delete,
            [_redisOptions.StreamKeyFor(key), _redisOptions.DeletedKeyFor(key), _redisOptions.LeaseKeyFor(key)],
            [(long)_options.Ttl.TotalMilliseconds, _wakeUps.PublishedChannel(key), $"{key.SessionId}:{key.MessageId}:{WakeUpMessage.GoneMark}"]));
        return (long)result == 1;
    }

    /// <inheritdoc />
    public async Task<IStreamWatch> WatchAsync(StreamKey key, CancellationToken cancellationToken = default)
    {
        // The watch begins at once; it is handed out only once its stream's channel is subscribed, so that every append
        // published from then on reaches it. Disposed on failure: a stream's last watch leaving lets its channel go.
        var watch = _wakeUps.Watches.Open(key);
        try
        {
            await _failures.Run(key, async () =>
            {
                await watch.Stream.Ready;
                return true;
            });
        }
        catch
        {
            watch.Dispose();
            throw;
        }

        _wakeUps.Watched(key);
        return watch;
    }
}
