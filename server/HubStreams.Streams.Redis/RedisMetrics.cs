namespace HubStreams.Streams.Redis;

/// <summary>
/// The Redis store's instruments, on the <c>HubStreams</c> meter beside the store-independent ones: its wake-ups, safety
/// net, subscriptions, script calls, reads and failures. Each counter is also readable here, as a running total.
/// </summary>
public sealed class RedisMetrics
{
    private long _wakeUpsReceived;
    private long _safetyNetChecks;
    private long _errors;
    private long _appendCalls;
    private long _appendsCommitted;
    private long _reads;
    private long _subscriptionBatches;
    private Func<int> _subscribedChannels = static () => 0;

    /// <summary>Adds the instruments to <paramref name="streams"/>' meter.</summary>
    public RedisMetrics(StreamMetrics streams)
    {
        ArgumentNullException.ThrowIfNull(streams);
        var meter = streams.Meter;
        meter.CreateObservableCounter("hubstreams.wakeups.received", () => WakeUpsReceived,
            "{notification}", "Wake-up notifications this node received from Redis: only for the streams its readers follow (redis mode)");
        meter.CreateObservableCounter("hubstreams.safety_net.checks", () => SafetyNetChecks,
            "{check}", "Safety-net passes for lost wake-ups (redis mode)");
        meter.CreateObservableCounter("hubstreams.redis.errors", () => Errors,
            "{error}", "Redis operations that failed because Redis could not be reached in time");
        meter.CreateObservableCounter("hubstreams.redis.append_calls", () => AppendCalls,
            "{call}", "Append script calls to Redis: each stores the appends that queued while the previous one was in flight (redis mode)");
        meter.CreateObservableCounter("hubstreams.redis.reads", () => Reads,
            "{read}", "Page reads sent to Redis: readers that the node's held events or a shared read could not serve (redis mode)");
        meter.CreateObservableUpDownCounter("hubstreams.redis.wakeup_channels", () => SubscribedChannels,
            "{channel}", "Wake-up channels this node is subscribed to: one per stream its readers follow (redis mode)");
    }

    /// <summary>How many wake-up notifications arrived.</summary>
    public long WakeUpsReceived => Volatile.Read(ref _wakeUpsReceived);

    /// <summary>How many safety-net passes ran; each costs one <c>LLEN</c> per watched stream.</summary>
    public long SafetyNetChecks => Volatile.Read(ref _safetyNetChecks);

    /// <summary>How many Redis operations failed for want of Redis.</summary>
    public long Errors => Volatile.Read(ref _errors);

    /// <summary>How many append script calls went to Redis.</summary>
    public long AppendCalls => Volatile.Read(ref _appendCalls);

    /// <summary>How many appends those calls carried: over <see cref="AppendCalls"/>, the mean batch size.</summary>
    public long AppendsCommitted => Volatile.Read(ref _appendsCommitted);

    /// <summary>How many page reads went to Redis.</summary>
    public long Reads => Volatile.Read(ref _reads);

    /// <summary>How many batches of subscribe and unsubscribe commands were sent.</summary>
    public long SubscriptionBatches => Volatile.Read(ref _subscriptionBatches);

    /// <summary>How many wake-up channels are subscribed now.</summary>
    public int SubscribedChannels => _subscribedChannels();

    internal void WakeUpReceived() => Interlocked.Increment(ref _wakeUpsReceived);

    internal void SafetyNetChecked() => Interlocked.Increment(ref _safetyNetChecks);

    internal void Failed() => Interlocked.Increment(ref _errors);

    internal void BatchCommitted(int appends)
    {
        Interlocked.Increment(ref _appendCalls);
        Interlocked.Add(ref _appendsCommitted, appends);
    }

    internal void ReadSent() => Interlocked.Increment(ref _reads);

    internal void SubscriptionBatchSent() => Interlocked.Increment(ref _subscriptionBatches);

    internal void ObserveSubscribedChannels(Func<int> count) => _subscribedChannels = count;
}
