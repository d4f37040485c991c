namespace HubStreams.Streams.Redis;

/// <summary>
/// The wake-up channels this process listens to: one per stream that has a watcher here. A stream's channel is
/// subscribed when its first watcher arrives and unsubscribed when its last one leaves; the watchers themselves are
/// counted by the stream's <see cref="Watching.WatchedStream"/>, which says only when it wants the channel and when it
/// no longer does. One worker sends the changes
/// in batches: everything asked for while a batch is on the wire goes out together in the next one, pipelined, so a
/// burst of new streams costs one round trip, not one each. A watcher begins only once its stream's subscription is
/// confirmed, so no append made after that can go unheard.
/// </summary>
internal sealed class WakeUpSubscriptions : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<StreamKey, Entry> _entries = [];
    private readonly HashSet<StreamKey> _pending = [];
    private readonly SemaphoreSlim _work = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Func<StreamKey, Task> _subscribe;
    private readonly Func<StreamKey, Task> _unsubscribe;
    private readonly Task _worker;

    /// <param name="subscribe">Subscribes to one stream's channel; completes when Redis confirmed it.</param>
    /// <param name="unsubscribe">Unsubscribes from one stream's channel.</param>
    /// <param name="metrics">Where the batches and the channels subscribed are counted.</param>
    public WakeUpSubscriptions(Func<StreamKey, Task> subscribe, Func<StreamKey, Task> unsubscribe, RedisMetrics metrics)
    {
        _metrics = metrics;
        metrics.ObserveSubscribedChannels(() => Subscribed().Length);
        _subscribe = subscribe;
        _unsubscribe = unsubscribe;
        _worker = Task.Run(RunAsync);
    }

    /// <summary>The streams whose channel is subscribed now.</summary>
    public StreamKey[] Subscribed()
    {
        lock (_lock)
        {
            return [.. _entries.Where(e => e.Value.State == State.Subscribed).Select(e => e.Key)];
        }
    }

    private readonly RedisMetrics _metrics;

    /// <summary>
    /// <paramref name="key"/> has watchers here: completes once its channel is subscribed, or fails as the subscribe
    /// failed (asking again tries again).
    /// </summary>
    public Task WantAsync(StreamKey key)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(key, out var entry))
            {
                _entries[key] = entry = new Entry();
            }

            entry.Wanted = true;
            if (entry.State == State.Subscribed)
            {
                return Task.CompletedTask;
            }

            entry.Ready ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Schedule(key);
            return entry.Ready.Task;
        }
    }

    /// <summary>
    /// Subscribes again, in the worker's next batch, to every channel for which <paramref name="stranded"/> says yes
    /// (its subscription sits on a connection that is gone, as after a cluster failover); calls
    /// <paramref name="resubscribed"/> for each one done, so its watchers read what they may have missed.
    /// </summary>
    public void Resubscribe(Func<StreamKey, bool> stranded, Action<StreamKey> resubscribed)
    {
        lock (_lock)
        {
            _repair = (stranded, resubscribed);
            if (_pending.Count == 0)
            {
                _work.Release();
            }
        }
    }

    private (Func<StreamKey, bool> Stranded, Action<StreamKey> Resubscribed)? _repair;

    /// <summary><paramref name="key"/>'s last watcher here left: its channel is unsubscribed.</summary>
    public void Drop(StreamKey key)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var entry) && entry.Wanted)
            {
                entry.Wanted = false;
                Schedule(key);
            }
        }
    }

    /// <summary>Stops the worker and unsubscribes from every channel still subscribed.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _worker;
        StreamKey[] subscribed;
        lock (_lock)
        {
            subscribed = [.. _entries.Where(e => e.Value.State is State.Subscribed or State.Subscribing).Select(e => e.Key)];
        }

        // Failures are the connection going away with the process: nothing left to release then.
        await Task.WhenAll(subscribed.Select(key => Outcome(_unsubscribe(key))));
        _stopping.Dispose();
        _work.Dispose();
    }

    // Under the lock.
    private void Schedule(StreamKey key)
    {
        if (_pending.Add(key) && _pending.Count == 1)
        {
            _work.Release();
        }
    }

    private async Task RunAsync()
    {
        try
        {
            while (true)
            {
                await _work.WaitAsync(_stopping.Token);
                await SendBatchAsync();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Disposed.
        }
    }

    private async Task SendBatchAsync()
    {
        await RepairAsync();
        var changes = new List<(StreamKey Key, bool Subscribe)>();
        lock (_lock)
        {
            foreach (var key in _pending)
            {
                var entry = _entries[key];
                switch (entry.State)
                {
                    case State.Unsubscribed when entry.Wanted:
                        entry.State = State.Subscribing;
                        changes.Add((key, true));
                        break;
                    case State.Subscribed when !entry.Wanted:
                        // From now on a new watcher waits for a fresh subscribe, after this unsubscribe.
                        entry.State = State.Unsubscribing;
                        changes.Add((key, false));
                        break;
                    case State.Unsubscribed:
                        _entries.Remove(key);
                        break;
                    default:
                        // A change on the wire: its completion looks at the key again.
                        break;
                }
            }

            _pending.Clear();
        }

        if (changes.Count == 0)
        {
            return;
        }

        _metrics.SubscriptionBatchSent();
        var sent = changes.Select(c => Outcome(c.Subscribe ? _subscribe(c.Key) : _unsubscribe(c.Key))).ToArray();
        var outcomes = await Task.WhenAll(sent);
        lock (_lock)
        {
            for (var i = 0; i < changes.Count; i++)
            {
                var (key, subscribed) = changes[i];
                var entry = _entries[key];
                var error = outcomes[i];
                if (!subscribed)
                {
                    // Gone either way: a failed unsubscribe went with its connection. Watchers that came meanwhile
                    // wait on a fresh subscribe; with none, the entry goes.
                    entry.State = State.Unsubscribed;
                    Schedule(key);
                }
                else if (error is null)
                {
                    entry.State = State.Subscribed;
                    (entry.Ready, var ready) = (null, entry.Ready);
                    ready?.TrySetResult();
                    if (!entry.Wanted)
                    {
                        Schedule(key);
                    }
                }
                else
                {
                    // Its watchers learn why, and the last one's leaving schedules the entry's removal.
                    entry.State = State.Unsubscribed;
                    (entry.Ready, var ready) = (null, entry.Ready);
                    ready?.TrySetException(error);
                }
            }
        }
    }

    // In the worker, so no other change of these channels is on the wire meanwhile.
    private async Task RepairAsync()
    {
        StreamKey[] subscribed;
        (Func<StreamKey, bool> Stranded, Action<StreamKey> Resubscribed) repair;
        lock (_lock)
        {
            if (_repair is not { } requested)
            {
                return;
            }

            (repair, _repair) = (requested, null);
            subscribed = [.. _entries.Where(e => e.Value.State == State.Subscribed).Select(e => e.Key)];
        }

        var stranded = subscribed.Where(repair.Stranded).ToArray();
        if (stranded.Length == 0)
        {
            return;
        }

        _metrics.SubscriptionBatchSent();
        var outcomes = await Task.WhenAll(stranded.Select(key => Outcome(ResubscribeAsync(key))));
        for (var i = 0; i < stranded.Length; i++)
        {
            if (outcomes[i] is null)
            {
                repair.Resubscribed(stranded[i]);
            }
        }
    }

    private async Task ResubscribeAsync(StreamKey key)
    {
        await _unsubscribe(key);
        await _subscribe(key);
    }

    private static async Task<Exception?> Outcome(Task change)
    {
        try
        {
            await change;
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private enum State
    {
        Unsubscribed,
        Subscribing,
        Subscribed,
        Unsubscribing,
    }

    private sealed class Entry
    {
        /// <summary>Whether the stream has watchers here.</summary>
        public bool Wanted { get; set; }

        public State State { get; set; }

        /// <summary>Completes when the next subscribe of this stream is confirmed; null while none is awaited.</summary>
        public TaskCompletionSource? Ready { get; set; }
    }
}
