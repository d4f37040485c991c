namespace HubStreams.Client;

/// <summary>How <see cref="HubStreamsClient.ReadStreamAsync(string, string, ReadOptions, CancellationToken)"/> reads a stream.</summary>
public sealed record ReadOptions
{
    /// <summary>The first offset wanted: 0 (the default) for the whole stream.</summary>
    public long FromOffset { get; init; }

    /// <summary>Told when the reader connects, loses its connection or resumes.</summary>
    public Action<ReaderStatus>? OnStatus { get; init; }

    /// <summary>
    /// Catch up compacted, on the first read and on every resume: what is stored up to the stream's end comes with each
    /// run of text chunks merged into one event (its <see cref="StreamEvent.FirstOffset"/> to its
    /// <see cref="StreamEvent.Offset"/>), then the live events one by one. For a reader that joins late: the answer so far
    /// in a few events, not one per token.
    /// </summary>
    public bool Compact { get; init; }
}
