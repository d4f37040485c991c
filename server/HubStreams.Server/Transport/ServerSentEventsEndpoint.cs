using System.Globalization;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>
/// <c>GET …/stream</c>: the same subscription as the hub's <c>StreamEvents</c>, written as Server-Sent Events by
/// <see cref="ServerSentEventsWriter"/>. <c>Last-Event-ID</c> resumes after that offset. A refusal before the response
/// starts is a problem response, like every HTTP refusal.
/// </summary>
internal static class ServerSentEventsEndpoint
{
    public static async Task StreamAsync(string sessionId, string messageId, HttpContext context, StreamDelivery delivery,
        ServerSentEventsOptions options, string? fromOffset = null)
    {
        var key = StreamKey.Create(sessionId, messageId);
        var (from, resumedStream) = ResumePoint(context.Request, fromOffset);
        using var subscription = await delivery.OpenAsync(key, from, resumedStream, "sse", context.User, context.RequestAborted);
        using var writer = new ServerSentEventsWriter(context.Response, options);
        await writer.WriteAsync(subscription, context.RequestAborted);
    }

    /// <summary>
    /// <c>Last-Event-ID</c> (the last event the client has: <c>{offset}:{streamId}</c>, or a bare offset) wins over
    /// <c>fromOffset</c>; with a stream id, a stream lost and created again since is refused.
    /// </summary>
    private static (long FromOffset, string? StreamId) ResumePoint(HttpRequest request, string? fromOffset)
    {
        var lastEventId = request.Headers["Last-Event-ID"].ToString();
        if (string.IsNullOrEmpty(lastEventId))
        {
            return (QueryValues.Offset(fromOffset), null);
        }

        var separator = lastEventId.IndexOf(':', StringComparison.Ordinal);
        var offsetText = separator < 0 ? lastEventId : lastEventId[..separator];
        var streamId = separator < 0 ? null : lastEventId[(separator + 1)..];
        if (!long.TryParse(offsetText, NumberStyles.None, CultureInfo.InvariantCulture, out var last) || last == long.MaxValue
            || streamId is { Length: 0 })
        {
            throw new StreamException(StreamErrorCode.InvalidOffset, $"Last-Event-ID must be an event's id ({{offset}}:{{streamId}}, or an offset), not '{lastEventId}'.");
        }

        return (last + 1, streamId);
    }
}
