using System.Collections.Concurrent;
using HubStreams.Client;
using HubStreams.Protocols.MessagePack;
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
    public static Task<HubStreamsServer> StartOnPortAsync(int port, params (string Name, string Value)[] settings) =>
        StartAsync(port, configureServices: null, settings);

    /// <summary>Starts a server with services changed after HubStreams registered its own (SignalR's timeouts, say).</summary>
    public static Task<HubStreamsServer> StartAsync(Action<IServiceCollection> configureServices, params (string Name, string Value)[] settings) =>
        StartAsync(0, configureServices, settings);

    private static async Task<HubStreamsServer> StartAsync(int port, Action<IServiceCollection>? configureServices, (string Name, string Value)[] settings)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = "Development",
        });
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Name, s.Value)));
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var logs = new ConcurrentQueue<string>();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddFilter<Microsoft.Extensions.Logging.Console.ConsoleLoggerProvider>(level => level >= LogLevel.Warning);
        builder.Logging.AddProvider(new CapturingLoggerProvider(logs));
        builder.AddHubStreams();
        configureServices?.Invoke(builder.Services);
        var app = builder.Build();
        app.MapHubStreams();
        await app.StartAsync();
        return new HubStreamsServer(app, new Uri(app.Urls.First())) { Logs = logs };
    }

    /// <summary>Starts a server in redis mode on the test Redis, under <paramref name="prefix"/>.</summary>
    public static Task<HubStreamsServer> StartRedisAsync(IRedisTestStore redis, string prefix, params (string Name, string Value)[] more) =>
        StartRedisOnPortAsync(0, redis, prefix, more);

    public static Task<HubStreamsServer> StartRedisOnPortAsync(int port, IRedisTestStore redis, string prefix, params (string Name, string Value)[] more) =>
        StartOnPortAsync(port, [("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix), .. more]);

    /// <summary>A redis-mode server with services changed after HubStreams registered its own (a tracer, say).</summary>
    public static Task<HubStreamsServer> StartRedisAsync(IRedisTestStore redis, string prefix, Action<IServiceCollection> configureServices) =>
        StartAsync(0, configureServices, [("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix)]);

    /// <summary>Everything the server logged, for tests that look for what must never be written.</summary>
    public ConcurrentQueue<string> Logs { get; private set; } = new();

    /// <summary>The hub's address on this server.</summary>
    public Uri HubUrl() => new(BaseAddress, "/hubs/streams");

    /// <summary>The hub protocol of the connections this fixture makes: JSON unless a test says otherwise.</summary>
    public HubProtocol Protocol { get; set; } = HubProtocol.Json;

    public HubConnection CreateHubConnection(string? token = null)
    {
        var builder = new HubConnectionBuilder().WithUrl(new Uri(BaseAddress, "/hubs/streams"), options =>
        {
            if (token is not null)
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            }
        });
        if (Protocol == HubProtocol.MessagePack)
        {
            builder.AddHubStreamsMessagePackProtocol();
        }

        return builder.Build();
    }

    public async Task<HubConnection> ConnectAsync(string? token = null)
    {
        var connection = CreateHubConnection(token);
        await connection.StartAsync();
        return connection;
    }

    public HttpClient CreateHttpClient(string? token = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keeps every log line (message and exception) in memory.</summary>
internal sealed class CapturingLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, lines);

    public void Dispose()
    {
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
