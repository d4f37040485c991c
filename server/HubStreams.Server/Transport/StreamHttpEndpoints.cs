using HubStreams.Server.Hosting;
using HubStreams.Server.Security;
using HubStreams.Streams;
using Microsoft.AspNetCore.Http.Features;

namespace HubStreams.Server.Transport;

/// <summary>
/// The HTTP API: append, stop, read a page, and follow as Server-Sent Events. A refusal is thrown as a
/// <see cref="StreamException"/> and becomes a problem response in one place (<c>Errors/ProblemResponses.cs</c>).
/// </summary>
public static class StreamHttpEndpoints
{
    /// <summary>Maps the routes under <c>/api/sessions/{sessionId}/messages/{messageId}</c>.</summary>
    public static RouteGroupBuilder MapStreamHttpEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var message = endpoints.MapGroup("/api/sessions/{sessionId}/messages/{messageId}");
        message.MapPost("/events", AppendAsync);
        message.MapPost("/stop", StopAsync);
        message.MapGet("/events", ReadAsync);
        message.MapGet("/stream", ServerSentEventsEndpoint.StreamAsync);
        return message;
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

    private static async Task<IResult> StopAsync(string sessionId, string messageId, HttpContext context, StreamAppender appender, StreamAccess access)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanStop(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
        var offset = await appender.RequestStopAsync(key, context.RequestAborted);
        return TypedResults.Created((string?)null, new AppendResult(offset));
    }

    private static async Task<IResult> ReadAsync(
        string sessionId, string messageId, HttpContext context, IStreamManager streams, StreamAccess access, StreamOptions options,
        string? fromOffset = null, string? limit = null, string? streamId = null)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanRead(context.User, sessionId);
        access.EnsureWithinReadRate(context.User, context.Connection.RemoteIpAddress?.ToString());
        var page = await StreamSubscription.ReadPageAsync(
            streams, key, QueryValues.Offset(fromOffset), QueryValues.Limit(limit, options.MaxPageEvents), streamId, context.RequestAborted);
        return TypedResults.Ok(new EventsPage(page.Events, page.NextOffset, page.Finished, page.StreamId));
    }
}
