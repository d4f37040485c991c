namespace HubStreams.Contracts;

/// <summary>
/// One message of a session, as its stream stands when it is listed: what a chat page needs to show it, and to follow
/// it from where it is.
/// </summary>
/// <param name="MessageId">The message's id.</param>
/// <param name="State">Where its stream stands: one of <see cref="MessageStates"/>, read from the stream's tail.</param>
/// <param name="NextOffset">How many events its stream holds: the offset to follow it from to see only what comes next.</param>
/// <param name="StreamId">Its stream's identity (a reader that resumes presents it).</param>
/// <param name="FirstEventAt">When its first event was stored, when that event says (a stream of the original service may not).</param>
/// <param name="LastEventAt">When its last event so far was stored, when that event says.</param>
public sealed record SessionMessage(
    string MessageId, string State, long NextOffset, string? StreamId, DateTimeOffset? FirstEventAt, DateTimeOffset? LastEventAt);

/// <summary>The states of a <see cref="SessionMessage"/>.</summary>
public static class MessageStates
{
    /// <summary>Its stream holds events and no <c>complete</c> yet: the answer is being written.</summary>
    public const string Streaming = "streaming";

    /// <summary>Its stream holds its <c>complete</c> event: the answer is whole.</summary>
    public const string Completed = "completed";

    /// <summary>
    /// Its producer was lost: nothing was appended or heartbeat for <c>STREAM_PRODUCER_TIMEOUT</c>, so the server ended
    /// the stream with an <c>error</c> event (<c>data.reason: "producer_lost"</c>) and <c>complete</c>. The answer is
    /// whole as far as it got, and nothing more comes.
    /// </summary>
    public const string Abandoned = "abandoned";

    /// <summary>Its stream was deleted (only in a change; a listing leaves deleted messages out).</summary>
    public const string Deleted = "deleted";
}

/// <summary>
/// A page of a session's messages, oldest first (the order their streams were first stored, as the store saw it).
/// </summary>
/// <param name="Messages">The messages of this page.</param>
/// <param name="Next">Where the next page starts (pass it as <c>after</c>), or null when this page is the last.</param>
public sealed record SessionPage(IReadOnlyList<SessionMessage> Messages, string? Next);

/// <summary>
/// What a session watch (<c>WatchSession</c>) yields: first the session's messages as they are now, in one or more
/// <see cref="SessionUpdateKinds.Snapshot"/> updates (the last with <see cref="More"/> false), then one update per change
/// as it happens, on whichever node it happened.
/// </summary>
/// <param name="Kind">One of <see cref="SessionUpdateKinds"/>.</param>
/// <param name="SessionId">The session watched.</param>
/// <param name="Messages">For a snapshot: a page of the session's messages, oldest first; empty otherwise.</param>
/// <param name="More">For a snapshot: whether more of it follows in the next update.</param>
/// <param name="Message">For a change: the message it is about, as its stream stands after it.</param>
public sealed record SessionUpdate(
    string Kind, string SessionId, IReadOnlyList<SessionMessage> Messages, bool More, SessionMessage? Message);

/// <summary>The kinds of <see cref="SessionUpdate"/>.</summary>
public static class SessionUpdateKinds
{
    /// <summary>A page of the session's messages as they are when the watch starts.</summary>
    public const string Snapshot = "snapshot";

    /// <summary>A message's stream received its first event.</summary>
    public const string Started = "started";

    /// <summary>A message's stream received its <c>complete</c> event.</summary>
    public const string Completed = "completed";

    /// <summary>A message's stream was deleted.</summary>
    public const string Deleted = "deleted";
}
