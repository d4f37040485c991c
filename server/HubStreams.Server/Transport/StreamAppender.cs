using System.Diagnostics;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Transport;

/// <summary>
/// The one place where transports append: stores the event, then tells the session's group that a message
/// started (its first event) or completed. With the Redis backplane the group spans every node.
/// </summary>
public sealed class StreamAppender(IStreamManager streams, StreamMetrics metrics, IHubContext<StreamEventsHub, ISessionClient> hub)
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
        var (offset, alreadyStored) = atOffset is { } at
            ? await streams.AppendAtAsync(key, streamEvent, at, cancellationToken)
            : new ConditionalAppend(await streams.AppendAsync(key, streamEvent, cancellationToken), AlreadyStored: false);
        if (alreadyStored)
        {
            // A retry of an append that landed: counted and announced when it did.
            return offset;
        }

        metrics.EventAppended(Stopwatch.GetElapsedTime(started));
        var group = hub.Clients.Group(SessionGroup(key.SessionId));
        if (offset == 0)
        {
            await group.MessageStarted(key.SessionId, key.MessageId);
        }

        if (streamEvent.IsComplete)
        {
            await group.MessageCompleted(key.SessionId, key.MessageId);
        }

        return offset;
    }

    /// <summary>
    /// A reader asks the producer to stop: appends a <c>stop</c> event (<c>done: true</c>,
    /// <c>data.reason: "user_requested"</c>). Refused once the stream is completed.
    /// </summary>
    public Task<long> RequestStopAsync(StreamKey key, CancellationToken cancellationToken = default) =>
        AppendAsync(key, new StreamEvent { Type = EventTypes.Stop, Done = true, Data = StopReason }, cancellationToken);

    private static readonly System.Text.Json.JsonElement StopReason =
        System.Text.Json.JsonDocument.Parse("""{"reason":"user_requested"}""").RootElement.Clone();
}
