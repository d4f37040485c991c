using HubStreams.Streams;
using HubStreams.Streams.Redis;
using HubStreams.Streams.Sessions;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>Redis mode: the shared connection, the Redis store, its readiness check, and the SignalR backplane on the same connection.</summary>
internal static class RedisStoreRegistration
{
    public static IServiceCollection AddRedisStore(this IServiceCollection services, HubStreamsSettings settings, IHealthChecksBuilder health)
    {
        services.AddSingleton(settings.Redis);
        services.AddSingleton(settings.RedisConnection);
        var channelScope = settings.Redis.ChannelScope(settings.RedisConnection.EffectiveDatabase);
        services.AddSingleton<IConnectionMultiplexer>(sp => RedisConnection.Connect(
            settings.RedisConnection, channelScope, sp.GetRequiredService<ILogger<RedisConnection>>()));
        if (settings.Redis.WaitReplicas > 0)
        {
            // A connection of its own, so that a WAIT never holds up the shared one.
            services.AddSingleton(sp => new ReplicatedAppends(
                RedisConnection.Connect(settings.RedisConnection, channelScope, sp.GetRequiredService<ILogger<RedisConnection>>(), "hubstreams-appends"),
                settings.Redis));
        }

        services.AddSingleton<IStreamManager, RedisStreamManager>();
        services.AddSingleton<ISessionChanges, RedisSessionChanges>();
        health.AddCheck<RedisHealthCheck>("redis", tags: [HubStreamsHostingExtensions.ReadinessTag]);

        // The backplane shares the process's connection, so its channels are under the connection's channel scope.
        services.AddSignalR().AddStackExchangeRedis();
        services.AddOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions>()
            .Configure<IServiceProvider>((o, sp) => o.ConnectionFactory = _ => Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>()));
        return services;
    }
}
