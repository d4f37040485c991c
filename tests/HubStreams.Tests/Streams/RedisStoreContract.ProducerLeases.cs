using System.Globalization;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
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
        var (deadline, identity) = await ReadLeaseAsync(lease);
        var clock = (await redis.Connection.GetServer(redis.Connection.GetEndPoints().First()).TimeAsync());
        Assert.InRange(deadline - new DateTimeOffset(clock, TimeSpan.Zero), TimeSpan.FromMinutes(1.9), TimeSpan.FromMinutes(2));
        Assert.Equal((await manager.ReadAsync(key, 0)).StreamId, identity);

        await manager.AppendAsync(key, Complete());
        Assert.False(await Db.KeyExistsAsync(lease));
    }

    [Fact]
    public async Task A_lease_holding_its_deadline_alone_still_names_its_stream_and_keeps_its_identity_from_then_on()
    {
        var options = WithProducerTimeout(TimeSpan.FromMinutes(2));
        var writer = Create(options);
        var key = NewKey();
        var lease = _redisOptions.LeaseKeyFor(key);
        await writer.AppendAsync(key, Answer("a"));
        var identity = (await writer.ReadAsync(key, 0)).StreamId;

        // The lease as it was written before it kept the identity: the deadline alone.
        await Db.StringSetAsync(lease, (await ReadLeaseAsync(lease)).Deadline.ToUnixTimeMilliseconds(), TimeSpan.FromMinutes(10));
        var reader = Create(options);
        var following = FollowAll(reader, key, 1);
        await WaitUntil(() => reader.Watches.Find(key)?.Waiting().ContainsKey(1) == true && reader.SubscribedChannels == 1);
        await writer.AppendAsync(key, Answer("b"));
        await writer.AppendAsync(key, Complete());

        var events = await following.WaitAsync(SafetyTimeout);
        Assert.Equal([("answer", "b"), ("complete", null)], events.Select(e => (e.Type, e.Content)));
        Assert.All(events, e => Assert.Equal(identity, e.StreamId));

        // A heartbeat on such a lease writes the identity back.
        var other = NewKey();
        await writer.AppendAsync(other, Answer("a"));
        await Db.StringSetAsync(_redisOptions.LeaseKeyFor(other), (await ReadLeaseAsync(_redisOptions.LeaseKeyFor(other))).Deadline.ToUnixTimeMilliseconds());
        await writer.HeartbeatAsync(other);
        Assert.Equal((await writer.ReadAsync(other, 0)).StreamId, (await ReadLeaseAsync(_redisOptions.LeaseKeyFor(other))).Identity);
    }

    [Fact]
    public async Task A_lease_left_behind_by_a_stream_that_expired_does_not_name_the_next_stream_at_its_key()
    {
        var options = WithProducerTimeout(TimeSpan.FromMinutes(2));
        var writer = Create(options);
        var reader = Create(options);
        var key = NewKey();
        var lease = _redisOptions.LeaseKeyFor(key);
        var stale = $"{DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds()}:0123456789abcdef";
        await Db.StringSetAsync(lease, stale, TimeSpan.FromMinutes(10));

        var following = FollowAll(reader, key, 0);
        await WaitUntil(() => reader.Watches.Find(key)?.Waiting().ContainsKey(0) == true && reader.SubscribedChannels == 1);
        await writer.AppendAsync(key, Answer("a"));
        await writer.AppendAsync(key, Complete());

        var identity = (await writer.ReadAsync(key, 0)).StreamId;
        Assert.NotEqual("0123456789abcdef", identity);
        Assert.All(await following.WaitAsync(SafetyTimeout), e => Assert.Equal(identity, e.StreamId));
    }

    // A lease's value: '{deadline in milliseconds of Redis's clock}:{the stream's identity}'.
    private async Task<(DateTimeOffset Deadline, string Identity)> ReadLeaseAsync(string lease)
    {
        var parts = ((string?)await Db.StringGetAsync(lease))!.Split(':');
        return (DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(parts[0], CultureInfo.InvariantCulture)), parts.Length > 1 ? parts[1] : "");
    }
}
