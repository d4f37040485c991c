namespace HubStreams.Streams;

/// <summary>
/// The store of streams: every transport appends and reads through it, so every rule of a stream
/// (ids, limits, completion, offsets) holds the same way for all of them.
/// </summary>
public interface IStreamManager
{
    /// <summary>
    /// Stores one event at the end of its stream and returns the event's offset. The stream expires
    /// <see cref="StreamOptions.Ttl"/> after this append.
    /// </summary>
    /// <exception cref="StreamException">
    /// The event is invalid or too large, the stream is completed or full, or the store is unavailable.
    /// Nothing was stored.
    /// </exception>
    Task<long> AppendAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <paramref name="maxCount"/> events starting at <paramref name="fromOffset"/>.
    /// A stream that does not exist reads as empty at offset 0.
    /// </summary>
    /// <exception cref="StreamException">
    /// The offset is negative or beyond the end of the stream, or the stream is unknown at an offset above 0.
    /// </exception>
    Task<StreamPage> ReadAsync(StreamKey key, long fromOffset, int maxCount = int.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>
    /// Completes when the stream may have changed for a reader that has read everything before
    /// <paramref name="offset"/>: an event was stored at <paramref name="offset"/> or later, or the stream
    /// expired. The caller then reads again; a wake-up with nothing new is possible and harmless.
    /// No polling: the wait is woken by the append itself.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled; the waiter is released.</exception>
    Task WaitAsync(StreamKey key, long offset, CancellationToken cancellationToken);

    /// <summary>The number of readers waiting in <see cref="WaitAsync"/> right now, on this process.</summary>
    int LiveWaiters { get; }
}
