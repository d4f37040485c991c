using HubStreams.Contracts;
using HubStreams.Streams;

namespace HubStreams.Tests.Streams;

public sealed class CompactedStreamCacheTests
{
    private static CompactedStreamCache.Entry Answer(string messageId, int characters) => new(
        StreamKey.Create("s", messageId), "0123456789abcdef", 2,
        [
            new StreamEvent { Offset = 0, Type = EventTypes.Answer, Content = new string('x', characters) },
            new StreamEvent { Offset = 1, Type = EventTypes.Complete, Done = true },
        ]);

    [Fact]
    public void The_streams_read_least_recently_make_room_and_the_bytes_held_stay_within_the_budget()
    {
        // Room for eight answers (an answer may take an eighth of the budget).
        var answers = Enumerable.Range(0, 9).Select(i => Answer($"m{i}", 1000)).ToList();
        var cache = new CompactedStreamCache(answers[0].Events.Sum(CompactedStreamCache.SizeOf) * 8);
        answers.Take(8).ToList().ForEach(cache.Remember);
        Assert.NotNull(cache.Find(answers[0].Key, 0)); // Read again: now the most recent.

        cache.Remember(answers[8]);

        Assert.Null(cache.Find(answers[1].Key, 0));
        Assert.All(answers.Where((_, i) => i != 1), answer => Assert.NotNull(cache.Find(answer.Key, 0)));
        Assert.Equal(cache.BudgetBytes, cache.BytesHeld);
    }

    [Fact]
    public void An_answer_over_an_eighth_of_the_budget_is_not_kept_and_nothing_is_kept_with_no_budget()
    {
        var cache = new CompactedStreamCache(8 * 1024);
        cache.Remember(Answer("long", 600));
        Assert.Null(cache.Find(StreamKey.Create("s", "long"), 0));
        cache.Remember(Answer("short", 100));
        Assert.NotNull(cache.Find(StreamKey.Create("s", "short"), 0));

        var none = new CompactedStreamCache(0);
        none.Remember(Answer("short", 1));
        Assert.Equal(0, none.BytesHeld);
    }

    [Fact]
    public void A_reader_is_served_only_from_where_an_event_begins()
    {
        var key = StreamKey.Create("s", "m");
        var cache = new CompactedStreamCache(1 << 20);
        cache.Remember(new CompactedStreamCache.Entry(key, "0123456789abcdef", 8,
        [
            new StreamEvent { Offset = 0, Type = EventTypes.AgentQuery, Content = "q" },
            new StreamEvent { FirstOffset = 1, Offset = 6, Type = EventTypes.Answer, Content = "merged" },
            new StreamEvent { Offset = 7, Type = EventTypes.Complete, Done = true },
        ]));

        Assert.Equal([0L, 6L, 7L], cache.Find(key, 0)!.Value.Events.Select(e => e.Offset));
        Assert.Equal([6L, 7L], cache.Find(key, 1)!.Value.Events.Select(e => e.Offset));
        Assert.Equal([7L], cache.Find(key, 7)!.Value.Events.Select(e => e.Offset));
        Assert.Null(cache.Find(key, 3));
        Assert.Null(cache.Find(key, 8));
    }
}
