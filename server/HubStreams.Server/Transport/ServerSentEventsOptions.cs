namespace HubStreams.Server.Transport;

/// <summary>How Server-Sent Events responses behave.</summary>
/// <param name="HeartbeatInterval">
/// How long a response may be idle before it gets a comment line (<c>SSE_HEARTBEAT_INTERVAL</c>). Default 15 s.
/// </param>
public sealed record ServerSentEventsOptions(TimeSpan HeartbeatInterval)
{
    /// <summary>The default heartbeat interval.</summary>
    public static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromSeconds(15);
}
