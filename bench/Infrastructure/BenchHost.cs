using HubStreams.Bench.Baselines;
using HubStreams.Server.Hosting;

namespace HubStreams.Bench.Infrastructure;

/// <summary>
/// The server under test: HubStreams at /hubs/streams, the polling baseline at /hubs/polling, raw SignalR at /hubs/raw;
/// plus two bench-only endpoints: the process's runtime counters, and a forced full collection before a memory reading.
/// </summary>
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
        app.MapGet("/bench/runtime", RuntimeCounters.Read);
        app.MapPost("/bench/collect", () =>
        {
            // Twice, with the finalizers in between, so what they free is gone too: the heap then holds only what is live.
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            return RuntimeCounters.Read();
        });
        await app.RunAsync();
        return 0;
    }
}

/// <summary>What the server process has spent so far: CPU, allocations, thread-pool work items, lock contentions; and its live heap.</summary>
internal sealed record RuntimeCounters(double CpuMs, long AllocatedBytes, long WorkItems, long LockContentions, long HeapBytes, int Gen2Collections)
{
    public static RuntimeCounters Read() => new(
        Environment.CpuUsage.TotalTime.TotalMilliseconds,
        GC.GetTotalAllocatedBytes(precise: true),
        ThreadPool.CompletedWorkItemCount,
        Monitor.LockContentionCount,
        GC.GetTotalMemory(forceFullCollection: false),
        GC.CollectionCount(2));

    public RuntimeCounters Minus(RuntimeCounters before) => new(
        CpuMs - before.CpuMs, AllocatedBytes - before.AllocatedBytes, WorkItems - before.WorkItems,
        LockContentions - before.LockContentions, HeapBytes - before.HeapBytes, Gen2Collections - before.Gen2Collections);
}
