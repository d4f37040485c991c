using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;

namespace HubStreams.Tests.Streams;

// The error rules of the contract: every refusal is typed, says what is wrong, and changes nothing.
public abstract partial class StreamManagerContract
{
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
}
