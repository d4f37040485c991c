using HubStreams.Server.Demo;
using HubStreams.Server.Security;
using HubStreams.Server.Transport;
using HubStreams.Streams;
using HubStreams.Streams.Memory;
using HubStreams.Streams.Redis;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using OpenTelemetry.Metrics;
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
        if (builder.Environment.IsProduction() && settings.Security.Mode is null)
        {
            throw new HubStreamsConfigurationException(
                "Invalid configuration: AUTH_MODE (HubStreams:AuthMode) must be set in Production: 'jwt' to require tokens, " +
                "or 'none' to run an open server on purpose.");
        }

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
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => WireJsonContext.Apply(o.SerializerOptions));
        var signalR = services.AddSignalR(o =>
            {
                // Room for an event of the full size limit, even when the client escapes every character.
                o.MaximumReceiveMessageSize = MaxHubMessageBytes(settings.Streams);
            })
            .AddJsonProtocol(o => WireJsonContext.Apply(o.PayloadSerializerOptions));
        services.AddSingleton<StreamAppender>();
        services.AddSingleton<StreamDelivery>();
        services.AddHubStreamsSecurity(settings.Security);
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(StreamMetrics.MeterName)
            .AddPrometheusExporter());
        services.AddSingleton<DemoProducer>();

        if (settings.StoreType == StreamStoreType.Redis)
        {
            services.AddSingleton(settings.Redis);
            services.AddSingleton(settings.RedisConnection);
            services.AddSingleton<IConnectionMultiplexer>(sp => RedisConnection.Connect(
                settings.RedisConnection, sp.GetRequiredService<ILogger<RedisConnection>>()));
            services.AddSingleton<IStreamManager, RedisStreamManager>();
            services.AddHostedService<RedisStartupReport>();
            health.AddCheck<RedisHealthCheck>("redis", tags: [ReadinessTag]);

            // The backplane shares the process's connection; its channels live under the key prefix.
            signalR.AddStackExchangeRedis(o => o.Configuration.ChannelPrefix = RedisChannel.Literal(settings.Redis.BackplaneChannelPrefix));
            services.AddOptions<Microsoft.AspNetCore.SignalR.StackExchangeRedis.RedisOptions>()
                .Configure<IServiceProvider>((o, sp) => o.ConnectionFactory = _ => Task.FromResult(sp.GetRequiredService<IConnectionMultiplexer>()));
        }
        else
        {
            services.AddSingleton<IStreamManager>(sp => new MemoryStreamManager(
                settings.Streams, sp.GetRequiredService<TimeProvider>()));
        }

        return services;
    }

    /// <summary>
    /// Maps the hub at <c>/hubs/streams</c>, the HTTP and SSE routes, the demo route (in Development or when
    /// <c>DEMO_ENABLED</c>), the page in <c>wwwroot/</c>, the Prometheus metrics at <c>/metrics</c>, and the
    /// health endpoints: <c>/healthz</c> (liveness) and <c>/readyz</c> (readiness, Redis included in redis mode).
    /// </summary>
    public static WebApplication MapHubStreams(this WebApplication app)
    {
        var settings = app.Services.GetRequiredService<HubStreamsSettings>();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();

        // The page, health and metrics stay anonymous; every stream operation needs the streams policy.
        app.MapHub<StreamEventsHub>(SecurityRegistration.HubPath, options => options.CloseOnAuthenticationExpiration = true)
            .RequireAuthorization(SecurityRegistration.StreamsPolicy);
        app.MapStreamHttpEndpoints().RequireAuthorization(SecurityRegistration.StreamsPolicy);
        if (settings.DemoEnabled ?? app.Environment.IsDevelopment())
        {
            app.MapDemoEndpoints().RequireAuthorization(SecurityRegistration.StreamsPolicy);
        }

        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadinessTag) });
        return app;
    }

    private const string ReadinessTag = "ready";

    /// <summary>
    /// The largest hub message accepted: an event at the size limit whose every character the client escaped
    /// (up to six bytes each), plus the invocation's envelope.
    /// </summary>
    internal static long MaxHubMessageBytes(StreamOptions streams) => (streams.MaxEventBytes * 6L) + 16 * 1024;
}
