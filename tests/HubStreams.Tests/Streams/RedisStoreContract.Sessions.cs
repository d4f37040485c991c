using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Redis;
using HubStreams.Streams.Sessions;
using HubStreams.Tests.Fixtures;
using StackExchange.Redis;

namespace HubStreams.Tests.Streams;

// The session index in Redis: which keys it adds, and how a listing repairs what a node that died left half done.
public abstract partial class RedisStoreContract
{
    [Fact]
    public async Task An_index_entry_whose_stream_never_came_is_left_out_and_removed_once_past_the_grace()
    {
        // What a node killed between recording a message in its session's index and appending its first event leaves.
        var manager = Create();
        var session = $"s-{Guid.NewGuid():N}";
        var index = _redisOptions.SessionIndexKeyFor(session);
        var now = DateTimeOffset.UtcNow;
        await Db.SortedSetAddAsync(index, "orphan", (now - SessionListing.EmptyEntryGrace - TimeSpan.FromSeconds(5)).ToUnixTimeMilliseconds());
        await Db.SortedSetAddAsync(index, "on-its-way", now.ToUnixTimeMilliseconds());
        await manager.AppendAsync(StreamKey.Create(session, "real"), Answer("a"));

        var page = await manager.ListSessionAsync(session, null, 10);

        Assert.Equal(["real"], page.Messages.Select(m => m.MessageId));
        Assert.Null(await Db.SortedSetScoreAsync(index, "orphan"));
        Assert.NotNull(await Db.SortedSetScoreAsync(index, "on-its-way"));
    }

    [Fact]
    public async Task A_stream_deleted_by_a_node_that_died_before_its_index_heard_is_left_out_and_its_entry_removed()
    {
        var manager = Create();
        var session = $"s-{Guid.NewGuid():N}";
        var key = StreamKey.Create(session, "m1");
        await manager.AppendAsync(key, Answer("a"));

        // The delete script's half, without the index update that follows it.
        await Db.KeyDeleteAsync(_redisOptions.StreamKeyFor(key));
        await Db.StringSetAsync(_redisOptions.DeletedKeyFor(key), "1", TimeSpan.FromMinutes(1));

        Assert.Empty((await manager.ListSessionAsync(session, null, 10)).Messages);
        Assert.Null(await Db.SortedSetScoreAsync(_redisOptions.SessionIndexKeyFor(session), "m1"));
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.ReadAsync(key, 0));
        Assert.Equal(StreamErrorCode.StreamDeleted, error.Code);
    }

    [Fact]
    public async Task A_list_of_the_original_layout_is_listed_once_a_node_reads_it()
    {
        var manager = Create();
        var session = $"s-{Guid.NewGuid():N}";
        var key = StreamKey.Create(session, "seeded");
        await Db.ListRightPushAsync(_redisOptions.StreamKeyFor(key),
            """{"id":"a1","type":"answer","content":"hi","done":false,"timestamp":"2026-11-26T09:00:02Z"}""");
        Assert.Empty((await manager.ListSessionAsync(session, null, 10)).Messages);

        await manager.ReadAsync(key, 0);

        await Eventually.True(async () => (await manager.ListSessionAsync(session, null, 10)).Messages.Count == 1);
        var listed = Assert.Single((await manager.ListSessionAsync(session, null, 10)).Messages);
        Assert.Equal(("seeded", MessageStates.Streaming, new DateTimeOffset(2026, 11, 26, 9, 0, 2, TimeSpan.Zero)),
            (listed.MessageId, listed.State, listed.FirstEventAt!.Value));
    }

    [Fact]
    public async Task The_keys_sessions_and_leases_add_are_never_read_as_streams_share_their_slots_and_expire()
    {
        var manager = Create(new StreamOptions { Ttl = TimeSpan.FromMinutes(10) });
        var session = $"s-{Guid.NewGuid():N}";
        var kept = StreamKey.Create(session, "kept");
        var deleted = StreamKey.Create(session, "deleted");
        await manager.AppendAsync(kept, Answer("a"));
        await manager.AppendAsync(deleted, Answer("b"));
        await manager.DeleteAsync(deleted);

        var keys = new List<string>();
        foreach (var server in redis.Connection.GetServers().Where(s => s.IsConnected && !s.IsReplica))
        {
            await foreach (var found in server.KeysAsync(pattern: $"*{_redisOptions.Prefix}:{session}*"))
            {
                keys.Add(found!);
            }
        }

        // The kept stream's producer lease too; the deleted one's went with its list.
        var index = _redisOptions.SessionIndexKeyFor(session);
        var mark = _redisOptions.DeletedKeyFor(deleted);
        var lease = _redisOptions.LeaseKeyFor(kept);
        Assert.Equal(new[] { _redisOptions.StreamKeyFor(kept), index, mark, lease }.Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));

        // Only the stream's list has the seed's shape; the others start with '{', which no prefix or id holds.
        Assert.All(keys.Where(k => k.StartsWith(_redisOptions.Prefix + ":", StringComparison.Ordinal)),
            k => Assert.Equal(_redisOptions.StreamKeyFor(kept), k));
        Assert.Equal(redis.Connection.HashSlot(_redisOptions.StreamKeyFor(deleted)), redis.Connection.HashSlot(mark));
        Assert.Equal(redis.Connection.HashSlot(_redisOptions.StreamKeyFor(kept)), redis.Connection.HashSlot(lease));
        foreach (var key in keys)
        {
            Assert.InRange((await Db.KeyTimeToLiveAsync(key))!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(20));
        }
    }

    [Fact]
    public async Task A_node_records_a_stream_in_its_session_once_not_on_every_append()
    {
        var manager = Create();
        var session = $"s-{Guid.NewGuid():N}";
        var key = StreamKey.Create(session, "m1");
        await manager.AppendAsync(key, Answer("a"));
        var index = _redisOptions.SessionIndexKeyFor(session);
        var recorded = await Db.SortedSetScoreAsync(index, "m1");
        Assert.NotNull(recorded);

        await Db.SortedSetRemoveAsync(index, "m1");
        await manager.AppendAsync(key, Answer("b"));
        Assert.Null(await Db.SortedSetScoreAsync(index, "m1"));
    }

    [Fact]
    public async Task A_sessions_changes_published_by_one_node_are_heard_on_another_in_the_order_they_were_published()
    {
        // Two nodes, two connections: in a cluster each may pick any server for a channel unless the channel is routed.
        await using var publisherConnection = await ConnectionMultiplexer.ConnectAsync(redis.Address);
        var publisher = new RedisSessionChanges(publisherConnection);
        var watcher = new RedisSessionChanges(redis.Connection);
        var session = $"s-{Guid.NewGuid():N}";
        using var listener = await watcher.ListenAsync(session);

        const int changes = 300;
        for (var i = 0; i < changes; i++)
        {
            var message = new SessionMessage($"m{i}", MessageStates.Completed, 1, null, null, null);
            await publisher.PublishAsync(new SessionUpdate(SessionUpdateKinds.Completed, session, [], More: false, message));
        }

        using var safety = new CancellationTokenSource(Eventually.SafetyTimeout);
        var heard = new List<string>();
        while (heard.Count < changes)
        {
            heard.Add((await listener.Changes.ReadAsync(safety.Token)).Message!.MessageId);
        }

        Assert.Equal(Enumerable.Range(0, changes).Select(i => $"m{i}"), heard);
    }
}
