namespace HubStreams.Streams;

/// <summary>What went wrong with a stream operation; transports map each code to their own error form.</summary>
public enum StreamErrorCode
{
    /// <summary>A session or message id is missing or has characters outside <c>[A-Za-z0-9_.-]</c>.</summary>
    InvalidId,
    /// <summary>An offset is negative.</summary>
    InvalidOffset,
    /// <summary>The requested offset is beyond the end of the stream.</summary>
    OffsetBeyondEnd,
    /// <summary>The event is malformed: no type, or data that is not a JSON object.</summary>
    InvalidEvent,
    /// <summary>The event's JSON is larger than the configured limit.</summary>
    EventTooLarge,
    /// <summary>The stream is unknown at an offset above 0: it expired or never existed.</summary>
    StreamNotFound,
    /// <summary>The stream is completed; nothing more can be appended.</summary>
    StreamCompleted,
    /// <summary>The stream holds the maximum number of events.</summary>
    StreamFull,
    /// <summary>A new stream was expected, but this one already has events.</summary>
    StreamExists,
    /// <summary>The store (Redis) cannot be reached.</summary>
    StoreUnavailable,
    /// <summary>This server is shutting down: resume on another node (or on this one when it is back).</summary>
    ServerShuttingDown,
    /// <summary>The caller's token does not grant this session, or this operation (appending needs the producer role).</summary>
    AccessDenied,
    /// <summary>The caller's token expired during a subscription; resume with a fresh one.</summary>
    AccessExpired,
    /// <summary>The producer appends faster than its rate limit allows.</summary>
    RateLimited,
    /// <summary>A connection asked for more concurrent subscriptions than allowed.</summary>
    TooManySubscriptions,
}

/// <summary>A stream operation was refused; nothing was changed. The message says what is wrong.</summary>
public sealed class StreamException : Exception
{
    /// <summary>Creates the exception.</summary>
    public StreamException(StreamErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>What went wrong.</summary>
    public StreamErrorCode Code { get; }
}
