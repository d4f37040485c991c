using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>Readiness in redis mode: Redis answers a PING within two seconds.</summary>
internal sealed class RedisHealthCheck(IConnectionMultiplexer redis) : IHealthCheck
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(2);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.GetDatabase().PingAsync().WaitAsync(Timeout, cancellationToken);
            return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:F1} ms");
        }
        catch (Exception e) when (e is RedisConnectionException or RedisTimeoutException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy($"Redis does not answer: {e.GetType().Name}");
        }
    }
}
