using HubStreams.Streams.Redis;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>
/// At start-up in redis mode, says whether Redis answers. An unreachable Redis does not stop the server:
/// it starts, reports not ready on <c>/readyz</c>, refuses appends with "store unavailable", and keeps
/// reconnecting in the background, so a farm can start before its Redis.
/// </summary>
internal sealed partial class RedisStartupReport(
    IConnectionMultiplexer redis,
    RedisConnectionSettings settings,
    ILogger<RedisStartupReport> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var endpoints = settings.DescribeEndpoints();
        try
        {
            var latency = await redis.GetDatabase().PingAsync();
            LogReachable(logger, endpoints, latency.TotalMilliseconds);
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException)
        {
            LogUnreachable(logger, endpoints, settings.Redact(e.Message));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(1, LogLevel.Information, "Redis at {Endpoints} answers (ping {LatencyMs:F1} ms)")]
    private static partial void LogReachable(ILogger logger, string endpoints, double latencyMs);

    [LoggerMessage(2, LogLevel.Error, "Redis at {Endpoints} is unreachable at start-up: {Error}. The server starts anyway, is not ready, and keeps reconnecting.")]
    private static partial void LogUnreachable(ILogger logger, string endpoints, string error);
}
