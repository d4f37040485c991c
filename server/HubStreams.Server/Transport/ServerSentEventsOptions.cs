using HubStreams.Streams;

namespace HubStreams.Server.Transport;

/// <summary>How Server-Sent Events responses behave.</summary>
public sealed class ServerSentEventsOptions
{
    /// <summary>The default heartbeat interval.</summary>
    public static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromSeconds(15);

    /// <summary>The default write timeout, the same as SignalR's client timeout.</summary>
    public static readonly TimeSpan DefaultWriteTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a response may be idle before it gets a comment line (<c>SSE_HEARTBEAT_INTERVAL</c>). At least 1 s;
    /// default 15 s.
    /// </summary>
    public TimeSpan HeartbeatInterval { get; set; } = DefaultHeartbeatInterval;

    /// <summary>
    /// How long one write may wait for a client that does not read (<c>SSE_WRITE_TIMEOUT</c>); past it the response is
    /// aborted and its subscription ends, as SignalR does with a hub client that stops answering. At least 1 s;
    /// default 30 s.
    /// </summary>
    public TimeSpan WriteTimeout { get; set; } = DefaultWriteTimeout;

    /// <summary>The values that break their rules; empty when every value is valid.</summary>
    public IEnumerable<OptionProblem> Problems()
    {
        if (HeartbeatInterval < TimeSpan.FromSeconds(1))
        {
            yield return new(nameof(HeartbeatInterval), "at least 1 s");
        }

        if (WriteTimeout < TimeSpan.FromSeconds(1))
        {
            yield return new(nameof(WriteTimeout), "at least 1 s");
        }
    }
}
