using System.Runtime.CompilerServices;
using HubStreams.Streams;
using Microsoft.AspNetCore.SignalR;

namespace HubStreams.Server.Transport;

/// <summary>
/// The SignalR hub at <c>/hubs/streams</c>. Every refused request comes back as a <see cref="HubException"/>
/// that names the problem, and the connection stays open.
/// </summary>
public sealed class StreamEventsHub(StreamDelivery delivery, StreamAppender appender) : Hub<ISessionClient>
{
    /// <summary>
    /// Every stored event with offset ≥ <paramref name="fromOffset"/>, then each new one as it is appended;
    /// ends right after <c>complete</c>. Cancelling the stream (or disconnecting) releases the reader at once.
    /// </summary>
    public async IAsyncEnumerable<StreamEvent> StreamEvents(
        string sessionId, string messageId, long fromOffset, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var key = StreamErrors.ForHub(() => StreamKey.Create(sessionId, messageId));
        var subscription = await StreamErrors.ForHub(() => delivery.OpenAsync(key, fromOffset, "hub", cancellationToken));
        await using var events = subscription.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            bool more;
            try
            {
                more = await events.MoveNextAsync();
            }
            catch (StreamException e)
            {
                throw StreamErrors.ToHubException(e);
            }

            if (!more)
            {
                yield break;
            }

            yield return events.Current;
        }
    }

    /// <summary>Stores one event and returns its offset.</summary>
    public Task<long> AppendEvent(string sessionId, string messageId, StreamEvent streamEvent) =>
        StreamErrors.ForHub(() => appender.AppendAsync(StreamKey.Create(sessionId, messageId), streamEvent, Context.ConnectionAborted));

    /// <summary>Asks the producer of a message to stop; returns the offset of the <c>stop</c> event.</summary>
    public Task<long> StopMessage(string sessionId, string messageId) =>
        StreamErrors.ForHub(() => appender.RequestStopAsync(StreamKey.Create(sessionId, messageId), Context.ConnectionAborted));

    /// <summary>Receive <c>MessageStarted</c> and <c>MessageCompleted</c> for the session, whichever node the producer used.</summary>
    public Task JoinSession(string sessionId) => StreamErrors.ForHub(async () =>
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        await Groups.AddToGroupAsync(Context.ConnectionId, StreamAppender.SessionGroup(sessionId), Context.ConnectionAborted);
        return true;
    });

    /// <summary>Stop receiving the session's notifications.</summary>
    public Task LeaveSession(string sessionId) => StreamErrors.ForHub(async () =>
    {
        StreamKey.ValidateId(sessionId, nameof(sessionId));
        await Groups.RemoveFromGroupAsync(Context.ConnectionId, StreamAppender.SessionGroup(sessionId), Context.ConnectionAborted);
        return true;
    });
}
