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
internal sealed partial class BenchResults(bool quick)
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
    public List<SessionsScenario.Row> Sessions { get; } = [];
    public List<LateJoinerScenario.Row> LateJoiner { get; } = [];

    public List<ProtocolScenario.Row> Protocols { get; } = [];
    public List<StreamsScenario.Row> Streams { get; } = [];
    public List<MemoryScenario.Row> Memory { get; } = [];
    public List<PeersScenario.Row> Peers { get; } = [];

    private static readonly string[] PeersHeader =
        ["system", "p50 / p99 ms (5 × 50 ev/s)", "server CPU s/1,000 ev there", "streams sustained at 50 ev/s", "server CPU s/1,000 ev at 250 streams",
            "resume: gaps / dups, first event ms", "producer's node killed: recovered", "late joiner of 5,000: bytes, ms"];

    private static IEnumerable<string[]> PeersRows(IEnumerable<PeersScenario.Row> rows) => rows.Select(r => new[]
    {
        r.System, $"{F(r.Latency.P50Ms)} / {F(r.Latency.P99Ms)}", F(r.Latency.ServerCpuSecondsPer1000), N(r.Sustained),
        F(r.Steps.FirstOrDefault(s => s.Streams == 250)?.ServerCpuSecondsPer1000),
        r.Resume is { } x ? $"{x.Gaps} / {x.Duplicates}, {F(x.FirstEventMedianMs)}" : "n/a",
        r.Kill is { } k ? $"{k.Recovered} / {k.Written}" : $"n/a ({r.KillNotApplicable})",
        r.LateJoiner is { } l ? $"{N(l.Bytes)}, {F(l.MedianMs)}" : $"n/a ({r.LateJoinerNotApplicable})",
    });

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

    private static readonly string[] SessionsHeader =
        ["mode", "messages", "Redis cmd/message", "index records/message", "index bytes/message", "first page p50 ms", "first page p99 ms", "pages", "whole listing p50 ms"];

    private static IEnumerable<string[]> SessionsRows(IEnumerable<SessionsScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, N(r.Messages), F(r.RedisCommandsPerMessage), F(r.IndexRecordsPerMessage), F(r.IndexBytesPerMessage),
        F(r.FirstPageMedianMs), F(r.FirstPageP99Ms), N(r.Pages), F(r.WholeListingMedianMs),
    });

    private static readonly string[] LateJoinerHeader =
        ["mode", "transport", "read", "chunks", "text chars", "events received", "bytes received", "first read ms", "caught up p50 ms", "max ms"];

    private static IEnumerable<string[]> LateJoinerRows(IEnumerable<LateJoinerScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, r.Transport, r.Read, N(r.Chunks), N(r.TextChars), N(r.EventsReceived), N(r.Bytes), F(r.FirstMs), F(r.MedianMs), F(r.MaxMs),
    });

    private static readonly string[] ProtocolHeader =
        ["mode", "protocol", "answer chunk bytes", "tool call bytes", "events delivered", "CPU µs/event", "allocated bytes/event"];

    private static IEnumerable<string[]> ProtocolRows(IEnumerable<ProtocolScenario.Row> rows) => rows.Select(r => new[]
    {
        r.Mode, r.Protocol, N(r.AnswerChunkBytes), N(r.ToolCallBytes), N(r.Delivered), F(r.CpuUsPerEvent), N(r.AllocatedBytesPerEvent),
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
        Show("Sessions: what a session's index and listing cost (two events a message)", SessionsHeader, SessionsRows(Sessions));
        Show("Late joiner: a finished 5,000-chunk answer read from offset 0", LateJoinerHeader, LateJoinerRows(LateJoiner));
        Show("Protocols: JSON and MessagePack, 1,000 connections on one stream at 50 ev/s", ProtocolHeader, ProtocolRows(Protocols));
        Show("Peers, same run, same driver (readers on the second node where there are two)", PeersHeader, PeersRows(Peers));
        Show("Goals", ["goal", "target", "measured", "holds"], Goals().Select(g => new[] { g.Name, g.Target, g.Measured, g.Holds ? "yes" : "NO" }));
    }

    public async Task SaveAsync(string benchDirectory, DateTimeOffset started)
    {
        var resultsDirectory = Path.Combine(benchDirectory, "results");
        Directory.CreateDirectory(resultsDirectory);
        var document = new
        {
            machine = Machine(started),
            scenarios = new { latency = Latency, throughput = Throughput, fanout = Fanout, idle = Idle, resume = Resume, wakeups = WakeUps, durable = Durable, cost = Cost, streams = Streams, memory = Memory, sessions = Sessions, lateJoiner = LateJoiner, protocols = Protocols, peers = Peers },
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
        Table(md, SessionsHeader, SessionsRows(Sessions));
        Table(md, LateJoinerHeader, LateJoinerRows(LateJoiner));
        Table(md, ProtocolHeader, ProtocolRows(Protocols));
        Table(md, PeersHeader, PeersRows(Peers));
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
