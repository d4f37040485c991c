using HubStreams.Contracts;
using HubStreams.Streams;
using StackExchange.Redis;

namespace HubStreams.Tests.Streams;

// Producer leases in Redis: one end for a stream however many nodes notice, in the stream's slot, never for a list the
// original service writes.
public abstract partial class RedisStoreContract
{
    [Fact]
    public async Task Nodes_that_all_watch_a_lapsed_stream_end_it_once()
    {
        var options = WithProducerTimeout(ShortProducerTimeout);
        var nodes = Enumerable.Range(0, 3).Select(_ => Create(options)).ToArray();
        var told = 0;
        foreach (var node in nodes)
        {
            node.ProducerLost += _ => Interlocked.Increment(ref told);
        }

        var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");
        await nodes[0].AppendAsync(key, Answer("a"));
        var readers = nodes.SelectMany(node => Enumerable.Range(0, 2).Select(_ => FollowToEndAsync(node, key))).ToArray();
        foreach (var reader in readers)
        {
            AssertEndedLost(await reader, produced: 1);
        }

        AssertEndedLost((await nodes[1].ReadAsync(key, 0)).Events, produced: 1);
        Assert.Equal(1, Volatile.Read(ref told));
        Assert.False(await Db.KeyExistsAsync(_redisOptions.LeaseKeyFor(key)));
    }

    [Fact]
    public async Task A_list_of_the_original_layout_with_no_lease_is_never_ended_for_its_producer()
    {
        var manager = Create(WithProducerTimeout(ShortProducerTimeout));
        var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "seeded");
        await Db.ListRightPushAsync(_redisOptions.StreamKeyFor(key),
            """{"id":"a1","type":"answer","content":"written by the original service","done":false,"timestamp":"2026-11-26T09:00:02Z"}""");
        using var subscription = await StreamSubscription.OpenAsync(manager, key, 0);
        await Task.Delay(ShortProducerTimeout * 4);

        Assert.Equal(MessageStates.Streaming, (await manager.DescribeAsync(key))!.State);
        var page = await manager.ReadAsync(key, 0);
        Assert.Equal((1, false), (page.Events.Count, page.Completed));
        Assert.False(await Db.KeyExistsAsync(_redisOptions.LeaseKeyFor(key)));
    }

    [Fact]
    public async Task A_lease_lives_in_its_streams_slot_expires_with_it_and_goes_with_complete()
    {
        var manager = Create(new StreamOptions { Ttl = TimeSpan.FromMinutes(10), ProducerTimeout = TimeSpan.FromMinutes(2) });
        var key = NewKey();
        var lease = _redisOptions.LeaseKeyFor(key);
        await manager.AppendAsync(key, Answer("a"));

        Assert.Equal(redis.Connection.HashSlot(_redisOptions.StreamKeyFor(key)), redis.Connection.HashSlot(lease));
        Assert.StartsWith("{", lease, StringComparison.Ordinal);
        Assert.InRange((await Db.KeyTimeToLiveAsync(lease))!.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        var deadline = DateTimeOffset.FromUnixTimeMilliseconds((long)await Db.StringGetAsync(lease));
        var clock = (await redis.Connection.GetServer(redis.Connection.GetEndPoints().First()).TimeAsync());
        Assert.InRange(deadline - new DateTimeOffset(clock, TimeSpan.Zero), TimeSpan.FromMinutes(1.9), TimeSpan.FromMinutes(2));

        await manager.AppendAsync(key, Complete());
        Assert.False(await Db.KeyExistsAsync(lease));
    }
}
