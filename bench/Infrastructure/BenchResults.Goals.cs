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
                var floor = mode == "Memory" ? 0.9 : 0.6;
                goals.Add(new Goal($"streams sustained at 50 ev/s, one reader each ({m})", $"≥ {floor:F1}× raw SignalR",
                    $"{ratio:F2}× ({streamsOurs:N0} / {streamsRaw:N0})", ratio >= floor));
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

        if (Cost.FirstOrDefault(r => r.Mode == "Redis" && r.Target == "HubStreams" && r.Shape.StartsWith("1 subscriber", StringComparison.Ordinal)) is { } cost
            && Cost.FirstOrDefault(r => r.Mode == "Redis" && r.Target == "Raw" && r.Shape == cost.Shape) is { CpuUsPerEvent: > 0, BytesPerEvent: > 0 } rawCost)
        {
            var cpu = cost.CpuUsPerEvent / rawCost.CpuUsPerEvent;
            var bytes = cost.BytesPerEvent / rawCost.BytesPerEvent;
            goals.Add(new Goal("node CPU per delivered event, one subscriber at 2,000 ev/s (redis)", "≤ 1.3× raw SignalR",
                $"{cpu:F2}× ({cost.CpuUsPerEvent:F0} / {rawCost.CpuUsPerEvent:F0} µs)", cpu <= 1.3));
            goals.Add(new Goal("allocations per delivered event, one subscriber at 2,000 ev/s (redis)", "≤ 2× raw SignalR",
                $"{bytes:F2}× ({cost.BytesPerEvent:N0} / {rawCost.BytesPerEvent:N0} B)", bytes <= 2));
        }

        if (Throughput.FirstOrDefault(r => r.Mode == "Redis" && r.Producers == 64) is { RedisCpuUsPerAppend: { } perAppend, RedisCpuUsPerRpush: { } perRpush } && perRpush > 0)
        {
            goals.Add(new Goal("Redis CPU per append, 64 producers", "≤ 0.7× a bare RPUSH's", $"{perAppend / perRpush:F2}× ({perAppend:F1} / {perRpush:F1} µs)", perAppend / perRpush <= 0.7));
        }

        goals.AddRange(PeerGoals());
        return goals;
    }

    // HubStreams beside the systems users would pick instead, all from the same run.
    private IEnumerable<Goal> PeerGoals()
    {
        var redis = Peers.FirstOrDefault(r => r.System == "HubStreams (Redis)");
        var memory = Peers.FirstOrDefault(r => r.System == "HubStreams (memory)");
        var resumable = Peers.FirstOrDefault(r => r.System == "resumable-stream");
        var durable = Peers.FirstOrDefault(r => r.System == "Durable Streams");
        var others = Peers.Where(r => !r.System.StartsWith("HubStreams", StringComparison.Ordinal)).ToList();
        if (redis is null || others.Count == 0)
        {
            yield break;
        }

        if (resumable is not null)
        {
            yield return new Goal("peers: streams sustained at 50 ev/s, HubStreams (Redis) vs resumable-stream", "≥ 1×",
                $"{redis.Sustained:N0} / {resumable.Sustained:N0}", redis.Sustained >= resumable.Sustained);
            var step = redis.Steps.Where(s => s.Sustained).Select(s => s.Streams)
                .Intersect(resumable.Steps.Where(s => s.Sustained).Select(s => s.Streams)).DefaultIfEmpty(0).Max();
            if (step > 0 && redis.Steps.First(s => s.Streams == step).ServerCpuSecondsPer1000 is { } ours
                && resumable.Steps.First(s => s.Streams == step).ServerCpuSecondsPer1000 is { } theirs)
            {
                yield return new Goal($"peers: server CPU per 1,000 events at {step:N0} streams, vs resumable-stream", "≤ 1×",
                    $"{ours / theirs:F2}× ({ours:F3} / {theirs:F3} s)", ours <= theirs);
            }

            yield return new Goal("peers: latency p50 at 5 × 50 ev/s, vs resumable-stream", "≤ 2×",
                $"{redis.Latency.P50Ms / resumable.Latency.P50Ms:F2}× ({redis.Latency.P50Ms:F2} / {resumable.Latency.P50Ms:F2} ms)",
                redis.Latency.P50Ms <= 2 * resumable.Latency.P50Ms);
        }

        foreach (var other in others.Where(o => o != resumable && o.Kill is not null))
        {
            yield return new Goal($"peers: streams sustained at 50 ev/s, HubStreams (Redis) vs {other.System}", "≥ 1×",
                $"{redis.Sustained:N0} / {other.Sustained:N0}", redis.Sustained >= other.Sustained);
        }

        foreach (var other in others.Where(o => o != resumable))
        {
            yield return new Goal($"peers: latency p50 at 5 × 50 ev/s, vs {other.System}", "below",
                $"{redis.Latency.P50Ms:F2} / {other.Latency.P50Ms:F2} ms", redis.Latency.P50Ms < other.Latency.P50Ms);
        }

        var cheapest = others.Where(o => o.Latency.ServerCpuSecondsPer1000 is not null).MinBy(o => o.Latency.ServerCpuSecondsPer1000);
        if (cheapest is not null && redis.Latency.ServerCpuSecondsPer1000 is { } low)
        {
            var ratio = low / cheapest.Latency.ServerCpuSecondsPer1000!.Value;
            yield return new Goal($"peers: server CPU per 1,000 events at 5 × 50 ev/s, vs the cheapest ({cheapest.System})", "≤ 2×",
                $"{ratio:F2}× ({low:F2} / {cheapest.Latency.ServerCpuSecondsPer1000:F2} s)", ratio <= 2);
        }

        if (redis.Kill is { } kill)
        {
            yield return new Goal("peers: the producer's node SIGKILLed, a new reader on the other recovers (HubStreams, Redis)", "everything",
                $"{kill.Recovered} / {kill.Written}", kill.Recovered == kill.Written && kill.Duplicates == 0);
        }

        var ours2 = Peers.Where(r => r.System.StartsWith("HubStreams", StringComparison.Ordinal)).ToList();
        var lost = ours2.Sum(r => r.Latency.Gaps + r.Latency.Duplicates + r.Steps.Sum(s => s.Gaps + s.Duplicates) + (r.Resume is { } x ? x.Gaps + x.Duplicates : 0));
        yield return new Goal("peers: gaps and duplicates in every HubStreams row", "0", $"{lost}", lost == 0);

        if (durable?.LateJoiner is { } theirs2)
        {
            foreach (var ours3 in ours2.Where(r => r.LateJoiner is not null))
            {
                var late = ours3.LateJoiner!;
                yield return new Goal($"peers: late joiner of 5,000 events, bytes, {ours3.System} vs Durable Streams", "≤ 1×",
                    $"{late.Bytes:N0} / {theirs2.Bytes:N0}", late.Bytes <= theirs2.Bytes);
                yield return new Goal($"peers: late joiner of 5,000 events, time, {ours3.System} vs Durable Streams", "≤ 1×",
                    $"{late.MedianMs:F1} / {theirs2.MedianMs:F1} ms", late.MedianMs <= theirs2.MedianMs);
            }
        }

        if (memory is not null && durable is not null)
        {
            var ahead = memory.Latency.P50Ms < durable.Latency.P50Ms && memory.Latency.P99Ms < durable.Latency.P99Ms
                && memory.Latency.ServerCpuSecondsPer1000 < durable.Latency.ServerCpuSecondsPer1000 && memory.Sustained >= durable.Sustained;
            yield return new Goal("peers: HubStreams (memory) ahead of the Durable Streams server (p50, p99, CPU, streams sustained)", "every row",
                $"p50 {memory.Latency.P50Ms:F2} / {durable.Latency.P50Ms:F2} ms, p99 {memory.Latency.P99Ms:F2} / {durable.Latency.P99Ms:F2} ms, "
                + $"CPU {memory.Latency.ServerCpuSecondsPer1000:F2} / {durable.Latency.ServerCpuSecondsPer1000:F2} s, streams {memory.Sustained:N0} / {durable.Sustained:N0}", ahead);
        }
    }
}
