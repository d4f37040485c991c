namespace HubStreams.Streams;

/// <summary>
/// Identifies one stream: the events of one message in one chat session.
/// </summary>
/// <remarks>
/// Both ids match <c>^[A-Za-z0-9_.-]{1,128}$</c>. Because neither may contain <c>:</c>, the Redis key
/// <c>{prefix}:{sessionId}:{messageId}</c> names exactly one stream.
/// </remarks>
public readonly record struct StreamKey
{
    /// <summary>The longest id accepted, in characters.</summary>
    public const int MaxIdLength = StreamIds.MaxLength;

    // A key is looked up in a handful of dictionaries for each event (the watched streams, their checks, the stream's
    // Redis names): its hash is made once, not from both strings at each lookup.
    private readonly int _hash;

    private StreamKey(string sessionId, string messageId)
    {
        SessionId = sessionId;
        MessageId = messageId;
        _hash = HashCode.Combine(StringComparer.Ordinal.GetHashCode(sessionId), StringComparer.Ordinal.GetHashCode(messageId));
    }

    /// <summary>The chat session's id.</summary>
    public string SessionId { get; }

    /// <summary>The message's id within its session.</summary>
    public string MessageId { get; }

    /// <summary>Validates both ids and returns the key.</summary>
    /// <exception cref="StreamException">An id is missing or has characters outside <c>[A-Za-z0-9_.-]</c>.</exception>
    public static StreamKey Create(string? sessionId, string? messageId)
    {
        ValidateId(sessionId, "sessionId");
        ValidateId(messageId, "messageId");
        return new StreamKey(sessionId!, messageId!);
    }

    /// <summary>Throws a <see cref="StreamException"/> naming <paramref name="name"/> unless the id is valid.</summary>
    public static void ValidateId(string? id, string name)
    {
        if (!IsValidId(id))
        {
            throw new StreamException(StreamErrorCode.InvalidId,
                $"{name} must be {StreamIds.Rule}.");
        }
    }

    /// <summary>Whether <paramref name="id"/> is a valid id (<see cref="StreamIds.IsValid"/>).</summary>
    public static bool IsValidId(string? id) => StreamIds.IsValid(id);

    /// <summary>Whether both ids are the same, in ordinal comparison.</summary>
    public bool Equals(StreamKey other) =>
        _hash == other._hash && string.Equals(SessionId, other.SessionId, StringComparison.Ordinal)
        && string.Equals(MessageId, other.MessageId, StringComparison.Ordinal);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;

    /// <inheritdoc />
    public override string ToString() => $"{SessionId}/{MessageId}";
}
