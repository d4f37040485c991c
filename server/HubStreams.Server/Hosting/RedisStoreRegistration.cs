using HubStreams.Streams;
using HubStreams.Streams.Redis;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>Redis mode: the shared connection, the Redis store, its readiness check, and the SignalR backplane on the same connection.</summary>
internal static class RedisStoreRegistration
{
    public static IServiceCollection AddRedisStore(this IServiceCollection services, HubStreamsSettings settings, IHealthChecksBuilder health)
    {
        services.AddSingleton(settings.Redis);
        services.AddSingleton(settings.RedisConnection);
        services.AddSingleton<IConnectionMultiplexer>(sp => RedisConnection.Connect(
            settings.RedisConnection, sp.GetRequiredService<ILogger<RedisConnection>>()));
        services.AddSingleton<IStreamManager, RedisStreamManager>();
        services.AddHostedService<RedisStartupReport>();
        health.AddCheck<RedisHealthCheck>("redis", tags: [HubStreamsHostingExtensions.ReadinessTag]);

        // The backplane shares the process's connection; its channels live under the key prefix.
        services.AddSignalR().AddStackExchangeRedis(o => o.Configuration.ChannelPrefix = RedisChannel.Literal(settings.Redis.BackplaneChannelPrefix));
        services.AddOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions>()
            .Configure<IServiceProvider>((o, sp) => o.ConnectionFactory = _ => Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>()));
        return services;
    }
}
