namespace HubStreams.Client;

/// <summary>
/// What <see cref="HubStreamsClient.FollowSessionAsync(string, bool, CancellationToken)"/> yields: one event of one message of the session, or the end of a
/// message's reader for good.
/// </summary>
/// <param name="MessageId">The message.</param>
/// <param name="Event">One of its events, once per offset, in order; null when <paramref name="Error"/> says its reader ended.</param>
/// <param name="Error">
/// Why its reader ended before <c>complete</c>, for good: <see cref="StreamErrorCode.StreamDeleted"/> when it was deleted,
/// another final code when it cannot be read (it expired, say). The other messages are followed on.
/// </param>
public sealed record SessionEvent(string MessageId, StreamEvent? Event, HubStreamsException? Error = null);
