using HubStreams.Server.Hosting;
using HubStreams.Streams;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HubStreams.Tests.Fixtures;

/// <summary>The real server, built with the same AddHubStreams / MapHubStreams as Program.cs, on Kestrel at a loopback port.</summary>
public sealed class HubStreamsServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HubStreamsServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public IStreamManager Streams => _app.Services.GetRequiredService<IStreamManager>();

    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server. <paramref name="settings"/> use the environment names (STREAM_MANAGER_TYPE, …), which win over anything else.</summary>
    public static Task<HubStreamsServer> StartAsync(params (string Name, string Value)[] settings) => StartOnPortAsync(0, settings);

    /// <summary>Starts a server on a given loopback port (0: any free one), as a restarted node would come back.</summary>
    public static async Task<HubStreamsServer> StartOnPortAsync(int port, params (string Name, string Value)[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Development",
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Name, s.Value)));
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddHubStreams();
        var app = builder.Build();
        app.MapHubStreams();
        await app.StartAsync();
        return new HubStreamsServer(app, new Uri(app.Urls.First()));
    }

    /// <summary>Starts a server in redis mode on the test Redis, under <paramref name="prefix"/>.</summary>
    public static Task<HubStreamsServer> StartRedisAsync(RedisFixture redis, string prefix, params (string Name, string Value)[] more) =>
        StartRedisOnPortAsync(0, redis, prefix, more);

    public static Task<HubStreamsServer> StartRedisOnPortAsync(int port, RedisFixture redis, string prefix, params (string Name, string Value)[] more) =>
        StartOnPortAsync(port, [("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix), .. more]);

    public HubConnection CreateHubConnection() => new HubConnectionBuilder()
        .WithUrl(new Uri(BaseAddress, "/hubs/streams"))
        .Build();

    public async Task<HubConnection> ConnectAsync()
    {
        var connection = CreateHubConnection();
        await connection.StartAsync();
        return connection;
    }

    public HttpClient CreateHttpClient() => new() { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
