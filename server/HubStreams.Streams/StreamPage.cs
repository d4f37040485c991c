namespace HubStreams.Streams;

/// <summary>The result of one read of a stream.</summary>
/// <param name="Events">The events read, in offset order, starting at the requested offset.</param>
/// <param name="NextOffset">The offset to read from next: the offset after the last event returned.</param>
/// <param name="Completed">Whether the stream holds its <c>complete</c> event (nothing more will come).</param>
public sealed record StreamPage(IReadOnlyList<StreamEvent> Events, long NextOffset, bool Completed)
{
    /// <summary>Whether the read reached the end of the stream as it was then: nothing more was stored.</summary>
    public bool ReachedEnd { get; init; }

    /// <summary>How many events the stream held when it was read: its next offset.</summary>
    public long Length { get; init; }

    /// <summary>The stream's identity (see <see cref="StreamEvent.StreamId"/>), or null when the stream holds nothing.</summary>
    public string? StreamId { get; init; }

    /// <summary>
    /// Whether nothing follows <see cref="NextOffset"/>, ever: the stream is completed and this page reached its end.
    /// A page of a completed stream cut short by the page caps is not finished; read on from <see cref="NextOffset"/>.
    /// </summary>
    public bool Finished => Completed && ReachedEnd;
}
