using System.Runtime.CompilerServices;
using System.Text.Json;
using HubStreams.Server.Security;
using HubStreams.Streams;
using HubStreams.Streams.Sessions;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Transport;

/// <summary>
/// The SignalR hub at <c>/hubs/streams</c>. Its methods only say what to do; a refusal (a <see cref="StreamException"/>)
/// reaches the client through the hub's error filter as a <see cref="HubException"/> whose message starts with the
/// error code (<c>StreamNotFound: …</c>), and the connection stays open.
/// </summary>
public sealed class StreamEventsHub(
    StreamDelivery delivery,
    SessionWatching watching,
    StreamAppender appender,
    StreamAccess access,
    ConnectionLimits limits,
    PendingConnections pending,
    IStreamManager streams,
    StreamMetrics metrics)
    : Hub<ISessionClient>
{
    private const string ConnectionLeaseItem = "hubstreams.connection";
    private const string ClientAddressItem = "hubstreams.client_address";

    /// <summary>Counts the connection against its user's cap (jwt mode); it no longer counts as pending.</summary>
    public override Task OnConnectedAsync()
    {
        pending.Connected(Context.ConnectionId);
        Context.Items[ClientAddressItem] = Context.GetHttpContext()?.Connection.RemoteIpAddress?.ToString();
        Context.Items[ConnectionLeaseItem] = limits.OpenConnection(access.UserId(Context.User!));
        metrics.HubConnectionOpened();
        return Task.CompletedTask;
    }

    /// <summary>Releases the connection's place in its user's cap.</summary>
    public override Task OnDisconnectedAsync(Exception? exception)
    {
        (Context.Items[ConnectionLeaseItem] as IDisposable)?.Dispose();
        JoinedSessions.Of(Context).Dispose();
        metrics.HubConnectionClosed();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Every stored event with offset ≥ <paramref name="fromOffset"/>, then each new one as it is appended;
    /// ends right after <c>complete</c>. Cancelling the stream (or disconnecting) releases the reader at once.
    /// </summary>
    /// <remarks>
    /// Offsets are taken as sent and parsed by the hub, so that one of the wrong type (<c>"5"</c>, <c>1.5</c>, 2^63) is
    /// refused with <c>InvalidOffset</c> rather than by SignalR's binding, which gives no code.
    /// </remarks>
    public IAsyncEnumerable<StreamEvent> StreamEvents(string sessionId, string messageId, object fromOffset, CancellationToken cancellationToken) =>
        Follow(sessionId, messageId, fromOffset, streamId: null, compact: false, cancellationToken);

    /// <summary>
    /// <see cref="StreamEvents"/> for a reader that resumes: <paramref name="streamId"/> is the <c>streamId</c> of the
    /// events it saw, and a stream lost and created again since is refused with <c>StreamReset</c> instead of being
    /// served under the same offsets.
    /// </summary>
    public IAsyncEnumerable<StreamEvent> ResumeEvents(string sessionId, string messageId, object fromOffset, string streamId, CancellationToken cancellationToken) =>
        Follow(sessionId, messageId, fromOffset, streamId, compact: false, cancellationToken);

    /// <summary>
    /// Follows a stream as <paramref name="request"/> says: from its <c>fromOffset</c> (0 when left out), resuming the
    /// stream named by its <c>streamId</c> when given (as <see cref="ResumeEvents"/>), and with <c>compact: true</c> the
    /// catch-up compacted: the events stored up to the stream's end come with each run of text chunks merged into one event
    /// (<c>firstOffset</c>..<c>offset</c>), then the live events one by one. The one method that grows: a new choice is
    /// a new field of the request, not another overload.
    /// </summary>
    public IAsyncEnumerable<StreamEvent> FollowStream(FollowStreamRequest request, CancellationToken cancellationToken)
    {
        if (request is null)
        {
            throw new StreamException(StreamErrorCode.InvalidRequest,
                "FollowStream takes one request object: { sessionId, messageId, fromOffset, streamId, compact }.");
        }

        return Follow(request.SessionId!, request.MessageId!, request.FromOffset ?? 0L, request.StreamId, request.Compact, cancellationToken);
    }

    private async IAsyncEnumerable<StreamEvent> Follow(
        string sessionId, string messageId, object fromOffset, string? streamId, bool compact,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var key = StreamKey.Create(sessionId, messageId);
        var from = HubArguments.Offset(fromOffset, nameof(fromOffset));
        using var lease = limits.OpenStream(Context.ConnectionId);
        using var subscription = await delivery.OpenAsync(key, from, streamId, compact, "hub", Context.User!, ClientAddress, cancellationToken);

        // A connection SignalR aborted (a client that stopped reading) is read for no more, whatever its stream's token says.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Context.ConnectionAborted);
        await foreach (var streamEvent in subscription.WithCancellation(reading.Token))
        {
            yield return streamEvent;
        }
    }

    /// <summary>
    /// Stores one event at the end of its stream and returns its offset. Needs the producer role in jwt mode.
    /// </summary>
    /// <remarks>
    /// The event is taken as raw JSON and parsed strictly, so a malformed one is refused with a code. An <c>offset</c>
    /// inside the event makes the append conditional, as <see cref="AppendEventAt"/> does: that form is deprecated (an
    /// event's <c>offset</c> is what the server says, not what a client asks), and kept working for existing producers.
    /// </remarks>
    public Task<long> AppendEvent(string sessionId, string messageId, JsonElement streamEvent)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanAppend(Context.User!, ClientAddress, sessionId);
        var incoming = IncomingEvent.Parse(streamEvent);
        return appender.AppendAsync(key, incoming.Event, incoming.Offset, Context.ConnectionAborted);
    }

    /// <summary>
    /// Stores one event exactly at <paramref name="offset"/>, once (a conditional append): when the stream's length is
    /// <paramref name="offset"/> it goes there; when the event at <paramref name="offset"/> has the same <c>id</c>, this
    /// was a retry of an append that landed, and its offset is returned with nothing stored again. Otherwise refused with
    /// <c>OffsetConflict</c>, whose message says the next offset. The event needs an <c>id</c>. Needs the producer role.
    /// </summary>
    public Task<long> AppendEventAt(string sessionId, string messageId, object offset, JsonElement streamEvent)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanAppend(Context.User!, ClientAddress, sessionId);
        var incoming = IncomingEvent.Parse(streamEvent).At(HubArguments.Offset(offset, nameof(offset)));
        return appender.AppendAsync(key, incoming.Event, incoming.Offset, Context.ConnectionAborted);
    }

    /// <summary>
    /// The producer of a message says it is still writing, with nothing to append yet (a long tool call, a slow model):
    /// its deadline moves to now + <c>STREAM_PRODUCER_TIMEOUT</c>, as an append would move it. Refused with
    /// <c>StreamCompleted</c> once the stream ended, the server's end for a lost producer included. Needs the producer role.
    /// </summary>
    public Task<ProducerLease> Heartbeat(string sessionId, string messageId)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanAppend(Context.User!, ClientAddress, sessionId);
        return appender.HeartbeatAsync(key, Context.ConnectionAborted);
    }

    /// <summary>Where a stream stands: its next offset, whether it is completed, its identity. For producers that open a message.</summary>
    public async Task<StreamInfo> GetStreamInfo(string sessionId, string messageId)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanRead(Context.User!, sessionId);
        access.EnsureWithinReadRate(Context.User!, ClientAddress);
        var page = await streams.ReadAsync(key, 0, 1, Context.ConnectionAborted);
        return new StreamInfo(page.Length, page.Completed, page.StreamId);
    }

    /// <summary>Asks the producer of a message to stop; returns the offset of the <c>stop</c> event.</summary>
    public Task<long> StopMessage(string sessionId, string messageId)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanStop(Context.User!, ClientAddress, sessionId);
        return appender.RequestStopAsync(key, Context.ConnectionAborted);
    }

    /// <summary>
    /// A page of the session's messages, oldest first, each with its state read from its stream: the first page with
    /// <paramref name="after"/> null, the next with the page's <c>next</c>. At most 100 a page.
    /// </summary>
    public Task<SessionPage> GetSession(string sessionId, string? after)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        access.EnsureCanRead(Context.User!, sessionId);
        access.EnsureWithinReadRate(Context.User!, ClientAddress);
        return streams.ListSessionAsync(sessionId, after, SessionListing.MaxPageMessages, Context.ConnectionAborted);
    }

    /// <summary>
    /// The session's messages as they are now (one or more <c>snapshot</c> updates, the last with <c>more: false</c>), then
    /// each change as it happens on any node (<c>started</c>, <c>completed</c>, <c>deleted</c>), until cancelled. Watch
    /// again after a drop: the new watch starts with a fresh snapshot, so nothing missed meanwhile stays missed.
    /// </summary>
    public async IAsyncEnumerable<SessionUpdate> WatchSession(string sessionId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var lease = limits.OpenStream(Context.ConnectionId);
        using var watch = await watching.OpenAsync(sessionId, Context.User!, ClientAddress, cancellationToken);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, Context.ConnectionAborted);
        await foreach (var update in watch.WithCancellation(reading.Token))
        {
            yield return update;
        }
    }

    /// <summary>
    /// Deletes a message's stream: its readers end with <c>StreamDeleted</c>, on every node, and so does every later read
    /// or append of it. False when there was nothing to delete. Needs the producer role in jwt mode.
    /// </summary>
    public Task<bool> DeleteMessage(string sessionId, string messageId)
    {
        var key = StreamKey.Create(sessionId, messageId);
        access.EnsureCanDelete(Context.User!, ClientAddress, sessionId);
        return appender.DeleteMessageAsync(key, Context.ConnectionAborted);
    }

    /// <summary>Deletes every message of a session, as <see cref="DeleteMessage"/> does; returns how many. Needs the producer role.</summary>
    public Task<int> DeleteSession(string sessionId)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        access.EnsureCanDelete(Context.User!, ClientAddress, sessionId);
        return appender.DeleteSessionAsync(sessionId, Context.ConnectionAborted);
    }

    /// <summary>
    /// Receive <c>MessageStarted</c> and <c>MessageCompleted</c> for the session, whichever node the producer used.
    /// A connection may join <c>LIMIT_SESSIONS_PER_CONNECTION</c> sessions at once, a user <c>LIMIT_SESSIONS_PER_USER</c>
    /// (refused with <c>TooManySubscriptions</c>); joining one already joined changes nothing.
    /// </summary>
    public async Task JoinSession(string sessionId)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        access.EnsureCanRead(Context.User!, sessionId);
        access.EnsureWithinReadRate(Context.User!, ClientAddress);
        var joined = JoinedSessions.Of(Context);
        if (!joined.Add(sessionId, () => limits.JoinSession(Context.ConnectionId, access.UserId(Context.User!))))
        {
            return;
        }

        try
        {
            await Groups.AddToGroupAsync(Context.ConnectionId, StreamAppender.SessionGroup(sessionId), Context.ConnectionAborted);
        }
        catch
        {
            joined.Remove(sessionId);
            throw;
        }
    }

    /// <summary>Stop receiving the session's notifications.</summary>
    public async Task LeaveSession(string sessionId)
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, StreamAppender.SessionGroup(sessionId), Context.ConnectionAborted);
        JoinedSessions.Of(Context).Remove(sessionId);
    }

    // Made once per connection (an address made a string costs a few allocations, and producers call once per event).
    private string? ClientAddress => Context.Items.TryGetValue(ClientAddressItem, out var address) ? address as string : null;
}
