using HubStreams.Bench.Infrastructure;
using HubStreams.Bench.Scenarios;
using Spectre.Console;

// dotnet run -c Release --project bench -- [latency|throughput|fanout|streams|memory|idle|resume|wakeups|durable|cost|sessions|latejoiner|protocols|peers …] [--quick] [--cluster] [--memory|--redis]
if (args.FirstOrDefault() == BenchHost.Argument)
{
    return await BenchHost.RunAsync(args[1..]);
}

string[] known = ["latency", "throughput", "fanout", "streams", "memory", "idle", "resume", "wakeups", "durable", "cost", "sessions", "latejoiner", "protocols", "peers"];
string[] options = ["--quick", "--cluster", "--memory", "--redis"];
var quick = args.Contains("--quick");
var cluster = args.Contains("--cluster");
var unknown = args.Where(a => !options.Contains(a) && !known.Contains(a)).ToList();
if (unknown.Count > 0)
{
    AnsiConsole.MarkupLine($"[red]Unknown argument(s): {Markup.Escape(string.Join(", ", unknown))}.[/] Scenarios: {string.Join(", ", known)}; options: {string.Join(", ", options)}.");
    return 2;
}

var scenarios = args.Where(known.Contains).DefaultIfEmpty().All(a => a is null) ? known : args.Where(known.Contains).ToArray();
var started = DateTimeOffset.UtcNow;
var results = new BenchResults(quick);
var benchDirectory = BenchRun.BenchDirectory;

await AnsiConsole.Status().StartAsync("starting", async context =>
{
    using var run = new BenchRun(quick, status =>
    {
        context.Status(Markup.Escape($"{DateTimeOffset.UtcNow - started:mm\\:ss} {status}"));
        Console.Error.WriteLine($"{DateTimeOffset.UtcNow - started:mm\\:ss} {status}");
    });
    // With --cluster, every scenario also runs on a Redis Cluster of three primaries, after the single Redis.
    // --memory or --redis alone runs that store only (to profile one, say).
    StoreMode[] modes = cluster ? [StoreMode.Memory, StoreMode.Redis, StoreMode.RedisCluster] : [StoreMode.Memory, StoreMode.Redis];
    if (args.Contains("--memory") != args.Contains("--redis"))
    {
        modes = args.Contains("--memory") ? [StoreMode.Memory] : [.. modes.Where(m => m != StoreMode.Memory)];
    }

    foreach (var mode in scenarios.Any(s => s != "peers") ? modes : [])
    {
        run.Mode = mode;
        await using var redis = mode switch
        {
            StoreMode.Redis => await BenchRedis.StartAsync(),
            StoreMode.RedisCluster => await BenchRedis.StartClusterAsync(),
            _ => null,
        };
        run.Redis = redis;
        await using var server = await BenchServer.StartAsync(mode, redis);
        run.Server = server;
        if (scenarios.Contains("latency")) results.Latency.AddRange(await LatencyScenario.RunAsync(run));
        if (scenarios.Contains("throughput")) results.Throughput.AddRange(await ThroughputScenario.RunAsync(run));
        if (scenarios.Contains("fanout")) results.Fanout.AddRange(await FanoutScenario.RunAsync(run));
        if (scenarios.Contains("streams")) results.Streams.AddRange(await StreamsScenario.RunAsync(run));
        if (scenarios.Contains("memory")) results.Memory.AddRange(await MemoryScenario.RunAsync(run));
        if (scenarios.Contains("idle")) results.Idle.AddRange(await IdleScenario.RunAsync(run));
        if (scenarios.Contains("resume")) results.Resume.AddRange(await ResumeScenario.RunAsync(run));
        if (scenarios.Contains("wakeups")) results.WakeUps.AddRange(await WakeUpScenario.RunAsync(run));
        if (scenarios.Contains("durable")) results.Durable.AddRange(await DurableAppendScenario.RunAsync(run));
        if (scenarios.Contains("cost")) results.Cost.AddRange(await CostScenario.RunAsync(run));
        if (scenarios.Contains("sessions")) results.Sessions.AddRange(await SessionsScenario.RunAsync(run));
        if (scenarios.Contains("latejoiner")) results.LateJoiner.AddRange(await LateJoinerScenario.RunAsync(run));
        if (scenarios.Contains("protocols")) results.Protocols.AddRange(await ProtocolScenario.RunAsync(run));
    }

    // The peers bring their own servers and Redis, one system at a time, after the modes.
    if (scenarios.Contains("peers"))
    {
        run.Mode = StoreMode.Redis;
        results.Peers.AddRange(await PeersScenario.RunAsync(run));
    }
});

results.Print();
await results.SaveAsync(benchDirectory, started);
AnsiConsole.MarkupLine($"Finished in {DateTimeOffset.UtcNow - started:mm\\:ss}. Wrote {Markup.Escape(Path.Combine(benchDirectory, "results", "latest.json"))} and the charts beside it, and appended to RESULTS.md.");
return 0;
