using System.Text.Json;
using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>The HTTP API: append, stop, read a page, and follow as Server-Sent Events.</summary>
public static class StreamHttpEndpoints
{
    /// <summary>The most events one <c>GET …/events</c> returns when no <c>limit</c> is given.</summary>
    public const int DefaultPageSize = 1000;

    /// <summary>Maps the routes under <c>/api/sessions/{sessionId}/messages/{messageId}</c>.</summary>
    public static IEndpointRouteBuilder MapStreamHttpEndpoints(this IEndpointRouteBuilder endpoints)
    {
        var message = endpoints.MapGroup("/api/sessions/{sessionId}/messages/{messageId}");
        message.MapPost("/events", AppendAsync);
        message.MapPost("/stop", StopAsync);
        message.MapGet("/events", ReadAsync);
        message.MapGet("/stream", ServerSentEventsEndpoint.StreamAsync);
        return endpoints;
    }

    private static async Task<IResult> AppendAsync(string sessionId, string messageId, HttpRequest request, StreamAppender appender)
    {
        StreamEvent? streamEvent;
        try
        {
            streamEvent = await JsonSerializer.DeserializeAsync(request.Body, WireJsonContext.Default.StreamEvent, request.HttpContext.RequestAborted);
        }
        catch (JsonException e)
        {
            return TypedResults.Problem(detail: $"The body is not a valid event: {e.Message}", statusCode: StatusCodes.Status400BadRequest,
                title: StreamErrorCode.InvalidEvent.ToString());
        }

        if (streamEvent is null)
        {
            return TypedResults.Problem(detail: "The body must be an event object.", statusCode: StatusCodes.Status400BadRequest,
                title: StreamErrorCode.InvalidEvent.ToString());
        }

        return await Run(async () =>
        {
            var offset = await appender.AppendAsync(StreamKey.Create(sessionId, messageId), streamEvent, request.HttpContext.RequestAborted);
            return TypedResults.Created((string?)null, new AppendResult(offset));
        });
    }

    private static Task<IResult> StopAsync(string sessionId, string messageId, StreamAppender appender, CancellationToken cancellationToken) =>
        Run(async () =>
        {
            var offset = await appender.RequestStopAsync(StreamKey.Create(sessionId, messageId), cancellationToken);
            return TypedResults.Created((string?)null, new AppendResult(offset));
        });

    private static Task<IResult> ReadAsync(
        string sessionId, string messageId, IStreamManager streams, CancellationToken cancellationToken, long fromOffset = 0, int limit = DefaultPageSize) =>
        Run(async () =>
        {
            if (limit < 1)
            {
                return TypedResults.Problem(detail: $"limit must be 1 or more, not {limit}.", statusCode: StatusCodes.Status400BadRequest,
                    title: StreamErrorCode.InvalidOffset.ToString());
            }

            var page = await streams.ReadAsync(StreamKey.Create(sessionId, messageId), fromOffset, limit, cancellationToken);
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
