using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Transport;

/// <summary>How a refused stream operation reaches each transport: its message, unchanged, and a status.</summary>
internal static class StreamErrors
{
    /// <summary>
    /// The refusal as the hub's clients see it: <c>{code}: {message}</c>, so a client can tell a final error
    /// (<c>StreamNotFound</c>) from one worth retrying (<c>StoreUnavailable</c>) without parsing prose.
    /// </summary>
    public static HubException ToHubException(StreamException e) => new($"{e.Code}: {e.Message}", e);

    /// <summary>Runs a hub operation, turning a refusal into a <see cref="HubException"/> that the client sees.</summary>
    public static T ForHub<T>(Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (StreamException e)
        {
            throw ToHubException(e);
        }
    }

    /// <inheritdoc cref="ForHub{T}(Func{T})"/>
    public static async Task<T> ForHub<T>(Func<Task<T>> operation)
    {
        try
        {
            return await operation();
        }
        catch (StreamException e)
        {
            throw ToHubException(e);
        }
    }

    /// <summary>
    /// The HTTP status of a refusal: 400 bad input, 401 token expired, 403 not granted, 404 unknown stream,
    /// 409 stream state, 429 over a limit, 503 store away or server stopping.
    /// </summary>
    public static int HttpStatus(StreamErrorCode code) => code switch
    {
        StreamErrorCode.StreamNotFound => StatusCodes.Status404NotFound,
        StreamErrorCode.StreamCompleted or StreamErrorCode.StreamFull or StreamErrorCode.StreamExists => StatusCodes.Status409Conflict,
        StreamErrorCode.StoreUnavailable or StreamErrorCode.ServerShuttingDown => StatusCodes.Status503ServiceUnavailable,
        StreamErrorCode.AccessDenied => StatusCodes.Status403Forbidden,
        StreamErrorCode.AccessExpired => StatusCodes.Status401Unauthorized,
        StreamErrorCode.RateLimited or StreamErrorCode.TooManySubscriptions => StatusCodes.Status429TooManyRequests,
        _ => StatusCodes.Status400BadRequest,
    };

    /// <summary>The refusal as <c>application/problem+json</c>, with the error code as an extension.</summary>
    public static IResult Problem(StreamException e) => TypedResults.Problem(
        detail: e.Message,
        statusCode: HttpStatus(e.Code),
        title: e.Code.ToString(),
        extensions: new Dictionary<string, object?> { ["code"] = e.Code.ToString() });
}
