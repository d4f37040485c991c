using HubStreams.Protocols.MessagePack;
using HubStreams.Server.Demo;
using HubStreams.Server.Errors;
using HubStreams.Server.Security;
using HubStreams.Server.Transport;
using HubStreams.Streams;
using HubStreams.Streams.Sessions;
using HubStreams.Streams.Memory;
using HubStreams.Streams.Redis;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.SignalR;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

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
        AddTracing(builder.Services, builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"], builder.Configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]);
        TokenRedactingLoggerFactory.Register(builder.Services);

        // Room above what HubStreams reads, so that headers too large for it are refused by it, with a problem body.
        builder.WebHost.ConfigureKestrel(o => o.Limits.MaxRequestHeadersTotalSize = RequestHeaderLimit.KestrelBytes);
        return builder;
    }

    /// <summary>
    /// Traces (see <see cref="HubStreamsTracing"/>), off unless an OTLP endpoint is configured with the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c>; the exporter reads the other
    /// <c>OTEL_EXPORTER_OTLP_*</c> variables, and <c>OTEL_SERVICE_NAME</c> names the service. Beside HubStreams' own
    /// spans, ASP.NET Core's requests and SignalR's hub calls, which carry the producer's trace context to the append.
    /// </summary>
    private static void AddTracing(IServiceCollection services, string? endpoint, string? tracesEndpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint) && string.IsNullOrWhiteSpace(tracesEndpoint))
        {
            return;
        }

        services.AddOpenTelemetry().WithTracing(tracing => tracing.AddSource(TracedSources).AddOtlpExporter());
    }

    /// <summary>
    /// The activity sources a node traces: HubStreams' own, and ASP.NET Core's requests and SignalR's hub calls, whose
    /// spans carry the producer's trace context to the append (and decide, with the producer's sampling, whether it is
    /// recorded).
    /// </summary>
    public static readonly string[] TracedSources = [HubStreamsTracing.SourceName, "Microsoft.AspNetCore", "Microsoft.AspNetCore.SignalR.Server"];

    /// <summary>Registers the stream store chosen by <paramref name="settings"/>, the transports and their one error path.</summary>
    /// <exception cref="HubStreamsConfigurationException">A setting breaks its rule.</exception>
    public static IServiceCollection AddHubStreams(this IServiceCollection services, HubStreamsSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        settings.EnsureValid();
        services.AddSingleton(settings);
        services.AddHostedService<StartupReport>();
        services.AddSingleton(settings.Streams);
        services.AddSingleton(settings.ServerSentEvents);
        services.AddSingleton(settings.Demo);
        services.AddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<StreamMetrics>();

        // Exported in both modes, so that a dashboard made for one works on the other (memory mode keeps them at 0).
        services.AddSingleton<RedisMetrics>();
        services.AddOpenTelemetry().WithMetrics(metrics => metrics
            .AddMeter(StreamMetrics.MeterName)
            .AddMeter("System.Runtime")
            .AddPrometheusExporter());

        // One error path per transport, both from the table in StreamErrors.
        services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemResponses.Complete);
        services.AddExceptionHandler<ProblemResponses>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.ConfigureHttpJsonOptions(o => WireJsonContext.Apply(o.SerializerOptions));
        services.AddHubStreamsApiDocument();

        // A late joiner's catch-up is text, which compresses several times over: JSON pages and snapshots, and the event
        // streams (each flush ends a compressed block, so live events are not held back). Not over HTTPS served by the
        // node itself, the framework's default (a response that mixes a secret with what a client chose can leak it).
        services.AddResponseCompression(o => o.MimeTypes = ["application/json", "text/event-stream"]);
        services.Configure<Microsoft.AspNetCore.ResponseCompression.GzipCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Optimal);
        services.Configure<Microsoft.AspNetCore.ResponseCompression.BrotliCompressionProviderOptions>(o => o.Level = System.IO.Compression.CompressionLevel.Fastest);
        // One filter for every invocation: one not registered would be made anew, by reflection, for each of them.
        services.AddSingleton<HubErrorFilter>();
        services.AddSignalR(o =>
            {
                o.AddFilter<HubErrorFilter>();
                // Room for an event of the full size limit, even when the client escapes every character.
                o.MaximumReceiveMessageSize = MaxHubMessageBytes(settings.Streams);

                // A producer's appends do not wait for one another's store round trip: each is queued for its store
                // call (in the order they came) as its invocation starts, and the next invocation starts meanwhile.
                o.MaximumParallelInvocationsPerClient = ParallelInvocationsPerClient;
            })
            .AddJsonProtocol(o => WireJsonContext.Apply(o.PayloadSerializerOptions))
            .AddHubStreamsMessagePackProtocol(WireJsonContext.HubOptions());

        services.AddSingleton<StreamAppender>();
        services.AddHostedService<LostProducerAnnouncements>();
        services.AddSingleton<StreamDelivery>();
        services.AddSingleton<SessionWatching>();
        services.AddSingleton<DemoProducer>();
        services.AddHubStreamsSecurity(settings.Security);
        var health = services.AddHealthChecks();

        if (settings.StoreType == StreamStoreType.Redis)
        {
            services.AddRedisStore(settings, health);

            // A late joiner's compacted catch-up of a completed answer, kept so the next one costs one read, not thousands.
            services.AddSingleton(new CompactedStreamCache(CompactedStreamCache.DefaultBudget()));
        }
        else
        {
            // The memory store holds the events already: compacting them again for each late joiner is cheap.
            services.AddSingleton(new CompactedStreamCache(budgetBytes: 0));
            services.AddSingleton<IStreamManager>(sp => new MemoryStreamManager(
                settings.Streams, sp.GetRequiredService<StreamMetrics>(), sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton<ISessionChanges, LocalSessionChanges>();
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
        ArgumentNullException.ThrowIfNull(app);

        // The instruments exist from start-up, so a fresh node exports every series at 0.
        app.Services.GetRequiredService<StreamMetrics>();
        app.Services.GetRequiredService<RedisMetrics>();

        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.Use(RequestHeaderLimit.Refuse);
        app.UseResponseCompression();
        var proxies = app.Services.GetRequiredService<SecuritySettings>().TrustedProxies;
        if (proxies.Count > 0)
        {
            // Only the proxies named are believed about the client's address (per-client limits depend on it).
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in proxies)
            {
                forwarded.KnownIPNetworks.Add(network);
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseAuthentication();
        app.UseAuthorization();

        // A negotiated connection counts against its client until its transport connects.
        var pending = app.Services.GetRequiredService<PendingConnections>();
        var access = app.Services.GetRequiredService<StreamAccess>();
        // The endpoint routing chose, so that every spelling of the negotiate URL is counted.
        app.UseWhen(
            context => context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Connections.NegotiateMetadata>() is not null,
            negotiate => negotiate.Use((context, next) =>
                pending.NegotiateAsync(context, next, access.ClientOf(context.User, context.Connection.RemoteIpAddress?.ToString()))));

        // The page, health and metrics stay anonymous; every stream operation needs the streams policy.
        app.MapHub<StreamEventsHub>(SecurityRegistration.HubPath, options => options.CloseOnAuthenticationExpiration = true)
            .RequireAuthorization(SecurityRegistration.StreamsPolicy);
        app.MapStreamHttpEndpoints().RequireAuthorization(SecurityRegistration.StreamsPolicy);
        app.MapUiMessageStreamEndpoints().RequireAuthorization(SecurityRegistration.StreamsPolicy);
        if (app.Services.GetRequiredService<DemoOptions>().Enabled ?? app.Environment.IsDevelopment())
        {
            app.MapDemoEndpoints().RequireAuthorization(SecurityRegistration.StreamsPolicy);
        }

        app.MapOpenApi();
        app.MapPrometheusScrapingEndpoint("/metrics");
        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/readyz", new HealthCheckOptions { Predicate = check => check.Tags.Contains(ReadinessTag) });
        return app;
    }

    internal const string ReadinessTag = "ready";

    /// <summary>How many hub invocations of one connection run at once (SignalR's default is one at a time).</summary>
    internal const int ParallelInvocationsPerClient = 32;

    /// <summary>
    /// The largest hub message accepted: an event at the size limit whose every character the client escaped
    /// (up to six bytes each), plus the invocation's envelope.
    /// </summary>
    internal static long MaxHubMessageBytes(StreamOptions streams) => (streams.MaxEventBytes * 6L) + 16 * 1024;
}
