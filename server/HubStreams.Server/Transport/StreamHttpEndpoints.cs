using HubStreams.Server.Hosting;
using HubStreams.Server.Security;
using HubStreams.Streams;
using HubStreams.Streams.Sessions;
using Microsoft.AspNetCore.Http.Features;

namespace HubStreams.Server.Transport;

/// <summary>
/// The HTTP API: append, stop, heartbeat, read a page or a compacted snapshot, follow as Server-Sent Events, delete; and per session, list its messages,
/// watch them as Server-Sent Events, delete them all. A refusal is thrown as a
/// <see cref="StreamException"/> and becomes a problem response in one place (<c>Errors/ProblemResponses.cs</c>).
/// </summary>
public static class StreamHttpEndpoints
{
    /// <summary>Maps the routes under <c>/api/sessions/{sessionId}</c>.</summary>
    public static RouteGroupBuilder MapStreamHttpEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var session = endpoints.MapGroup("/api/sessions/{sessionId}");
        session.MapGet("/messages", ListAsync);
        session.MapGet("/stream", ServerSentEventsEndpoint.WatchSessionAsync);
        session.MapDelete("", DeleteSessionAsync);

        var message = session.MapGroup("/messages/{messageId}");
        message.MapPost("/events", AppendAsync);
        message.MapPost("/stop", StopAsync);
        message.MapPost("/heartbeat", HeartbeatAsync);
        message.MapGet("/events", ReadAsync);
        message.MapGet("/stream", ServerSentEventsEndpoint.StreamAsync);
        message.MapGet("/snapshot", SnapshotAsync);
        message.MapDelete("", DeleteMessageAsync);
        return session;
    }

    private static async Task<IResult> ListAsync(
        string sessionId, HttpContext context, IStreamManager streams, StreamAccess access, string? after = null, string? limit = null)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        access.EnsureCanRead(context.User, sessionId);
        access.EnsureWithinReadRate(context.User, context.Connection.RemoteIpAddress?.ToString());
        var page = await streams.ListSessionAsync(
            sessionId, after, QueryValues.Limit(limit, SessionListing.MaxPageMessages), context.RequestAborted);
        return TypedResults.Ok(page);
    }

    private static async Task<IResult> DeleteMessageAsync(
        string sessionId, string messageId, HttpContext context, StreamAppender appender, StreamAccess access)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanDelete(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
        return TypedResults.Ok(new MessageDeleted(await appender.DeleteMessageAsync(key, context.RequestAborted)));
    }

    private static async Task<IResult> DeleteSessionAsync(string sessionId, HttpContext context, StreamAppender appender, StreamAccess access)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        access.EnsureCanDelete(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
        return TypedResults.Ok(new SessionDeleted(await appender.DeleteSessionAsync(sessionId, context.RequestAborted)));
    }

    // ?atOffset=N stores the event exactly at N, once (a conditional append); an offset inside the body does the same,
    // in the deprecated form.
    private static async Task<IResult> AppendAsync(
        string sessionId, string messageId, HttpRequest request, StreamAppender appender, StreamAccess access, StreamOptions streams,
        string? atOffset = null)
    {
        var context = request.HttpContext;
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanAppend(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);

        // The body may hold one event: its JSON at the size limit, even with every character escaped.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = HubStreamsHostingExtensions.MaxHubMessageBytes(streams);
        }

        var incoming = await IncomingEvent.ReadAsync(request.Body, context.RequestAborted);
        if (atOffset is not null)
        {
            incoming = incoming.At(QueryValues.Offset(atOffset, nameof(atOffset)));
        }

        var offset = await appender.AppendAsync(key, incoming.Event, incoming.Offset, context.RequestAborted);
        return TypedResults.Created((string?)null, new AppendResult(offset));
    }

    private static async Task<IResult> HeartbeatAsync(string sessionId, string messageId, HttpContext context, StreamAppender appender, StreamAccess access)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanAppend(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
        return TypedResults.Ok(await appender.HeartbeatAsync(key, context.RequestAborted));
    }

    private static async Task<IResult> StopAsync(string sessionId, string messageId, HttpContext context, StreamAppender appender, StreamAccess access)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanStop(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
        var offset = await appender.RequestStopAsync(key, context.RequestAborted);
        return TypedResults.Created((string?)null, new AppendResult(offset));
    }

    private static async Task<IResult> ReadAsync(
        string sessionId, string messageId, HttpContext context, IStreamManager streams, StreamAccess access, StreamOptions options,
        string? fromOffset = null, string? limit = null, string? streamId = null, string? compact = null)
    {
        var key = StreamKey.Create(sessionId, messageId);
        var compacted = QueryValues.Flag(compact, nameof(compact));
        access.EnsureCanRead(context.User, sessionId);
        access.EnsureWithinReadRate(context.User, context.Connection.RemoteIpAddress?.ToString());
        var page = await StreamSubscription.ReadPageAsync(
            streams, key, QueryValues.Offset(fromOffset), QueryValues.Limit(limit, options.MaxPageEvents), streamId, context.RequestAborted);

        // The caps count stored events, compacted or not: a compacted page merges what one page read.
        var events = compacted ? StreamCompaction.Compact(page.Events) : page.Events;
        return TypedResults.Ok(new EventsPage(events, page.NextOffset, page.Finished, page.StreamId));
    }

    /// <summary>The most pages one snapshot reads: past them it says where it stopped, and the reader follows on from there.</summary>
    internal const int MaxSnapshotPages = 16;

    // The stream from offset 0, compacted, up to its end or MaxSnapshotPages pages of it, and where to follow on. A
    // completed stream the node holds compacted is given from there once a read at its end finds it the same.
    private static async Task<IResult> SnapshotAsync(
        string sessionId, string messageId, HttpContext context, IStreamManager streams, StreamAccess access, StreamOptions options,
        CompactedStreamCache compactedStreams)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanRead(context.User, sessionId);
        access.EnsureWithinReadRate(context.User, context.Connection.RemoteIpAddress?.ToString());
        if (compactedStreams.Find(key, 0) is var (entry, held))
        {
            try
            {
                var end = await StreamSubscription.ReadPageAsync(streams, key, entry.Length, 1, entry.StreamId, context.RequestAborted);
                if (compactedStreams.StillHolds(entry, end))
                {
                    return TypedResults.Ok(new StreamSnapshot(held, entry.Length, Completed: true, entry.StreamId, ReachedEnd: true));
                }
            }
            catch (StreamException)
            {
                // Deleted, expired, or created again: the read from offset 0 says which.
                compactedStreams.Forget(key);
            }
        }

        var compaction = new StreamCompaction();
        var events = new List<StreamEvent>();
        StreamPage page;
        var pages = 0;
        var next = 0L;
        string? streamId = null;
        while (true)
        {
            page = await StreamSubscription.ReadPageAsync(streams, key, next, options.MaxPageEvents, streamId, context.RequestAborted);
            streamId ??= page.StreamId;
            var last = page.ReachedEnd || ++pages == MaxSnapshotPages;
            events.AddRange(compaction.Add(page.Events, last));
            next = page.NextOffset;
            if (last)
            {
                break;
            }
        }

        if (page.Finished && streamId is not null)
        {
            compactedStreams.Remember(new CompactedStreamCache.Entry(key, streamId, next, events));
        }

        return TypedResults.Ok(new StreamSnapshot(events, next, page.Finished, streamId, page.ReachedEnd));
    }
}
