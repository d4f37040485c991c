using System.Globalization;

namespace HubStreams.Streams.Sessions;

/// <summary>
/// The rules every store lists a session by: pages of at most <see cref="MaxPageMessages"/> messages, oldest first, each
/// message's state read from its stream's tail, and a cursor that says where the next page starts.
/// </summary>
public static class SessionListing
{
    /// <summary>The most messages one page of a listing holds: each is a read of a stream's tail.</summary>
    public const int MaxPageMessages = 100;

    /// <summary>
    /// How long a session's index may name a message whose stream holds nothing before a listing drops the entry: the
    /// index is written before a stream's first append, so a younger entry may be an append on its way.
    /// </summary>
    public static readonly TimeSpan EmptyEntryGrace = TimeSpan.FromSeconds(30);

    /// <summary>Checks a session id and a page size, and returns the page size the listing uses (capped).</summary>
    /// <exception cref="StreamException">The session id is invalid, or <paramref name="maxCount"/> is below 1.</exception>
    public static int Validate(string sessionId, int maxCount)
    {
        StreamKey.ValidateId(sessionId, "sessionId");
        if (maxCount < 1)
        {
            throw new StreamException(StreamErrorCode.InvalidLimit, $"limit must be 1 or more, not {maxCount}.");
        }

        return Math.Min(maxCount, MaxPageMessages);
    }

    /// <summary>What a listing says of a stream that holds <paramref name="length"/> events (at least one).</summary>
    public static SessionMessage Describe(string messageId, long length, bool completed, string? streamId, StreamEvent first, StreamEvent last) =>
        new(messageId, State(completed, last), length, streamId, first.Timestamp, last.Timestamp);

    private static string State(bool completed, StreamEvent last) =>
        !completed ? MessageStates.Streaming : ProducerLeases.EndsLost(last) ? MessageStates.Abandoned : MessageStates.Completed;

    /// <summary>The cursor of a listing's next page: after the entry of <paramref name="messageId"/> at <paramref name="order"/>.</summary>
    public static string Cursor(long order, string messageId) => $"{order.ToString(CultureInfo.InvariantCulture)}.{messageId}";

    /// <summary>Reads a cursor that a listing gave as its <c>next</c>; null reads as the start.</summary>
    /// <exception cref="StreamException"><see cref="StreamErrorCode.InvalidRequest"/>: it is not such a cursor.</exception>
    public static (long Order, string MessageId)? ParseCursor(string? cursor)
    {
        if (cursor is null)
        {
            return null;
        }

        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && long.TryParse(cursor.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var order)
            && StreamKey.IsValidId(cursor[(dot + 1)..]))
        {
            return (order, cursor[(dot + 1)..]);
        }

        throw new StreamException(StreamErrorCode.InvalidRequest, "after must be the 'next' cursor of a listing of this session.");
    }

    /// <summary>Whether the entry (<paramref name="order"/>, <paramref name="messageId"/>) comes after <paramref name="cursor"/>.</summary>
    public static bool IsAfter(long order, string messageId, (long Order, string MessageId)? cursor) =>
        cursor is not { } c || order > c.Order || (order == c.Order && string.CompareOrdinal(messageId, c.MessageId) > 0);
}
