namespace HubStreams.Streams;

/// <summary>
/// Told what happens to a <see cref="StreamSubscription"/> while it is enumerated: where transports hang what
/// surrounds a delivery (logs, metrics) without enumerating the subscription themselves.
/// </summary>
public interface IStreamSubscriptionObserver
{
    /// <summary>The subscription's enumeration began.</summary>
    void OnStarted(StreamSubscription subscription);

    /// <summary>
    /// <paramref name="streamEvent"/> was taken by the consumer: it asked for the next event after it, or ended
    /// right after it. For a transport, that means it was written.
    /// </summary>
    void OnDelivered(StreamSubscription subscription, StreamEvent streamEvent);

    /// <summary>The enumeration ended; <see cref="StreamSubscription.EndReason"/> says why.</summary>
    void OnEnded(StreamSubscription subscription);
}
