using System.Diagnostics;
using System.Globalization;
using StackExchange.Redis;

namespace HubStreams.Streams.Redis;

// How appends reach Redis: the commit group of each, one script call per batch, the events handed to this node's own
// readers, and the replicas' acknowledgement when REDIS_WAIT_REPLICAS asks for it.
public sealed partial class RedisStreamManager
{
    // One commit group for a single Redis; one per slot in a cluster, where a script may only touch the keys of one slot.
    // Until a server has answered, whether it is a cluster is not known: a group per slot is right for both.
    private AppendGroupCommit CommitGroupOf(string redisKey)
    {
        if (_clustered is null && _redis.GetServers() is var servers && servers.Any(server => server.IsConnected))
        {
            _clustered = servers.Any(server => server.ServerType == ServerType.Cluster);
        }

        var group = _clustered == false ? 0 : _redis.HashSlot(redisKey);
        return _commitGroups.GetOrAdd(group, static (_, manager) => new AppendGroupCommit(
            manager.CommitAsync, MaxCallsInFlight, MaxBatch, MaxBatchBytes), this);
    }

    /// <summary>
    /// The most append script calls of one commit group in flight at once. One would leave Redis idle while each answer
    /// travels back; measured on two cores, 1, 2, 4 and 8 gave 36k, 43k, 48k and 43k appends/s with 64 producers.
    /// </summary>
    internal const int MaxCallsInFlight = 4;

    /// <summary>The most appends one script call stores.</summary>
    internal const int MaxBatch = 256;

    /// <summary>The most bytes of events one script call stores (a single larger event still goes alone).</summary>
    internal const int MaxBatchBytes = 1024 * 1024;

    /// <summary>The most bytes of events a wake-up carries; more, and readers read them from the stream.</summary>
    internal const int MaxCarriedBytes = 16 * 1024;

    // One script call for the whole batch: every event under the rules it would meet alone, in arrival order. The call
    // is sent before the first await (the group commit sends its batches in order). Arguments as append.lua names them.
    private async Task CommitAsync(List<PendingAppend> batch)
    {
        // Each append's stream, numbered from 1 in the order the streams first come; the arrays sized once.
        var streamOf = new int[batch.Count];
        var streams = new List<PendingAppend>(1);
        Dictionary<string, int>? numbers = batch.Count > 1 ? new(StringComparer.Ordinal) : null;
        for (var i = 0; i < batch.Count; i++)
        {
            if (numbers is null)
            {
                streams.Add(batch[i]);
                streamOf[i] = 1;
            }
            else if (numbers.TryAdd(batch[i].Names.List, streams.Count + 1))
            {
                streams.Add(batch[i]);
                streamOf[i] = streams.Count;
            }
            else
            {
                streamOf[i] = numbers[batch[i].Names.List];
            }
        }

        var keys = new RedisKey[3 * streams.Count];
        var arguments = new RedisValue[4 + 2 * streams.Count + 5 * batch.Count];
        arguments[0] = (long)_options.Ttl.TotalMilliseconds;
        arguments[1] = _options.MaxEvents;
        arguments[2] = MaxCarriedBytes;
        arguments[3] = _options.LeasesProducers ? (long)_options.ProducerTimeout.TotalMilliseconds : 0;
        var next = 4;
        for (var s = 0; s < streams.Count; s++)
        {
            var names = streams[s].Names;
            keys[3 * s] = names.List;
            keys[3 * s + 1] = names.Deleted;
            keys[3 * s + 2] = names.Lease;
            arguments[next++] = names.Channel;
            arguments[next++] = names.WakePrefix;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            var append = batch[i];
            arguments[next++] = streamOf[i];
            arguments[next++] = append.Json;
            arguments[next++] = append.IsComplete ? "1" : "0";
            arguments[next++] = append.AtOffset?.ToString(CultureInfo.InvariantCulture) ?? "";
            arguments[next++] = append.Id ?? "";
        }

        using var span = StartCommitSpan(batch);
        long[] results;
        long[] alreadyStored;
        string[] identities;
        try
        {
            var database = _replicated?.Connection.GetDatabase() ?? Database;
            var call = _failures.RunWrite(batch[0].Key, () => database.ScriptEvaluateAsync(RedisScripts.Append, keys, arguments));
            if (call.IsCompleted)
            {
                // Answered before this returned to the group commit, which sends under its lock: the readers and the
                // appends' callers that run on this thread below must not run under it.
                await Task.Yield();
            }

            var reply = (RedisResult[])(await call)!;
            results = (long[])reply[0]!;
            alreadyStored = (long[])reply[1]!;
            identities = (string[])reply[2]!;
            Metrics.BatchCommitted(batch.Count);
        }
        catch (StreamException e)
        {
            span?.SetStatus(ActivityStatusCode.Error, e.Code.ToString());
            batch.ForEach(append => append.Fail(e));
            return;
        }

        StreamException? unreplicated = null;
        if (_replicated is { } replicated && results.Any(r => r >= 0))
        {
            unreplicated = await EnsureReplicatedAsync(batch[0].Key, replicated);
        }

        // The commit ends here: what follows runs the node's readers and the appends' callers on this thread.
        span?.Dispose();
        if (unreplicated is null)
        {
            HandToLocalReaders(batch, streamOf, results, alreadyStored, identities);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (results[i] >= 0 && unreplicated is not null)
            {
                batch[i].Fail(unreplicated);
            }
            else
            {
                batch[i].Succeed(new AppendReply(results[i], Array.IndexOf(alreadyStored, i + 1L) >= 0));
            }
        }
    }

    // The events this call stored go to this node's own readers of their streams at once, as a wake-up would bring them
    // (their offsets and their stream's identity from the script's answer), without depending on the wake-up's trip
    // through Redis: in a chat farm the producer usually runs beside its reader. The wake-up still reaches every node,
    // this one too; whichever of the two comes second finds the events held already (offsets make a second notice
    // harmless) and costs nothing more. Only events whose wake-up carried them are handed over: the identity comes with
    // those.
    private void HandToLocalReaders(List<PendingAppend> batch, int[] streamOf, long[] results, long[] alreadyStored, string[] identities)
    {
        // From the end: each stream's last append that this call stored comes first, and says the stream's new length.
        Span<bool> seen = stackalloc bool[identities.Length + 1];
        for (var last = batch.Count - 1; last >= 0; last--)
        {
            var stream = streamOf[last];
            if (seen[stream] || !IsStoredNow(last, results, alreadyStored))
            {
                continue;
            }

            seen[stream] = true;
            var identity = identities[stream - 1];
            var length = results[last] + 1;
            if (identity.Length == 0 || Watches.Find(batch[last].Key) is not { } watched || watched.Holds(length, identity))
            {
                continue;
            }

            var events = new List<StreamEvent>();
            for (var i = 0; i <= last; i++)
            {
                if (streamOf[i] == stream && IsStoredNow(i, results, alreadyStored))
                {
                    events.Add(batch[i].Event with { Offset = results[i], StreamId = identity });
                }
            }

            Watches.Heard(batch[last].Key, length, new StreamPage(events, length, events[^1].IsComplete)
            {
                ReachedEnd = true,
                Length = length,
                StreamId = identity,
            });
        }
    }

    // Whether the script stored the batch's append at this index now (not refused, not found stored by an earlier try).
    private static bool IsStoredNow(int index, long[] results, long[] alreadyStored) =>
        results[index] >= 0 && Array.IndexOf(alreadyStored, index + 1L) < 0;

    /// <summary>The most streams whose Redis names a node keeps made (it forgets them all past this, and makes them again).</summary>
    private const int MaxNamesKept = 4096;

    // A stream's Redis names, made once for the appends of a stream being written rather than for each of them.
    private StreamNames NamesOf(StreamKey key)
    {
        if (_names.TryGetValue(key, out var names))
        {
            return names;
        }

        if (_names.Count >= MaxNamesKept)
        {
            _names.Clear();
        }

        names = new StreamNames(_redisOptions.StreamKeyFor(key), _redisOptions.DeletedKeyFor(key), _redisOptions.LeaseKeyFor(key),
            _wakeUps.PublishedChannel(key), $"{key.SessionId}:{key.MessageId}:");
        _names[key] = names;
        return names;
    }

    // A commit is no one append's child: a span of its own, linked to the append span of every event it carries.
    private static Activity? StartCommitSpan(List<PendingAppend> batch)
    {
        if (!HubStreamsTracing.Source.HasListeners())
        {
            return null;
        }

        Activity.Current = null;
        var links = batch.Where(a => a.Caller != default).Select(a => new ActivityLink(a.Caller));
        var span = HubStreamsTracing.Source.StartActivity("hubstreams.redis.commit", ActivityKind.Client, default(ActivityContext), links: links);
        span?.SetTag("db.system.name", "redis");
        span?.SetTag("hubstreams.batch_size", batch.Count);
        return span;
    }

    // WAIT on the connection the appends went over: it returns once that many replicas acknowledged every write sent on
    // it so far (this batch included), or at the timeout with how many did. One WAIT answers for the whole batch: the
    // error its stored events get when too few replicas confirmed them, or null.
    private async Task<StreamException?> EnsureReplicatedAsync(StreamKey key, ReplicatedAppends replicated)
    {
        try
        {
            var server = replicated.Connection.GetServer((RedisKey)NamesOf(key).List);
            var acknowledged = (long)await _failures.Run(key, () => server.ExecuteAsync("WAIT", replicated.Replicas, (long)replicated.Timeout.TotalMilliseconds));
            if (acknowledged >= replicated.Replicas)
            {
                return null;
            }

            Metrics.Failed();
            return new StreamException(StreamErrorCode.StoreUnavailable,
                $"The event reached the Redis primary, but {acknowledged} of the {replicated.Replicas} replica(s) REDIS_WAIT_REPLICAS asks for " +
                $"confirmed it within {replicated.Timeout.TotalMilliseconds:F0} ms. Retry it with the same offset and id.");
        }
        catch (StreamException e)
        {
            return e;
        }
    }
}
