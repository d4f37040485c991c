using System.Diagnostics;

namespace HubStreams.Streams.Redis;

/// <summary>One append waiting for its group commit: its stream, its stored JSON, its conditions, and who waits for its result.</summary>
/// <remarks>
/// Its caller's continuation runs where the result is set: a commit's answer runs each of its appends' callers (the hub
/// invocation that made it, say) on the thread that read the answer, one after the other, instead of queueing a work item
/// for each. A failure is handed to the thread pool instead, since it may be set under the group commit's lock.
/// </remarks>
internal sealed class PendingAppend(StreamKey key, StreamNames names, StreamEvent streamEvent, byte[] json, long? atOffset)
{
    private readonly TaskCompletionSource<AppendReply> _result = new();

    public StreamKey Key { get; } = key;

    /// <summary>Its stream's names in Redis.</summary>
    public StreamNames Names { get; } = names;

    public string RedisKey => Names.List;

    /// <summary>The event as stored (stamped), without its offset and stream identity.</summary>
    public StreamEvent Event { get; } = streamEvent;

    public byte[] Json { get; } = json;

    public bool IsComplete => Event.IsComplete;

    public long? AtOffset { get; } = atOffset;

    public string? Id => Event.Id;

    /// <summary>The span that appends it (its producer's append), when one is recorded: the commit that carries it links to it.</summary>
    public ActivityContext Caller { get; } = Activity.Current?.Context ?? default;

    /// <summary>What the script answered for this event.</summary>
    public Task<AppendReply> Result => _result.Task;

    /// <summary>Answers the append; its caller continues on this thread, which must hold no lock.</summary>
    public void Succeed(AppendReply reply) => _result.TrySetResult(reply);

    /// <summary>Fails the append; its caller continues on the thread pool.</summary>
    public void Fail(Exception error) =>
        ThreadPool.UnsafeQueueUserWorkItem(static state => state.Append._result.TrySetException(state.Error), (Append: this, Error: error), preferLocal: false);
}

/// <summary>What the append script names a stream by: its list, its deletion mark, its lease, its wake-up channel and message prefix.</summary>
internal sealed record StreamNames(string List, string Deleted, string Lease, string Channel, string WakePrefix);

/// <summary>
/// Group commit of the appends to one commit group (all of one Redis, or one slot of a cluster): at most
/// <c>maxInFlight</c> calls are in flight, and the appends that arrive while they all are queue and go together in
/// the next call. An append that finds a call free is sent at once, so a quiet node adds no wait; a busy one sends
/// fewer, larger calls. Batches are taken and sent under one lock, in arrival order, and the calls of a group go over
/// one connection to one server, which runs them in the order sent: appends to a stream are stored in the order they
/// were queued.
/// </summary>
/// <param name="send">Sends a batch's call before it returns (so that calls go out in the order taken) and answers every append of it.</param>
/// <param name="maxInFlight">The most calls in flight at once.</param>
/// <param name="maxBatch">The most appends in one call.</param>
/// <param name="maxBatchBytes">The most bytes of events in one call (a single larger event still goes, alone).</param>
internal sealed class AppendGroupCommit(Func<List<PendingAppend>, Task> send, int maxInFlight, int maxBatch, int maxBatchBytes)
{
    private readonly Lock _lock = new();
    private readonly Lock _sending = new();
    private List<PendingAppend> _queued = [];
    private int _inFlight;

    /// <summary><see cref="Enqueue"/> as a delegate, made once rather than for each append.</summary>
    public Func<PendingAppend, Task<AppendReply>> Enqueuing => field ??= Enqueue;

    /// <summary>Queues <paramref name="append"/>; when a call is free, sends it (and whatever joins it) now.</summary>
    public Task<AppendReply> Enqueue(PendingAppend append)
    {
        lock (_lock)
        {
            _queued.Add(append);
            if (_inFlight == maxInFlight)
            {
                return append.Result;
            }

            _inFlight++;
        }

        _ = CommitQueuedAsync();
        return append.Result;
    }

    private async Task CommitQueuedAsync()
    {
        while (true)
        {
            List<PendingAppend>? batch;
            Task sent;
            lock (_sending)
            {
                batch = TakeBatch();
                if (batch is null)
                {
                    return;
                }

                sent = SendAsync(batch);
            }

            try
            {
                await sent;
            }
            catch (Exception e)
            {
                // send answers every append of its batch; whatever escapes it still must not strand one.
                batch.ForEach(append => append.Fail(e));
            }
        }
    }

    private Task SendAsync(List<PendingAppend> batch)
    {
        try
        {
            return send(batch);
        }
        catch (Exception e)
        {
            return Task.FromException(e);
        }
    }

    // The queued appends, up to the batch limits, in arrival order; null (and one call fewer in flight) when none wait.
    private List<PendingAppend>? TakeBatch()
    {
        lock (_lock)
        {
            if (_queued.Count == 0)
            {
                _inFlight--;
                return null;
            }

            var count = 0;
            var bytes = 0;
            while (count < _queued.Count && count < maxBatch && (count == 0 || bytes + _queued[count].Json.Length <= maxBatchBytes))
            {
                bytes += _queued[count].Json.Length;
                count++;
            }

            if (count == _queued.Count)
            {
                (var batch, _queued) = (_queued, []);
                return batch;
            }

            var taken = _queued.GetRange(0, count);
            _queued.RemoveRange(0, count);
            return taken;
        }
    }
}
