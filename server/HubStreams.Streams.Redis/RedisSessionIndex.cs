using System.Collections.Concurrent;
using HubStreams.Streams.Sessions;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

/// <summary>
/// Which messages each session holds, in Redis: a sorted set per session (<see cref="RedisStreamOptions.SessionIndexKeyFor"/>)
/// of message ids scored by when each was first recorded. In a Redis Cluster it cannot share its messages' slots, so it
/// is not changed in their scripts; instead it is written <em>before</em> a stream's first append on a node, and a
/// listing reads every message's state from its stream. The index may then name a message whose stream holds nothing
/// (its append never came, it expired, it was deleted and the node died before the index heard): a listing leaves such
/// an entry out, and removes it once it is older than <see cref="SessionListing.EmptyEntryGrace"/> or the stream's mark
/// says it was deleted. A stream the index does not name (one of the original service, or after Redis lost the index)
/// is recorded the first time this node reads or appends it.
/// </summary>
internal sealed class RedisSessionIndex
{
    /// <summary>The most streams a node remembers having recorded; past it, it forgets them all and records again.</summary>
    internal const int MaxRemembered = 100_000;

    private readonly IConnectionMultiplexer _redis;
    private readonly RedisStreamOptions _redisOptions;
    private readonly RedisFailures _failures;
    private readonly TimeProvider _time;
    private readonly TimeSpan _ttl;

    // The streams this node recorded, with when: a record renews the index for two TTLs, so one is good for one TTL.
    private readonly ConcurrentDictionary<StreamKey, long> _recorded = new();
    private readonly ConcurrentDictionary<StreamKey, Task> _recording = new();
    private readonly Dictionary<StreamKey, List<PendingAppend>> _held = [];
    private readonly Lock _holding = new();

    public RedisSessionIndex(IConnectionMultiplexer redis, StreamOptions options, RedisStreamOptions redisOptions, RedisFailures failures, TimeProvider time)
    {
        _redis = redis;
        _redisOptions = redisOptions;
        _failures = failures;
        _time = time;
        _ttl = options.Ttl;

        // A Redis that restarted may have lost the index: record every stream again. Forgotten as soon as the connection
        // fails, and again once it is back, so that no append after the restart goes by an old record.
        redis.ConnectionFailed += (_, _) => _recorded.Clear();
        redis.ConnectionRestored += (_, _) => _recorded.Clear();
    }

    private IDatabase Database => _redis.GetDatabase();

    /// <summary>
    /// Queues <paramref name="append"/> with <paramref name="enqueue"/> once its stream is recorded in its session's index:
    /// at once when this node recorded it within a TTL, else after the record, with every other append of that stream
    /// that came meanwhile, in the order they came. A record that fails fails them (nothing was stored).
    /// </summary>
    public Task<AppendReply> AfterRecorded(PendingAppend append, Func<PendingAppend, Task<AppendReply>> enqueue)
    {
        var key = append.Key;
        if (IsRecorded(key))
        {
            return enqueue(append);
        }

        bool first;
        lock (_holding)
        {
            // Marked recorded only once the held appends are queued, under this lock: none that came later overtakes them.
            if (IsRecorded(key))
            {
                return enqueue(append);
            }

            first = !_held.TryGetValue(key, out var held);
            if (first)
            {
                _held[key] = held = [];
            }

            held!.Add(append);
        }

        if (first)
        {
            _ = ReleaseAfterRecordAsync(key, enqueue);
        }

        return append.Result;
    }

    private async Task ReleaseAfterRecordAsync(StreamKey key, Func<PendingAppend, Task<AppendReply>> enqueue)
    {
        Exception? failure = null;
        try
        {
            await RecordAsync(key);
        }
        catch (Exception e)
        {
            failure = e;
        }

        lock (_holding)
        {
            _held.Remove(key, out var held);
            foreach (var append in held!)
            {
                if (failure is null)
                {
                    _ = enqueue(append);
                }
                else
                {
                    append.Fail(failure);
                }
            }

            if (failure is null)
            {
                Remember(key);
            }
        }
    }

    /// <summary>A read found the stream holding events: records it when this node has not (once at a time, failures left to the next read).</summary>
    public void Seen(StreamKey key)
    {
        if (!IsRecorded(key) && !_recording.ContainsKey(key))
        {
            _ = RecordSeenAsync(key);
        }
    }

    private async Task RecordSeenAsync(StreamKey key)
    {
        try
        {
            await RecordAsync(key);
            Remember(key);
        }
        catch (StreamException)
        {
            // The next read records it.
        }
    }

    /// <summary>This node no longer counts <paramref name="key"/> as recorded (it was deleted).</summary>
    public void Forget(StreamKey key) => _recorded.TryRemove(key, out _);

    // One record of a stream in flight at a time; failures become StoreUnavailable. The record starts only once its
    // task is in the map, and takes it out before it completes: a record that fails at once (Redis away) can never
    // leave its failure in the map for every later append to find.
    private Task RecordAsync(StreamKey key)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var recording = _recording.GetOrAdd(key, mine.Task);
        if (recording == mine.Task)
        {
            _ = RecordOnceAsync(key, mine);
        }

        return recording;
    }

    private async Task RecordOnceAsync(StreamKey key, TaskCompletionSource done)
    {
        Exception? failure = null;
        try
        {
            await _failures.RunWrite(key, () => Database.ScriptEvaluateAsync(RedisScripts.Index,
                [_redisOptions.SessionIndexKeyFor(key.SessionId)],
                [key.MessageId, _time.GetUtcNow().ToUnixTimeMilliseconds(), (long)(2 * _ttl.TotalMilliseconds)]));
        }
        catch (Exception e)
        {
            failure = e;
        }

        _recording.TryRemove(new KeyValuePair<StreamKey, Task>(key, done.Task));
        if (failure is null)
        {
            done.SetResult();
        }
        else
        {
            done.SetException(failure);
        }
    }

    private bool IsRecorded(StreamKey key) =>
        _recorded.TryGetValue(key, out var at) && _time.GetTimestamp() - at < _ttl.TotalSeconds * _time.TimestampFrequency;

    private void Remember(StreamKey key)
    {
        if (_recorded.Count >= MaxRemembered)
        {
            _recorded.Clear();
        }

        _recorded[key] = _time.GetTimestamp();
    }

    /// <summary>A page of the session's messages (see <see cref="IStreamManager.ListSessionAsync"/>).</summary>
    public async Task<SessionPage> ListAsync(
        string sessionId, string? after, int maxCount, Func<StreamKey, Task<TailRead>> readTail)
    {
        var count = SessionListing.Validate(sessionId, maxCount);
        var cursor = SessionListing.ParseCursor(after);
        var indexKey = (RedisKey)_redisOptions.SessionIndexKeyFor(sessionId);
        var messages = new List<SessionMessage>(count);
        var stale = new List<RedisValue>();
        var staleBefore = _time.GetUtcNow() - SessionListing.EmptyEntryGrace;
        var lastOrder = 0L;
        string? next = null;
        var start = await StartOfAsync(indexKey, cursor);
        var take = count + 1;
        while (next is null)
        {
            var from = start;
            var entries = await _failures.Run(null, () => Database.SortedSetRangeByRankWithScoresAsync(indexKey, from, from + take - 1));
            start += entries.Length;
            var candidates = entries
                .Select(entry => (Order: (long)entry.Score, MessageId: (string)entry.Element!))
                .Where(entry => StreamKey.IsValidId(entry.MessageId) && SessionListing.IsAfter(entry.Order, entry.MessageId, cursor))
                .ToArray();

            // One tail read per candidate, all sent at once (in a cluster, each to its stream's shard).
            var tails = await Task.WhenAll(candidates.Select(c => readTail(StreamKey.Create(sessionId, c.MessageId))));
            for (var i = 0; i < candidates.Length; i++)
            {
                if (messages.Count == count)
                {
                    next = SessionListing.Cursor(lastOrder, messages[^1].MessageId);
                    break;
                }

                var (order, messageId) = candidates[i];
                switch (tails[i])
                {
                    case { Message: { } message }:
                        messages.Add(message);
                        lastOrder = order;
                        break;
                    case { Deleted: true }:
                        stale.Add(messageId);
                        break;
                    case { Deleted: false } when DateTimeOffset.FromUnixTimeMilliseconds(order) < staleBefore:
                        stale.Add(messageId);
                        break;
                }
            }

            if (entries.Length < take)
            {
                break;
            }
        }

        if (stale.Count > 0)
        {
            // The repair: entries whose stream is gone for good.
            await _failures.Run(null, () => Database.SortedSetRemoveAsync(indexKey, [.. stale]));
        }

        return new SessionPage(messages, next);
    }

    // Where a page after the cursor starts, by rank: just after the cursor's entry when it is still there, else at the
    // first entry of its score (the ones of that score before it are then skipped by their ids).
    private async Task<long> StartOfAsync(RedisKey indexKey, (long Order, string MessageId)? cursor)
    {
        if (cursor is not { } after)
        {
            return 0;
        }

        var rank = await _failures.Run(null, () => Database.SortedSetRankAsync(indexKey, after.MessageId));
        if (rank is { } found && await _failures.Run(null, () => Database.SortedSetScoreAsync(indexKey, after.MessageId)) == after.Order)
        {
            return found + 1;
        }

        return await _failures.Run(null, () => Database.SortedSetLengthAsync(indexKey, double.NegativeInfinity, after.Order, Exclude.Stop));
    }

    /// <summary>Every message id the session's index names.</summary>
    public async Task<string[]> MessageIdsAsync(string sessionId)
    {
        var members = await _failures.Run(null, () => Database.SortedSetRangeByRankAsync(_redisOptions.SessionIndexKeyFor(sessionId)));
        return [.. members.Select(m => (string)m!).Where(StreamKey.IsValidId)];
    }

    /// <summary>Takes the deleted streams' ids out of the session's index.</summary>
    public Task RemoveAsync(string sessionId, IReadOnlyCollection<string> messageIds) => messageIds.Count == 0
        ? Task.CompletedTask
        : _failures.Run(null, () => Database.SortedSetRemoveAsync(_redisOptions.SessionIndexKeyFor(sessionId), [.. messageIds.Select(id => (RedisValue)id)]));
}

/// <summary>What a tail read found: the message as listed, or that its stream was deleted, or neither (it holds nothing).</summary>
internal readonly record struct TailRead(SessionMessage? Message, bool Deleted);
