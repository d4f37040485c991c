using HubStreams.Contracts;
using HubStreams.Streams;

namespace HubStreams.Tests.Streams;

/// <summary>Appends that say the offset they must land at: stored once, however often they are retried.</summary>
public abstract partial class StreamManagerContract
{
    private static StreamEvent Chunk(string id, string content) => new() { Id = id, Type = EventTypes.Answer, Content = content };

    [Fact]
    public async Task A_conditional_append_at_the_next_offset_is_stored_there()
    {
        var manager = CreateManager();
        var key = NewKey();
        Assert.Equal(new ConditionalAppend(0, AlreadyStored: false), await manager.AppendAtAsync(key, Chunk("a", "first"), 0));
        Assert.Equal(new ConditionalAppend(1, AlreadyStored: false), await manager.AppendAtAsync(key, Chunk("b", "second"), 1));
        Assert.Equal(["first", "second"], (await manager.ReadAsync(key, 0)).Events.Select(e => e.Content));
    }

    [Fact]
    public async Task A_retry_of_an_append_that_landed_returns_its_offset_says_it_was_stored_already_and_stores_nothing()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAtAsync(key, Chunk("a", "first"), 0);
        await manager.AppendAtAsync(key, Chunk("b", "second"), 1);

        Assert.Equal(new ConditionalAppend(0, AlreadyStored: true), await manager.AppendAtAsync(key, Chunk("a", "first"), 0));
        Assert.Equal(new ConditionalAppend(1, AlreadyStored: true), await manager.AppendAtAsync(key, Chunk("b", "second"), 1));
        Assert.Equal(2, (await manager.ReadAsync(key, 0)).NextOffset);
    }

    [Fact]
    public async Task A_retried_complete_returns_its_offset_instead_of_refusing_the_completed_stream()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAtAsync(key, Chunk("a", "only"), 0);
        var complete = new StreamEvent { Id = "end", Type = EventTypes.Complete };
        Assert.Equal(new ConditionalAppend(1, AlreadyStored: false), await manager.AppendAtAsync(key, complete, 1));
        Assert.Equal(new ConditionalAppend(1, AlreadyStored: true), await manager.AppendAtAsync(key, complete, 1));

        // A new event after it is still refused as the stream being completed.
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAtAsync(key, Chunk("c", "late"), 2));
        Assert.Equal(StreamErrorCode.StreamCompleted, error.Code);
        Assert.Equal(2, (await manager.ReadAsync(key, 0)).NextOffset);
    }

    [Theory]
    [InlineData(0, "another event")]
    [InlineData(5, "past the end")]
    public async Task A_taken_slot_or_an_offset_past_the_end_is_an_offset_conflict_that_names_the_next_offset(long offset, string _)
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAtAsync(key, Chunk("a", "first"), 0);
        await manager.AppendAtAsync(key, Chunk("b", "second"), 1);

        var error = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAtAsync(key, Chunk("x", "intruder"), offset));
        Assert.Equal(StreamErrorCode.OffsetConflict, error.Code);
        Assert.Contains("next offset is 2", error.Message, StringComparison.Ordinal);
        Assert.Equal(2, (await manager.ReadAsync(key, 0)).NextOffset);
    }

    [Fact]
    public async Task A_conditional_append_needs_an_id()
    {
        var manager = CreateManager();
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAtAsync(NewKey(), new StreamEvent { Type = EventTypes.Answer }, 0));
        Assert.Equal(StreamErrorCode.InvalidEvent, error.Code);
        Assert.Contains("'id'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writers_racing_for_one_offset_store_exactly_one_event()
    {
        var manager = CreateManager();
        var key = NewKey();
        await manager.AppendAtAsync(key, Chunk("a", "first"), 0);

        var racers = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                return (await manager.AppendAtAsync(key, Chunk($"racer-{i}", $"{i}"), 1)).Offset;
            }
            catch (StreamException e) when (e.Code == StreamErrorCode.OffsetConflict)
            {
                return -1L;
            }
        })).ToArray();
        var results = await Task.WhenAll(racers);

        Assert.Equal(1, results.Count(r => r == 1));
        Assert.Equal(15, results.Count(r => r == -1));
        Assert.Equal(2, (await manager.ReadAsync(key, 0)).NextOffset);
    }
}
