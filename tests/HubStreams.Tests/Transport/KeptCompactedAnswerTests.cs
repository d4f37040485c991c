using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;

namespace HubStreams.Tests.Transport;

/// <summary>
/// A Redis node keeps the compacted catch-up of a completed answer for the next late joiner, over the hub and the
/// snapshot alike, and gives it out only while the stream is the one it kept.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class KeptCompactedAnswerTests(RedisFixture redis)
{
    [Fact]
    public async Task A_completed_answer_is_kept_by_the_node_for_the_next_late_joiner_until_it_is_deleted()
    {
        await using var server = await HubStreamsServer.StartAsync(
            ("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", RedisFixture.UniquePrefix()), ("STREAM_MAX_PAGE_EVENTS", "100"));
        var kept = server.Services.GetRequiredService<CompactedStreamCache>();
        var key = StreamKey.Create($"s-{Guid.NewGuid():N}", "m1");
        var text = string.Concat(Enumerable.Range(0, 250).Select(i => $"{i},"));
        await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.AgentQuery, Content = "q" });
        for (var i = 0; i < 250; i++)
        {
            await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = $"{i}," });
        }

        await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Complete });
        using var http = server.CreateHttpClient();
        var snapshotUri = new Uri($"/api/sessions/{key.SessionId}/messages/m1/snapshot", UriKind.Relative);

        // The first snapshot reads the store and is kept; the next is the same, from the node.
        var first = await http.GetFromJsonAsync<JsonElement>(snapshotUri);
        var held = kept.BytesHeld;
        Assert.True(held > 0);
        var second = await http.GetFromJsonAsync<JsonElement>(snapshotUri);
        Assert.Equal(first.GetRawText(), second.GetRawText());
        Assert.Equal(text, second.GetProperty("events")[1].GetProperty("content").GetString());
        Assert.Equal((252, true), (second.GetProperty("nextOffset").GetInt32(), second.GetProperty("completed").GetBoolean()));

        // A reader over the hub, compacted, gets the same answer, in full and from where the merged run begins.
        await using var hub = await server.ConnectAsync();
        var followed = await hub.StreamAsync<StreamEvent>("FollowStream", new { sessionId = key.SessionId, messageId = key.MessageId, compact = true }).ToListAsync();
        Assert.Equal([(null, 0L), (1L, 250L), (null, 251L)], followed.Select(e => (e.FirstOffset, e.Offset)));
        Assert.Equal(text, followed[1].Content);
        var resumed = await hub.StreamAsync<StreamEvent>("FollowStream",
            new { sessionId = key.SessionId, messageId = key.MessageId, fromOffset = 1, streamId = followed[0].StreamId, compact = true }).ToListAsync();
        Assert.Equal([(1L, 250L), (null, 251L)], resumed.Select(e => (e.FirstOffset, e.Offset)));
        Assert.Equal(held, kept.BytesHeld);

        // Deleted: refused, as a stream read from the store is, and no longer kept.
        using var deleted = await http.DeleteAsync(new Uri($"/api/sessions/{key.SessionId}/messages/m1", UriKind.Relative));
        Assert.True(deleted.IsSuccessStatusCode);
        using var gone = await http.GetAsync(snapshotUri);
        Assert.False(gone.IsSuccessStatusCode);
        Assert.Equal(0, kept.BytesHeld);
    }
}
