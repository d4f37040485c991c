using HubStreams.Contracts;
using HubStreams.Streams;
using HubStreams.Tests.Fixtures;
using Microsoft.AspNetCore.SignalR.Client;

namespace HubStreams.Tests.Transport;

/// <summary>
/// A producer that sends its appends over the hub without waiting for each answer (the hub runs several invocations of
/// a connection at once) still gets every stream stored in the order it sent.
/// </summary>
[Collection(RedisTests.Name)]
public sealed class ProducerOrderTests(RedisFixture redis)
{
    [Theory]
    [InlineData("memory")]
    [InlineData("redis")]
    public async Task Appends_sent_without_waiting_are_stored_in_the_order_sent(string store)
    {
        (string, string)[] settings = store == "redis"
            ? [("STREAM_MANAGER_TYPE", "redis"), ("REDIS_ADDR", redis.Address), ("REDIS_PREFIX", RedisFixture.UniquePrefix())]
            : [];
        await using var server = await HubStreamsServer.StartAsync(settings);
        await using var producer = await server.ConnectAsync();
        const int count = 500;
        string[] messages = ["first", "second"];

        // Two streams, interleaved, as one producer connection serving two answers sends them.
        for (var i = 0; i < count; i++)
        {
            foreach (var message in messages)
            {
                await producer.SendAsync("AppendEvent", "order", message, new StreamEvent { Type = EventTypes.Answer, Content = $"{i}" });
            }
        }

        foreach (var message in messages)
        {
            var key = StreamKey.Create("order", message);
            await Eventually.True(async () => (await server.Streams.ReadAsync(key, 0, 1)).Length == count);
            var stored = (await server.Streams.ReadAsync(key, 0)).Events.Select(e => e.Content);
            Assert.Equal(Enumerable.Range(0, count).Select(i => $"{i}"), stored);
        }
    }
}
