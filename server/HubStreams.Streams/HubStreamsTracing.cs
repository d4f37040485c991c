using System.Diagnostics;

namespace HubStreams.Streams;

/// <summary>
/// The traces HubStreams records, on the <c>HubStreams</c> <see cref="ActivitySource"/>, when a tracer listens to it:
/// <list type="bullet">
/// <item><c>hubstreams.append</c>: one event stored, a child of the producer's request or hub call (so of the producer's
/// trace when it sent one); its context (W3C <c>traceparent</c>) is stored with the event, so it survives a node
/// change and the delivery on any node can point back to it.</item>
/// <item><c>hubstreams.redis.commit</c>: one group commit in Redis, linked to every append it carried.</item>
/// <item><c>hubstreams.subscription</c>: one reader's subscription, from its start to its end.</item>
/// <item><c>hubstreams.deliver</c>: an event written to a reader, a child of the event's own append span, linked to
/// the subscription. Only for events whose append was recorded: the producer's sampling decides how many deliveries
/// are traced, so a farm that samples one answer in a hundred traces every delivery of that answer and no other.</item>
/// </list>
/// With no tracer listening, none of this costs anything, and no trace context is stored.
/// </summary>
public static class HubStreamsTracing
{
    /// <summary>The name of the activity source, for <c>AddSource</c>.</summary>
    public const string SourceName = "HubStreams";

    /// <summary>The source of every HubStreams span.</summary>
    public static ActivitySource Source { get; } = new(SourceName, "1.0");

    /// <summary>The context an event's append span was stored with, when it has one that parses.</summary>
    public static bool TryGetAppendContext(StreamEvent streamEvent, out ActivityContext context)
    {
        ArgumentNullException.ThrowIfNull(streamEvent);
        context = default;
        return streamEvent.TraceParent is { } traceParent && ActivityContext.TryParse(traceParent, null, isRemote: true, out context);
    }
}
