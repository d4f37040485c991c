using HubStreams.Streams.Redis;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>
/// Readiness in redis mode: Redis answers within two seconds and accepts a write. The write is one short-lived key,
/// <c>{prefix}:readiness</c>, so that a Redis that answers <c>PING</c> but refuses appends (out of memory, or unable
/// to save) takes the node out of rotation until it accepts them again.
/// </summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis, RedisStreamOptions options) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var database = redis.GetDatabase();
        try
        {
            var latency = await database.PingAsync().WaitAsync(Timeout, cancellationToken);
            await database.StringSetAsync($"{options.Prefix}:readiness", Environment.MachineName, Timeout).WaitAsync(Timeout, cancellationToken);
            return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:F1} ms and accepts writes");
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis does not answer: {e.GetType().Name}");
        }
        catch (RedisServerException e) when (RedisWriteRefusal.Cause(e.Message) is { } cause)
        {
            return HealthCheckResult.Unhealthy($"Redis refuses writes: {cause}");
        }
    }
}
