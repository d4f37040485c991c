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
    /// <summary>The media type of the routes that answer with Server-Sent Events.</summary>
    internal const string ServerSentEvents = "text/event-stream";

    /// <summary>Maps the routes under <c>/api/sessions/{sessionId}</c>.</summary>
    public static RouteGroupBuilder MapStreamHttpEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var session = endpoints.MapGroup("/api/sessions/{sessionId}");
        session.MapGet("/messages", ListAsync).WithName("ListMessages").WithTags("Sessions")
            .WithSummary("A page of the session's messages, oldest first, each as its stream stands.")
            .Produces<SessionPage>().Refuses(StreamErrorCode.InvalidLimit);
        session.MapGet("/stream", ServerSentEventsEndpoint.WatchSessionAsync).WithName("WatchSession").WithTags("Sessions")
            .WithSummary("Server-Sent Events of the session: its messages now (snapshot), then each change (started, completed, deleted).")
            .Produces(StatusCodes.Status200OK, contentType: ServerSentEvents).Refuses(ApiDocument.Subscribing);
        session.MapDelete("", DeleteSessionAsync).WithName("DeleteSession").WithTags("Sessions")
            .WithSummary("Deletes every message of the session (producer role).")
            .Produces<SessionDeleted>().Refuses();

        var message = session.MapGroup("/messages/{messageId}").WithTags("Messages");
        message.MapPost("/events", AppendAsync).WithName("AppendEvent")
            .WithSummary("Stores an event at the stream's end, or with atOffset exactly there, once (producer role).")
            .Accepts<StreamEvent>("application/json").Produces<AppendResult>(StatusCodes.Status201Created)
            .Refuses(StreamErrorCode.InvalidOffset, StreamErrorCode.InvalidEvent, StreamErrorCode.EventTooLarge, StreamErrorCode.BodyTooLarge,
                StreamErrorCode.StreamCompleted, StreamErrorCode.StreamFull, StreamErrorCode.OffsetConflict, StreamErrorCode.StreamDeleted,
                StreamErrorCode.StoreFull);
        message.MapPost("/stop", StopAsync).WithName("StopMessage")
            .WithSummary("Asks the stream's producer to stop: appends a stop event, or returns the offset of one that waits already.")
            .Produces<AppendResult>(StatusCodes.Status201Created)
            .Refuses(StreamErrorCode.StreamNotFound, StreamErrorCode.StreamCompleted, StreamErrorCode.StreamDeleted, StreamErrorCode.StreamFull,
                StreamErrorCode.StoreFull);
        message.MapPost("/heartbeat", HeartbeatAsync).WithName("Heartbeat")
            .WithSummary("A producer with nothing to append keeps its lease (producer role).")
            .Produces<ProducerLease>().Refuses(StreamErrorCode.StreamCompleted, StreamErrorCode.StreamDeleted);
        message.MapGet("/events", ReadAsync).WithName("ReadEvents")
            .WithSummary("A page of stored events from fromOffset, within the page caps; compact=true merges runs of text chunks.")
            .Produces<EventsPage>()
            .Refuses(StreamErrorCode.InvalidOffset, StreamErrorCode.InvalidLimit, StreamErrorCode.InvalidRequest, StreamErrorCode.OffsetBeyondEnd,
                StreamErrorCode.StreamNotFound, StreamErrorCode.StreamReset, StreamErrorCode.StreamDeleted);
        message.MapGet("/stream", ServerSentEventsEndpoint.StreamAsync).WithName("FollowStream")
            .WithSummary("Server-Sent Events of the stream from fromOffset (or after Last-Event-ID), live, ending after complete.")
            .Produces(StatusCodes.Status200OK, contentType: ServerSentEvents)
            .Refuses([StreamErrorCode.InvalidOffset, StreamErrorCode.InvalidRequest, StreamErrorCode.OffsetBeyondEnd, StreamErrorCode.StreamNotFound,
                StreamErrorCode.StreamReset, StreamErrorCode.StreamDeleted, .. ApiDocument.Subscribing]);
        message.MapGet("/snapshot", SnapshotAsync).WithName("Snapshot")
            .WithSummary("The stream so far, compacted, and where to follow on, for a page that renders on the server.")
            .Produces<StreamSnapshot>().Refuses(StreamErrorCode.StreamReset, StreamErrorCode.StreamDeleted);
        message.MapDelete("", DeleteMessageAsync).WithName("DeleteMessage")
            .WithSummary("Deletes the message's stream: its readers end with StreamDeleted (producer role).")
            .Produces<MessageDeleted>().Refuses();
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
