using HubStreams.Contracts;

namespace HubStreams.Streams;

/// <summary>
/// A stream operation was refused; nothing was changed. The message says what is wrong; the transports turn
/// it into their own error form from the one table in <see cref="StreamErrors"/>.
/// </summary>
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

    /// <summary>The row of the error table for <see cref="Code"/>.</summary>
    public StreamErrorInfo Info => StreamErrors.Describe(Code);
}
