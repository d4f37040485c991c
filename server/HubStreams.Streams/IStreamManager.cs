namespace HubStreams.Streams;

/// <summary>
/// The store of streams: every transport appends and reads through it, so every rule of a stream
/// (ids, limits, completion, offsets) holds the same way for all of them. Readers that follow a stream
/// do so through <see cref="StreamSubscription"/>, which watches, reads and waits on this contract.
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
    /// Stores one event at exactly <paramref name="offset"/>, in one atomic step, so that a producer can retry an append
    /// whose answer it lost without storing it twice: when the stream's length is <paramref name="offset"/>, the event is
    /// stored there; when the event at <paramref name="offset"/> has the same <see cref="StreamEvent.Id"/>, that was this
    /// append, and nothing is stored (a retried <c>complete</c> too): the result says
    /// <see cref="ConditionalAppend.AlreadyStored"/>, so that a retry is neither counted nor announced twice.
    /// </summary>
    /// <exception cref="StreamException">
    /// <see cref="StreamErrorCode.OffsetConflict"/>: the offset holds another event or is past the end (the message says
    /// the next offset); <see cref="StreamErrorCode.InvalidEvent"/> without an id; otherwise as <see cref="AppendAsync"/>.
    /// </exception>
    Task<ConditionalAppend> AppendAtAsync(StreamKey key, StreamEvent streamEvent, long offset, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads up to <paramref name="maxCount"/> events starting at <paramref name="fromOffset"/>.
    /// A stream that does not exist reads as empty at offset 0.
    /// </summary>
    /// <exception cref="StreamException">
    /// The offset is negative or beyond the end of the stream, or the stream is unknown at an offset above 0.
    /// </exception>
    Task<StreamPage> ReadAsync(StreamKey key, long fromOffset, int maxCount = int.MaxValue, CancellationToken cancellationToken = default);

    /// <summary>
    /// Starts watching a stream: every append from now on is noticed by the watch. Watch first, then read through
    /// the watch, then wait on it: nothing appended in between is missed, and no reader ever polls.
    /// </summary>
    /// <exception cref="StreamException">The store is unavailable.</exception>
    Task<IStreamWatch> WatchAsync(StreamKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// A page of the session's messages, oldest first, starting after <paramref name="after"/> (a page's
    /// <see cref="SessionPage.Next"/>; null for the first page), at most <paramref name="maxCount"/> and never more than
    /// <see cref="Sessions.SessionListing.MaxPageMessages"/>. Each message's state is read from its stream, so it is
    /// right whatever the index missed: a stream that holds nothing (expired, or never written) or was deleted is left
    /// out. What the store keeps per session is only which messages it holds, and that expires with them.
    /// </summary>
    /// <exception cref="StreamException">An invalid session id, page size or cursor, or the store is unavailable.</exception>
    Task<SessionPage> ListSessionAsync(string sessionId, string? after, int maxCount, CancellationToken cancellationToken = default);

    /// <summary>Where one message stands, as a listing would say it; null when its stream holds nothing or was deleted.</summary>
    /// <exception cref="StreamException">The store is unavailable.</exception>
    Task<SessionMessage?> DescribeAsync(StreamKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes a stream: its events are dropped at once, its watchers wake and end with
    /// <see cref="StreamErrorCode.StreamDeleted"/>, and every later read or append of it is refused with that code for as
    /// long as the stream would have lived. False when there was no stream to delete (nothing is kept for it).
    /// </summary>
    /// <exception cref="StreamException">The store is unavailable.</exception>
    Task<bool> DeleteAsync(StreamKey key, CancellationToken cancellationToken = default);

    /// <summary>Deletes every stream the session's index names, as <see cref="DeleteAsync"/> does, and the index; returns the ids deleted.</summary>
    /// <exception cref="StreamException">An invalid session id, or the store is unavailable (what was deleted until then stays deleted).</exception>
    Task<IReadOnlyList<string>> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A producer says it is still writing: its deadline moves to now + <see cref="StreamOptions.ProducerTimeout"/>, and the
    /// stream's TTL starts again, as an append would make them. A stream that holds nothing yet has no lease to extend.
    /// </summary>
    /// <exception cref="StreamException">
    /// <see cref="StreamErrorCode.StreamCompleted"/> (the stream ended, perhaps because its producer was lost),
    /// <see cref="StreamErrorCode.StreamDeleted"/>, or the store is unavailable.
    /// </exception>
    Task<ProducerLease> HeartbeatAsync(StreamKey key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Raised when this store ended a stream whose producer was lost (<see cref="ProducerLeases"/>): once per stream over
    /// every node that shares the store, on the node that stored the end.
    /// </summary>
    event Action<StreamKey>? ProducerLost;
}
