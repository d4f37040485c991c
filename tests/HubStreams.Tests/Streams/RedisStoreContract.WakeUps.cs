using HubStreams.Streams;
using HubStreams.Streams.Redis;
using HubStreams.Tests.Fixtures;
using StackExchange.Redis;

namespace HubStreams.Tests.Streams;

// Per-stream wake-ups: what a process hears, when it subscribes and lets go, and how it publishes.
public abstract partial class RedisStoreContract
{
    [Fact]
    public async Task A_process_hears_the_wake_ups_of_the_streams_it_watches_and_of_no_other()
    {
        var readerMetrics = TestMetrics.Create();
        var reader = Create(metrics: readerMetrics);
        var writer = Create();
        var watched = NewKey();
        var other = NewKey();

        var follower = FollowAll(reader, watched, 0);
        await WaitUntil(() => reader.OpenWatches() == 1);
        for (var i = 0; i < 200; i++)
        {
            await writer.AppendAsync(other, Answer($"{i}"));
        }

        await writer.AppendAsync(watched, Complete());
        await follower.WaitAsync(SafetyTimeout);
        Assert.Equal(1, reader.Metrics.WakeUpsReceived);
    }

    [Fact]
    public async Task A_reader_on_the_appending_node_gets_the_events_from_the_append_itself_without_their_wake_up()
    {
        var node = Create();
        var key = NewKey();
        await node.AppendAsync(key, Answer("first"));
        var following = FollowAll(node, key, 0);
        await WaitUntil(() => node.Watches.Find(key)?.Waiting().ContainsKey(1) == true && node.SubscribedChannels == 1);

        // The stream's wake-ups stop reaching this node: its channel is let go under it (the safety net is an hour away).
        var channel = _redisOptions.WakeUpChannelFor(key);
        await redis.Connection.GetSubscriber().UnsubscribeAsync(
            await node.DetectWakeUpPublishingAsync() == WakeUpPublishing.Sharded ? RedisChannel.Sharded(channel) : RedisChannel.Literal(channel));

        for (var i = 0; i < 5; i++)
        {
            await node.AppendAsync(key, Answer($"{i}"));
        }

        await node.AppendAsync(key, Complete());
        var events = await following.WaitAsync(SafetyTimeout);
        Assert.Equal([0L, 1, 2, 3, 4, 5, 6], events.Select(e => e.Offset));
        Assert.Equal(["first", "0", "1", "2", "3", "4"], events.Take(6).Select(e => e.Content));
        Assert.All(events, e => Assert.Equal(events[0].StreamId, e.StreamId));
    }

    [Fact]
    public async Task A_reader_waiting_for_a_stream_that_does_not_exist_yet_is_not_woken_by_the_expiry_checks()
    {
        // A short TTL: the node asks the watched stream's expiry every few hundred milliseconds, and finds it gone.
        var metrics = TestMetrics.Create();
        var reader = Create(new StreamOptions { Ttl = TimeSpan.FromMilliseconds(400) }, metrics: metrics);
        var key = NewKey();
        var waiting = reader.WaitForEventAsync(key, 0, CancellationToken.None);
        await WaitUntil(() => reader.OpenWatches() == 1);

        await WaitUntil(() => reader.ExpiryAnswers >= 3);
        Assert.Equal(0, metrics.WatchesWokenSoFar);

        // Its first append still wakes it.
        await Create().AppendAsync(key, Answer("first"));
        await waiting.WaitAsync(SafetyTimeout);
        Assert.Equal(1, metrics.WatchesWokenSoFar);
    }

    [Fact]
    public async Task A_stream_s_channel_is_subscribed_while_it_has_a_watcher_and_released_after_its_last()
    {
        var manager = Create();
        var key = NewKey();
        var first = await manager.WatchAsync(key);
        var second = await manager.WatchAsync(key);
        Assert.Equal(1, manager.SubscribedChannels);
        Assert.Equal(1, await SubscribersAsync(key));

        // Redis itself lets the subscription go (its count is read on another connection, so it may lag a moment).
        first.Dispose();
        second.Dispose();
        await WaitUntil(() => manager.SubscribedChannels == 0);
        await WaitUntilAsync(async () => await SubscribersAsync(key) == 0);

        // Watched again at once: subscribed again, and an append reaches it.
        var again = manager.WaitForEventAsync(key, 0, CancellationToken.None);
        await WaitUntil(() => manager.OpenWatches() == 1);
        await manager.AppendAsync(key, Answer("heard"));
        await again.WaitAsync(SafetyTimeout);
        await WaitUntil(() => manager.SubscribedChannels == 0);
    }

    [Fact]
    public async Task A_burst_of_new_streams_subscribes_in_a_few_batches_not_one_round_trip_each()
    {
        var manager = Create();
        const int streams = 300;
        var keys = Enumerable.Range(0, streams).Select(_ => NewKey()).ToArray();

        var watches = await Task.WhenAll(keys.Select(k => manager.WatchAsync(k)));
        Assert.Equal(streams, manager.SubscribedChannels);
        Assert.InRange(manager.SubscriptionBatches, 1, streams / 10);

        // Every one of them is really heard.
        var waits = keys.Select(k => manager.WaitForEventAsync(k, 0, CancellationToken.None)).ToArray();
        await Task.WhenAll(keys.Select(k => manager.AppendAsync(k, Answer("x"))));
        await Task.WhenAll(waits).WaitAsync(SafetyTimeout);

        foreach (var watch in watches)
        {
            watch.Dispose();
        }

        await WaitUntil(() => manager.SubscribedChannels == 0);
    }

    [Fact]
    public async Task Wake_ups_use_sharded_pub_sub_where_redis_has_it()
    {
        var manager = Create();
        var version = redis.Connection.GetServers().First(s => s.IsConnected).Version;
        var expected = version >= new Version(7, 0) ? WakeUpPublishing.Sharded : WakeUpPublishing.Classic;
        Assert.Equal(expected, await manager.DetectWakeUpPublishingAsync());
    }

    // How many connections Redis itself counts as subscribed to the stream's wake-up channel: sharded ones on the node
    // that holds the stream, classic ones on every node. (The tests' connection has no channel prefix.)
    private async Task<long> SubscribersAsync(StreamKey key)
    {
        var channel = _redisOptions.WakeUpChannelFor(key);
        var sharded = (RedisResult[])(await redis.Connection.GetServer((RedisKey)_redisOptions.StreamKeyFor(key))
            .ExecuteAsync("PUBSUB", "SHARDNUMSUB", channel))!;
        var total = (long)sharded[1];
        foreach (var server in redis.Connection.GetServers().Where(s => s.IsConnected))
        {
            total += (long)((RedisResult[])(await server.ExecuteAsync("PUBSUB", "NUMSUB", channel))!)[1];
        }

        return total;
    }
}
