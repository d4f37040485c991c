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
        var from = ResumeOffset(context.Request, fromOffset);
        using var subscription = await delivery.OpenAsync(key, from, "sse", context.User, context.RequestAborted);
        using var writer = new ServerSentEventsWriter(context.Response, options);
        await writer.WriteAsync(subscription, context.RequestAborted);
    }

    /// <summary><c>Last-Event-ID</c> (the last offset the client has) wins over <c>fromOffset</c>.</summary>
    private static long ResumeOffset(HttpRequest request, string? fromOffset)
    {
        var lastEventId = request.Headers["Last-Event-ID"].ToString();
        if (string.IsNullOrEmpty(lastEventId))
        {
            return QueryValues.Offset(fromOffset);
        }

        if (!long.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var last) || last == long.MaxValue)
        {
            throw new StreamException(StreamErrorCode.InvalidOffset, $"Last-Event-ID must be an event offset, not '{lastEventId}'.");
        }

        return last + 1;
    }
}
