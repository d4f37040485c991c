using HubStreams.Streams;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Streams;

// Group commit of appends, and readers served from the wake-up that carries the new events.
public abstract partial class RedisStoreContract
{
    [Fact]
    public async Task Appends_that_arrive_while_a_call_is_in_flight_go_to_redis_together_and_keep_dense_offsets()
    {
        var metrics = TestMetrics.Create();
        var manager = Create(metrics: metrics);
        const int streams = 8;
        const int producersEach = 8;
        const int appendsEach = 20;
        var keys = Enumerable.Range(0, streams).Select(_ => NewKey()).ToArray();

        // Several producers per stream, so that appends meet in one commit group on a cluster too (a group per slot).
        var offsets = await Task.WhenAll(keys.SelectMany(key => Enumerable.Range(0, producersEach).Select(p => Task.Run(async () =>
        {
            var mine = new List<long>();
            for (var i = 0; i < appendsEach; i++)
            {
                mine.Add(await manager.AppendAsync(key, Answer($"{p}:{i}")));
            }

            return (Key: key, Offsets: mine);
        }))));

        const int total = streams * producersEach * appendsEach;
        Assert.All(offsets, producer => Assert.Equal(producer.Offsets.Order(), producer.Offsets));
        foreach (var key in keys)
        {
            var stored = (await manager.ReadAsync(key, 0)).Events;
            Assert.Equal(producersEach * appendsEach, stored.Count);
            Assert.Equal(Enumerable.Range(0, stored.Count).Select(i => (long)i), offsets.Where(o => o.Key == key).SelectMany(o => o.Offsets).Order());

            // Each producer's events in the order it appended them.
            for (var p = 0; p < producersEach; p++)
            {
                Assert.Equal(Enumerable.Range(0, appendsEach).Select(i => $"{p}:{i}"), stored.Select(e => e.Content).Where(c => c!.StartsWith($"{p}:", StringComparison.Ordinal)));
            }
        }

        Assert.Equal(total, manager.Metrics.AppendsCommitted);
        Assert.True(manager.Metrics.AppendCalls < total, $"{manager.Metrics.AppendCalls} script calls for {total} appends: none went together.");
    }

    [Fact]
    public async Task A_reader_at_the_end_takes_new_events_from_the_wake_up_and_reads_nothing()
    {
        var reader = Create();
        var writer = Create();
        var key = NewKey();
        const int readers = 20;
        var following = Enumerable.Range(0, readers).Select(_ => FollowAll(reader, key, 0)).ToArray();
        await WaitUntil(() => reader.WaitingWatches(key, 0) == readers);

        var before = reader.ReadsSent;
        await writer.AppendAsync(key, Answer("for everyone"));
        await WaitUntil(() => reader.WaitingWatches(key, 1) == readers);
        var reads = reader.ReadsSent - before;

        await writer.AppendAsync(key, Complete());
        foreach (var events in await Task.WhenAll(following).WaitAsync(SafetyTimeout))
        {
            Assert.Equal(["for everyone", null], events.Select(e => e.Content));
            Assert.All(events, e => Assert.NotNull(e.StreamId));
        }

        Assert.Equal(0, reads);
    }

    [Fact]
    public async Task Readers_behind_what_a_wake_up_carries_cost_one_read_for_all_of_them_not_one_each()
    {
        var manager = Create();
        var key = NewKey();
        const int readers = 20;
        var following = Enumerable.Range(0, readers).Select(_ => FollowAll(manager, key, 0)).ToArray();
        await WaitUntil(() => manager.WaitingWatches(key, 0) == readers);

        // An event stored with no wake-up (its notification lost): the next wake-up carries only its own event.
        await Db.ListRightPushAsync(_redisOptions.StreamKeyFor(key), """{"type":"answer","content":"unannounced"}""");
        var before = manager.ReadsSent;
        await manager.AppendAsync(key, Answer("announced"));
        await WaitUntil(() => manager.WaitingWatches(key, 2) == readers);
        var reads = manager.ReadsSent - before;

        await manager.AppendAsync(key, Complete());
        foreach (var events in await Task.WhenAll(following).WaitAsync(SafetyTimeout))
        {
            Assert.Equal(["unannounced", "announced", null], events.Select(e => e.Content));
        }

        Assert.InRange(reads, 1, 2);
    }

    [Fact]
    public async Task A_reader_that_was_busy_when_the_wake_up_came_reads_the_events_it_carried_from_the_node_not_from_redis()
    {
        var reader = Create();
        var writer = Create();
        var key = NewKey();
        using var busy = await reader.WatchAsync(key);
        using var waiting = await reader.WatchAsync(key);
        var woken = waiting.WaitAsync(0, CancellationToken.None).AsTask();
        await WaitUntil(() => reader.WaitingWatches(key, 0) == 1);

        await writer.AppendAsync(key, Answer("first"));
        await writer.AppendAsync(key, Answer("second"));
        await woken.WaitAsync(SafetyTimeout);
        await WaitUntil(() => reader.KnownLength(key) == 2);

        var before = reader.ReadsSent;
        var page = await busy.ReadAsync(0, 100, CancellationToken.None);
        Assert.Equal(["first", "second"], page.Events.Select(e => e.Content));
        Assert.True(page.ReachedEnd);
        Assert.NotNull(page.StreamId);
        Assert.Equal(before, reader.ReadsSent);
    }
}
