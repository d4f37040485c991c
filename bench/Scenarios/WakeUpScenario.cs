using System.Diagnostics;
using System.Diagnostics.Metrics;
using HubStreams.Bench.Infrastructure;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Redis;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace HubStreams.Bench.Scenarios;

/// <summary>
/// What per-stream wake-up channels cost and save, through two Redis stores (two nodes) on their own connections:
/// the time to begin watching a stream no one on the node watches yet (it subscribes to the stream's channel: one round
/// trip) against one another watcher already holds (no round trip: what every watch cost with the single channel of
/// old); a burst of new streams watched at once (their subscribes go out in batches); and the wake-ups a node with no
/// watchers receives while the other appends, where a single channel delivered every append to every node.
/// </summary>
internal static class WakeUpScenario
{
    public sealed record Row(
        string Mode, string Publishing, double NewStreamWatchP50Us, double NewStreamWatchP99Us, double WatchedStreamWatchP50Us,
        double WatchedStreamWatchP99Us, int BurstStreams, double BurstMs, int AppendsElsewhere, long WakeUpsReceived);

    public static async Task<List<Row>> RunAsync(BenchRun run)
    {
        if (run.Redis is not { } redis)
        {
            return [];
        }

        await using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var prefix = $"bench:wake:{Guid.NewGuid():N}";
        await using var readerConnection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        await using var writerConnection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var readerMetrics = new StreamMetrics(services.GetRequiredService<IMeterFactory>());
        await using var reader = new RedisStreamManager(readerConnection, new StreamOptions(), new RedisStreamOptions { Prefix = prefix },
            readerMetrics, NullLogger<RedisStreamManager>.Instance);
        await using var writer = new RedisStreamManager(writerConnection, new StreamOptions(), new RedisStreamOptions { Prefix = prefix },
            new StreamMetrics(services.GetRequiredService<IMeterFactory>()), NullLogger<RedisStreamManager>.Instance);
        var publishing = await reader.DetectWakeUpPublishingAsync();

        var samples = run.Quick ? 500 : 3000;
        run.Report($"wake-ups: {samples} watches of new streams, one at a time");
        var newStream = new List<double>(samples);
        var watchedStream = new List<double>(samples);
        for (var i = 0; i < samples; i++)
        {
            var key = StreamKey.Create("wake", $"m{i}-{Guid.NewGuid():N}");
            var clock = Stopwatch.StartNew();
            using var first = await reader.WatchAsync(key);
            newStream.Add(clock.Elapsed.TotalMicroseconds);
            clock.Restart();
            using var second = await reader.WatchAsync(key);
            watchedStream.Add(clock.Elapsed.TotalMicroseconds);
        }

        var burst = run.Quick ? 1000 : 5000;
        run.Report($"wake-ups: {burst} new streams watched at once");
        var burstClock = Stopwatch.StartNew();
        var watches = await Task.WhenAll(Enumerable.Range(0, burst).Select(i => reader.WatchAsync(StreamKey.Create("burst", $"m{i}-{Guid.NewGuid():N}"))));
        var burstMs = burstClock.Elapsed.TotalMilliseconds;
        foreach (var watch in watches)
        {
            watch.Dispose();
        }

        // The reader node follows none of the streams written now: it receives nothing for them.
        var appends = run.Quick ? 2000 : 10_000;
        run.Report($"wake-ups: {appends} appends to streams the reader node does not watch");
        var before = reader.Metrics.WakeUpsReceived;
        var unwatched = StreamKey.Create("wake", $"unwatched-{Guid.NewGuid():N}");
        var answer = new StreamEvent { Type = EventTypes.Answer, Content = "x" };
        for (var i = 0; i < appends; i++)
        {
            await writer.AppendAsync(unwatched, answer);
        }

        // A watched stream's append, written last, marks when every earlier notification would have arrived.
        var marker = StreamKey.Create("wake", $"marker-{Guid.NewGuid():N}");
        using (var watch = await reader.WatchAsync(marker))
        {
            await writer.AppendAsync(marker, answer);
            await watch.WaitAsync(0, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        }

        var received = reader.Metrics.WakeUpsReceived - before - 1;
        return
        [
            new Row(run.Mode.ToString(), publishing.ToString(), Percentile(newStream, 0.5), Percentile(newStream, 0.99),
                Percentile(watchedStream, 0.5), Percentile(watchedStream, 0.99), burst, burstMs, appends, received),
        ];
    }

    private static double Percentile(List<double> values, double quantile)
    {
        var sorted = values.Order().ToArray();
        return sorted[Math.Min(sorted.Length - 1, (int)(quantile * sorted.Length))];
    }
}
