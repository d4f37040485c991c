using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using HubStreams.Bench.Scenarios;
using Spectre.Console;

namespace HubStreams.Bench.Infrastructure;

/// <summary>A goal of the project, checked against this run's own figures.</summary>
internal sealed record Goal(string Name, string Target, string Measured, bool Holds);

/// <summary>Everything one run measured, and how it is shown: tables, results/latest.json, RESULTS.md.</summary>
internal sealed class BenchResults(bool quick)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public List<LatencyScenario.Row> Latency { get; } = [];
    public List<ThroughputScenario.Row> Throughput { get; } = [];
    public List<FanoutScenario.Row> Fanout { get; } = [];
    public List<IdleScenario.Row> Idle { get; } = [];
    public List<ResumeScenario.Row> Resume { get; } = [];
    public List<WakeUpScenario.Row> WakeUps { get; } = [];
    public List<DurableAppendScenario.Row> Durable { get; } = [];
    public List<CostScenario.Row> Cost { get; } = [];
    public List<StreamsScenario.Row> Streams { get; } = [];
    public List<MemoryScenario.Row> Memory { get; } = [];

    private static readonly string[] LatencyHeader =
        ["mode", "target", "ev/s", "streams", "received", "p50 ms", "p90 ms", "p99 ms", "max ms", "p50 by window", "p99 by window"];

    private static IEnumerable<string[]> LatencyRows(IEnumerable<LatencyScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, r.Target, N(r.Rate), N(r.Streams), $"{r.Received}/{r.Sent}", F(r.P50Ms), F(r.P90Ms), F(r.P99Ms), F(r.MaxMs),
        string.Join(" · ", r.WindowP50Ms.Select(F)), string.Join(" · ", r.WindowP99Ms.Select(F)),
    });

    private static readonly string[] FanoutHeader = ["mode", "connections", "target", "offered/s", "delivered/s", "p50 ms", "p99 ms"];

    private static IEnumerable<string[]> FanoutRows(IEnumerable<FanoutScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, N(r.Connections), r.Target, N(r.OfferedPerSecond), N(r.DeliveredPerSecond), F(r.P50Ms), F(r.P99Ms),
    });

    private static readonly string[] StreamsHeader = ["mode", "target", "streams", "offered/s", "delivered/s", "p99 ms", "sustained"];

    private static IEnumerable<string[]> StreamsRows(IEnumerable<StreamsScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, r.Target, N(r.Streams), N(r.OfferedPerSecond), N(r.DeliveredPerSecond), F(r.P99Ms), r.Sustained ? "yes" : "no",
    });

    private static readonly string[] MemoryHeader = ["mode", "target", "connections", "heap KiB/conn (after full GC)", "resident KiB/conn"];

    private static IEnumerable<string[]> MemoryRows(IEnumerable<MemoryScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, r.Target, N(r.Connections), F(r.HeapKiBPerConnection), F(r.ResidentKiBPerConnection),
    });

    private static readonly string[] ThroughputHeader =
        ["mode", "producers", "appends/s", "redis-benchmark rpush", "pipelined (-P 16)", "ratio", "appends per call", "Redis CPU µs/append", "µs/RPUSH",
            "conditional/s", "exactly-once cost"];

    private static IEnumerable<string[]> ThroughputRows(IEnumerable<ThroughputScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, N(r.Producers), N(r.AppendsPerSecond), N(r.RedisBenchmarkRpush), N(r.RedisBenchmarkRpushPipelined), r.Ratio is { } x ? $"{x:F2}×" : "—",
        r.AppendsPerCall is { } batch ? batch.ToString("F1", CultureInfo.InvariantCulture) : "—", F(r.RedisCpuUsPerAppend), F(r.RedisCpuUsPerRpush),
        N(r.ConditionalAppendsPerSecond), $"{r.ConditionalRatio:F2}×",
    });

    private static readonly string[] CostHeader = ["mode", "shape", "target", "events", "CPU µs/event", "bytes/event", "work items/event", "lock contentions/event"];

    private static IEnumerable<string[]> CostRows(IEnumerable<CostScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, r.Shape, r.Target, N(r.Delivered), F(r.CpuUsPerEvent), N(r.BytesPerEvent), F(r.WorkItemsPerEvent), r.LockContentionsPerEvent.ToString("F4", CultureInfo.InvariantCulture),
    });

    private static readonly string[] DurableHeader = ["acknowledged", "p50 µs", "p99 µs", "1 producer/s", "8 producers/s", "64 producers/s"];

    private static IEnumerable<string[]> DurableRows(IEnumerable<DurableAppendScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Acknowledged, F(r.P50Us), F(r.P99Us), N(r.OneProducerPerSecond), N(r.EightProducersPerSecond), N(r.SixtyFourProducersPerSecond),
    });

    private static readonly string[] WakeUpHeader =
        ["mode", "publish", "watch new stream p50 µs", "p99 µs", "watch watched stream p50 µs", "p99 µs", "burst of new streams", "burst ms",
            "appends elsewhere", "wake-ups received"];

    private static IEnumerable<string[]> WakeUpRows(IEnumerable<WakeUpScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, r.Publishing, F(r.NewStreamWatchP50Us), F(r.NewStreamWatchP99Us), F(r.WatchedStreamWatchP50Us), F(r.WatchedStreamWatchP99Us),
        N(r.BurstStreams), F(r.BurstMs), N(r.AppendsElsewhere), N(r.WakeUpsReceived),
    });

    public List<Goal> Goals()
    {
        var goals = new List<Goal>();
        foreach (var (mode, limit) in new[] { ("Memory", 2.0), ("Redis", 5.0) })
        {
            var m = mode.ToLowerInvariant();
            var ours = Latency.FirstOrDefault(r => r.Mode == mode && r.Rate == 200 && r.Target == "HubStreams");
            var polling = Latency.FirstOrDefault(r => r.Mode == mode && r.Rate == 200 && r.Target == "Polling");
            if (ours is not null)
            {
                goals.Add(new Goal($"latency p99 at 200 ev/s ({m})", $"≤ {limit} ms", $"{ours.P99Ms:F2} ms", ours.P99Ms <= limit));
            }

            if (ours is not null && polling is not null)
            {
                var ratio = polling.P99Ms / ours.P99Ms;
                goals.Add(new Goal($"latency p99 vs polling at 200 ev/s ({m})", "≥ 20× lower", $"{ratio:F1}× lower", ratio >= 20));
            }

            foreach (var rate in new[] { 200, 2000 })
            {
                var hub = Latency.FirstOrDefault(r => r.Mode == mode && r.Rate == rate && r.Target == "HubStreams");
                var raw = Latency.FirstOrDefault(r => r.Mode == mode && r.Rate == rate && r.Target == "Raw");
                if (hub is not null && raw is not null && raw.P50Ms > 0 && raw.P99Ms > 0)
                {
                    var p50 = hub.P50Ms / raw.P50Ms;
                    var p99 = hub.P99Ms / raw.P99Ms;
                    goals.Add(new Goal($"latency p50 vs raw SignalR at {rate:N0} ev/s ({m})", "≤ 1.3×", $"{p50:F2}× ({hub.P50Ms:F2} / {raw.P50Ms:F2} ms)", p50 <= 1.3));
                    goals.Add(new Goal($"latency p99 vs raw SignalR at {rate:N0} ev/s ({m})", "≤ 1.5×", $"{p99:F2}× ({hub.P99Ms:F2} / {raw.P99Ms:F2} ms)", p99 <= 1.5));
                }
            }
        }

        foreach (var (producers, target) in new[] { (8, 1.0), (64, 1.5) })
        {
            if (Throughput.FirstOrDefault(r => r.Mode == "Redis" && r.Producers == producers) is { Ratio: { } tp })
            {
                goals.Add(new Goal($"throughput, redis, {producers} producers", $"≥ {target:F1}× redis-benchmark RPUSH -c {producers}", $"{tp:F2}×", tp >= target));
            }
        }

        foreach (var mode in new[] { "Memory", "Redis" })
        {
            var m = mode.ToLowerInvariant();
            foreach (var connections in Fanout.Where(r => r.Mode == mode).Select(r => r.Connections).Distinct())
            {
                var ours = FanoutScenario.Capacity(Fanout, mode, connections, "HubStreams");
                var raw = FanoutScenario.Capacity(Fanout, mode, connections, "Raw");
                if (ours > 0 && raw > 0)
                {
                    goals.Add(new Goal($"fan-out capacity, {connections:N0} connections on one stream ({m})", "≥ 0.9× raw SignalR",
                        $"{ours / raw:F2}× ({ours:N0} / {raw:N0} per s)", ours / raw >= 0.9));
                }

                // Past its capacity, delivery holds: at the highest offered load it still delivers nine tenths of its best.
                var steps = Fanout.Where(r => r.Mode == mode && r.Connections == connections && r.Target == "HubStreams").OrderBy(r => r.OfferedPerSecond).ToList();
                if (steps.Count > 1 && ours > 0)
                {
                    var last = steps[^1].DeliveredPerSecond;
                    goals.Add(new Goal($"fan-out under overload, {connections:N0} connections ({m})", "a plateau: ≥ 0.9× its best at the highest load",
                        $"{last / ours:F2}×", last / ours >= 0.9));
                }
            }

            var streamsOurs = StreamsScenario.Capacity(Streams, mode, "HubStreams");
            var streamsRaw = StreamsScenario.Capacity(Streams, mode, "Raw");
            if (Streams.Any(r => r.Mode == mode) && streamsRaw > 0)
            {
                var ratio = streamsOurs / (double)streamsRaw;
                goals.Add(new Goal($"streams sustained at 50 ev/s, one reader each ({m})", "≥ 0.9× raw SignalR",
                    $"{ratio:F2}× ({streamsOurs:N0} / {streamsRaw:N0})", ratio >= 0.9));
            }

            var memoryOurs = Memory.FirstOrDefault(r => r.Mode == mode && r.Target == "HubStreams");
            var memoryRaw = Memory.FirstOrDefault(r => r.Mode == mode && r.Target == "Raw");
            if (memoryOurs is not null && memoryRaw is not null && memoryRaw.HeapKiBPerConnection > 0)
            {
                var ratio = memoryOurs.HeapKiBPerConnection / memoryRaw.HeapKiBPerConnection;
                goals.Add(new Goal($"memory per idle subscribed connection ({m})", "≤ 1.2× raw SignalR",
                    $"{ratio:F2}× ({memoryOurs.HeapKiBPerConnection:F1} / {memoryRaw.HeapKiBPerConnection:F1} KiB)", ratio <= 1.2));
            }
        }

        var idleOurs = Idle.FirstOrDefault(r => r.Mode == "Redis" && r.Target == "HubStreams");
        var idlePolling = Idle.FirstOrDefault(r => r.Mode == "Redis" && r.Target == "Polling");
        if (idleOurs?.RedisCommandsPerSecond is { } ours2 && idlePolling?.RedisCommandsPerSecond is { } polling2 && polling2 > 0)
        {
            var share = ours2 / polling2;
            goals.Add(new Goal("idle Redis commands/s vs polling", "≤ 1 %", $"{share:P3}", share <= 0.01));
        }

        foreach (var mode in new[] { "Memory", "Redis" })
        {
            var small = Resume.FirstOrDefault(r => r.Mode == mode && r.StreamLength == 100);
            var large = Resume.FirstOrDefault(r => r.Mode == mode && r.StreamLength == 100_000);
            if (small is not null && large is not null && small.MedianMs > 0)
            {
                var ratio = large.MedianMs / small.MedianMs;
                goals.Add(new Goal($"resume, 100,000 vs 100 events ({mode.ToLowerInvariant()})", "≤ 2×", $"{ratio:F2}×", ratio <= 2));
            }
        }

        return goals;
    }

    public void Print()
    {
        Show("Latency (append to receipt)", LatencyHeader, LatencyRows(Latency));
        Show("Throughput (appends/s through IStreamManager, 200-byte events)",
            ThroughputHeader, ThroughputRows(Throughput));
        Show("Fan-out capacity (one stream, one node)", FanoutHeader, FanoutRows(Fanout));
        Show("Concurrent streams at 50 events/s, one reader each", StreamsHeader, StreamsRows(Streams));
        Show("Memory per idle subscribed connection", MemoryHeader, MemoryRows(Memory));
        Show("Idle subscribers", ["mode", "target", "subscribers", "Redis cmd/s", "per subscriber/s", "server CPU %"],
            Idle.Select(r => new[] { r.Mode, r.Target, N(r.Subscribers), N(r.RedisCommandsPerSecond), r.RedisCommandsPerSubscriberPerSecond is { } x ? x.ToString("F5", CultureInfo.InvariantCulture) : "—", F(r.ServerCpuPercent) }));
        Show("Resume (time to first event, 10 before the end)", ["mode", "stream length", "samples", "median ms", "max ms"],
            Resume.Select(r => new[] { r.Mode, N(r.StreamLength), N(r.Samples), F(r.MedianMs), F(r.MaxMs) }));
        Show("Wake-ups: per-stream channels", WakeUpHeader, WakeUpRows(WakeUps));
        Show("Durable appends (one replica, REDIS_WAIT_REPLICAS)", DurableHeader, DurableRows(Durable));
        Show("Cost per delivered event (server runtime counters)", CostHeader, CostRows(Cost));
        Show("Goals", ["goal", "target", "measured", "holds"], Goals().Select(g => new[] { g.Name, g.Target, g.Measured, g.Holds ? "yes" : "NO" }));
    }

    public async Task SaveAsync(string benchDirectory, DateTimeOffset started)
    {
        var resultsDirectory = Path.Combine(benchDirectory, "results");
        Directory.CreateDirectory(resultsDirectory);
        var document = new
        {
            machine = Machine(started),
            scenarios = new { latency = Latency, throughput = Throughput, fanout = Fanout, idle = Idle, resume = Resume, wakeups = WakeUps, durable = Durable, cost = Cost, streams = Streams, memory = Memory },
            goals = Goals(),
        };
        await File.WriteAllTextAsync(Path.Combine(resultsDirectory, "latest.json"), JsonSerializer.Serialize(document, Json));
        Charts.Write(this, resultsDirectory);
        var resultsFile = Path.Combine(benchDirectory, "RESULTS.md");
        if (!File.Exists(resultsFile))
        {
            await File.WriteAllTextAsync(resultsFile, "# Benchmark results\n\nEach run appends its tables here, newest last.\n");
        }

        await File.AppendAllTextAsync(resultsFile, Markdown(started));
    }

    private object Machine(DateTimeOffset started) => new
    {
        date = started.ToString("u", CultureInfo.InvariantCulture),
        quick,
        cores = Environment.ProcessorCount,
        memoryGiB = Math.Round(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024), 1),
        cpu = File.Exists("/proc/cpuinfo") ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':')[1].Trim() : null,
        os = RuntimeInformation.OSDescription,
        runtime = RuntimeInformation.FrameworkDescription,
        version = Assembly.GetExecutingAssembly().GetName().Version?.ToString(),
    };

    private string Markdown(DateTimeOffset started)
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"\n## {started:yyyy-MM-dd HH:mm} UTC — {(quick ? "quick" : "full")} run, {Environment.ProcessorCount} cores\n");
        Table(md, LatencyHeader, LatencyRows(Latency));
        Table(md, ThroughputHeader, ThroughputRows(Throughput));
        Table(md, FanoutHeader, FanoutRows(Fanout));
        Table(md, StreamsHeader, StreamsRows(Streams));
        Table(md, MemoryHeader, MemoryRows(Memory));
        Table(md, ["mode", "target", "subscribers", "Redis cmd/s", "server CPU %"],
            Idle.Select(r => new[] { r.Mode, r.Target, N(r.Subscribers), N(r.RedisCommandsPerSecond), F(r.ServerCpuPercent) }));
        Table(md, ["mode", "stream length", "median ms", "max ms"],
            Resume.Select(r => new[] { r.Mode, N(r.StreamLength), F(r.MedianMs), F(r.MaxMs) }));
        Table(md, WakeUpHeader, WakeUpRows(WakeUps));
        Table(md, DurableHeader, DurableRows(Durable));
        Table(md, CostHeader, CostRows(Cost));
        Table(md, ["goal", "target", "measured", "holds"], Goals().Select(g => new[] { g.Name, g.Target, g.Measured, g.Holds ? "yes" : "**no**" }));
        return md.ToString();
    }

    private static void Table(StringBuilder md, string[] header, IEnumerable<string[]> rows)
    {
        var list = rows.ToList();
        if (list.Count == 0)
        {
            return;
        }

        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Concat(header.Select(_ => "---|")));
        foreach (var row in list)
        {
            md.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        md.AppendLine();
    }

    private static void Show(string title, string[] header, IEnumerable<string[]> rows)
    {
        var list = rows.ToList();
        if (list.Count == 0)
        {
            return;
        }

        var table = new Table { Title = new TableTitle(title) };
        foreach (var column in header)
        {
            table.AddColumn(column);
        }

        foreach (var row in list)
        {
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }

        AnsiConsole.Write(table);
    }

    private static string N(double? value) => value is { } v ? v.ToString("N0", CultureInfo.InvariantCulture) : "—";

    private static string F(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    private static string F(double? value) => value is { } v ? F(v) : "—";
}
