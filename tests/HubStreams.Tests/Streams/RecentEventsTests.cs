using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Watching;

namespace HubStreams.Tests.Streams;

public sealed class RecentEventsTests
{
    private static StreamPage Page(long from, int count, string streamId = "aaaa", bool completeLast = false) => new(
        [.. Enumerable.Range(0, count).Select(i => new StreamEvent
        {
            Offset = from + i,
            StreamId = streamId,
            Type = completeLast && i == count - 1 ? EventTypes.Complete : EventTypes.Answer,
            Content = $"{from + i}",
        })],
        from + count, completeLast) { StreamId = streamId, Length = from + count, ReachedEnd = true };

    [Fact]
    public void Pages_that_join_or_overlap_extend_what_is_held_and_a_read_inside_it_is_answered()
    {
        var recent = new RecentEvents(capacity: 100);
        recent.Add(Page(0, 3));
        recent.Add(Page(2, 3));

        var page = recent.PageAt(1, maxCount: 10, length: 5)!;
        Assert.Equal(["1", "2", "3", "4"], page.Events.Select(e => e.Content));
        Assert.Equal(5, page.NextOffset);
        Assert.True(page.ReachedEnd);
        Assert.Equal("aaaa", page.StreamId);
        Assert.Null(recent.PageAt(5, 10, 5));
    }

    [Fact]
    public void A_page_that_comes_late_fills_in_before_what_is_held()
    {
        var recent = new RecentEvents(capacity: 100);
        recent.Add(Page(2, 2));
        recent.Add(Page(0, 2));

        Assert.Equal(["0", "1", "2", "3"], recent.PageAt(0, 10, 4)!.Events.Select(e => e.Content));
    }

    [Fact]
    public void A_page_is_cut_at_max_count_and_does_not_reach_an_end_the_node_knows_is_further()
    {
        var recent = new RecentEvents(capacity: 100);
        recent.Add(Page(0, 5));

        var page = recent.PageAt(0, maxCount: 2, length: 5)!;
        Assert.Equal(2, page.Events.Count);
        Assert.False(page.ReachedEnd);
        Assert.False(recent.PageAt(3, maxCount: 10, length: 9)!.ReachedEnd);
    }

    [Fact]
    public void A_gap_or_another_stream_starts_afresh_and_the_oldest_events_go_past_the_capacity()
    {
        var recent = new RecentEvents(capacity: 4);
        recent.Add(Page(0, 3));
        recent.Add(Page(10, 2));
        Assert.Null(recent.PageAt(0, 10, 12));
        Assert.Equal(["10", "11"], recent.PageAt(10, 10, 12)!.Events.Select(e => e.Content));

        recent.Add(Page(10, 2, streamId: "bbbb"));
        Assert.Equal("bbbb", recent.PageAt(10, 10, 12)!.StreamId);

        recent.Add(Page(12, 5, streamId: "bbbb"));
        Assert.Null(recent.PageAt(12, 10, 17));
        Assert.Equal(["13", "14", "15", "16"], recent.PageAt(13, 10, 17)!.Events.Select(e => e.Content));
    }

    [Fact]
    public void The_completed_flag_follows_the_last_event_held()
    {
        var recent = new RecentEvents(capacity: 10);
        recent.Add(Page(0, 3, completeLast: true));
        Assert.True(recent.PageAt(1, 10, 3)!.Completed);
    }
}
