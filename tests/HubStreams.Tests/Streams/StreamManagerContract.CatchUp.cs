using HubStreams.Contracts;
using HubStreams.Streams;

namespace HubStreams.Tests.Streams;

// Compacted catch-up: a late reader gets each run of stored text chunks as one event, then the live events one by one.
public abstract partial class StreamManagerContract
{
    private static StreamEvent TextChunk(string type, string content) => new() { Type = type, Content = content };

    private static async Task<List<StreamEvent>> FollowCompactedAsync(IStreamManager manager, StreamKey key, long fromOffset, int count = int.MaxValue)
    {
        using var subscription = await StreamSubscription.OpenAsync(manager, key, fromOffset);
        subscription.CompactCatchUp = true;
        return await TakeAsync(subscription, count);
    }

    private static async Task<List<StreamEvent>> FollowCompactedAsync(
        IStreamManager manager, StreamKey key, long fromOffset, CompactedStreamCache cache, int count = int.MaxValue)
    {
        using var subscription = await StreamSubscription.OpenCompactedAsync(manager, key, fromOffset, streamId: null, cache);
        return await TakeAsync(subscription, count);
    }

    private static async Task<List<StreamEvent>> TakeAsync(StreamSubscription subscription, int count)
    {
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var received = new List<StreamEvent>();
        await foreach (var streamEvent in subscription.WithCancellation(timeout.Token))
        {
            received.Add(streamEvent);
            if (received.Count == count)
            {
                break;
            }
        }

        return received;
    }

    private static async Task WriteAnswerAsync(IStreamManager manager, StreamKey key, string prefix, int chunks)
    {
        await manager.AppendAsync(key, new StreamEvent { Type = EventTypes.AgentQuery, Content = "why?" });
        for (var i = 0; i < chunks; i++)
        {
            await manager.AppendAsync(key, TextChunk(i < chunks / 2 ? EventTypes.Thinking : EventTypes.Answer, $"{prefix}{i} "));
        }

        await manager.AppendAsync(key, Complete());
    }

    [Fact]
    public async Task A_completed_stream_caught_up_compacted_from_the_start_is_served_again_from_the_node_as_it_was()
    {
        var manager = CreateManager(new StreamOptions { MaxPageEvents = 9 });
        var key = NewKey();
        await WriteAnswerAsync(manager, key, "a", chunks: 40);
        var cache = new CompactedStreamCache(1 << 20);

        var first = await FollowCompactedAsync(manager, key, 0, cache);
        Assert.True(cache.BytesHeld > 0);
        var again = await FollowCompactedAsync(manager, key, 0, cache);

        // The very events the first catch-up built: the store gave out none of its 42 events again.
        Assert.Equal(first.Count, again.Count);
        Assert.All(first.Zip(again), pair => Assert.Same(pair.First, pair.Second));
        Assert.Equal([(null, 0L), (1L, 20L), (21L, 40L), (null, 41L)], again.Select(e => (e.FirstOffset, e.Offset)));

        // A reader resuming where a merged event begins is served from the node; inside a run, from the store: the
        // same events either way as a catch-up that nothing was kept for.
        foreach (var offset in new long[] { 21, 30, 41 })
        {
            var kept = await FollowCompactedAsync(manager, key, offset, cache);
            var stored = await FollowCompactedAsync(manager, key, offset, new CompactedStreamCache(0));
            Assert.Equal(stored.Select(e => (e.FirstOffset, e.Offset, e.Content)), kept.Select(e => (e.FirstOffset, e.Offset, e.Content)));
        }
    }

    [Fact]
    public async Task A_kept_stream_that_is_deleted_is_refused_not_served_from_the_node_and_an_answer_still_streaming_is_not_kept()
    {
        var manager = CreateManager();
        var key = NewKey();
        await WriteAnswerAsync(manager, key, "old", chunks: 10);
        var cache = new CompactedStreamCache(1 << 20);
        await FollowCompactedAsync(manager, key, 0, cache);
        Assert.True(cache.BytesHeld > 0);

        Assert.True(await manager.DeleteAsync(key));
        await Assert.ThrowsAsync<StreamException>(() => FollowCompactedAsync(manager, key, 0, cache));
        Assert.Equal(0, cache.BytesHeld);

        // Caught up to the end of an answer that goes on: nothing is kept of it.
        var streaming = NewKey();
        await manager.AppendAsync(streaming, TextChunk(EventTypes.Answer, "so "));
        await manager.AppendAsync(streaming, TextChunk(EventTypes.Answer, "far"));
        var held = cache.BytesHeld;
        Assert.Single(await FollowCompactedAsync(manager, streaming, 0, cache, count: 1));
        Assert.Equal(held, cache.BytesHeld);
    }

    [Fact]
    public async Task A_compacted_catch_up_merges_runs_of_one_text_type_and_passes_everything_else_as_it_is()
    {
        var manager = CreateManager();
        var key = NewKey();
        StreamEvent[] stored =
        [
            new() { Type = EventTypes.AgentQuery, Content = "why?" },       // 0
            TextChunk(EventTypes.Thinking, "Let "), TextChunk(EventTypes.Thinking, "me "), TextChunk(EventTypes.Thinking, "think"), // 1..3
            TextChunk(EventTypes.Answer, "Because "), TextChunk(EventTypes.Answer, "it "),                                      // 4..5
            new() { Type = EventTypes.Answer, Content = "is.", Done = true },                                           // 6: done
            new() { Type = EventTypes.ToolCall, Content = "search", Data = System.Text.Json.JsonDocument.Parse("""{"q":"x"}""").RootElement }, // 7
            TextChunk(EventTypes.Answer, "More"),                                                                           // 8: alone
            new() { Type = EventTypes.Answer, Content = " with data", Data = System.Text.Json.JsonDocument.Parse("""{"k":1}""").RootElement }, // 9
            TextChunk(EventTypes.Answer, " a"), TextChunk(EventTypes.Answer, "nd "), TextChunk(EventTypes.Thinking, "hm"),           // 10..12
            TextChunk(EventTypes.Answer, "end"),                                                                            // 13
            Complete(),                                                                                                 // 14
        ];
        foreach (var streamEvent in stored)
        {
            await manager.AppendAsync(key, streamEvent);
        }

        var received = await FollowCompactedAsync(manager, key, 0);

        Assert.Equal(
            [(null, 0L), (1L, 3L), (4L, 5L), (null, 6L), (null, 7L), (null, 8L), (null, 9L), (10L, 11L), (null, 12L), (null, 13L), (null, 14L)],
            received.Select(e => (e.FirstOffset, e.Offset)));
        Assert.Equal(["why?", "Let me think", "Because it ", "is.", "search", "More", " with data", " and ", "hm", "end", null],
            received.Select(e => e.Content));
        Assert.Equal(
            [EventTypes.AgentQuery, EventTypes.Thinking, EventTypes.Answer, EventTypes.Answer, EventTypes.ToolCall, EventTypes.Answer,
             EventTypes.Answer, EventTypes.Answer, EventTypes.Thinking, EventTypes.Answer, EventTypes.Complete],
            received.Select(e => e.Type));
        Assert.True(received[3].Done);
        Assert.All(received.Where(e => e.FirstOffset is not null), merged => Assert.Null(merged.Id));

        // The text a reader builds is the text stored, whatever it merged.
        var page = await manager.ReadAsync(key, 0);
        Assert.Equal(string.Concat(page.Events.Select(e => e.Content)), string.Concat(received.Select(e => e.Content)));
        Assert.Equal(page.Events[3].Timestamp, received[1].Timestamp);
        Assert.Equal(page.StreamId, received[1].StreamId);
    }

    [Fact]
    public async Task A_reader_resuming_after_a_merged_event_gets_exactly_what_follows_it()
    {
        var manager = CreateManager();
        var key = NewKey();
        for (var i = 0; i < 10; i++)
        {
            await manager.AppendAsync(key, TextChunk(EventTypes.Answer, $"{i}"));
        }

        var merged = Assert.Single(await FollowCompactedAsync(manager, key, 0, count: 1));
        Assert.Equal((0L, 9L, "0123456789"), (merged.FirstOffset, merged.Offset, merged.Content));

        await manager.AppendAsync(key, TextChunk(EventTypes.Answer, "a"));
        await manager.AppendAsync(key, TextChunk(EventTypes.Answer, "b"));
        await manager.AppendAsync(key, Complete());
        var resumed = await FollowCompactedAsync(manager, key, merged.Offset + 1);
        Assert.Equal([(10L, 11L), (null, 12L)], resumed.Select(e => (e.FirstOffset, e.Offset)));
        Assert.Equal("ab", resumed[0].Content);

        // From the middle of what was one run: the rest of it, merged.
        var middle = await FollowCompactedAsync(manager, key, 4);
        Assert.Equal([(4L, 11L), (null, 12L)], middle.Select(e => (e.FirstOffset, e.Offset)));
        Assert.Equal("456789ab", middle[0].Content);
    }

    [Fact]
    public async Task A_catch_up_of_many_pages_merges_across_them_and_takes_in_a_completion_that_came_meanwhile()
    {
        var manager = CreateManager(new StreamOptions { MaxPageEvents = 7 });
        var key = NewKey();
        for (var i = 0; i < 40; i++)
        {
            await manager.AppendAsync(key, TextChunk(EventTypes.Answer, $"<{i}>"));
        }

        // Opened (its first page read) before the rest of the answer and its end were stored.
        using var subscription = await StreamSubscription.OpenAsync(manager, key, 0);
        subscription.CompactCatchUp = true;
        for (var i = 40; i < 50; i++)
        {
            await manager.AppendAsync(key, TextChunk(EventTypes.Answer, $"<{i}>"));
        }

        await manager.AppendAsync(key, Complete());
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var received = new List<StreamEvent>();
        await foreach (var streamEvent in subscription.WithCancellation(timeout.Token))
        {
            received.Add(streamEvent);
        }

        Assert.Equal([(0L, 49L), (null, 50L)], received.Select(e => (e.FirstOffset, e.Offset)));
        Assert.Equal(string.Concat(Enumerable.Range(0, 50).Select(i => $"<{i}>")), received[0].Content);
    }

    [Fact]
    public async Task After_a_compacted_catch_up_live_events_come_one_by_one()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAsync(key, TextChunk(EventTypes.Answer, "a"));
        await manager.AppendAsync(key, TextChunk(EventTypes.Answer, "b"));

        using var subscription = await StreamSubscription.OpenAsync(manager, key, 0);
        subscription.CompactCatchUp = true;
        using var timeout = new CancellationTokenSource(SafetyTimeout);
        var received = new List<StreamEvent>();
        await using var enumerator = subscription.GetAsyncEnumerator(timeout.Token);
        Assert.True(await enumerator.MoveNextAsync());
        received.Add(enumerator.Current);

        await manager.AppendAsync(key, TextChunk(EventTypes.Answer, "c"));
        await manager.AppendAsync(key, TextChunk(EventTypes.Answer, "d"));
        await manager.AppendAsync(key, Complete());
        while (await enumerator.MoveNextAsync())
        {
            received.Add(enumerator.Current);
        }

        Assert.Equal([(0L, 1L), (null, 2L), (null, 3L), (null, 4L)], received.Select(e => (e.FirstOffset, e.Offset)));
        Assert.Equal(["ab", "c", "d", null], received.Select(e => e.Content));
    }

    [Fact]
    public async Task A_compacted_page_read_merges_only_what_the_page_caps_let_one_read_take()
    {
        var manager = CreateManager(new StreamOptions { MaxPageEvents = 10 });
        var key = NewKey();
        for (var i = 0; i < 25; i++)
        {
            await manager.AppendAsync(key, TextChunk(EventTypes.Answer, "x"));
        }

        var page = await StreamSubscription.ReadPageAsync(manager, key, 0, maxCount: 1000);
        var merged = Assert.Single(StreamCompaction.Compact(page.Events));
        Assert.Equal((0L, 9L, "xxxxxxxxxx", 10L), (merged.FirstOffset, merged.Offset, merged.Content, page.NextOffset));
        var next = await StreamSubscription.ReadPageAsync(manager, key, page.NextOffset, maxCount: 4);
        Assert.Equal((10L, 13L), (StreamCompaction.Compact(next.Events)[0].FirstOffset, StreamCompaction.Compact(next.Events)[0].Offset));
    }
}
