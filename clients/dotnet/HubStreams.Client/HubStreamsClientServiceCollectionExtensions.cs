using HubStreams.Client;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers a <see cref="HubStreamsClient"/> for applications that use the generic host.</summary>
public static class HubStreamsClientServiceCollectionExtensions
{
    /// <summary>Registers one <see cref="HubStreamsClient"/>, configured by <paramref name="configure"/>.</summary>
    /// <example><code>
    /// services.AddHubStreamsClient(o =&gt;
    /// {
    ///     o.HubUrls.Add(new Uri("https://streams.example.com/hubs/streams"));
    ///     o.AccessTokenProvider = tokens.GetTokenAsync;
    /// });
    /// </code></example>
    public static IServiceCollection AddHubStreamsClient(this IServiceCollection services, Action<HubStreamsClientOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<HubStreamsClientOptions>().Configure(configure);
        services.AddSingleton<HubStreamsClient>();
        return services;
    }
}
