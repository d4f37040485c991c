using System.Text.Json;
using HubStreams.Streams;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;

namespace HubStreams.Server.Errors;

/// <summary>
/// HTTP's one error path: a <see cref="StreamException"/> (or a body that is not an event) thrown by any endpoint
/// becomes <c>application/problem+json</c> with the status from <see cref="StreamErrors"/>, the code as title and as
/// the <c>code</c> extension, and the message as detail. Every other problem response (an unknown route, a query
/// value of the wrong type, a failure) gets a <c>code</c> too, from its status.
/// </summary>
internal sealed class ProblemResponses(IProblemDetailsService problems) : IExceptionHandler
{
    /// <summary>The name of the extension that carries the error code.</summary>
    public const string CodeExtension = "code";

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (Describe(exception) is not var (code, detail))
        {
            return false;
        }

        var status = StreamErrors.Describe(code).HttpStatus;
        httpContext.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = status,
                Title = code.ToString(),
                Detail = detail,
                Extensions = { [CodeExtension] = code.ToString() },
            },
        });
    }

    /// <summary>Gives a problem response that has no code yet the code of its status.</summary>
    public static void AddCode(ProblemDetailsContext context)
    {
        var extensions = context.ProblemDetails.Extensions;
        if (!extensions.ContainsKey(CodeExtension))
        {
            extensions[CodeExtension] = CodeFor(context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode).ToString();
        }
    }

    private static (StreamErrorCode Code, string Detail)? Describe(Exception exception) => exception switch
    {
        StreamException e => (e.Code, e.Message),
        JsonException e => (StreamErrorCode.InvalidEvent, $"The body is not a valid event: {e.Message}"),
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } =>
            (StreamErrorCode.BodyTooLarge, "The body is larger than one event may be (see STREAM_MAX_EVENT_BYTES)."),
        BadHttpRequestException e => (CodeFor(e.StatusCode), e.Message),
        _ => null,
    };

    private static StreamErrorCode CodeFor(int status) => status switch
    {
        StatusCodes.Status401Unauthorized => StreamErrorCode.AuthenticationRequired,
        StatusCodes.Status403Forbidden => StreamErrorCode.AccessDenied,
        StatusCodes.Status404NotFound => StreamErrorCode.RouteNotFound,
        StatusCodes.Status405MethodNotAllowed => StreamErrorCode.MethodNotAllowed,
        StatusCodes.Status413PayloadTooLarge => StreamErrorCode.BodyTooLarge,
        StatusCodes.Status429TooManyRequests => StreamErrorCode.RateLimited,
        StatusCodes.Status503ServiceUnavailable => StreamErrorCode.StoreUnavailable,
        >= 400 and < 500 => StreamErrorCode.InvalidRequest,
        _ => StreamErrorCode.InternalError,
    };
}
