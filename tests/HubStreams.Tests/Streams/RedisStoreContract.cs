using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Redis;
using HubStreams.Tests.Fixtures;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace HubStreams.Tests.Streams;

/// <summary>The Redis store on one Redis server.</summary>
[Collection(RedisTests.Name)]
public sealed class RedisStreamManagerTests(RedisFixture redis) : RedisStoreContract(redis);

/// <summary>The Redis store on a three-primary Redis Cluster.</summary>
[Collection(RedisClusterTests.Name)]
public sealed class RedisClusterStreamManagerTests(RedisClusterFixture cluster) : RedisStoreContract(cluster);

/// <summary>
/// The whole store contract, and what only the Redis store does (its layout, wake-ups, safety nets), on any Redis: the
/// suite runs once per kind of Redis.
/// </summary>
public abstract partial class RedisStoreContract(IRedisTestStore redis) : StreamManagerContract, IAsyncLifetime
{
    private readonly List<RedisStreamManager> _managers = [];

    // A safety net far longer than any test, so a wake-up in these tests can only come from the notification.
    private RedisStreamOptions _redisOptions = new() { Prefix = RedisFixture.UniquePrefix(), SafetyNetInterval = TimeSpan.FromHours(1) };

    protected override IStreamManager CreateManager(StreamOptions? options = null) => Create(options);

    private RedisStreamManager Create(StreamOptions? options = null, RedisStreamOptions? redisOptions = null, StreamMetrics? metrics = null)
    {
        var manager = new RedisStreamManager(redis.Connection, options ?? new StreamOptions(), redisOptions ?? _redisOptions,
            metrics ?? TestMetrics.Create(), NullLogger<RedisStreamManager>.Instance);
        _managers.Add(manager);
        return manager;
    }

    private IDatabase Db => redis.Connection.GetDatabase();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var manager in _managers)
        {
            await manager.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_list_written_in_the_original_layout_reads_with_offsets_0_to_n_minus_1()
    {
        var manager = Create();
        var key = NewKey();
        // As the original Go service wrote them: RPUSH of the event JSON, RFC 3339 timestamps with nanoseconds.
        string[] elements =
        [
            """{"id":"q1","type":"agent_query","content":"What is Redis?","done":false,"timestamp":"2026-11-26T09:00:00.123456789Z","data":null}""",
            """{"id":"t1","type":"thinking","content":"Let me think","done":false,"timestamp":"2026-11-26T09:00:01+01:00"}""",
            """{"id":"a1","type":"answer","content":"Redis is","done":false,"timestamp":"2026-11-26T09:00:02Z","data":{"model":"x"}}""",
            """{"id":"c1","type":"complete","content":"","done":true,"timestamp":"2026-11-26T09:00:03Z"}""",
        ];
        await Db.ListRightPushAsync(_redisOptions.StreamKeyFor(key), elements.Select(e => (RedisValue)e).ToArray());

        var page = await manager.ReadAsync(key, 0);
        Assert.Equal([0, 1, 2, 3], page.Events.Select(e => e.Offset));
        Assert.Equal(["agent_query", "thinking", "answer", "complete"], page.Events.Select(e => e.Type));
        Assert.Equal(["q1", "t1", "a1", "c1"], page.Events.Select(e => e.Id));
        Assert.Equal(new DateTimeOffset(2026, 11, 26, 9, 0, 0, TimeSpan.Zero).AddTicks(1234567), page.Events[0].Timestamp);
        Assert.Equal("x", page.Events[2].Data!.Value.GetProperty("model").GetString());
        Assert.True(page.Completed);

        var resumed = await manager.ReadAsync(key, 2);
        Assert.Equal(["a1", "c1"], resumed.Events.Select(e => e.Id));

        // An identity derived from what is stored: the seed's lists have one too, the same on every read.
        Assert.Matches("^[0-9a-f]{16}$", page.StreamId);
        Assert.Equal(page.StreamId, resumed.StreamId);
    }

    [Fact]
    public async Task Events_are_stored_at_prefix_session_message_without_their_offset()
    {
        var manager = Create(redisOptions: new RedisStreamOptions { Prefix = _redisOptions.Prefix + ":" });
        var key = NewKey();
        await manager.AppendAsync(key, new StreamEvent { Id = "e1", Type = "answer", Content = "Hi" });

        var redisKey = $"{_redisOptions.Prefix}:{key.SessionId}:{key.MessageId}";
        var stored = (string?)await Db.ListGetByIndexAsync(redisKey, 0);
        Assert.NotNull(stored);
        Assert.StartsWith("""{"id":"e1","type":"answer","content":"Hi","done":false,"timestamp":""", stored);
        Assert.DoesNotContain("offset", stored, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_append_leaves_a_ttl_on_the_key()
    {
        var manager = Create(new StreamOptions { Ttl = TimeSpan.FromMinutes(10) });
        var key = NewKey();
        var redisKey = _redisOptions.StreamKeyFor(key);
        for (var i = 0; i < 3; i++)
        {
            await manager.AppendAsync(key, Answer($"{i}"));
            var ttl = await Db.KeyTimeToLiveAsync(redisKey);
            Assert.NotNull(ttl);
            Assert.InRange(ttl.Value, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(10));
        }
    }

    [Fact]
    public async Task Ids_that_would_collide_under_prefix_session_message_are_refused()
    {
        var manager = Create();
        // "a:b" + "c" and "a" + "b:c" would both be {prefix}:a:b:c.
        await manager.AppendAsync(StreamKey.Create("a", "b"), Answer("legit"));
        Assert.Equal(StreamErrorCode.InvalidId, Assert.Throws<StreamException>(() => StreamKey.Create("a:b", "c")).Code);
        Assert.Equal(StreamErrorCode.InvalidId, Assert.Throws<StreamException>(() => StreamKey.Create("a", "b:c")).Code);
        Assert.Single((await manager.ReadAsync(StreamKey.Create("a", "b"), 0)).Events);
    }

    [Fact]
    public async Task A_notification_from_another_process_wakes_a_reader()
    {
        var reader = Create();
        var writer = Create();
        var key = NewKey();

        var follower = FollowAll(reader, key, 0);
        await WaitUntil(() => reader.OpenWatches() == 1);
        await writer.AppendAsync(key, Answer("from elsewhere"));
        await writer.AppendAsync(key, Complete());

        Assert.Equal(["from elsewhere", null], (await follower.WaitAsync(SafetyTimeout)).Select(e => e.Content));
    }

    [Fact]
    public async Task A_lost_notification_is_recovered_by_the_safety_net()
    {
        var manager = Create(redisOptions: new RedisStreamOptions { Prefix = _redisOptions.Prefix, SafetyNetInterval = TimeSpan.FromSeconds(1) });
        var key = NewKey();
        var wait = manager.WaitForEventAsync(key, 0, CancellationToken.None);
        await WaitUntil(() => manager.WaitingWatches(key, 0) == 1);

        // Written with no PUBLISH: the notification is lost.
        await Db.ListRightPushAsync(_redisOptions.StreamKeyFor(key), """{"type":"answer","content":"silent"}""");

        await wait.WaitAsync(SafetyTimeout);
        Assert.True(manager.SafetyNetChecks > 0);
    }

    [Fact]
    public async Task A_reconnect_of_the_subscriber_connection_wakes_waiters_to_re_read()
    {
        var manager = Create();
        var key = NewKey();
        var wait = manager.WaitForEventAsync(key, 0, CancellationToken.None);

        // Waiting: subscribed, read, and parked at offset 0 (a watch merely opened may still be subscribing).
        await WaitUntil(() => manager.WaitingWatches(key, 0) == 1);
        await Db.ListRightPushAsync(_redisOptions.StreamKeyFor(key), """{"type":"answer","content":"silent"}""");

        // Drop the pub/sub connections; when the client reconnects, waiters re-check.
        await using var admin = await ConnectionMultiplexer.ConnectAsync(redis.Address + ",allowAdmin=true");
        foreach (var server in admin.GetServers())
        {
            await server.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub");
        }

        await wait.WaitAsync(SafetyTimeout);
        Assert.Equal(0, manager.SafetyNetChecks);
    }

    [Fact]
    public async Task A_reader_parked_on_a_stream_that_expires_learns_it_is_gone()
    {
        var manager = Create(new StreamOptions { Ttl = TimeSpan.FromMilliseconds(500) },
            new RedisStreamOptions { Prefix = _redisOptions.Prefix, SafetyNetInterval = TimeSpan.FromSeconds(1) });
        var key = NewKey();
        await manager.AppendAsync(key, Answer("a"));

        var follower = FollowAll(manager, key, 1);
        var error = await Assert.ThrowsAsync<StreamException>(() => follower.WaitAsync(SafetyTimeout));
        Assert.Equal(StreamErrorCode.StreamNotFound, error.Code);
    }
}
