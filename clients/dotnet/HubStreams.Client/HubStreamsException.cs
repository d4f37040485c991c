namespace HubStreams.Client;

/// <summary>
/// The server refused a request for good: retrying it unchanged cannot succeed (<see cref="StreamErrors"/> marks the
/// code final). <see cref="Code"/> says why, for example <see cref="StreamErrorCode.StreamNotFound"/> or
/// <see cref="StreamErrorCode.AccessDenied"/>.
/// </summary>
public sealed class HubStreamsException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HubStreamsException(StreamErrorCode code, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Code = code;
    }

    /// <summary>Why the server refused.</summary>
    public StreamErrorCode Code { get; }
}
