using System.Diagnostics.Metrics;

namespace HubStreams.Streams;

/// <summary>
/// The <c>HubStreams</c> meter and its instruments. Exported in Prometheus form at <c>/metrics</c>, where
/// dots become underscores and counters end in <c>_total</c> (<c>hubstreams_events_appended_total</c>).
/// </summary>
public static class StreamMetrics
{
    /// <summary>The meter's name, for exporters.</summary>
    public const string MeterName = "HubStreams";

    private static readonly Meter Meter = new(MeterName, "1.0");

    /// <summary>Events stored (any transport, the demo included).</summary>
    public static readonly Counter<long> EventsAppended = Meter.CreateCounter<long>(
        "hubstreams.events.appended", "{event}", "Events stored");

    /// <summary>Events handed to subscribers (hub and SSE).</summary>
    public static readonly Counter<long> EventsDelivered = Meter.CreateCounter<long>(
        "hubstreams.events.delivered", "{event}", "Events handed to subscribers");

    /// <summary>Subscriptions open right now (hub and SSE).</summary>
    public static readonly UpDownCounter<long> ActiveSubscriptions = Meter.CreateUpDownCounter<long>(
        "hubstreams.subscriptions.active", "{subscription}", "Subscriptions open right now");

    /// <summary>How long one append takes, store round trip included.</summary>
    public static readonly Histogram<double> AppendDuration = Meter.CreateHistogram<double>(
        "hubstreams.append.duration", "s", "Time to store one event");

    /// <summary>From an event's timestamp to its hand-over to a subscriber's connection.</summary>
    public static readonly Histogram<double> DeliveryLag = Meter.CreateHistogram<double>(
        "hubstreams.delivery.lag", "s", "From an event's timestamp to its delivery to a subscriber");

    /// <summary>Waiting readers woken because their stream may have grown.</summary>
    public static readonly Counter<long> WakeUps = Meter.CreateCounter<long>(
        "hubstreams.wakeups", "{wakeup}", "Waiting readers woken");

    /// <summary>Safety-net passes that looked for lost wake-up notifications (redis mode).</summary>
    public static readonly Counter<long> SafetyNetChecks = Meter.CreateCounter<long>(
        "hubstreams.safety_net.checks", "{check}", "Safety-net passes for lost wake-ups");

    /// <summary>Redis operations that failed because Redis could not be reached in time.</summary>
    public static readonly Counter<long> RedisErrors = Meter.CreateCounter<long>(
        "hubstreams.redis.errors", "{error}", "Redis operations that failed");
}
