using System.Diagnostics.Metrics;

namespace HubStreams.Streams;

/// <summary>
/// The <c>HubStreams</c> meter, created through the host's <see cref="IMeterFactory"/>. Exported in Prometheus form
/// at <c>/metrics</c>, where dots become underscores and counters end in <c>_total</c>
/// (<c>hubstreams_events_appended_total</c>). Counters and gauges are observed from running totals, so every one of
/// them is exported from start-up, at 0 until something happens.
/// </summary>
public sealed class StreamMetrics
{
    /// <summary>The meter's name, for exporters.</summary>
    public const string MeterName = "HubStreams";

    /// <summary>Bucket edges of the seconds histograms: 100 µs to 10 s, so that both a memory append and a slow Redis show.</summary>
    public static readonly IReadOnlyList<double> SecondsBuckets =
        [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    private readonly Histogram<double> _appendDuration;
    private readonly Histogram<double> _deliveryLag;
    private long _appended;
    private long _delivered;
    private long _activeSubscriptions;
    private long _wakeUps;
    private long _producersLost;
    private long _hubConnections;

    /// <summary>Creates the meter and its instruments.</summary>
    public StreamMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = Meter = meterFactory.Create(MeterName, "1.0");
        meter.CreateObservableCounter("hubstreams.events.appended", () => Volatile.Read(ref _appended),
            "{event}", "Events stored (any transport, the demo included)");
        meter.CreateObservableCounter("hubstreams.events.delivered", () => Volatile.Read(ref _delivered),
            "{event}", "Events written to subscribers (hub and SSE)");
        meter.CreateObservableUpDownCounter("hubstreams.subscriptions.active", () => Volatile.Read(ref _activeSubscriptions),
            "{subscription}", "Subscriptions open right now (hub and SSE)");
        meter.CreateObservableCounter("hubstreams.wakeups", () => Volatile.Read(ref _wakeUps),
            "{wakeup}", "Waiting readers woken");
        meter.CreateObservableCounter("hubstreams.producers.lost", () => Volatile.Read(ref _producersLost),
            "{stream}", "Streams this node ended because their producer went silent past STREAM_PRODUCER_TIMEOUT");
        meter.CreateObservableUpDownCounter("hubstreams.hub.connections", () => Volatile.Read(ref _hubConnections),
            "{connection}", "Hub connections open right now on this node");
        var seconds = new InstrumentAdvice<double> { HistogramBucketBoundaries = SecondsBuckets };
        _appendDuration = meter.CreateHistogram("hubstreams.append.duration", "s", "Time to store one event, store round trip included",
            tags: null, advice: seconds);
        _deliveryLag = meter.CreateHistogram("hubstreams.delivery.lag", "s", "From an event's timestamp to its delivery to a live subscriber",
            tags: null, advice: seconds);
    }

    /// <summary>The meter, for the instruments a store adds (the Redis store's, say).</summary>
    public Meter Meter { get; }

    /// <summary>An event was stored in <paramref name="duration"/>.</summary>
    public void EventAppended(TimeSpan duration)
    {
        Interlocked.Increment(ref _appended);
        _appendDuration.Record(duration.TotalSeconds);
    }

    /// <summary>An event was written to a subscriber, <paramref name="lag"/> after its timestamp (null for replayed history).</summary>
    public void EventDelivered(TimeSpan? lag)
    {
        Interlocked.Increment(ref _delivered);
        if (lag is { } value)
        {
            _deliveryLag.Record(Math.Max(0, value.TotalSeconds));
        }
    }

    /// <summary>This node ended a stream whose producer was lost.</summary>
    public void ProducerLost() => Interlocked.Increment(ref _producersLost);

    /// <summary>A hub connection opened.</summary>
    public void HubConnectionOpened() => Interlocked.Increment(ref _hubConnections);

    /// <summary>A hub connection closed.</summary>
    public void HubConnectionClosed() => Interlocked.Decrement(ref _hubConnections);

    /// <summary>A subscription opened.</summary>
    public void SubscriptionOpened() => Interlocked.Increment(ref _activeSubscriptions);

    /// <summary>A subscription ended.</summary>
    public void SubscriptionClosed() => Interlocked.Decrement(ref _activeSubscriptions);

    /// <summary>How many waiting readers were woken so far.</summary>
    internal long WatchesWokenSoFar => Volatile.Read(ref _wakeUps);

    /// <summary><paramref name="count"/> waiting readers were woken.</summary>
    public void WatchesWoken(int count)
    {
        if (count > 0)
        {
            Interlocked.Add(ref _wakeUps, count);
        }
    }
}
