using System.Collections.Concurrent;

namespace HubStreams.Streams.Waiting;

/// <summary>
/// The readers of this process that wait for streams to grow, grouped by stream. A store wakes them
/// when it learns of an append (directly in memory mode, through a notification in Redis mode).
/// A waiter is released as soon as it is woken or its wait is cancelled.
/// </summary>
internal sealed class StreamWaiters
{
    private readonly ConcurrentDictionary<StreamKey, Group> _groups = new();
    private int _liveCount;

    /// <summary>The number of registered waiters.</summary>
    public int LiveCount => Volatile.Read(ref _liveCount);

    /// <summary>The streams that have at least one waiter.</summary>
    public ICollection<StreamKey> WaitedStreams => _groups.Keys;

    /// <summary>
    /// Registers a waiter for <paramref name="key"/> that wants the event at <paramref name="offset"/>.
    /// Register first, then check the store: an append after the check is then sure to wake it.
    /// </summary>
    public Waiter Register(StreamKey key, long offset)
    {
        var waiter = new Waiter(this, key, offset);
        while (true)
        {
            var group = _groups.GetOrAdd(key, static _ => new Group());
            lock (group)
            {
                if (group.Removed)
                {
                    continue;
                }

                group.Members.Add(waiter);
            }

            Interlocked.Increment(ref _liveCount);
            return waiter;
        }
    }

    /// <summary>The stream now holds <paramref name="length"/> events: wakes every waiter that wants an offset below it.</summary>
    public void NotifyLength(StreamKey key, long length) => Wake(key, w => w.Offset < length);

    /// <summary>
    /// The store reports <paramref name="length"/> events, from a safety-net check: wakes every waiter for which
    /// that differs from what it knows (the stream grew, or it expired and shrank).
    /// </summary>
    public void Reconcile(StreamKey key, long length) => Wake(key, w => w.Offset != length);

    /// <summary>Wakes every waiter of one stream, for example when it expired.</summary>
    public void WakeStream(StreamKey key) => Wake(key, static _ => true);

    /// <summary>Wakes every waiter of every stream, for example after the notification channel reconnected.</summary>
    public void WakeAll()
    {
        foreach (var key in _groups.Keys)
        {
            WakeStream(key);
        }
    }

    /// <summary>The smallest offset wanted by a waiter of <paramref name="key"/>, or null when none waits.</summary>
    public long? LowestWantedOffset(StreamKey key)
    {
        if (!_groups.TryGetValue(key, out var group))
        {
            return null;
        }

        lock (group)
        {
            return group.Members.Count == 0 ? null : group.Members.Min(w => w.Offset);
        }
    }

    private void Wake(StreamKey key, Func<Waiter, bool> shouldWake)
    {
        if (!_groups.TryGetValue(key, out var group))
        {
            return;
        }

        List<Waiter>? woken = null;
        lock (group)
        {
            foreach (var waiter in group.Members)
            {
                if (shouldWake(waiter))
                {
                    (woken ??= []).Add(waiter);
                }
            }
        }

        if (woken is null)
        {
            return;
        }

        foreach (var waiter in woken)
        {
            waiter.Signal();
        }

        StreamMetrics.WakeUps.Add(woken.Count);
    }

    private void Remove(Waiter waiter)
    {
        if (!_groups.TryGetValue(waiter.Key, out var group))
        {
            return;
        }

        lock (group)
        {
            if (!group.Members.Remove(waiter))
            {
                return;
            }

            if (group.Members.Count == 0)
            {
                group.Removed = true;
                _groups.TryRemove(new KeyValuePair<StreamKey, Group>(waiter.Key, group));
            }
        }

        Interlocked.Decrement(ref _liveCount);
    }

    private sealed class Group
    {
        public HashSet<Waiter> Members { get; } = [];
        public bool Removed { get; set; }
    }

    /// <summary>One reader's wait. Dispose it when the wait ends, woken or not.</summary>
    public sealed class Waiter(StreamWaiters owner, StreamKey key, long offset) : IDisposable
    {
        private readonly TaskCompletionSource _woken = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public StreamKey Key { get; } = key;

        public long Offset { get; } = offset;

        /// <summary>Completes when the waiter is woken.</summary>
        public Task Woken => _woken.Task;

        public void Signal() => _woken.TrySetResult();

        public void Dispose() => owner.Remove(this);
    }
}
