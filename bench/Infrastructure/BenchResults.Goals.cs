using HubStreams.Bench.Scenarios;

namespace HubStreams.Bench.Infrastructure;

// The project's goals, each checked against the run's own figures (a ratio always compares rows of the same run).
internal sealed partial class BenchResults
{
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

        foreach (var group in LateJoiner.GroupBy(r => (r.Mode, r.Transport)))
        {
            var full = group.FirstOrDefault(r => r.Read == "full");
            var compacted = group.FirstOrDefault(r => r.Read == "compacted");
            if (full is not null && compacted is not null && compacted.Bytes > 0 && compacted.MedianMs > 0)
            {
                var where = $"{group.Key.Transport}, {group.Key.Mode.ToLowerInvariant()}";
                var bytes = full.Bytes / (double)compacted.Bytes;
                var time = full.MedianMs / compacted.MedianMs;
                goals.Add(new Goal($"late joiner, compacted vs full replay: bytes ({where})", "≥ 10× fewer", $"{bytes:F0}× ({compacted.Bytes:N0} / {full.Bytes:N0})", bytes >= 10));
                goals.Add(new Goal($"late joiner, compacted vs full replay: time to catch up ({where})", "≥ 5× less", $"{time:F1}× ({compacted.MedianMs:F2} / {full.MedianMs:F2} ms)", time >= 5));
            }
        }

        return goals;
    }
}
