using HubStreams.Contracts;
using HubStreams.Streams;

namespace HubStreams.Tests.Streams;

// Appends made together, without waiting for one another (the Redis store commits them in groups): every one meets
// the rules it would meet alone, in the order it was made.
public abstract partial class StreamManagerContract
{
    [Fact]
    public async Task Appends_made_together_after_a_complete_are_refused_and_those_before_it_are_stored()
    {
        var manager = CreateManager();
        var key = NewKey();
        Task<long>[] appends = [.. Enumerable.Range(0, 4).Select(i => manager.AppendAsync(key, Answer($"{i}"))),
            manager.AppendAsync(key, Complete()), .. Enumerable.Range(5, 3).Select(i => manager.AppendAsync(key, Answer($"{i}")))];

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(i, await appends[i]);
        }

        foreach (var refused in appends[5..])
        {
            Assert.Equal(StreamErrorCode.StreamCompleted, (await Assert.ThrowsAsync<StreamException>(() => refused)).Code);
        }

        var page = await manager.ReadAsync(key, 0);
        Assert.Equal(["0", "1", "2", "3", null], page.Events.Select(e => e.Content));
        Assert.True(page.Completed);
    }

    [Fact]
    public async Task Appends_made_together_past_the_length_cap_are_refused_but_a_complete_still_fits()
    {
        var manager = CreateManager(new StreamOptions { MaxEvents = 5 });
        var key = NewKey();
        var appends = Enumerable.Range(0, 7).Select(i => manager.AppendAsync(key, Answer($"{i}"))).ToArray();
        var complete = manager.AppendAsync(key, Complete());

        Assert.Equal(new long[] { 0, 1, 2, 3 }, await Task.WhenAll(appends[..4]));
        foreach (var refused in appends[4..])
        {
            Assert.Equal(StreamErrorCode.StreamFull, (await Assert.ThrowsAsync<StreamException>(() => refused)).Code);
        }

        Assert.Equal(4, await complete);
    }

    [Fact]
    public async Task Conditional_appends_made_together_store_each_event_once_and_refuse_another_event_at_a_taken_offset()
    {
        var manager = CreateManager();
        var key = NewKey();
        StreamEvent Event(int i) => Answer($"{i}") with { Id = $"e{i}" };
        var appends = Enumerable.Range(0, 6).Select(i => manager.AppendAtAsync(key, Event(i), i)).ToList();
        var retried = manager.AppendAtAsync(key, Event(2), 2);
        var conflicting = manager.AppendAtAsync(key, Answer("other") with { Id = "other" }, 3);
        var ahead = manager.AppendAtAsync(key, Event(9), 9);

        Assert.Equal(Enumerable.Range(0, 6).Select(i => new ConditionalAppend(i, AlreadyStored: false)), await Task.WhenAll(appends));
        Assert.Equal(new ConditionalAppend(2, AlreadyStored: true), await retried);
        var conflict = await Assert.ThrowsAsync<StreamException>(() => conflicting);
        Assert.Equal(StreamErrorCode.OffsetConflict, conflict.Code);
        Assert.Equal(StreamErrorCode.OffsetConflict, (await Assert.ThrowsAsync<StreamException>(() => ahead)).Code);
        Assert.Equal(["0", "1", "2", "3", "4", "5"], (await manager.ReadAsync(key, 0)).Events.Select(e => e.Content));
    }
}
