namespace HubStreams.Contracts;

/// <summary>
/// What went wrong with a request. Every refusal carries one: a hub error's message starts with it
/// (<c>StreamNotFound: …</c>), and every <c>application/problem+json</c> response has it as its <c>code</c>.
/// <see cref="StreamErrors"/> says, for each, its HTTP status and whether a client should retry.
/// </summary>
public enum StreamErrorCode
{
    /// <summary>A session or message id is missing or has characters outside <c>[A-Za-z0-9_.-]</c>.</summary>
    InvalidId,
    /// <summary>An offset is negative or not a number (<c>fromOffset</c>, <c>Last-Event-ID</c>).</summary>
    InvalidOffset,
    /// <summary>A page size (<c>limit</c>) is below 1 or not a number.</summary>
    InvalidLimit,
    /// <summary>The requested offset is beyond the end of the stream.</summary>
    OffsetBeyondEnd,
    /// <summary>The event is malformed: not a JSON object, no type, or data that is not a JSON object.</summary>
    InvalidEvent,
    /// <summary>The event's JSON is larger than the configured limit.</summary>
    EventTooLarge,
    /// <summary>An HTTP request body is larger than one event may be, even fully escaped; it was not read.</summary>
    BodyTooLarge,
    /// <summary>An HTTP request's headers are larger than the server reads (a <c>Last-Event-ID</c> is a few dozen characters).</summary>
    HeadersTooLarge,
    /// <summary>The stream is unknown at an offset above 0: it expired or never existed.</summary>
    StreamNotFound,
    /// <summary>
    /// The stream was lost and created again under the same ids (Redis restarted without its data, or it expired and
    /// the ids were reused): the identity the reader saw is not this stream's, so its offsets mean nothing here.
    /// </summary>
    StreamReset,

    /// <summary>
    /// The stream was deleted (its message, or its whole session): its readers end, and it is refused to every reader and
    /// writer for as long as it would have lived.
    /// </summary>
    StreamDeleted,
    /// <summary>The stream is completed; nothing more can be appended.</summary>
    StreamCompleted,
    /// <summary>The stream holds the maximum number of events.</summary>
    StreamFull,
    /// <summary>A new stream was expected, but this one already has events.</summary>
    StreamExists,
    /// <summary>
    /// A conditional append's offset is taken by another event, or is past the end of the stream; the message says the
    /// stream's next offset.
    /// </summary>
    OffsetConflict,
    /// <summary>The store (Redis) cannot be reached.</summary>
    StoreUnavailable,
    /// <summary>
    /// The node holds as many events as its memory budget allows (<c>STREAM_MEMORY_LIMIT</c>, memory mode): nothing was
    /// stored; room comes back as streams expire. A <c>complete</c> is still accepted, so every stream can be ended.
    /// </summary>
    StoreFull,
    /// <summary>This server is shutting down: resume on another node (or on this one when it is back).</summary>
    ServerShuttingDown,
    /// <summary>The caller's token does not grant this session, or this operation (appending needs the producer role).</summary>
    AccessDenied,
    /// <summary>The caller's token expired during a subscription; resume with a fresh one.</summary>
    AccessExpired,
    /// <summary>The request carries no valid token, and this server needs one (jwt mode).</summary>
    AuthenticationRequired,
    /// <summary>The producer appends faster than its rate limit allows.</summary>
    RateLimited,
    /// <summary>A connection asked for more concurrent subscriptions than allowed.</summary>
    TooManySubscriptions,
    /// <summary>A user opened more concurrent connections than allowed.</summary>
    TooManyConnections,
    /// <summary>The request is malformed in a way no other code names (a query value of the wrong type).</summary>
    InvalidRequest,
    /// <summary>No route answers this request.</summary>
    RouteNotFound,
    /// <summary>The route exists, but not for this HTTP method.</summary>
    MethodNotAllowed,
    /// <summary>The server failed unexpectedly; nothing is known to have changed.</summary>
    InternalError,
}

/// <summary>One row of the error table: how a code reaches HTTP clients and what a client should do with it.</summary>
/// <param name="Code">The code.</param>
/// <param name="HttpStatus">The HTTP status of a problem response with this code.</param>
/// <param name="Retryable">
/// Whether trying again can succeed without changing the request: after a pause, on another node, or with a
/// fresh token (<see cref="StreamErrorCode.AccessExpired"/>). A code that is not retryable is final.
/// </param>
public sealed record StreamErrorInfo(StreamErrorCode Code, int HttpStatus, bool Retryable)
{
    /// <summary>Whether retrying the same request cannot succeed.</summary>
    public bool IsFinal => !Retryable;
}

/// <summary>The one table of error codes that the hub, HTTP and every client read.</summary>
public static class StreamErrors
{
    private static readonly StreamErrorInfo[] Table =
    [
        new(StreamErrorCode.InvalidId, 400, Retryable: false),
        new(StreamErrorCode.InvalidOffset, 400, Retryable: false),
        new(StreamErrorCode.InvalidLimit, 400, Retryable: false),
        new(StreamErrorCode.OffsetBeyondEnd, 400, Retryable: false),
        new(StreamErrorCode.InvalidEvent, 400, Retryable: false),
        new(StreamErrorCode.EventTooLarge, 400, Retryable: false),
        new(StreamErrorCode.BodyTooLarge, 413, Retryable: false),
        new(StreamErrorCode.HeadersTooLarge, 431, Retryable: false),
        new(StreamErrorCode.StreamNotFound, 404, Retryable: false),
        new(StreamErrorCode.StreamReset, 410, Retryable: false),
        new(StreamErrorCode.StreamDeleted, 410, Retryable: false),
        new(StreamErrorCode.StreamCompleted, 409, Retryable: false),
        new(StreamErrorCode.StreamFull, 409, Retryable: false),
        new(StreamErrorCode.StreamExists, 409, Retryable: false),
        new(StreamErrorCode.OffsetConflict, 409, Retryable: false),
        new(StreamErrorCode.StoreUnavailable, 503, Retryable: true),
        new(StreamErrorCode.StoreFull, 507, Retryable: true),
        new(StreamErrorCode.ServerShuttingDown, 503, Retryable: true),
        new(StreamErrorCode.AccessDenied, 403, Retryable: false),
        new(StreamErrorCode.AccessExpired, 401, Retryable: true),
        new(StreamErrorCode.AuthenticationRequired, 401, Retryable: false),
        new(StreamErrorCode.RateLimited, 429, Retryable: true),
        new(StreamErrorCode.TooManySubscriptions, 429, Retryable: true),
        new(StreamErrorCode.TooManyConnections, 429, Retryable: true),
        new(StreamErrorCode.InvalidRequest, 400, Retryable: false),
        new(StreamErrorCode.RouteNotFound, 404, Retryable: false),
        new(StreamErrorCode.MethodNotAllowed, 405, Retryable: false),
        new(StreamErrorCode.InternalError, 500, Retryable: true),
    ];

    /// <summary>Every code, in the order of <see cref="StreamErrorCode"/>.</summary>
    public static IReadOnlyList<StreamErrorInfo> All => Table;

    /// <summary>The row of <paramref name="code"/>.</summary>
    public static StreamErrorInfo Describe(StreamErrorCode code) => Table[(int)code];

    /// <summary>
    /// The server's own words in a hub error's message (<c>"StreamNotFound: …"</c>), without what SignalR clients put in
    /// front of them (<c>"An unexpected error occurred invoking 'X' on the server. HubException: "</c>).
    /// </summary>
    public static string ServerMessage(string message)
    {
        ArgumentNullException.ThrowIfNull(message);
        const string hubExceptionMarker = "HubException: ";
        var marker = message.LastIndexOf(hubExceptionMarker, StringComparison.Ordinal);
        return marker >= 0 ? message[(marker + hubExceptionMarker.Length)..] : message;
    }

    /// <summary>
    /// The code at the start of a hub error's message (<c>"StreamNotFound: …"</c>, possibly after SignalR's own
    /// prefix), or null when the message carries none.
    /// </summary>
    public static StreamErrorCode? FromMessage(string? message)
    {
        if (string.IsNullOrEmpty(message))
        {
            return null;
        }

        var text = ServerMessage(message);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && Enum.TryParse<StreamErrorCode>(text[..colon], ignoreCase: false, out var code) && Enum.IsDefined(code)
            && !char.IsDigit(text[0])
            ? code
            : null;
    }
}
