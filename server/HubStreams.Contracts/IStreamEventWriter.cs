namespace HubStreams.Contracts;

/// <summary>
/// Something that writes the events of one message's stream, each once, and knows when a reader asked it to stop:
/// the client's <c>MessageWriter</c>, or a producer inside the server. What an adapter such as
/// <c>HubStreams.Client.AI</c> writes through.
/// </summary>
public interface IStreamEventWriter
{
    /// <summary>Fires when a reader asks the answer to stop.</summary>
    CancellationToken StopRequested { get; }

    /// <summary>Stores one event at the end of the stream and returns its offset.</summary>
    Task<long> AppendAsync(StreamEvent streamEvent, CancellationToken cancellationToken = default);
}
