using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Streams.Sessions;

namespace HubStreams.Tests.Streams;

// Sessions: a session lists its messages from their streams, and deleting a message or a session ends it for good.
public abstract partial class StreamManagerContract
{
    private static string NewSession() => $"s-{Guid.NewGuid():N}";

    private static async Task<List<SessionMessage>> ListAllAsync(IStreamManager manager, string sessionId)
    {
        var all = new List<SessionMessage>();
        string? after = null;
        do
        {
            var page = await manager.ListSessionAsync(sessionId, after, int.MaxValue);
            Assert.InRange(page.Messages.Count, 0, SessionListing.MaxPageMessages);
            all.AddRange(page.Messages);
            after = page.Next;
        }
        while (after is not null);

        return all;
    }

    [Fact]
    public async Task A_session_lists_its_messages_oldest_first_with_what_their_streams_say()
    {
        var manager = CreateManager();
        var session = NewSession();
        var first = StreamKey.Create(session, "m1");
        var second = StreamKey.Create(session, "m2");
        await manager.AppendAsync(first, Answer("a"));
        await manager.AppendAsync(second, Answer("b"));
        await manager.AppendAsync(first, Answer("c"));
        await manager.AppendAsync(first, Complete());

        var page = await manager.ListSessionAsync(session, after: null, maxCount: 10);
        Assert.Null(page.Next);
        Assert.Equal(["m1", "m2"], page.Messages.Select(m => m.MessageId));
        var (done, streaming) = (page.Messages[0], page.Messages[1]);
        Assert.Equal((MessageStates.Completed, 3L), (done.State, done.NextOffset));
        Assert.Equal((MessageStates.Streaming, 1L), (streaming.State, streaming.NextOffset));
        Assert.Equal((await manager.ReadAsync(first, 0)).StreamId, done.StreamId);
        Assert.NotNull(done.FirstEventAt);
        Assert.True(done.LastEventAt >= done.FirstEventAt);
        Assert.Equal(done, await manager.DescribeAsync(first));

        Assert.Empty((await manager.ListSessionAsync(NewSession(), after: null, maxCount: 10)).Messages);
        Assert.Null(await manager.DescribeAsync(StreamKey.Create(session, "never")));
    }

    [Fact]
    public async Task A_listing_of_a_thousand_messages_is_capped_and_pages_through_every_one_once()
    {
        var manager = CreateManager();
        var session = NewSession();
        var ids = Enumerable.Range(0, 1000).Select(i => $"m{i:D4}").ToArray();
        foreach (var chunk in ids.Chunk(100))
        {
            await Task.WhenAll(chunk.Select(id => manager.AppendAsync(StreamKey.Create(session, id), Answer(id))));
        }

        var first = await manager.ListSessionAsync(session, after: null, maxCount: int.MaxValue);
        Assert.Equal(SessionListing.MaxPageMessages, first.Messages.Count);
        Assert.NotNull(first.Next);
        Assert.Equal(7, (await manager.ListSessionAsync(session, after: null, maxCount: 7)).Messages.Count);

        var all = await ListAllAsync(manager, session);
        Assert.Equal(ids.Order(StringComparer.Ordinal), all.Select(m => m.MessageId).Order(StringComparer.Ordinal));
        Assert.All(all, m => Assert.Equal(MessageStates.Streaming, m.State));
    }

    [Fact]
    public async Task A_listing_refuses_a_cursor_it_did_not_give_and_a_page_size_below_one()
    {
        var manager = CreateManager();
        var session = NewSession();
        var bad = await Assert.ThrowsAsync<StreamException>(() => manager.ListSessionAsync(session, "not-a-cursor", 10));
        Assert.Equal(StreamErrorCode.InvalidRequest, bad.Code);
        var limit = await Assert.ThrowsAsync<StreamException>(() => manager.ListSessionAsync(session, null, 0));
        Assert.Equal(StreamErrorCode.InvalidLimit, limit.Code);
        var id = await Assert.ThrowsAsync<StreamException>(() => manager.ListSessionAsync("a:b", null, 10));
        Assert.Equal(StreamErrorCode.InvalidId, id.Code);
    }

    [Fact]
    public async Task A_deleted_stream_is_refused_to_every_read_and_append_and_leaves_its_listing()
    {
        var manager = CreateManager();
        var session = NewSession();
        var deleted = StreamKey.Create(session, "gone");
        var kept = StreamKey.Create(session, "kept");
        await manager.AppendAsync(deleted, Answer("a"));
        await manager.AppendAsync(deleted, Answer("b"));
        await manager.AppendAsync(kept, Answer("c"));

        Assert.True(await manager.DeleteAsync(deleted));

        foreach (var offset in new long[] { 0, 1, 2 })
        {
            var read = await Assert.ThrowsAsync<StreamException>(() => manager.ReadAsync(deleted, offset));
            Assert.Equal(StreamErrorCode.StreamDeleted, read.Code);
        }

        var append = await Assert.ThrowsAsync<StreamException>(() => manager.AppendAsync(deleted, Answer("late")));
        Assert.Equal(StreamErrorCode.StreamDeleted, append.Code);
        var conditional = await Assert.ThrowsAsync<StreamException>(() =>
            manager.AppendAtAsync(deleted, Answer("late") with { Id = "late" }, 0));
        Assert.Equal(StreamErrorCode.StreamDeleted, conditional.Code);
        Assert.Null(await manager.DescribeAsync(deleted));
        Assert.Equal(["kept"], (await ListAllAsync(manager, session)).Select(m => m.MessageId));

        // Deleting again says it is deleted; deleting what never was says there was nothing, and leaves nothing.
        Assert.True(await manager.DeleteAsync(deleted));
        var never = StreamKey.Create(session, "never");
        Assert.False(await manager.DeleteAsync(never));
        Assert.Equal(0, await manager.AppendAsync(never, Answer("new")));
    }

    [Fact]
    public async Task A_reader_waiting_on_a_stream_ends_with_StreamDeleted_when_it_is_deleted()
    {
        var manager = CreateManager();
        var key = StreamKey.Create(NewSession(), "m1");
        await manager.AppendAsync(key, Answer("a"));
        using var subscription = await StreamSubscription.OpenAsync(manager, key, 0);
        var received = new List<string?>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in subscription)
            {
                received.Add(e.Content);
                if (received.Count == 1)
                {
                    await manager.DeleteAsync(key);
                }
            }
        });

        var error = await Assert.ThrowsAsync<StreamException>(() => reading.WaitAsync(SafetyTimeout));
        Assert.Equal(StreamErrorCode.StreamDeleted, error.Code);
        Assert.Equal(["a"], received);
    }

    [Fact]
    public async Task Deleting_a_session_deletes_every_message_it_lists_and_empties_its_listing()
    {
        var manager = CreateManager();
        var session = NewSession();
        var other = StreamKey.Create(NewSession(), "m1");
        var ids = Enumerable.Range(0, 150).Select(i => $"m{i}").ToArray();
        await Task.WhenAll(ids.Select(id => manager.AppendAsync(StreamKey.Create(session, id), Answer(id))));
        await manager.AppendAsync(StreamKey.Create(session, "m0"), Complete());
        await manager.AppendAsync(other, Answer("other"));

        var deleted = await manager.DeleteSessionAsync(session);

        Assert.Equal(ids.Order(StringComparer.Ordinal), deleted.Order(StringComparer.Ordinal));
        Assert.Empty(await ListAllAsync(manager, session));
        var error = await Assert.ThrowsAsync<StreamException>(() => manager.ReadAsync(StreamKey.Create(session, "m7"), 0));
        Assert.Equal(StreamErrorCode.StreamDeleted, error.Code);
        Assert.Single((await manager.ReadAsync(other, 0)).Events);

        // The session lives on for new messages.
        await manager.AppendAsync(StreamKey.Create(session, "after"), Answer("new"));
        Assert.Equal(["after"], (await ListAllAsync(manager, session)).Select(m => m.MessageId));
    }
}
