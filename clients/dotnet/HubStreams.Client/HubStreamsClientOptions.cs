using Microsoft.AspNetCore.Http.Connections.Client;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Client;

/// <summary>Where the HubStreams hub is, how to connect to it, and how patiently to retry.</summary>
public sealed class HubStreamsClientOptions
{
    private TimeSpan _initialRetryDelay = TimeSpan.FromMilliseconds(100);
    private TimeSpan _maxRetryDelay = TimeSpan.FromSeconds(5);
    private TimeSpan _writerHeartbeatInterval = TimeSpan.FromSeconds(30);
    private int _streamsPerConnection = 16;

    /// <summary>
    /// The hub's address on each node (<c>https://node-1/hubs/streams</c>), or once for a farm behind a balancer. After
    /// a failure the client moves on to the next one. Required.
    /// </summary>
    public IList<Uri> HubUrls { get; } = [];

    /// <summary>
    /// Gives the access token for a server with <c>AUTH_MODE=jwt</c>; asked again each time the client connects, so a
    /// fresh token is used after one expired. Null (the default): no token.
    /// </summary>
    public Func<CancellationToken, Task<string?>>? AccessTokenProvider { get; set; }

    /// <summary>Changes the underlying connection: headers, transports, <c>SkipNegotiation</c>, and so on.</summary>
    public Action<HttpConnectionOptions>? ConfigureConnection { get; set; }

    /// <summary>Changes the hub connection builder, for the hub protocol's options or logging.</summary>
    public Action<IHubConnectionBuilder>? ConfigureHubConnection { get; set; }

    /// <summary>
    /// How many streams (reads, writers, session watches) the client runs on one hub connection before it opens another
    /// to the same address: match it to the server's <c>LIMIT_SUBSCRIPTIONS_PER_CONNECTION</c>. Default 16, that
    /// setting's default.
    /// </summary>
    public int StreamsPerConnection
    {
        get => _streamsPerConnection;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            _streamsPerConnection = value;
        }
    }

    /// <summary>
    /// The hub protocol: <see cref="HubProtocol.Json"/> (the default) or <see cref="HubProtocol.MessagePack"/>, SignalR's
    /// binary protocol, which carries the same events, errors and limits in fewer bytes.
    /// </summary>
    public HubProtocol Protocol { get; set; } = HubProtocol.Json;

    /// <summary>The first pause before connecting again after a failure; it doubles on each failure in a row. Default 100 ms.</summary>
    public TimeSpan InitialRetryDelay
    {
        get => _initialRetryDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _initialRetryDelay = value;
        }
    }

    /// <summary>The longest pause between two attempts. Default 5 s.</summary>
    public TimeSpan MaxRetryDelay
    {
        get => _maxRetryDelay;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
            _maxRetryDelay = value;
        }
    }

    /// <summary>
    /// How often an open <see cref="MessageWriter"/> that has appended nothing meanwhile tells the server its producer is
    /// still there (the hub's <c>Heartbeat</c>), so that a long tool call or a slow model turn does not end the stream as
    /// <c>producer_lost</c>. The server's answer says when its deadline is, and the writer heartbeats at least three times
    /// within it, whatever this says. Default 30 s.
    /// </summary>
    public TimeSpan WriterHeartbeatInterval
    {
        get => _writerHeartbeatInterval;
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.FromMilliseconds(10));
            _writerHeartbeatInterval = value;
        }
    }

    /// <summary>
    /// How long to wait before each try after a failure, for the connection's reconnects, the reader, the writer and the
    /// session watch alike; a null delay gives up (the call ends with the last failure). Null (the default): start at
    /// <see cref="InitialRetryDelay"/>, doubling up to <see cref="MaxRetryDelay"/>, forever.
    /// </summary>
    public IRetryPolicy? RetryPolicy { get; set; }
}

/// <summary>The hub protocols a HubStreams server speaks.</summary>
public enum HubProtocol
{
    /// <summary>SignalR's JSON protocol.</summary>
    Json,

    /// <summary>SignalR's MessagePack protocol, with the HubStreams wire types in the shape they have in JSON.</summary>
    MessagePack,
}
