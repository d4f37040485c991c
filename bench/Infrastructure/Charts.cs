using HubStreams.Bench.Scenarios;
using ScottPlot;

namespace HubStreams.Bench.Infrastructure;

/// <summary>
/// The run's charts, as SVG next to latest.json: latency percentiles per target and mode, fan-out deliveries/s and
/// p99 against the offered load, streams sustained at 50 events/s, and appends/s against producers with the
/// redis-benchmark lines. Every run writes the charts its scenarios have figures for.
/// </summary>
internal static class Charts
{
    private const int Width = 900;
    private const int Height = 500;
    private static readonly ScottPlot.Palettes.Category10 Palette = new();

    public static List<string> Write(BenchResults results, string directory)
    {
        var written = new List<string>();
        void Save(Plot plot, string name)
        {
            var path = Path.Combine(directory, name);
            plot.SaveSvg(path, Width, Height);
            written.Add(path);
        }

        if (results.Latency.Count > 0)
        {
            Save(Latency(results.Latency), "latency.svg");
        }

        if (results.Fanout.Count > 0)
        {
            Save(Fanout(results.Fanout, p99: false), "fanout-delivered.svg");
            Save(Fanout(results.Fanout, p99: true), "fanout-p99.svg");
        }

        if (results.Streams.Count > 0)
        {
            Save(Streams(results.Streams), "streams.svg");
        }

        if (results.Throughput.Count > 0)
        {
            Save(Throughput(results.Throughput), "throughput.svg");
        }

        if (results.Peers.Count > 0)
        {
            Save(Peers(results.Peers, cpu: false), "peers-streams.svg");
            Save(Peers(results.Peers, cpu: true), "peers-cpu.svg");
        }

        return written;
    }

    // One group of bars per mode and rate; in each, p50 and p99 of every target.
    private static Plot Latency(List<LatencyScenario.Row> rows)
    {
        var plot = new Plot();
        var groups = rows.Select(r => (r.Mode, r.Rate)).Distinct().ToList();
        var targets = rows.Select(r => r.Target).Distinct().ToList();
        var ticks = new List<Tick>();
        var position = 0.0;
        foreach (var (mode, rate) in groups)
        {
            var start = position;
            foreach (var (target, t) in targets.Select((x, i) => (x, i)))
            {
                if (rows.FirstOrDefault(r => r.Mode == mode && r.Rate == rate && r.Target == target) is not { } row)
                {
                    continue;
                }

                var color = Palette.GetColor(t);
                plot.Add.Bar(new Bar { Position = position, Value = row.P99Ms, FillColor = color.WithAlpha(0.45), Size = 0.8 });
                plot.Add.Bar(new Bar { Position = position, Value = row.P50Ms, FillColor = color, Size = 0.8 });
                position += 1;
            }

            ticks.Add(new Tick((start + position - 1) / 2, $"{mode}, {rate:N0} ev/s"));
            position += 1;
        }

        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Margins(bottom: 0);
        foreach (var (target, t) in targets.Select((x, i) => (x, i)))
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = target, FillColor = Palette.GetColor(t) });
        }

        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title("Append-to-receipt latency: p50 (solid) and p99 (light)");
        plot.YLabel("ms");
        return plot;
    }

    private static Plot Fanout(List<FanoutScenario.Row> rows, bool p99)
    {
        var plot = new Plot();
        var series = rows.Select(r => (r.Mode, r.Connections, r.Target)).Distinct().ToList();
        foreach (var ((mode, connections, target), i) in series.Select((x, i) => (x, i)))
        {
            var points = rows.Where(r => r.Mode == mode && r.Connections == connections && r.Target == target).OrderBy(r => r.OfferedPerSecond).ToList();
            var scatter = plot.Add.Scatter(
                points.Select(r => r.OfferedPerSecond / 1000).ToArray(),
                points.Select(r => p99 ? r.P99Ms : r.DeliveredPerSecond / 1000).ToArray());
            scatter.LegendText = $"{target}, {mode}, {connections:N0} conn.";
            scatter.Color = Palette.GetColor(i);
            scatter.MarkerShape = connections > 1000 ? MarkerShape.OpenSquare : MarkerShape.FilledCircle;
        }

        if (!p99)
        {
            var top = rows.Max(r => r.OfferedPerSecond) / 1000;
            AddOffered(plot, top, top, "delivered = offered");
        }

        return Labelled(plot, p99 ? "Fan-out on one stream: p99 latency against offered load" : "Fan-out on one stream: delivered against offered",
            "offered, thousand deliveries/s", p99 ? "p99 ms" : "delivered, thousand deliveries/s");
    }

    private static Plot Streams(List<StreamsScenario.Row> rows)
    {
        var plot = new Plot();
        foreach (var ((mode, target), i) in rows.Select(r => (r.Mode, r.Target)).Distinct().Select((x, i) => (x, i)))
        {
            var points = rows.Where(r => r.Mode == mode && r.Target == target).OrderBy(r => r.Streams).ToList();
            var scatter = plot.Add.Scatter(points.Select(r => (double)r.Streams).ToArray(), points.Select(r => r.DeliveredPerSecond / 1000).ToArray());
            scatter.LegendText = $"{target}, {mode}";
            scatter.Color = Palette.GetColor(i);
        }

        var top = rows.Max(r => r.Streams);
        AddOffered(plot, top, top * StreamsScenario.EventsPerStreamPerSecond / 1000, "offered");
        return Labelled(plot, $"Concurrent streams at {StreamsScenario.EventsPerStreamPerSecond:N0} events/s, one reader each", "streams", "delivered, thousand events/s");
    }

    // Each system's steps of concurrent streams: delivered events/s, or server CPU per 1,000 delivered events.
    private static Plot Peers(List<PeersScenario.Row> rows, bool cpu)
    {
        var plot = new Plot();
        foreach (var (row, i) in rows.Select((r, i) => (r, i)))
        {
            var points = row.Steps.Where(s => !cpu || s.ServerCpuSecondsPer1000 is not null).OrderBy(s => s.Streams).ToList();
            var scatter = plot.Add.Scatter(
                points.Select(s => (double)s.Streams).ToArray(),
                points.Select(s => cpu ? s.ServerCpuSecondsPer1000!.Value : s.DeliveredPerSecond / 1000).ToArray());
            scatter.LegendText = row.System;
            scatter.Color = Palette.GetColor(i);
        }

        if (!cpu)
        {
            var top = rows.SelectMany(r => r.Steps).Max(s => s.Streams);
            AddOffered(plot, top, top * StreamsScenario.EventsPerStreamPerSecond / 1000, "offered");
        }

        return Labelled(plot, cpu ? "Server CPU (every node and Redis) per 1,000 delivered events" : "Concurrent streams at 50 events/s, readers on the other node",
            "streams", cpu ? "CPU seconds per 1,000 events" : "delivered, thousand events/s");
    }

    // The grey line of what was offered, from the origin to (x, y).
    private static void AddOffered(Plot plot, double x, double y, string label)
    {
        var line = plot.Add.Line(0, 0, x, y);
        line.LegendText = label;
        line.Color = Colors.Gray;
    }

    private static Plot Labelled(Plot plot, string title, string x, string y)
    {
        plot.ShowLegend(Alignment.UpperLeft);
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    private static Plot Throughput(List<ThroughputScenario.Row> rows)
    {
        var plot = new Plot();
        var index = 0;

        // The stores with a redis-benchmark line to compare with; memory mode's millions would flatten them.
        foreach (var mode in rows.Where(r => r.RedisBenchmarkRpush is not null).Select(r => r.Mode).Distinct())
        {
            var points = rows.Where(r => r.Mode == mode).OrderBy(r => r.Producers).ToList();
            var xs = points.Select(r => (double)r.Producers).ToArray();
            var ours = plot.Add.Scatter(xs, points.Select(r => r.AppendsPerSecond / 1000).ToArray());
            ours.LegendText = $"HubStreams, {mode}";
            ours.Color = Palette.GetColor(index++);
            if (points.All(r => r.RedisBenchmarkRpush is not null))
            {
                var bare = plot.Add.Scatter(xs, points.Select(r => r.RedisBenchmarkRpush!.Value / 1000).ToArray());
                bare.LegendText = $"redis-benchmark RPUSH, {mode}";
                bare.Color = Palette.GetColor(index++);
                bare.MarkerShape = MarkerShape.OpenSquare;
            }
        }

        return Labelled(plot, "Appends/s against concurrent producers (200-byte events)", "producers", "thousand appends/s");
    }
}
