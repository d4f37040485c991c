using System.Diagnostics;
using HubStreams.Streams;
using HubStreams.Streams.Sessions;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Transport;

/// <summary>
/// The one place where transports append and delete: stores the event, then tells the session that a message started
/// (its first event) or completed, both to the session's SignalR group (<c>JoinSession</c>; with the Redis backplane the
/// group spans every node) and to its watchers (<c>WatchSession</c>, through <see cref="ISessionChanges"/>).
/// </summary>
public sealed class StreamAppender(
    IStreamManager streams, ISessionChanges changes, StreamMetrics metrics, IHubContext<StreamEventsHub, ISessionClient> hub)
{
    /// <summary>The SignalR group of a session's listeners.</summary>
    public static string SessionGroup(string sessionId) => $"session:{sessionId}";

    /// <summary>Stores <paramref name="streamEvent"/> at the end of its stream and returns its offset.</summary>
    /// <exception cref="StreamException">The append was refused; nothing was stored.</exception>
    public Task<long> AppendAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default) =>
        AppendAsync(key, streamEvent, atOffset: null, cancellationToken);

    /// <summary>
    /// Stores <paramref name="streamEvent"/> and returns its offset: at the end, or exactly at <paramref name="atOffset"/>
    /// when one is given (see <see cref="IStreamManager.AppendAtAsync"/>).
    /// </summary>
    /// <exception cref="StreamException">The append was refused; nothing was stored.</exception>
    public async Task<long> AppendAsync(StreamKey key, StreamEvent streamEvent, long? atOffset, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        using var span = HubStreamsTracing.Source.StartActivity("hubstreams.append");
        if (span is { IsAllDataRequested: true })
        {
            span.SetTag("hubstreams.session_id", key.SessionId);
            span.SetTag("hubstreams.message_id", key.MessageId);
            span.SetTag("hubstreams.event_type", streamEvent.Type);
        }

        if (span is { Recorded: true })
        {
            // Stored with the event: its deliveries, on any node, are children of this span.
            streamEvent = streamEvent with { TraceParent = span.Id };
        }

        ConditionalAppend appended;
        try
        {
            appended = atOffset is { } at
                ? await streams.AppendAtAsync(key, streamEvent, at, cancellationToken)
                : new ConditionalAppend(await streams.AppendAsync(key, streamEvent, cancellationToken), AlreadyStored: false);
        }
        catch (StreamException e)
        {
            span?.SetStatus(ActivityStatusCode.Error, e.Code.ToString());
            throw;
        }

        var (offset, alreadyStored) = appended;
        span?.SetTag("hubstreams.offset", offset);
        if (alreadyStored)
        {
            // A retry of an append that landed: counted and announced when it did.
            span?.SetTag("hubstreams.already_stored", true);
            return offset;
        }

        metrics.EventAppended(Stopwatch.GetElapsedTime(started));
        if (offset == 0)
        {
            await SessionClients(key).MessageStarted(key.SessionId, key.MessageId);
            await AnnounceAsync(key, SessionUpdateKinds.Started);
        }

        if (streamEvent.IsComplete)
        {
            await SessionClients(key).MessageCompleted(key.SessionId, key.MessageId);
            await AnnounceAsync(key, SessionUpdateKinds.Completed);
        }

        return offset;
    }

    private ISessionClient SessionClients(StreamKey key) => hub.Clients.Group(SessionGroup(key.SessionId));

    /// <summary>
    /// Deletes a message's stream (see <see cref="IStreamManager.DeleteAsync"/>) and tells the session's watchers; false
    /// when there was nothing to delete.
    /// </summary>
    /// <exception cref="StreamException">The store is unavailable.</exception>
    public async Task<bool> DeleteMessageAsync(StreamKey key, CancellationToken cancellationToken = default)
    {
        var deleted = await streams.DeleteAsync(key, cancellationToken);
        if (deleted)
        {
            await AnnounceAsync(key, SessionUpdateKinds.Deleted, Gone(key.MessageId));
        }

        return deleted;
    }

    /// <summary>Deletes every message of a session and tells its watchers of each; returns how many were deleted.</summary>
    /// <exception cref="StreamException">The store is unavailable (what was deleted until then stays deleted).</exception>
    public async Task<int> DeleteSessionAsync(string sessionId, CancellationToken cancellationToken = default)
    {
        var deleted = await streams.DeleteSessionAsync(sessionId, cancellationToken);
        await Task.WhenAll(deleted.Select(messageId =>
            AnnounceAsync(StreamKey.Create(sessionId, messageId), SessionUpdateKinds.Deleted, Gone(messageId))));
        return deleted.Count;
    }

    /// <summary>
    /// A producer heartbeat (see <see cref="IStreamManager.HeartbeatAsync"/>): its stream's deadline moves on. When the
    /// heartbeat finds the deadline passed, the stream is ended and the producer told so.
    /// </summary>
    /// <exception cref="StreamException"><c>StreamCompleted</c>, <c>StreamDeleted</c>, or the store is unavailable.</exception>
    public Task<ProducerLease> HeartbeatAsync(StreamKey key, CancellationToken cancellationToken = default) =>
        streams.HeartbeatAsync(key, cancellationToken);

    /// <summary>
    /// The store ended a stream whose producer was lost: the session hears that the message completed, as it would from
    /// its producer, with the state <c>abandoned</c>.
    /// </summary>
    public async Task AnnounceLostAsync(StreamKey key)
    {
        metrics.ProducerLost();
        try
        {
            await SessionClients(key).MessageCompleted(key.SessionId, key.MessageId);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The backplane is away: the watchers below, or their next snapshot, still say it.
        }

        await AnnounceAsync(key, SessionUpdateKinds.Completed);
    }

    private static SessionMessage Gone(string messageId) => new(messageId, MessageStates.Deleted, 0, null, null, null);

    // The change as the stream stands now. The event is stored whatever becomes of the announcement: a watcher that
    // misses it (the live part is at most once) sees the message in the snapshot it gets when it watches again.
    private async Task AnnounceAsync(StreamKey key, string kind, SessionMessage? message = null)
    {
        try
        {
            message ??= await streams.DescribeAsync(key);
            if (message is not null)
            {
                await changes.PublishAsync(new SessionUpdate(kind, key.SessionId, [], More: false, message));
            }
        }
        catch (StreamException)
        {
            // The store is away: the next snapshot says it.
        }
    }

    /// <summary>
    /// A reader asks the producer to stop: appends a <c>stop</c> event (<c>done: true</c>,
    /// <c>data.reason: "user_requested"</c>) to a stream being written, and returns its offset. A stop asked while
    /// another waits for the producer (one among the stream's last <see cref="PendingStopWindow"/> events) stores
    /// nothing and returns that one's offset, so readers cannot fill a stream with stops. Refused with
    /// <c>StreamNotFound</c> when the stream holds nothing, and with <c>StreamCompleted</c> once it is completed.
    /// </summary>
    /// <remarks>
    /// The stop is a conditional append at the stream's length as just read, so it lands only in a stream that holds
    /// events: a conditional append above offset 0 never creates one. When a producer's event takes that offset first,
    /// the length is read again.
    /// </remarks>
    public async Task<long> RequestStopAsync(StreamKey key, CancellationToken cancellationToken = default)
    {
        var stop = new StreamEvent { Id = $"stop-{Guid.NewGuid():N}", Type = EventTypes.Stop, Done = true, Data = StopReason };
        for (var attempt = 1; ; attempt++)
        {
            var length = (await streams.ReadAsync(key, 0, 1, cancellationToken)).Length;
            if (length == 0)
            {
                throw new StreamException(StreamErrorCode.StreamNotFound,
                    $"Stream {key} holds nothing (it expired, or was never written), so there is no producer to stop.");
            }

            if (await PendingStopAsync(key, length, cancellationToken) is { } pending)
            {
                return pending;
            }

            try
            {
                return await AppendAsync(key, stop, length, cancellationToken);
            }
            catch (StreamException e) when (e.Code == StreamErrorCode.OffsetConflict && attempt < MaxStopAttempts)
            {
                // The producer appended in between: the stop goes after its event.
            }
        }
    }

    /// <summary>How far back from a stream's end a stop still counts as waiting for its producer.</summary>
    internal const int PendingStopWindow = 1000;

    // The offset of the last stop among the stream's last events, unless the stream is completed (then the append
    // that follows is refused with StreamCompleted).
    private async Task<long?> PendingStopAsync(StreamKey key, long length, CancellationToken cancellationToken)
    {
        long? found = null;
        var from = Math.Max(0, length - PendingStopWindow);
        while (true)
        {
            var page = await streams.ReadAsync(key, from, PendingStopWindow, cancellationToken);
            if (page.Completed)
            {
                return null;
            }

            foreach (var e in page.Events)
            {
                if (e.Type == EventTypes.Stop)
                {
                    found = e.Offset;
                }
            }

            if (page.ReachedEnd || page.Events.Count == 0)
            {
                return found;
            }

            from = page.NextOffset;
        }
    }

    /// <summary>How many times a stop is tried at a stream's new length while its producer keeps appending first.</summary>
    internal const int MaxStopAttempts = 32;

    private static readonly System.Text.Json.JsonElement StopReason =
        System.Text.Json.JsonDocument.Parse("""{"reason":"user_requested"}""").RootElement.Clone();
}
