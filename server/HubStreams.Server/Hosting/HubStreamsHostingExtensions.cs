using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Streams.Redis;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace HubStreams.Server.Hosting;

/// <summary>Registers and maps HubStreams in an ASP.NET Core application.</summary>
public static class HubStreamsHostingExtensions
{
    /// <summary>
    /// Reads and validates the settings (throwing <see cref="HubStreamsConfigurationException"/> on a bad one),
    /// then registers the stream store and the transports.
    /// </summary>
    /// <param name="builder">The application builder.</param>
    /// <param name="configure">Changes to the settings after they are read, for hosts and tests.</param>
    public static WebApplicationBuilder AddHubStreams(this WebApplicationBuilder builder, Action<HubStreamsSettings>? configure = null)
    {
        var settings = HubStreamsSettings.Read(builder.Configuration);
        configure?.Invoke(settings);
        builder.Services.AddHubStreams(settings);
        return builder;
    }

    /// <summary>Registers the stream store chosen by <paramref name="settings"/> and the transports.</summary>
    public static IServiceCollection AddHubStreams(this IServiceCollection services, HubStreamsSettings settings)
    {
        services.AddSingleton(settings);
        services.AddSingleton(settings.Streams);
        services.AddSingleton(TimeProvider.System);
        var health = services.AddHealthChecks();

        if (settings.StoreType == StreamStoreType.Redis)
        {
            services.AddSingleton(settings.Redis);
            services.AddSingleton(settings.RedisConnection);
            services.AddSingleton<IConnectionMultiplexer>(sp => RedisConnection.Connect(
                settings.RedisConnection, sp.GetRequiredService<ILogger<RedisConnection>>()));
            services.AddSingleton<IStreamManager, RedisStreamManager>();
            services.AddHostedService<RedisStartupReport>();
            health.AddCheck<RedisHealthCheck>("redis", tags: [ReadinessTag]);
        }
        else
        {
            services.AddSingleton<IStreamManager>(sp => new MemoryStreamManager(
                settings.Streams, sp.GetRequiredService<TimeProvider>()));
        }

        return services;
    }

    /// <summary>Maps the health endpoints: <c>/healthz</c> (liveness) and <c>/readyz</c> (readiness, Redis included in redis mode).</summary>
    public static WebApplication MapHubStreams(this WebApplication app)
    {
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadinessTag) });
        return app;
    }

    private const string ReadinessTag = "ready";
}
