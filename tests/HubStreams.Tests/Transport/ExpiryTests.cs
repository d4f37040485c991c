using System.Diagnostics;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>
/// A stream that expires while readers wait on it, on a server as deployed (redis mode with its default safety-net
/// interval of 30 s, and memory mode): its hub and SSE readers end with <c>StreamNotFound</c> a few seconds after.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class ExpiryTests(RedisFixture redis)
{
    [Theory]
    [InlineData("redis")]
    [InlineData("memory")]
    public async Task Readers_waiting_on_a_stream_that_expires_end_with_StreamNotFound_within_five_seconds_of_it(string store)
    {
        await using var server = await HubStreamsServer.StartAsync(
            ("STREAM_MANAGER_TYPE", store), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", RedisFixture.UniquePrefix()), ("STREAM_TTL", "3"));
        var key = StreamKey.Create("expiring", "m1");
        await server.Streams.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "soon gone" });
        var lastAppend = Stopwatch.StartNew();

        await using var hub = await server.ConnectAsync();
        using var http = server.CreateHttpClient();
        using var safety = new CancellationTokenSource(Eventually.SafetyTimeout + TimeSpan.FromSeconds(10));
        var hubReader = Task.Run(async () =>
        {
            var error = await Assert.ThrowsAsync<HubException>(async () =>
            {
                await foreach (var _ in hub.StreamAsync<StreamEvent>("StreamEvents", "expiring", "m1", 0L, safety.Token))
                {
                }
            });
            return (StreamErrors.FromMessage(error.Message), lastAppend.Elapsed);
        });
        var sseReader = Task.Run(async () =>
        {
            using var response = await http.GetAsync(new Uri("/api/sessions/expiring/messages/m1/stream", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, safety.Token);
            var last = "";
            await foreach (var message in ServerSentEvents.ReadAsync(await response.Content.ReadAsStreamAsync(safety.Token)))
            {
                last = $"{message.Event} {message.Data}";
            }

            return (last, lastAppend.Elapsed);
        });

        var (hubCode, hubEnded) = await hubReader;
        var (sseLast, sseEnded) = await sseReader;
        Assert.Equal(StreamErrorCode.StreamNotFound, hubCode);
        Assert.StartsWith("error ", sseLast, StringComparison.Ordinal);
        Assert.Contains("StreamNotFound", sseLast, StringComparison.Ordinal);
        Assert.True(hubEnded < TimeSpan.FromSeconds(3 + 5), $"{store}: the hub reader ended {hubEnded.TotalSeconds:F1} s after the last append.");
        Assert.True(sseEnded < TimeSpan.FromSeconds(3 + 5), $"{store}: the SSE reader ended {sseEnded.TotalSeconds:F1} s after the last append.");
    }
}
