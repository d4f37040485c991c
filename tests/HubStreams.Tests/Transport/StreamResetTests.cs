using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HubStreams.Contracts;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>
/// Redis restarts without its data and the stream is created again under the same ids: readers that resume with the
/// identity they saw are refused with StreamReset over every transport, and a writer is told, not started again at 0.
/// </summary>
public sealed class StreamResetTests
{
    [Fact]
    public async Task After_redis_loses_a_stream_and_it_is_created_again_resuming_readers_get_StreamReset_and_a_writer_a_conflict()
    {
        using var redis = await RedisServerProcess.StartAsync(appendOnly: false);
        await using var server = await HubStreamsServer.StartAsync(("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address));
        using var http = server.CreateHttpClient();
        var events = new Uri("/api/sessions/lost/messages/m1/events", UriKind.Relative);
        for (var i = 0; i < 6; i++)
        {
            (await http.PostAsJsonAsync(events, new { id = $"e{i}", type = "answer", content = $"old {i}", offset = i })).EnsureSuccessStatusCode();
        }

        // A writer of the client library on another message, which loses its stream the same way.
        var client = new HubStreams.Client.HubStreamsClient(new HubStreams.Client.HubStreamsClientOptions { HubUrls = { new Uri(server.BaseAddress, "/hubs/streams") } });
        await using var clientWriter = await client.OpenWriterAsync("lost", "m2");
        for (var i = 0; i < 3; i++)
        {
            await clientWriter.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = $"old {i}" });
        }

        var old = (await http.GetFromJsonAsync<JsonElement>(events)).GetProperty("streamId").GetString()!;

        // Redis restarts with nothing; another producer starts the same ids again, longer than before.
        redis.Kill();
        await redis.RestartAsync(appendOnly: false);
        await Eventually.True(async () => (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode == HttpStatusCode.OK);
        for (var i = 0; i < 10; i++)
        {
            await Eventually.True(async () => (await http.PostAsJsonAsync(events, new { type = "answer", content = $"new {i}" })).StatusCode == HttpStatusCode.Created);
            using var other = await http.PostAsJsonAsync(new Uri("/api/sessions/lost/messages/m2/events", UriKind.Relative), new { type = "answer", content = $"new {i}" });
            Assert.Equal(HttpStatusCode.Created, other.StatusCode);
        }

        // The client's writer learns it at its next append, and says so: it does not go on in the new stream.
        var reset = await Assert.ThrowsAsync<HubStreams.Client.HubStreamsException>(() => clientWriter.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = "old 3" }));
        Assert.Equal(StreamErrorCode.StreamReset, reset.Code);

        var current = (await http.GetFromJsonAsync<JsonElement>(events)).GetProperty("streamId").GetString();
        Assert.NotEqual(old, current);

        // The hub.
        await using var hub = await server.ConnectAsync();
        var hubError = await Assert.ThrowsAsync<HubException>(async () =>
        {
            await foreach (var _ in hub.StreamAsync<StreamEvent>("ResumeEvents", "lost", "m1", 3L, old))
            {
            }
        });
        Assert.Equal(StreamErrorCode.StreamReset, StreamErrors.FromMessage(hubError.Message));

        // SSE, with the id of the last event the client had.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions/lost/messages/m1/stream"))
        {
            request.Headers.Add("Last-Event-ID", $"2:{old}");
            using var sse = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.Gone, sse.StatusCode);
            Assert.Equal("StreamReset", (await sse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("code").GetString());
        }

        // The HTTP page.
        using (var page = await http.GetAsync(new Uri($"/api/sessions/lost/messages/m1/events?fromOffset=3&streamId={old}", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Gone, page.StatusCode);
        }

        // The old writer's next conditional append: a conflict that says where the stream is, not a silent offset 0.
        using var writer = await http.PostAsJsonAsync(events, new { id = "e6", type = "answer", content = "old 6", offset = 6 });
        Assert.Equal(HttpStatusCode.Conflict, writer.StatusCode);
        Assert.Contains("next offset is 10", (await writer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);

        // Without an identity, and with the right one, the new stream reads as it is.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri($"/api/sessions/lost/messages/m1/events?fromOffset=3&streamId={current}", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task A_writer_whose_stream_lost_its_last_events_stops_with_StreamReset_saying_so()
    {
        using var redis = await RedisServerProcess.StartAsync(appendOnly: false);
        var prefix = RedisFixture.UniquePrefix();
        await using var server = await HubStreamsServer.StartAsync(("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", prefix));
        var client = new HubStreams.Client.HubStreamsClient(new HubStreams.Client.HubStreamsClientOptions { HubUrls = { new Uri(server.BaseAddress, "/hubs/streams") } });
        await using var writer = await client.OpenWriterAsync("tail", "m1");
        for (var i = 0; i < 5; i++)
        {
            await writer.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = $"{i}" });
        }

        // The stream keeps its first events, and so its identity, but not its last two: as a promoted replica that had
        // not received them would.
        var trim = await Shell.RunAsync($"redis-cli -p {redis.Port} ltrim {prefix}:tail:m1 0 2");
        Assert.True(trim.ExitCode == 0, trim.ToString());

        var lost = await Assert.ThrowsAsync<HubStreams.Client.HubStreamsException>(() => writer.AppendAsync(new StreamEvent { Type = EventTypes.Answer, Content = "5" }));
        Assert.Equal(StreamErrorCode.StreamReset, lost.Code);
        Assert.Contains("lost events it had acknowledged", lost.Message, StringComparison.Ordinal);
        Assert.Contains("it holds 3 events now, and this writer had stored up to offset 4", lost.Message, StringComparison.Ordinal);
    }
}
