namespace HubStreams.Server.Transport;

/// <summary>How Server-Sent Events responses behave.</summary>
/// <param name="HeartbeatInterval">
/// How long a response may be idle before it gets a comment line (<c>SSE_HEARTBEAT_INTERVAL</c>). Default 15 s.
/// </param>
/// <param name="WriteTimeout">
/// How long one write may wait for a client that does not read (<c>SSE_WRITE_TIMEOUT</c>); past it the response is
/// aborted and its subscription ends, as SignalR does with a hub client that stops answering. Default 30 s.
/// </param>
public sealed record ServerSentEventsOptions(TimeSpan HeartbeatInterval, TimeSpan WriteTimeout)
{
    /// <summary>The default heartbeat interval.</summary>
    public static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromSeconds(15);

    /// <summary>The default write timeout, the same as SignalR's client timeout.</summary>
    public static readonly TimeSpan DefaultWriteTimeout = TimeSpan.FromSeconds(30);
}
