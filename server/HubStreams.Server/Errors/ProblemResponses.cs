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

    /// <summary>Where the authentication handler leaves why it refused a token, for the 401's detail.</summary>
    public const string AuthenticationFailureItem = "hubstreams.authentication-failure";

    /// <summary>
    /// Gives a problem response that has no code yet (a 401 challenge, an unknown route, a wrong method) the code of its
    /// status as its <c>code</c> and title, and a detail that says what happened; every 429 a <c>type</c> and a
    /// <c>Retry-After</c>.
    /// </summary>
    public static void Complete(ProblemDetailsContext context)
    {
        var problem = context.ProblemDetails;
        var http = context.HttpContext;
        var status = problem.Status ?? http.Response.StatusCode;
        if (!problem.Extensions.ContainsKey(CodeExtension))
        {
            var code = CodeFor(status);
            problem.Extensions[CodeExtension] = code.ToString();
            problem.Title = code.ToString();
            problem.Detail ??= DetailFor(code, http);
        }

        if (status == StatusCodes.Status429TooManyRequests)
        {
            problem.Type ??= "https://tools.ietf.org/html/rfc6585#section-4";
            http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    /// <summary>How long a client refused with 429 is told to wait before it tries again, in seconds.</summary>
    internal const int RetryAfterSeconds = 1;

    private static string DetailFor(StreamErrorCode code, HttpContext http) => code switch
    {
        StreamErrorCode.AuthenticationRequired => http.Items[AuthenticationFailureItem] as string
            ?? "This server requires a bearer token (AUTH_MODE=jwt): send it as 'Authorization: Bearer …', or as access_token on the hub's URL.",
        StreamErrorCode.RouteNotFound => $"No route answers {http.Request.Method} {http.Request.Path}: see the API page for the routes.",
        StreamErrorCode.MethodNotAllowed => $"{http.Request.Path} does not take {http.Request.Method}: see the API page for the methods each route takes.",
        _ => $"The request was refused with {http.Response.StatusCode}.",
    };

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
        StatusCodes.Status431RequestHeaderFieldsTooLarge => StreamErrorCode.HeadersTooLarge,
        StatusCodes.Status429TooManyRequests => StreamErrorCode.RateLimited,
        StatusCodes.Status503ServiceUnavailable => StreamErrorCode.StoreUnavailable,
        >= 400 and < 500 => StreamErrorCode.InvalidRequest,
        _ => StreamErrorCode.InternalError,
    };
}
