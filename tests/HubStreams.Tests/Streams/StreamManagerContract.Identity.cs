using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Streams;

/// <summary>A stream's identity: stable while it lives, new when it is created again, and checked by readers that resume.</summary>
public abstract partial class StreamManagerContract
{
    [Fact]
    public async Task Every_event_and_page_carries_the_same_identity_while_the_stream_lives()
    {
        var manager = CreateManager();
        var key = NewKey();
        Assert.Null((await manager.ReadAsync(key, 0)).StreamId);
        for (var i = 0; i < 3; i++)
        {
            await manager.AppendAsync(key, Answer($"{i}"));
        }

        var page = await manager.ReadAsync(key, 0);
        Assert.Matches("^[0-9a-f]{16}$", page.StreamId);
        Assert.All(page.Events, e => Assert.Equal(page.StreamId, e.StreamId));
        Assert.Equal(page.StreamId, (await manager.ReadAsync(key, 2)).StreamId);
    }

    [Fact]
    public async Task A_reader_resuming_a_stream_that_was_created_again_gets_StreamReset()
    {
        // Long enough for the new stream to be read before it expires in its turn, on a loaded machine too.
        var manager = CreateManager(new StreamOptions { Ttl = TimeSpan.FromSeconds(1) });
        var key = NewKey();
        await manager.AppendAsync(key, Answer("the first stream"));
        await manager.AppendAsync(key, Answer("its second event"));
        var first = (await manager.ReadAsync(key, 0)).StreamId;

        // It expires, and the same ids start another stream.
        await Eventually.True(async () => (await manager.ReadAsync(key, 0)).StreamId is null);
        await manager.AppendAsync(key, Answer("another stream"));
        await manager.AppendAsync(key, Answer("with its own second event"));
        Assert.NotEqual(first, (await manager.ReadAsync(key, 0)).StreamId);

        var error = await Assert.ThrowsAsync<StreamException>(() => StreamSubscription.OpenAsync(manager, key, 1, first));
        Assert.Equal(StreamErrorCode.StreamReset, error.Code);
        var page = await Assert.ThrowsAsync<StreamException>(() => StreamSubscription.ReadPageAsync(manager, key, 1, 10, first));
        Assert.Equal(StreamErrorCode.StreamReset, page.Code);

        // The right identity reads on.
        var current = (await manager.ReadAsync(key, 0)).StreamId;
        using var resumed = await StreamSubscription.OpenAsync(manager, key, 1, current);
        Assert.Equal(current, resumed.StreamId);
    }

    [Fact]
    public async Task A_reader_resuming_past_the_end_of_a_shorter_stream_created_again_gets_StreamReset_not_OffsetBeyondEnd()
    {
        var manager = CreateManager(new StreamOptions { Ttl = TimeSpan.FromSeconds(2) });
        var key = NewKey();
        for (var i = 0; i < 5; i++)
        {
            await manager.AppendAsync(key, Answer($"old {i}"));
        }

        var first = (await manager.ReadAsync(key, 0)).StreamId;
        await Eventually.True(async () => (await manager.ReadAsync(key, 0)).StreamId is null);
        await manager.AppendAsync(key, Answer("new 0"));

        // The reader saw five events of the first stream; the new one holds one, so offset 5 is past its end. (The TTL
        // leaves the new stream the time to be read before it expires in its turn.)
        var error = await Assert.ThrowsAsync<StreamException>(() => StreamSubscription.OpenAsync(manager, key, 5, first));
        Assert.Equal(StreamErrorCode.StreamReset, error.Code);
        var page = await Assert.ThrowsAsync<StreamException>(() => StreamSubscription.ReadPageAsync(manager, key, 5, 10, first));
        Assert.Equal(StreamErrorCode.StreamReset, page.Code);

        // Past the end of the same stream is still OffsetBeyondEnd, with or without the identity.
        var current = (await manager.ReadAsync(key, 0)).StreamId;
        var beyond = await Assert.ThrowsAsync<StreamException>(() => StreamSubscription.OpenAsync(manager, key, 5, current));
        Assert.Equal(StreamErrorCode.OffsetBeyondEnd, beyond.Code);
        var beyondPage = await Assert.ThrowsAsync<StreamException>(() => StreamSubscription.ReadPageAsync(manager, key, 5, 10));
        Assert.Equal(StreamErrorCode.OffsetBeyondEnd, beyondPage.Code);
    }
}
