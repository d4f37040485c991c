using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Xunit.Abstractions;

namespace HubStreams.Tests.Operations;

/// <summary>
/// Redis (AOF on) stops mid-stream for about 10 s: appends fail fast and clearly, subscribers stay
/// connected and get every event once Redis is back, and nothing acknowledged before is lost.
/// </summary>
public sealed class RedisOutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Subscribers_ride_out_a_redis_outage_on_the_same_connection_and_appends_fail_fast()
    {
        using var redis = await RedisServerProcess.StartAsync(appendOnly: true);
        await using var server = await HubStreamsServer.StartAsync(("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address));
        using var http = server.CreateHttpClient();
        var route = new Uri("/api/sessions/outage/messages/m1/events", UriKind.Relative);

        await using var subscriber = await server.ConnectAsync();
        var connectionId = subscriber.ConnectionId;
        var reconnects = 0;
        subscriber.Reconnecting += _ => { Interlocked.Increment(ref reconnects); return Task.CompletedTask; };
        var (received, reading) = HubStreaming.Follow(subscriber, "outage", "m1");

        for (var i = 0; i < 50; i++)
        {
            (await http.PostAsJsonAsync(route, new { type = "answer", content = $"{i} " })).EnsureSuccessStatusCode();
        }

        await Eventually.True(() => received.Count == 50);

        // Connected before the outage: the SignalR Redis backplane needs Redis to accept a new connection.
        await using var producer = await server.ConnectAsync();

        // Redis goes away.
        await redis.StopAsync();
        var outage = Stopwatch.StartNew();
        var slowest = TimeSpan.Zero;
        while (outage.Elapsed < Outage)
        {
            var attempt = Stopwatch.StartNew();
            using var refused = await http.PostAsJsonAsync(route, new { type = "answer", content = "lost?" });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
            Assert.Contains("store (Redis) is unavailable", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            var hubError = await Assert.ThrowsAsync<HubException>(() =>
                producer.InvokeAsync<long>("AppendEvent", "outage", "m1", new StreamEvent { Type = EventTypes.Answer }));
            Assert.Contains("StoreUnavailable", hubError.Message, StringComparison.Ordinal);
            slowest = attempt.Elapsed > slowest ? attempt.Elapsed : slowest;
            await Task.Delay(500);
        }

        output.WriteLine($"outage: appends refused during {outage.Elapsed.TotalSeconds:F1} s; slowest refusal (HTTP + hub) {slowest.TotalMilliseconds:F0} ms");
        Assert.True(slowest < TimeSpan.FromSeconds(3), $"An append took {slowest} to be refused.");

        // Redis comes back from its AOF.
        await redis.RestartAsync(appendOnly: true);
        await Eventually.True(async () =>
        {
            using var response = await http.PostAsJsonAsync(route, new { type = "answer", content = "50 " });
            return response.StatusCode == HttpStatusCode.Created;
        });
        for (var i = 51; i < 100; i++)
        {
            (await http.PostAsJsonAsync(route, new { type = "answer", content = $"{i} " })).EnsureSuccessStatusCode();
        }

        (await http.PostAsJsonAsync(route, new { type = "complete" })).EnsureSuccessStatusCode();
        await reading.WaitAsync(Eventually.SafetyTimeout);

        var events = new List<StreamEvent>();
        await foreach (var e in received.ReadAllAsync())
        {
            events.Add(e);
        }

        Assert.Equal(Enumerable.Range(0, 101).Select(i => (long)i), events.Select(e => e.Offset));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"{i} "), events.SkipLast(1).Select(e => e.Content));
        Assert.Equal(HubConnectionState.Connected, subscriber.State);
        Assert.Equal(connectionId, subscriber.ConnectionId);
        Assert.Equal(0, reconnects);
        output.WriteLine($"outage: the subscriber received all {events.Count} events on its first connection");
    }

    [Fact]
    public async Task A_session_lists_its_messages_again_after_redis_restarted_without_its_data()
    {
        using var redis = await RedisServerProcess.StartAsync();
        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.Address);
        await using var manager = new HubStreams.Streams.Redis.RedisStreamManager(connection, new StreamOptions(),
            new HubStreams.Streams.Redis.RedisStreamOptions { Prefix = RedisFixture.UniquePrefix() }, TestMetrics.Create(),
            Microsoft.Extensions.Logging.Abstractions.NullLogger<HubStreams.Streams.Redis.RedisStreamManager>.Instance);
        var key = StreamKey.Create("s1", "m1");
        await manager.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "before" });
        Assert.Single((await manager.ListSessionAsync("s1", null, 10)).Messages);

        // Killed, no persistence: the stream and the session's index are gone. The node had recorded the stream; it must again.
        redis.Kill();
        await redis.RestartAsync();
        await Eventually.True(async () =>
        {
            try
            {
                await manager.AppendAsync(key, new StreamEvent { Type = EventTypes.Answer, Content = "after" });
                return true;
            }
            catch (StreamException e) when (e.Code == StreamErrorCode.StoreUnavailable)
            {
                return false;
            }
        });

        var listed = Assert.Single((await manager.ListSessionAsync("s1", null, 10)).Messages);
        Assert.Equal(("m1", 1L), (listed.MessageId, listed.NextOffset));
        output.WriteLine($"after the restart: {listed}");
    }
}
