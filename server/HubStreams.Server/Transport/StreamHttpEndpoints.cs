using System.Text.Json;
using HubStreams.Server.Hosting;
using HubStreams.Server.Security;
using HubStreams.Streams;
using Microsoft.AspNetCore.Http.Features;

namespace HubStreams.Server.Transport;

/// <summary>The HTTP API: append, stop, read a page, and follow as Server-Sent Events.</summary>
public static class StreamHttpEndpoints
{
    /// <summary>The most events one <c>GET …/events</c> returns when no <c>limit</c> is given.</summary>
    public const int DefaultPageSize = 1000;

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

    private static async Task<IResult> AppendAsync(
        string sessionId, string messageId, HttpRequest request, StreamAppender appender, StreamAccess access, HubStreamsSettings settings)
    {
        var context = request.HttpContext;
        StreamKey key;
        try
        {
            key = StreamKey.Create(sessionId, messageId);
            access.EnsureCanAppend(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
        }
        catch (StreamException e)
        {
            return StreamErrors.Problem(e);
        }

        // The body may hold one event: its JSON at the size limit, even with every character escaped.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimit)
        {
            bodyLimit.MaxRequestBodySize = HubStreamsHostingExtensions.MaxHubMessageBytes(settings.Streams);
        }

        StreamEvent? streamEvent;
        try
        {
            streamEvent = await JsonSerializer.DeserializeAsync(request.Body, WireJsonContext.Default.StreamEvent, context.RequestAborted);
        }
        catch (JsonException e)
        {
            return TypedResults.Problem(detail: $"The body is not a valid event: {e.Message}", statusCode: StatusCodes.Status400BadRequest,
                title: StreamErrorCode.InvalidEvent.ToString());
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TypedResults.Problem(
                detail: $"The body is larger than one event may be (STREAM_MAX_EVENT_BYTES is {settings.Streams.MaxEventBytes}).",
                statusCode: StatusCodes.Status413PayloadTooLarge, title: StreamErrorCode.EventTooLarge.ToString());
        }

        if (streamEvent is null)
        {
            return TypedResults.Problem(detail: "The body must be an event object.", statusCode: StatusCodes.Status400BadRequest,
                title: StreamErrorCode.InvalidEvent.ToString());
        }

        return await Run(async () =>
        {
            var offset = await appender.AppendAsync(key, streamEvent, context.RequestAborted);
            return TypedResults.Created((string?)null, new AppendResult(offset));
        });
    }

    private static Task<IResult> StopAsync(string sessionId, string messageId, HttpContext context, StreamAppender appender, StreamAccess access) =>
        Run(async () =>
        {
            var key = StreamKey.Create(sessionId, messageId);
            access.EnsureCanStop(context.User, context.Connection.RemoteIpAddress?.ToString(), sessionId);
            var offset = await appender.RequestStopAsync(key, context.RequestAborted);
            return TypedResults.Created((string?)null, new AppendResult(offset));
        });

    private static Task<IResult> ReadAsync(
        string sessionId, string messageId, HttpContext context, IStreamManager streams, StreamAccess access, long fromOffset = 0, int limit = DefaultPageSize) =>
        Run(async () =>
        {
            var key = StreamKey.Create(sessionId, messageId);
            access.EnsureCanRead(context.User, sessionId);
            if (limit < 1)
            {
                return TypedResults.Problem(detail: $"limit must be 1 or more, not {limit}.", statusCode: StatusCodes.Status400BadRequest,
                    title: StreamErrorCode.InvalidOffset.ToString());
            }

            var page = await streams.ReadAsync(key, fromOffset, limit, context.RequestAborted);
            return TypedResults.Ok(new EventsPage(page.Events, page.NextOffset, page.Completed));
        });

    private static async Task<IResult> Run(Func<Task<IResult>> operation)
    {
        try
        {
            return await operation();
        }
        catch (StreamException e)
        {
            return StreamErrors.Problem(e);
        }
    }
}
