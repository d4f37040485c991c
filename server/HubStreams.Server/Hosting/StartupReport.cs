using HubStreams.Server.Security;
using HubStreams.Streams;
using HubStreams.Streams.Redis;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>
/// At start-up, says in one line what the server runs on (the store, with its address, database and prefix in redis
/// mode, never a password, and the auth mode), then in redis mode whether Redis answers and how it carries wake-ups. A
/// cluster with REDIS_DB other than 0 stops the start, since every command would fail. An unreachable Redis does not
/// stop the server: it starts, reports not ready on <c>/readyz</c>, refuses appends with "store unavailable", and
/// keeps reconnecting, so a farm can start before its Redis. Credentials Redis refuses are reported as such.
/// </summary>
internal sealed partial class StartupReport(
    HubStreamsSettings settings,
    IServiceProvider services,
    ILogger<StartupReport> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var auth = settings.Security.EffectiveMode.ToString().ToLowerInvariant();
        if (settings.StoreType != StreamStoreType.Redis)
        {
            LogStarted(logger, "memory", auth);
            return;
        }

        var connection = settings.RedisConnection;
        var endpoints = connection.DescribeEndpoints();
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        var cluster = redis.GetServers().Any(server => server.IsConnected && server.ServerType == ServerType.Cluster);
        LogStarted(logger, $"redis at {endpoints} (database {connection.EffectiveDatabase}, prefix {settings.Redis.Prefix}, " +
            $"{(cluster ? "cluster" : "standalone")}, TLS {(connection.UseTls ? "on" : "off")})", auth);
        if (cluster && connection.EffectiveDatabase != 0)
        {
            // A cluster has database 0 only: every command would fail. Stop here, with the reason.
            throw new HubStreamsConfigurationException(
                $"Redis at {endpoints} is a cluster, which has database 0 only, but REDIS_DB is {connection.EffectiveDatabase}. Unset REDIS_DB.");
        }

        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            LogReachable(logger, endpoints, latency.TotalMilliseconds);
            if (services.GetRequiredService<IStreamManager>() is RedisStreamManager store)
            {
                await store.DetectWakeUpPublishingAsync();
            }
        }
        catch (RedisServerException e)
        {
            // Redis answers but cannot serve yet, such as while it loads its data after a restart.
            LogNotServing(logger, endpoints, connection.Redact(e.Message));
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or StreamException)
        {
            if (IsAuthenticationFailure(e))
            {
                LogAuthenticationFailed(logger, endpoints);
            }
            else
            {
                LogUnreachable(logger, endpoints, connection.Redact(e.Message));
            }
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    // Redis answers a wrong password with WRONGPASS, and every command after it with NOAUTH.
    private static bool IsAuthenticationFailure(Exception e) =>
        e is RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }
        || e.Message.Contains("NOAUTH", StringComparison.Ordinal)
        || e.Message.Contains("WRONGPASS", StringComparison.Ordinal);

    [LoggerMessage(3, LogLevel.Information, "HubStreams started: store {Store}; auth {AuthMode}")]
    private static partial void LogStarted(ILogger logger, string store, string authMode);

    [LoggerMessage(1, LogLevel.Information, "Redis at {Endpoints} answers (ping {LatencyMs:F1} ms)")]
    private static partial void LogReachable(ILogger logger, string endpoints, double latencyMs);

    [LoggerMessage(2, LogLevel.Error, "Redis at {Endpoints} is unreachable at start-up: {Error}. The server starts anyway, is not ready, and keeps reconnecting.")]
    private static partial void LogUnreachable(ILogger logger, string endpoints, string error);

    [LoggerMessage(5, LogLevel.Warning, "Redis at {Endpoints} answers but cannot serve yet: {Error}. The server starts anyway, and is ready once Redis is.")]
    private static partial void LogNotServing(ILogger logger, string endpoints, string error);

    [LoggerMessage(4, LogLevel.Error, "Redis at {Endpoints} refused the credentials: authentication failed. Check REDIS_USERNAME and REDIS_PASSWORD (or the password in REDIS_ADDR). The server starts anyway, is not ready, and keeps reconnecting.")]
    private static partial void LogAuthenticationFailed(ILogger logger, string endpoints);
}
