using HubStreams.Streams.Redis;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>
/// The process's one Redis connection, shared by the stream store and the SignalR backplane. It never
/// aborts on a failed connect: while Redis is away it retries in the background, and each failure and
/// recovery is logged with the address, never the password.
/// </summary>
public sealed partial class RedisConnection
{
    /// <summary>
    /// Connects (waiting at most the connect timeout) and logs connection failures and recoveries. Every pub/sub channel
    /// of the connection, the stream store's and the SignalR backplane's, is under <paramref name="channelScope"/>.
    /// </summary>
    public static IConnectionMultiplexer Connect(
        RedisConnectionSettings settings, string channelScope, ILogger<RedisConnection> logger, string? clientName = null)
    {
        var endpoints = settings.DescribeEndpoints();
        var options = settings.ToConfigurationOptions();
        options.ChannelPrefix = RedisChannel.Literal(channelScope);
        if (clientName is not null)
        {
            options.ClientName = clientName;
        }

        var multiplexer = ConnectionMultiplexer.Connect(options);
        multiplexer.ConnectionFailed += (_, e) => LogConnectionFailed(logger, endpoints, e.ConnectionType.ToString(),
            e.FailureType.ToString(), settings.Redact(e.Exception?.Message ?? "no detail"));
        multiplexer.ConnectionRestored += (_, e) => LogConnectionRestored(logger, endpoints, e.ConnectionType.ToString());
        return multiplexer;
    }

    [LoggerMessage(1, LogLevel.Error, "Redis connection to {Endpoints} ({ConnectionType}) failed: {FailureType}: {Error}")]
    private static partial void LogConnectionFailed(ILogger logger, string endpoints, string connectionType, string failureType, string error);

    [LoggerMessage(2, LogLevel.Information, "Redis connection to {Endpoints} ({ConnectionType}) restored")]
    private static partial void LogConnectionRestored(ILogger logger, string endpoints, string connectionType);
}
