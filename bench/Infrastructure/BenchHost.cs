using HubStreams.Bench.Baselines;
using HubStreams.Server.Hosting;

namespace HubStreams.Bench.Infrastructure;

/// <summary>The server under test: HubStreams at /hubs/streams, the polling baseline at /hubs/polling, raw SignalR at /hubs/raw.</summary>
internal static class BenchHost
{
    public const string Argument = "host";

    public static async Task<int> RunAsync(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.AddHubStreams();
        builder.Services.AddSingleton<RawChannels>();
        var app = builder.Build();
        app.MapHubStreams();
        app.MapHub<PollingHub>("/hubs/polling");
        app.MapHub<RawHub>("/hubs/raw");
        await app.RunAsync();
        return 0;
    }
}
