using System.Text.Json;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Streams;

/// <summary>
/// The behaviour every stream manager must have. Memory and Redis each run this whole suite.
/// </summary>
public abstract class StreamManagerContract
{
    protected static readonly TimeSpan SafetyTimeout = Eventually.SafetyTimeout;

    /// <summary>A manager with the given limits; a fresh, empty store for each test.</summary>
    protected abstract IStreamManager CreateManager(StreamOptions? options = null);

    protected static StreamKey NewKey() => StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");

    protected static StreamEvent Answer(string content) => new() { Type = EventTypes.Answer, Content = content };

    protected static StreamEvent Complete() => new() { Type = EventTypes.Complete, Done = true };

    [Fact]
    public async Task Appends_get_dense_offsets_and_read_back_in_order()
    {
        var manager = CreateManager();
        var key = NewKey();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(i, await manager.AppendAsync(key, Answer($"chunk {i}")));
        }

        var page = await manager.ReadAsync(key, 0);
        Assert.Equal([0, 1, 2, 3, 4], page.Events.Select(e => e.Offset));
        Assert.Equal(["chunk 0", "chunk 1", "chunk 2", "chunk 3", "chunk 4"], page.Events.Select(e => e.Content));
        Assert.Equal(5, page.NextOffset);
        Assert.False(page.Completed);
    }

    [Fact]
    public async Task Read_from_an_offset_honours_max_count()
    {
        var manager = CreateManager();
        var key = NewKey();
        for (var i = 0; i < 10; i++)
        {
            await manager.AppendAsync(key, Answer($"{i}"));
        }

        var page = await manager.ReadAsync(key, 3, maxCount: 4);
        Assert.Equal([3, 4, 5, 6], page.Events.Select(e => e.Offset));
        Assert.Equal(7, page.NextOffset);

        var atEnd = await manager.ReadAsync(key, 10);
        Assert.Empty(atEnd.Events);
        Assert.Equal(10, atEnd.NextOffset);
    }

    [Fact]
    public async Task Event_fields_round_trip_and_a_missing_timestamp_is_set()
    {
        var manager = CreateManager();
        var key = NewKey();
        var given = new DateTimeOffset(2026, 11, 26, 9, 0, 0, 123, TimeSpan.Zero);
        using var data = JsonDocument.Parse("""{"any":"json object","n":[1,2,{"deep":true}]}""");
        var before = DateTimeOffset.UtcNow.AddSeconds(-1);

        await manager.AppendAsync(key, new StreamEvent
        {
            Id = "a1", Type = EventTypes.Answer, Content = "Hel", Done = false, Timestamp = given, Data = data.RootElement.Clone(),
        });
        await manager.AppendAsync(key, new StreamEvent { Type = EventTypes.Thinking, Offset = 99 });

        var events = (await manager.ReadAsync(key, 0)).Events;
        Assert.Equal("a1", events[0].Id);
        Assert.Equal("Hel", events[0].Content);
        Assert.Equal(given, events[0].Timestamp);
        Assert.Equal("json object", events[0].Data!.Value.GetProperty("any").GetString());
        Assert.True(events[0].Data!.Value.GetProperty("n")[2].GetProperty("deep").GetBoolean());
        Assert.Equal(1, events[1].Offset);
        Assert.NotNull(events[1].Timestamp);
        Assert.InRange(events[1].Timestamp!.Value, before, DateTimeOffset.UtcNow.AddSeconds(1));
    }

    [Fact]
    public async Task Concurrent_appenders_get_unique_dense_offsets()
    {
        var manager = CreateManager();
        var key = NewKey();
        const int producers = 8, perProducer = 50;

        var offsets = await Task.WhenAll(Enumerable.Range(0, producers).Select(p => Task.Run(async () =>
        {
            var mine = new List<long>();
            for (var i = 0; i < perProducer; i++)
            {
                mine.Add(await manager.AppendAsync(key, Answer($"{p}:{i}")));
            }

            return mine;
        })));

        var all = offsets.SelectMany(o => o).Order().ToArray();
        Assert.Equal(Enumerable.Range(0, producers * perProducer).Select(i => (long)i), all);

        // Each producer's own events keep their order.
        var stored = (await manager.ReadAsync(key, 0)).Events;
        Assert.Equal(producers * perProducer, stored.Count);
        foreach (var group in stored.GroupBy(e => e.Content!.Split(':')[0]))
        {
            Assert.Equal(group.Select(e => int.Parse(e.Content!.Split(":")[1], System.Globalization.CultureInfo.InvariantCulture)), Enumerable.Range(0, perProducer));
        }
    }

    [Fact]
    public async Task A_waiting_reader_is_woken_by_an_append()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAsync(key, Answer("first"));

        var wait = manager.WaitForEventAsync(key, 1, CancellationToken.None);
        await WaitUntil(() => manager.LiveWaiters == 1);
        Assert.False(wait.IsCompleted);

        await manager.AppendAsync(key, Answer("second"));
        await wait.WaitAsync(SafetyTimeout);
        Assert.Equal("second", (await manager.ReadAsync(key, 1)).Events.Single().Content);
    }

    [Fact]
    public async Task A_wait_returns_at_once_when_the_stream_is_already_past_the_offset()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAsync(key, Answer("a"));
        await manager.AppendAsync(key, Answer("b"));

        await manager.WaitForEventAsync(key, 1, CancellationToken.None).WaitAsync(SafetyTimeout);
        Assert.Equal(0, manager.LiveWaiters);
    }

    [Fact]
    public async Task Reading_offset_0_of_a_missing_stream_waits_for_its_first_event()
    {
        var manager = CreateManager();
        var key = NewKey();

        var page = await manager.ReadAsync(key, 0);
        Assert.Empty(page.Events);
        Assert.Equal(0, page.NextOffset);
        Assert.False(page.Completed);

        var followed = FollowAll(manager, key, 0);
        await WaitUntil(() => manager.LiveWaiters == 1);
        await manager.AppendAsync(key, Answer("late producer"));
        await manager.AppendAsync(key, Complete());

        var events = await followed.WaitAsync(SafetyTimeout);
        Assert.Equal(["late producer", null], events.Select(e => e.Content));
    }

    [Fact]
    public async Task Cancelling_a_wait_releases_the_waiter()
    {
        var manager = CreateManager();
        var key = NewKey();
        using var cancel = new CancellationTokenSource();

        var wait = manager.WaitForEventAsync(key, 0, cancel.Token);
        await WaitUntil(() => manager.LiveWaiters == 1);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(SafetyTimeout));
        Assert.Equal(0, manager.LiveWaiters);
    }

    [Fact]
    public async Task Complete_ends_the_stream_for_readers_and_refuses_later_appends()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAsync(key, Answer("Hello"));
        var followed = FollowAll(manager, key, 0);
        Assert.Equal(1, await manager.AppendAsync(key, Complete()));

        var events = await followed.WaitAsync(SafetyTimeout);
        Assert.Equal([EventTypes.Answer, EventTypes.Complete], events.Select(e => e.Type));
        Assert.True((await manager.ReadAsync(key, 0)).Completed);

        var error = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(key, Answer("too late")));
        Assert.Equal(StreamErrorCode.StreamCompleted, error.Code);
        Assert.Contains("completed", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, (await manager.ReadAsync(key, 0)).NextOffset);

        // Resuming at the very end of a completed stream ends at once instead of waiting forever.
        Assert.Empty(await FollowAll(manager, key, 2).WaitAsync(SafetyTimeout));
    }

    [Theory]
    [InlineData("a:b", "m")]
    [InlineData("s", "m/1")]
    [InlineData("", "m")]
    [InlineData("s", " ")]
    [InlineData("sé", "m")]
    [InlineData("s\n", "m")]
    public void Invalid_ids_are_refused_with_the_id_named(string sessionId, string messageId)
    {
        var error = Assert.Throws<StreamException>(() => StreamKey.Create(sessionId, messageId));
        Assert.Equal(StreamErrorCode.InvalidId, error.Code);
        Assert.Matches("sessionId|messageId", error.Message);
    }

    [Fact]
    public void The_longest_valid_id_is_128_characters()
    {
        Assert.Equal(new string('a', 128), StreamKey.Create(new string('a', 128), "m").SessionId);
        Assert.Throws<StreamException>(() => StreamKey.Create(new string('a', 129), "m"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("   ")]
    public async Task An_event_without_a_type_is_refused(string? type)
    {
        var manager = CreateManager();
        var key = NewKey();
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(key, new StreamEvent { Type = type }));
        Assert.Equal(StreamErrorCode.InvalidEvent, error.Code);
        Assert.Contains("type", error.Message, StringComparison.Ordinal);
        Assert.Empty((await manager.ReadAsync(key, 0)).Events);
    }

    [Fact]
    public async Task Data_that_is_not_a_json_object_is_refused()
    {
        var manager = CreateManager();
        using var array = JsonDocument.Parse("[1,2]");
        var error = await Assert.ThrowsAsync<StreamException>(() =>
            manager.AppendAsync(NewKey(), new StreamEvent { Type = "tool_result", Data = array.RootElement.Clone() }));
        Assert.Equal(StreamErrorCode.InvalidEvent, error.Code);
        Assert.Contains("data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_event_over_the_size_limit_is_refused_and_one_at_the_limit_is_stored()
    {
        var options = new StreamOptions { MaxEventBytes = 1024 };
        var manager = CreateManager(options);
        var key = NewKey();
        var stamp = DateTimeOffset.UnixEpoch;
        var overhead = JsonSerializer.SerializeToUtf8Bytes(new { type = "answer", content = "", done = false, timestamp = stamp }).Length;

        var fits = new StreamEvent { Type = EventTypes.Answer, Content = new string('x', 1024 - overhead), Timestamp = stamp };
        Assert.Equal(0, await manager.AppendAsync(key, fits));

        var tooBig = fits with { Content = new string('x', 1024 - overhead + 1) };
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(key, tooBig));
        Assert.Equal(StreamErrorCode.EventTooLarge, error.Code);
        Assert.Contains("STREAM_MAX_EVENT_BYTES", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, (await manager.ReadAsync(key, 0)).NextOffset);
    }

    [Fact]
    public async Task A_full_stream_refuses_events_but_keeps_the_last_place_for_complete()
    {
        var manager = CreateManager(new StreamOptions { MaxEvents = 3 });
        var key = NewKey();
        await manager.AppendAsync(key, Answer("1"));
        await manager.AppendAsync(key, Answer("2"));

        var error = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(key, Answer("3")));
        Assert.Equal(StreamErrorCode.StreamFull, error.Code);
        Assert.Contains("STREAM_MAX_EVENTS", error.Message, StringComparison.Ordinal);

        Assert.Equal(2, await manager.AppendAsync(key, Complete()));
        var page = await manager.ReadAsync(key, 0);
        Assert.Equal(3, page.Events.Count);
        Assert.True(page.Completed);
    }

    [Fact]
    public async Task A_negative_offset_is_refused()
    {
        var manager = CreateManager();
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.ReadAsync(NewKey(), -1));
        Assert.Equal(StreamErrorCode.InvalidOffset, error.Code);
        Assert.Contains("-1", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<StreamException>(() => manager.WaitForEventAsync(NewKey(), -1, CancellationToken.None));
    }

    [Fact]
    public async Task An_offset_beyond_the_end_is_refused()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAsync(key, Answer("only"));

        var error = await Assert.ThrowsAsync<StreamException>(() => manager.ReadAsync(key, 2));
        Assert.Equal(StreamErrorCode.OffsetBeyondEnd, error.Code);
        Assert.Contains("beyond the end", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_stream_past_offset_0_is_not_found()
    {
        var manager = CreateManager();
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.ReadAsync(NewKey(), 5));
        Assert.Equal(StreamErrorCode.StreamNotFound, error.Code);
        Assert.Contains("expired or never existed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_expires_ttl_after_its_last_append()
    {
        var manager = CreateManager(new StreamOptions { Ttl = TimeSpan.FromMilliseconds(700) });
        var key = NewKey();
        await manager.AppendAsync(key, Answer("short-lived"));
        await manager.AppendAsync(key, Answer("still here"));
        Assert.Equal(2, (await manager.ReadAsync(key, 0)).Events.Count);

        await WaitUntilAsync(async () => (await manager.ReadAsync(key, 0)).Events.Count == 0);
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.ReadAsync(key, 2));
        Assert.Equal(StreamErrorCode.StreamNotFound, error.Code);

        // The ids can be used again: a new stream starts at offset 0.
        Assert.Equal(0, await manager.AppendAsync(key, Answer("new life")));
    }

    [Fact]
    public async Task Each_append_extends_the_lifetime()
    {
        var manager = CreateManager(new StreamOptions { Ttl = TimeSpan.FromSeconds(2) });
        var key = NewKey();
        var started = DateTime.UtcNow;
        for (var i = 0; i < 4; i++)
        {
            await manager.AppendAsync(key, Answer($"{i}"));
            await Task.Delay(TimeSpan.FromMilliseconds(700));
        }

        // Over 2.8 s have passed since the first append, but not 2 s since the last.
        Assert.True(DateTime.UtcNow - started > TimeSpan.FromSeconds(2.5));
        Assert.Equal(4, (await manager.ReadAsync(key, 0)).Events.Count);
    }

    protected static Task<List<StreamEvent>> FollowAll(IStreamManager manager, StreamKey key, long from) => Task.Run(async () =>
    {
        var events = new List<StreamEvent>();
        await foreach (var streamEvent in manager.FollowAsync(key, from))
        {
            events.Add(streamEvent);
        }

        return events;
    });

    protected static Task WaitUntil(Func<bool> condition) => Eventually.True(condition);

    protected static Task WaitUntilAsync(Func<Task<bool>> condition) => Eventually.True(condition);
}
