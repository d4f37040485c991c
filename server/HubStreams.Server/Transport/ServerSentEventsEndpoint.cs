using System.Globalization;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// <c>GET …/stream</c>: the same subscription as the hub's <c>FollowStream</c>, written as Server-Sent Events by
/// <see cref="ServerSentEventsWriter"/>. <c>Last-Event-ID</c> resumes after that offset; <c>?compact=true</c> compacts
/// the catch-up (an <c>EventSource</c> that reconnects keeps its address, so its catch-up is compacted again). A refusal before the response
/// starts is a problem response, like every HTTP refusal.
/// </summary>
internal static class ServerSentEventsEndpoint
{
    public static async Task StreamAsync(string sessionId, string messageId, HttpContext context, StreamDelivery delivery,
        ServerSentEventsOptions options, string? fromOffset = null, string? compact = null)
    {
        var key = StreamKey.Create(sessionId, messageId);
        var (from, resumedStream, lastEventId) = ResumePoint(context.Request, fromOffset);
        using var subscription = await OpenAsync(delivery, key, from, resumedStream, QueryValues.Flag(compact, nameof(compact)), lastEventId, context);
        using var writer = new ServerSentEventsWriter(context.Response, options);
        await writer.WriteAsync(subscription, context.RequestAborted);
    }

    /// <summary>
    /// <c>GET /api/sessions/{sessionId}/stream</c>: the session's watch, as the hub's <c>WatchSession</c> gives it. A
    /// client that reconnects (an <c>EventSource</c> does by itself) gets a fresh snapshot first.
    /// </summary>
    public static async Task WatchSessionAsync(string sessionId, HttpContext context, SessionWatching watching, ServerSentEventsOptions options)
    {
        using var watch = await watching.OpenAsync(sessionId, context.User, context.Connection.RemoteIpAddress?.ToString(), context.RequestAborted);
        using var writer = new ServerSentEventsWriter(context.Response, options);
        await writer.WriteAsync(watch, context.RequestAborted);
    }

    private static async Task<StreamSubscription> OpenAsync(
        StreamDelivery delivery, StreamKey key, long from, string? streamId, bool compact, string? lastEventId, HttpContext context)
    {
        try
        {
            return await delivery.OpenAsync(key, from, streamId, compact, "sse", context.User, context.Connection.RemoteIpAddress?.ToString(), context.RequestAborted);
        }
        catch (StreamException e) when (e.Code == StreamErrorCode.OffsetBeyondEnd && lastEventId is not null)
        {
            // Said of the header the client sent, not of the offset after it that the read asked for.
            throw new StreamException(StreamErrorCode.OffsetBeyondEnd,
                $"Last-Event-ID {lastEventId} is not an event of stream {key}: the stream ends before it. Resume with the id of an event you received.", e);
        }
    }

    /// <summary>
    /// <c>Last-Event-ID</c> (the last event the client has: <c>{offset}:{streamId}</c>, or a bare offset) wins over
    /// <c>fromOffset</c>; with a stream id, a stream lost and created again since is refused.
    /// </summary>
    private static (long FromOffset, string? StreamId, string? LastEventId) ResumePoint(HttpRequest request, string? fromOffset)
    {
        // Two headers reach the app as two values, or joined by a comma on the way: an event id has no comma.
        var headers = request.Headers["Last-Event-ID"];
        var lastEventId = headers.ToString();
        if (headers.Count > 1 || lastEventId.Contains(',', StringComparison.Ordinal))
        {
            throw new StreamException(StreamErrorCode.InvalidOffset,
                "Send one Last-Event-ID header, the id of the last event received: this request names several.");
        }

        if (string.IsNullOrEmpty(lastEventId))
        {
            return (QueryValues.Offset(fromOffset), null, null);
        }

        var separator = lastEventId.IndexOf(':', StringComparison.Ordinal);
        var offsetText = separator < 0 ? lastEventId : lastEventId[..separator];
        var streamId = separator < 0 ? null : lastEventId[(separator + 1)..];
        if (!long.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out var last) || last == long.MaxValue
            || streamId is { Length: 0 })
        {
            throw new StreamException(StreamErrorCode.InvalidOffset, $"Last-Event-ID must be an event's id ({{offset}}:{{streamId}}, or an offset), not '{lastEventId}'.");
        }

        return (last + 1, streamId, lastEventId);
    }
}
