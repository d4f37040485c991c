using System.Runtime.CompilerServices;
using HubStreams.Server.Hosting;
using HubStreams.Server.Security;
using HubStreams.Streams;
using HubStreams.Streams.Sessions;

namespace HubStreams.Server.Transport;

/// <summary>
/// The routes of the AI SDK's resumable chat, under <c>/api/chat/{sessionId}</c>, the shape its
/// <c>DefaultChatTransport</c> asks for by default: <c>GET …/stream</c> serves the message of the session that is
/// streaming now (204 when none), <c>GET …/messages/{messageId}/stream</c> a given one. Either is the message's stream
/// from its start, its stored part compacted (so a resumed chat gets the text so far in one delta), then live, written
/// as the SDK's UI message stream by <see cref="UiMessageParts"/>, ending after <c>complete</c>. A stream that ends
/// before it (deleted, a node stopping, a token expiring) ends with an <c>error</c> part whose text starts with the
/// code. A refusal before the response starts is a problem response, as for every route.
/// </summary>
internal static class UiMessageStreamEndpoint
{
    /// <summary>Maps the routes under <c>/api/chat/{sessionId}</c>.</summary>
    public static RouteGroupBuilder MapUiMessageStreamEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var chat = endpoints.MapGroup("/api/chat/{sessionId}").WithTags("AI SDK");
        chat.MapGet("/stream", ActiveMessageAsync).WithName("ResumeChat")
            .WithSummary("The session's message streaming now, as the AI SDK's UI message stream from its start; 204 when none streams.")
            .Produces(StatusCodes.Status200OK, contentType: StreamHttpEndpoints.ServerSentEvents).Produces(StatusCodes.Status204NoContent)
            .Refuses(ApiDocument.Subscribing);
        chat.MapGet("/messages/{messageId}/stream", MessageAsync).WithName("ChatMessageStream")
            .WithSummary("A message of the session as the AI SDK's UI message stream, from its start (waits for a stream not begun yet).")
            .Produces(StatusCodes.Status200OK, contentType: StreamHttpEndpoints.ServerSentEvents)
            .Refuses([StreamErrorCode.StreamDeleted, .. ApiDocument.Subscribing]);
        return chat;
    }

    private static async Task ActiveMessageAsync(
        string sessionId, HttpContext context, IStreamManager streams, StreamAccess access, StreamDelivery delivery, ServerSentEventsOptions options)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        access.EnsureCanRead(context.User, sessionId);
        access.EnsureWithinReadRate(context.User, context.Connection.RemoteIpAddress?.ToString());
        if (await StreamingMessageAsync(streams, sessionId, context.RequestAborted) is not { } messageId)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        await WriteAsync(StreamKey.Create(sessionId, messageId), context, delivery, options);
    }

    private static Task MessageAsync(
        string sessionId, string messageId, HttpContext context, StreamDelivery delivery, ServerSentEventsOptions options) =>
        WriteAsync(StreamKey.Create(sessionId, messageId), context, delivery, options);

    /// <summary>
    /// The newest message of the session (in the listing's order) whose stream is being written, or null: the one a
    /// chat that opens again resumes.
    /// </summary>
    internal static async Task<string?> StreamingMessageAsync(IStreamManager streams, string sessionId, CancellationToken cancellationToken)
    {
        string? streaming = null;
        string? after = null;
        do
        {
            var page = await streams.ListSessionAsync(sessionId, after, SessionListing.MaxPageMessages, cancellationToken);
            streaming = page.Messages.LastOrDefault(m => m.State == MessageStates.Streaming)?.MessageId ?? streaming;
            after = page.Next;
        }
        while (after is not null);

        return streaming;
    }

    private static async Task WriteAsync(StreamKey key, HttpContext context, StreamDelivery delivery, ServerSentEventsOptions options)
    {
        using var subscription = await delivery.OpenAsync(key, fromOffset: 0, streamId: null, compact: true, "ui", context.User,
            context.Connection.RemoteIpAddress?.ToString(), context.RequestAborted);
        var parts = new UiMessageParts(key.MessageId);
        context.Response.Headers[UiMessageParts.FormatHeader] = UiMessageParts.FormatVersion;
        using var writer = new ServerSentEventsWriter(context.Response, options);
        await writer.WriteAsync(Parts(subscription, parts), parts.End, context.RequestAborted);
    }

    private static async IAsyncEnumerable<string> Parts(
        StreamSubscription subscription, UiMessageParts parts, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        yield return parts.Start();
        await foreach (var streamEvent in subscription.WithCancellation(cancellationToken))
        {
            if (parts.Add(streamEvent) is { Length: > 0 } text)
            {
                yield return text;
            }
        }
    }
}
