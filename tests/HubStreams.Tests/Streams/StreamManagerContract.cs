using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Streams;

/// <summary>
/// The behaviour every stream manager must have. Memory and Redis each run this whole suite.
/// </summary>
public abstract partial class StreamManagerContract
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
    public async Task A_read_returns_at_most_a_page_by_count_and_by_bytes_but_always_one_event()
    {
        var manager = CreateManager(new StreamOptions { MaxPageEvents = 3, MaxPageBytes = 1024, MaxEventBytes = 4096 });
        var small = NewKey();
        for (var i = 0; i < 6; i++)
        {
            await manager.AppendAsync(small, Answer(new string('a', 100)));
        }

        var byCount = await manager.ReadAsync(small, 0, maxCount: 1000);
        Assert.Equal([0, 1, 2], byCount.Events.Select(e => e.Offset));
        Assert.False(byCount.ReachedEnd);

        // About 490 bytes each: two fit in 1,024, a third would not.
        var large = NewKey();
        for (var i = 0; i < 4; i++)
        {
            await manager.AppendAsync(large, Answer(new string('b', 400)));
        }

        var byBytes = await manager.ReadAsync(large, 1);
        Assert.Equal([1, 2], byBytes.Events.Select(e => e.Offset));
        Assert.Equal(3, byBytes.NextOffset);

        var huge = NewKey();
        await manager.AppendAsync(huge, Answer(new string('c', 2000)));
        await manager.AppendAsync(huge, Answer("after"));
        Assert.Single((await manager.ReadAsync(huge, 0)).Events);
        Assert.Equal(["after"], (await manager.ReadAsync(huge, 1)).Events.Select(e => e.Content));
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
        await WaitUntil(() => manager.OpenWatches() == 1);
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
        Assert.Equal(0, manager.OpenWatches());
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
        await WaitUntil(() => manager.OpenWatches() == 1);
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
        await WaitUntil(() => manager.OpenWatches() == 1);
        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(SafetyTimeout));
        Assert.Equal(0, manager.OpenWatches());
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

    [Fact]
    public async Task A_reader_waiting_on_a_stream_that_expires_ends_with_StreamNotFound_a_few_seconds_after_it()
    {
        var ttl = TimeSpan.FromSeconds(3);
        var manager = CreateManager(new StreamOptions { Ttl = ttl });
        var key = NewKey();
        await manager.AppendAsync(key, Answer("a"));
        await manager.AppendAsync(key, Answer("b"));
        var lastAppend = System.Diagnostics.Stopwatch.StartNew();

        // The reader takes both events, then waits at offset 2 until the stream expires under it.
        var received = new List<long>();
        using var safety = new CancellationTokenSource(SafetyTimeout);
        var error = await Assert.ThrowsAsync<StreamException>(async () =>
        {
            await foreach (var streamEvent in manager.FollowAsync(key, 0).WithCancellation(safety.Token))
            {
                received.Add(streamEvent.Offset);
            }
        });
        Assert.Equal(StreamErrorCode.StreamNotFound, error.Code);
        Assert.Equal([0, 1], received);
        Assert.True(lastAppend.Elapsed < ttl + TimeSpan.FromSeconds(5), $"The reader learnt of the expiry {lastAppend.Elapsed.TotalSeconds:F1} s after the last append, with a TTL of {ttl.TotalSeconds} s.");
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
