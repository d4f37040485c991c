namespace HubStreams.Streams;

/// <summary>The rules every store applies the same way, with the errors they raise.</summary>
internal static class StreamRules
{
    /// <summary>
    /// How often a store looks for checks that come due about every <paramref name="period"/> (producer leases, stream
    /// expiry): a quarter of it, from 50 ms to a second.
    /// </summary>
    public static TimeSpan CheckInterval(TimeSpan period) =>
        TimeSpan.FromTicks(Math.Clamp(period.Ticks / 4, TimeSpan.FromMilliseconds(50).Ticks, TimeSpan.FromSeconds(1).Ticks));

    /// <summary>Refuses a negative offset, naming it as the caller did (<c>fromOffset</c> for a read, <c>offset</c> for a conditional append).</summary>
    public static void ValidateOffset(long offset, string name = "fromOffset")
    {
        if (offset < 0)
        {
            throw new StreamException(StreamErrorCode.InvalidOffset, $"{name} must be 0 or more, not {offset}.");
        }
    }

    /// <summary>Checks a read at <paramref name="fromOffset"/> of a stream that holds <paramref name="length"/> events.</summary>
    public static void EnsureReadable(StreamKey key, long fromOffset, long length)
    {
        if (length == 0 && fromOffset > 0)
        {
            throw new StreamException(StreamErrorCode.StreamNotFound,
                $"Stream {key} does not exist (it expired or never existed), so it cannot be read from offset {fromOffset}.");
        }

        if (fromOffset > length)
        {
            throw new StreamException(StreamErrorCode.OffsetBeyondEnd,
                $"fromOffset {fromOffset} is beyond the end of stream {key}, which holds {length} events.");
        }
    }

    /// <summary>
    /// Checks the length cap for an append to a stream of <paramref name="length"/> events. The last place
    /// is kept for <c>complete</c>, so that a full stream can still be ended.
    /// </summary>
    public static void EnsureRoom(StreamKey key, long length, StreamEvent next, StreamOptions options)
    {
        var limit = next.IsComplete ? options.MaxEvents : options.MaxEvents - 1;
        if (length >= limit)
        {
            throw Full(key, options.MaxEvents);
        }
    }

    public static StreamException Full(StreamKey key, int maxEvents) => new(StreamErrorCode.StreamFull,
        $"Stream {key} is full: it holds the maximum of {maxEvents} events (STREAM_MAX_EVENTS), the last place kept for 'complete'.");

    /// <summary>A conditional append names its event, so that a retry of it can be recognised.</summary>
    public static void EnsureConditionalAppendable(StreamEvent streamEvent, long offset)
    {
        ValidateOffset(offset, "offset");
        if (string.IsNullOrEmpty(streamEvent.Id))
        {
            throw new StreamException(StreamErrorCode.InvalidEvent,
                "A conditional append (one with an 'offset') needs an 'id', so that a retry of it is recognised and stored once.");
        }
    }

    public static StreamException OffsetConflict(StreamKey key, long offset, long length) => new(StreamErrorCode.OffsetConflict,
        offset < length
            ? $"Offset {offset} of stream {key} holds another event: the stream's next offset is {length}."
            : $"Offset {offset} is past the end of stream {key}: the stream's next offset is {length}.");

    /// <summary>Refuses a read of a stream that is not the one the reader saw (it was lost and created again).</summary>
    public static void EnsureSameStream(StreamKey key, string? expected, string? actual)
    {
        if (expected is not null && actual is not null && !string.Equals(expected, actual, StringComparison.Ordinal))
        {
            throw new StreamException(StreamErrorCode.StreamReset,
                $"Stream {key} was lost and created again: it is stream {actual} now, not {expected}. Its offsets are not the ones you saw; read it from 0 if you want the new one.");
        }
    }

    public static StreamException Completed(StreamKey key) => new(StreamErrorCode.StreamCompleted,
        $"Stream {key} is completed: nothing can be appended after its 'complete' event.");

    public static StreamException Deleted(StreamKey key) => new(StreamErrorCode.StreamDeleted,
        $"Stream {key} was deleted: nothing of it is served or stored again.");
}
